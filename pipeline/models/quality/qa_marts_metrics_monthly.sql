-- The frame of the suite expectations/marts_metrics_monthly.json: every row of the published
-- table marts.metrics_monthly, with the value split by kind so that one bound fits each kind.
-- row_label names the row in a failed check (month, institution, metric: no identifiers).
-- A metric's kind is the catalogue's (dim_metrics); a metric missing from it is named in
-- uncatalogued_metric.
select
    strftime(m.month, '%Y-%m') || ' ' || m.institution_code || ' ' || m.metric as row_label,
    m.month,
    m.institution_code,
    m.metric,
    m.value,
    case when c.kind = 'pct' then m.value end as pct_value,
    case when c.metric is null then m.metric end as uncatalogued_metric
from {{ ref('metrics_monthly') }} as m
left join {{ ref('dim_metrics') }} as c on c.metric = m.metric
