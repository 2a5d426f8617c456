{#
  The waits between two dates that the facts and metrics count, written once: whole days
  later - earlier (null while the later date is unknown), and whether the wait was at most
  `days` (the boundary counts: 42 days is within 6 weeks, 43 is not; null while unknown).
  Each threshold is passed where its column is defined (int_*__active models).
#}
{% macro days_between(earlier, later) -%}
    cast(date_diff('day', {{ earlier }}, {{ later }}) as integer)
{%- endmacro %}

{% macro within_days(earlier, later, days) -%}
    (date_diff('day', {{ earlier }}, {{ later }}) <= {{ days }})
{%- endmacro %}
