{#
  The academic year (1 August to 31 July) of a date, written like `2023/24`: the label
  used by the `institution_populations` seed. July 2024 is in 2023/24, August 2024 in
  2024/25.
#}
{% macro academic_year_start(date_expr) -%}
    (case when month({{ date_expr }}) >= 8
          then year({{ date_expr }})
          else year({{ date_expr }}) - 1 end)
{%- endmacro %}

{% macro academic_year(date_expr) -%}
    printf('%d/%02d', {{ academic_year_start(date_expr) }}, ({{ academic_year_start(date_expr) }} + 1) % 100)
{%- endmacro %}
