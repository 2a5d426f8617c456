-- The published fact: every column of int_ucope_episodes__active, under the enforced
-- contract of fct_ucope_episodes.yml (the flags are defined in the intermediate model, where
-- int_metrics__ucope reads them too).
select * from {{ ref('int_ucope_episodes__active') }}
