-- One row per active referral (winning version), with the wait to the first appointment
-- and the flags the referral metrics count: read by fct_referrals (the published fact)
-- and int_metrics__referrals, so each flag is defined here once.
with

referrals as (

    select * from {{ ref('int_referrals__current') }}
    where record_status = 'active'

),

final as (

    select
        referral_id,
        student_key,
        institution_code,
        source,
        service_code,
        referred_on,
        {{ month_of('referred_on') }} as referral_month,
        first_appointment_on,
        {{ month_of('first_appointment_on') }} as first_appointment_month,

        -- whole days, later - earlier; null while there is no first appointment
        {{ days_between('referred_on', 'first_appointment_on') }} as wait_days,

        -- at most 42 days (42 counts, 43 does not); null while there is no first appointment
        {{ within_days('referred_on', 'first_appointment_on', 42) }} as seen_within_6wk,

        outcome,
        outcome = 'did_not_attend' as is_dna,
        closed_on,

        updated_at,
        file_id

    from referrals

)

select * from final
