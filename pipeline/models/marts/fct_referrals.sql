-- The published fact: every column of int_referrals__active, under the enforced
-- contract of fct_referrals.yml (the flags are defined in the intermediate model, where
-- int_metrics__referrals reads them too).
select * from {{ ref('int_referrals__active') }}
