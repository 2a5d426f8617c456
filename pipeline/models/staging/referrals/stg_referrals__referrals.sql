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

        {{ version_and_delivery_columns() }}

    from source

)

select * from renamed
