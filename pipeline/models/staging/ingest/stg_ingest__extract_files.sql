-- One row per extract file the ingest processed (raw.load_log): rename only. The hash and
-- file-system details stay in raw; readers need what happened to each file.
with

source as (

    select * from {{ source('ingest', 'load_log') }}

),

renamed as (

    select
        file_id,
        run_id,
        processed_at,
        path,
        source,
        extract_date,
        status,
        reason,
        rows_read,
        rows_loaded,
        rows_quarantined,
        dropped_columns,
        replaces_file_id

    from source

)

select * from renamed
