-- One row per active U-COPE episode (winning version), with the assessment wait and the
-- CORE-10 outcome flags: read by fct_ucope_episodes (the published fact) and
-- int_metrics__ucope, so each flag is defined here once. Settings (dbt vars, dbt_project.yml):
--   reliable_change_threshold (default 6): reliable improvement when the CORE-10 score
--     falls by at least this many points from assessment to discharge;
--   core10_clinical_cutoff (default 11): a CORE-10 score at or above it is in the
--     clinical range; reliable recovery starts in it and ends below it with a reliable fall.
with

episodes as (

    select * from {{ ref('int_ucope_episodes__current') }}
    where record_status = 'active'

),

final as (

    select
        episode_id,
        student_key,
        institution_code,
        referral_source,
        referred_on,
        {{ month_of('referred_on') }} as referral_month,
        assessed_on,
        {{ month_of('assessed_on') }} as assessed_month,

        -- whole days, later - earlier; null while not assessed
        {{ days_between('referred_on', 'assessed_on') }} as days_to_assessment,

        -- at most 14 days (14 counts, 15 does not); null while not assessed
        {{ within_days('referred_on', 'assessed_on', 14) }} as assessed_within_14d,

        discharged_on,
        {{ month_of('discharged_on') }} as discharged_month,
        discharge_reason,

        -- null while the episode is open
        case when discharged_on is not null then discharge_reason = 'completed' end
            as is_completed,

        sessions_attended,
        core10_start,
        core10_end,
        core10_start is not null and core10_end is not null as has_both_scores,
        -- null unless both scores are known
        core10_start - core10_end >= {{ var('reliable_change_threshold') }}
            as reliable_improvement,
        core10_start >= {{ var('core10_clinical_cutoff') }} as start_in_clinical_range,
        core10_end >= {{ var('core10_clinical_cutoff') }} as end_in_clinical_range,
        -- the base of reliable recovery: both scores, starting in the clinical range
        coalesce(
            has_both_scores and core10_start >= {{ var('core10_clinical_cutoff') }}, false
        ) as in_recovery_base,
        -- NHS Talking Therapies' reliable recovery: ends below the cut-off after a reliable
        -- fall (an end score of 11 is not recovered); null outside the base
        case
            when in_recovery_base
                then core10_end < {{ var('core10_clinical_cutoff') }}
                and core10_start - core10_end >= {{ var('reliable_change_threshold') }}
        end as reliable_recovery,

        updated_at,
        file_id

    from episodes

)

select * from final
