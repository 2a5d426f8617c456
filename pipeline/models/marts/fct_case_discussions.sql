-- The published fact: every column of int_case_discussions__active, under the enforced
-- contract of fct_case_discussions.yml (the flags are defined in the intermediate model, where
-- int_metrics__case_discussions reads them too).
select * from {{ ref('int_case_discussions__active') }}
