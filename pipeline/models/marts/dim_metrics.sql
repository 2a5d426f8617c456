-- The metric catalogue (seed `metric_catalogue`): one row per metric of metrics_monthly.
select
    metric,
    family,
    label,
    kind,
    unit,
    base,
    numerator,
    direction,
    target,
    target_source,
    fact,
    month_of,
    event_date,
    definition
from {{ ref('metric_catalogue') }}
