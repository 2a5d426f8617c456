-- One row per active liaison contact (winning version), with the flags the liaison
-- metrics count: read by fct_liaison_contacts (the published fact) and
-- int_metrics__liaison, so each flag is defined here once.
with

contacts as (

    select * from {{ ref('int_liaison_contacts__current') }}
    where record_status = 'active'

),

final as (

    select
        contact_id,
        student_key,
        institution_code,
        presented_at,
        cast(presented_at as date) as presented_on,
        {{ month_of('presented_at') }} as month,
        setting,
        outcome,
        referred_to,
        university_informed_at,

        -- wall-clock hours as delivered (no time-zone conversion)
        cast(date_diff('second', presented_at, university_informed_at) as double) / 3600
            as hours_to_informed,

        outcome = 'referral' as is_referral,

        -- informed at most 72 hours after presenting: 72:00:00 counts, 72:00:01 does not;
        -- not informed (yet) counts as not informed within 72 hours
        coalesce(university_informed_at <= presented_at + interval 72 hour, false)
            as informed_within_72h,

        updated_at,
        file_id

    from contacts

)

select * from final
