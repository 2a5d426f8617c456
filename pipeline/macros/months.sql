{#
  Months, written once for the active models and the metric families.

  month_of: the month of an event date or timestamp, as the DATE of the first day of its
  calendar month (wall-clock, as delivered): the `month` of every metric counts by it.
#}
{% macro month_of(date_expr) -%}
    cast(date_trunc('month', {{ date_expr }}) as date)
{%- endmacro %}

{#
  by_month_and_institution: the grouping of every metric family, one row per (month,
  institution) and one per month over all institutions, `month_column` being the month
  (month_of) of the event the metrics of that CTE count.

  institution_or_all: in a query grouped that way, the institution of the row, or `ALL` for
  the partnership-wide row. The ALL row is aggregated over all records at once (never
  summed from institution rows), so a student seen at two institutions counts once and a
  median is the median of all values.
#}
{% macro by_month_and_institution(month_column) -%}
    group by grouping sets (({{ month_column }}, institution_code), ({{ month_column }}))
{%- endmacro %}

{% macro institution_or_all() -%}
    case when grouping(institution_code) = 1 then 'ALL' else institution_code end
{%- endmacro %}
