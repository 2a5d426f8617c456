-- Case discussion metrics, one row per (month, institution or ALL, metric).
-- Month of `discussed_on`:
--   case_discussions              number of case discussions
--   case_pathway_started_14d_pct  100 x discussions whose agreed pathway started at most
--                                 14 days after the discussion / discussions
with

discussions as (

    select * from {{ ref('int_case_discussions__active') }}

),

by_discussed_month as (

    select
        month,
        {{ institution_or_all() }} as institution_code,
        count(*) as discussions,
        count_if(pathway_started_within_14d) as pathway_started_within_14d
    from discussions
    {{ by_month_and_institution('month') }}

),

metrics as (

    select month, institution_code, 'case_discussions' as metric, discussions as value
    from by_discussed_month

    union all

    select month, institution_code, 'case_pathway_started_14d_pct',
        100.0 * pathway_started_within_14d / discussions
    from by_discussed_month

)

-- every (month, institution) group holds at least one discussion: counts are never 0
-- and the denominators never empty
{{ metric_rows('metrics') }}
