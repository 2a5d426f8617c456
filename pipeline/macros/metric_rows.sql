{#
  The rows of a metric family in the shape of marts.metrics_monthly (month DATE,
  institution_code VARCHAR, metric VARCHAR, value DOUBLE), from a CTE with those columns.
  One cast for all four families, so that their union matches the published contract.
#}
{% macro metric_rows(relation) -%}
select
    cast(month as date) as month,
    cast(institution_code as varchar) as institution_code,
    cast(metric as varchar) as metric,
    cast(value as double) as value
from {{ relation }}
{%- endmacro %}
