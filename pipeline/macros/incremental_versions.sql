{#
  Incremental builds of the record sources (docs/operations.md, "Incremental nightly").

  Between two builds a raw table changes in two ways only: the ingest appends the rows of
  new files, each file with a larger `_file_id` than any before (it numbers them in order),
  and a corrected re-delivery deletes the rows of the file it replaces (`raw.load_log`
  records it in `replaces_file_id`). So, incrementally:

  - a staging model first forgets the rows of replaced files (`forget_replaced_files`, its
    pre-hook), then appends the rows of files loaded since it was last built
    (`only_new_deliveries`, in its `source` CTE);
  - a `__current` model first forgets the winning versions that came from replaced files
    (the same pre-hook), then re-picks the winning version, over all their versions, of
    every record that has a new row or has lost its winner, and replaces those records
    only (`winning_versions_of`, `incremental_strategy='delete+insert'` on the record
    id). Any other record keeps its version: none of its versions changed. A record whose
    every version was taken away is gone with the pre-hook.

  Anything else (the first build, a changed build of the pipeline, a key rotation,
  `smhp nightly --full-refresh`) is a full build: the plain query. tests/test_incremental.py
  checks that both publish identical tables.
#}
{% macro only_new_deliveries() -%}
    {%- if is_incremental() %}
    -- incremental: the rows of files loaded since this table was last built
    where _file_id > (select coalesce(max(file_id), 0) from {{ this }})
    {%- endif %}
{%- endmacro %}

{% macro forget_replaced_files() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where file_id in (
        select replaces_file_id from {{ source('ingest', 'load_log') }}
        where replaces_file_id is not null
    )
    {%- else -%}
    select 1 -- a full build starts from nothing
    {%- endif -%}
{%- endmacro %}

{% macro winning_versions_of(staging, record_id_columns) -%}
{%- set key = record_id_columns | join(', ') -%}
select versions.*
from {{ staging }} as versions
{%- if is_incremental() %}
-- incremental: only the records with a row loaded since the last build (a row of a file
-- newer than every version kept here: a superset is harmless) or without a winner here
semi join (
    select {{ key }} from {{ staging }}
    where file_id > (select coalesce(max(file_id), 0) from {{ this }})
    union
    select {{ key }} from {{ staging }} anti join {{ this }} using ({{ key }})
) as touched using ({{ key }})
{%- endif %}
{{ winning_version(record_id_columns) }}
{%- endmacro %}
