{#
  The columns every delivered record carries besides its own (data contract, "Delivery"):
  its version (`updated_at`, `record_status`) and where the ingest found it (`_file_id`,
  `_extract_date`, `_row_number`, `_loaded_at`, renamed without the leading underscore).
  The staging models of the five record sources end their `renamed` CTE with
  `version_and_delivery_columns()`, so the winning-version rule (winning_version.sql) finds
  the same names in each; `delivery_only_columns()` lists the ones a mart drops once the
  winning version is chosen (it keeps `updated_at` and `file_id` for lineage).
#}
{% macro version_and_delivery_columns() -%}
        -- versioning
        cast(updated_at as timestamp) as updated_at,
        record_status,

        -- delivery
        _file_id as file_id,
        _extract_date as extract_date,
        _row_number as source_row_number,
        _loaded_at as loaded_at
{%- endmacro %}

{% macro delivery_only_columns() -%}
    record_status, extract_date, source_row_number, loaded_at
{%- endmacro %}
