-- One row per delivered (valid) version of a referral: rename and cast only.
with

source as (

    select * from {{ source('referrals', 'referrals') }}

),

renamed as (

    select
        -- ids
        referral_id,
        student_key,
        institution_code,

        -- what happened
        source,
        service_code,
        cast(referred_on as date) as referred_on,
        cast(first_appointment_on as date) as first_appointment_on,
        outcome,
        cast(closed_on as date) as closed_on,

        -- versioning
        cast(updated_at as timestamp) as updated_at,
        record_status,

        -- delivery
        _file_id as file_id,
        _extract_date as extract_date,
        _row_number as source_row_number,
        _loaded_at as loaded_at

    from source

)

select * from renamed
