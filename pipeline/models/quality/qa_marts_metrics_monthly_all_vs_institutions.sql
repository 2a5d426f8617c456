-- The frame of the suite expectations/marts_metrics_monthly_all_vs_institutions.json: one
-- row per (month, count metric) of marts.metrics_monthly, comparing the ALL row with the
-- institution rows. A missing count row is a count of 0 (metrics.md).
--
-- ALL is computed over all records, never summed from institution rows, so:
--   * no count of ALL can be smaller than the same count of one institution;
--   * an event count (contacts, discussions, referrals, episodes) of ALL is exactly the
--     sum of the institutions' (every event has one institution); distinct-student counts
--     may be smaller than the sum (a student seen at two institutions counts once).
-- Which metrics are counts, and which count distinct students, is the catalogue's
-- (dim_metrics: kind `count`, unit `students`).
with catalogue as (
    select metric, unit = 'students' as counts_students
    from {{ ref('dim_metrics') }}
    where kind = 'count'
),
counts as (
    select * from {{ ref('metrics_monthly') }}
    where metric in (select metric from catalogue)
),
compared as (
    select
        month,
        metric,
        coalesce(max(value) filter (where institution_code = 'ALL'), 0) as all_value,
        coalesce(max(value) filter (where institution_code <> 'ALL'), 0)
            as max_institution_value,
        coalesce(sum(value) filter (where institution_code <> 'ALL'), 0)
            as sum_institution_value
    from counts
    group by month, metric
)
select
    strftime(month, '%Y-%m') || ' ' || metric as row_label,
    month,
    metric,
    all_value::double as all_value,
    max_institution_value::double as max_institution_value,
    sum_institution_value::double as sum_institution_value,
    case when not catalogue.counts_students
        then all_value - sum_institution_value
    end::double as all_minus_sum_of_event_count
from compared
inner join catalogue using (metric)
