-- The frame of the suite expectations/marts_metrics_monthly.json: every row of the published table
-- marts.metrics_monthly, with the value split by kind so that one bound fits each kind.
-- row_label names the row in a failed check (month, institution, metric: no identifiers).
select
    strftime(month, '%Y-%m') || ' ' || institution_code || ' ' || metric as row_label,
    month,
    institution_code,
    metric,
    value,
    case when metric like '%\_pct' escape '\' then value end as pct_value
from {{ ref('metrics_monthly') }}
