{#
  Keep the winning version of each record among the delta rows delivered for it
  (data contract, "Delivery"): the latest `updated_at` wins; on equal `updated_at`, the
  row from the later extract date. Arrival order (file id, load time) never decides;
  file id and row number only make the pick deterministic in the impossible case of two
  rows with the same updated_at and extract date (the ingest keeps one file per source
  and extract date, and at most one row per record id per file).
#}
{% macro winning_version(record_id_columns) -%}
    qualify row_number() over (
        partition by {{ record_id_columns | join(', ') }}
        order by updated_at desc, extract_date desc, file_id desc, source_row_number desc
    ) = 1
{%- endmacro %}
