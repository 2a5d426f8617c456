-- The frame of the suite expectations/marts_metrics_monthly_months.json: one row per month of the
-- spine from the first to the last month with an ALL referrals_received row.
--   * missing_month: the month, where ALL referrals_received has no row (a gap);
--   * rows_ratio: the month's rows in marts.metrics_monthly / the median over the (up to)
--     12 months before; NULL for the last month (still filling up) and where fewer than
--     6 months came before.
with spine_bounds as (
    select min(month) as first_month, max(month) as last_month
    from {{ ref('metrics_monthly') }}
    where institution_code = 'ALL' and metric = 'referrals_received'
),
spine as (
    select generate_series::date as month
    from spine_bounds,
        generate_series(spine_bounds.first_month, spine_bounds.last_month, interval 1 month)
),
referrals as (
    select month, value
    from {{ ref('metrics_monthly') }}
    where institution_code = 'ALL' and metric = 'referrals_received'
),
rows_per_month as (
    select month, count(*) as n_rows from {{ ref('metrics_monthly') }} group by month
),
months as (
    select
        s.month,
        r.value as referrals_received,
        coalesce(m.n_rows, 0) as n_rows,
        row_number() over (order by s.month) as k,
        count(*) over () as n_months
    from spine as s
    left join referrals as r on r.month = s.month
    left join rows_per_month as m on m.month = s.month
),
with_baseline as (
    select
        *,
        median(n_rows) over (order by month rows between 12 preceding and 1 preceding)
            as median_rows_previous_12
    from months
)
select
    strftime(month, '%Y-%m') as row_label,
    month,
    referrals_received::double as all_referrals_received,
    case when referrals_received is null then strftime(month, '%Y-%m') end as missing_month,
    n_rows::bigint as metric_rows,
    median_rows_previous_12::double as median_rows_previous_12_months,
    case when k >= 7 and k < n_months and median_rows_previous_12 > 0
        then n_rows / median_rows_previous_12
    end::double as rows_ratio
from with_baseline
order by month
