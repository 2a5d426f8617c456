-- The published fact: every column of int_liaison_contacts__active, under the enforced
-- contract of fct_liaison_contacts.yml (the flags are defined in the intermediate model, where
-- int_metrics__liaison reads them too).
select * from {{ ref('int_liaison_contacts__active') }}
