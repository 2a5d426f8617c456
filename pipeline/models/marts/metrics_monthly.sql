-- The published table: one row per (month, institution or ALL, metric).
-- Each metric's SQL lives in the model of its family, named by the metric's prefix:
--   liaison_*            int_metrics__liaison
--   case_*               int_metrics__case_discussions
--   referral(s)_*        int_metrics__referrals
--   ucope_*              int_metrics__ucope
with

unioned as (

    select * from {{ ref('int_metrics__liaison') }}
    union all
    select * from {{ ref('int_metrics__case_discussions') }}
    union all
    select * from {{ ref('int_metrics__referrals') }}
    union all
    select * from {{ ref('int_metrics__ucope') }}

)

select
    month,
    institution_code,
    metric,
    value
from unioned
order by month, institution_code, metric
