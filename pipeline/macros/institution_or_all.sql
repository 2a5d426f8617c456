{#
  In a query grouped by `grouping sets ((month, institution_code), (month))`, the
  institution of the row, or `ALL` for the partnership-wide row. The ALL row is
  aggregated over all records at once (never summed from institution rows), so a
  student seen at two institutions counts once and a median is the median of all values.
#}
{% macro institution_or_all() -%}
    case when grouping(institution_code) = 1 then 'ALL' else institution_code end
{%- endmacro %}
