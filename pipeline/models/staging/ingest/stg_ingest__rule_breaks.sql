-- One row per broken contract rule of a delivered row (raw.quarantine): rename only. The
-- record id stays in raw; readers count rules, never look up records.
with

source as (

    select * from {{ source('ingest', 'quarantine') }}

),

renamed as (

    select
        file_id,
        source,
        row_number as source_row_number,
        column_name,
        value_class,
        rule

    from source

)

select * from renamed
