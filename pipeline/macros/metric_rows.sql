{#
  metric_rows: the rows of a metric family in the shape of marts.metrics_monthly (month
  DATE, institution_code VARCHAR, metric VARCHAR, value DOUBLE), from a CTE with those
  columns. One cast for all four families, so that their union matches the published
  contract.
#}
{% macro metric_rows(relation) -%}
select
    cast(month as date) as month,
    cast(institution_code as varchar) as institution_code,
    cast(metric as varchar) as metric,
    cast(value as double) as value
from {{ relation }}
{%- endmacro %}

{#
  unpivot_metrics: the long format (month, institution_code, metric, value) of the metrics
  computed from one CTE grouped by month and institution (by_month_and_institution):
  `metrics` maps each metric's name to its SQL expression over the CTE's columns, so a
  family's model reads as a list of its metrics and their formulas. One
  `select month, institution_code, '<metric>', <expression> from relation` per metric, in
  the order given, joined by `union all`; every row of the CTE gives a row of each metric.
#}
{% macro unpivot_metrics(relation, metrics) -%}
    {%- for metric, expression in metrics.items() %}
    {% if not loop.first %}union all
    {% endif -%}
    select month, institution_code, '{{ metric }}' as metric, {{ expression }} as value
    from {{ relation }}
    {%- endfor %}
{%- endmacro %}
