{#
  Use a model's custom schema name as-is (`staging`, `intermediate`, `marts`, `seeds`)
  instead of dbt's default `<target schema>_<custom schema>`: the dashboard and the
  Python code query `marts.metrics_monthly`, whatever the target.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
