-- U-COPE metrics, one row per (month, institution or ALL, metric).
-- Month of `referred_on`:
--   ucope_referrals                   number of U-COPE episodes
--   ucope_students                    distinct students among those episodes
-- Month of `assessed_on` (episodes assessed):
--   ucope_assessed                    number of episodes assessed
--   ucope_median_days_to_assessment   median days referred_on -> assessed_on
--                                     (interpolated: quantile_cont)
--   ucope_assessed_14d_pct            100 x those assessed at most 14 days after
--                                     referral / those
-- Month of `discharged_on` (episodes discharged):
--   ucope_discharges                  number of episodes discharged
--   ucope_completion_pct              100 x discharges with reason `completed` / discharges
--   ucope_reliable_improvement_pct    over discharges with both CORE-10 scores: 100 x those
--                                     with core10_start - core10_end >= var
--                                     reliable_change_threshold (6) / those
--   ucope_reliable_recovery_pct       over discharges with both scores starting at or above
--                                     var core10_clinical_cutoff (11): 100 x those ending
--                                     below it with a reliable improvement / those
with

episodes as (

    select * from {{ ref('int_ucope_episodes__active') }}

),

by_referral_month as (

    select
        referral_month as month,
        {{ institution_or_all() }} as institution_code,
        count(*) as episodes,
        count(distinct student_key) as students
    from episodes
    {{ by_month_and_institution('referral_month') }}

),

by_assessed_month as (

    select
        assessed_month as month,
        {{ institution_or_all() }} as institution_code,
        count(*) as assessed,
        quantile_cont(days_to_assessment, 0.5) as median_days_to_assessment,
        count_if(assessed_within_14d) as assessed_within_14d
    from episodes
    where assessed_on is not null
    {{ by_month_and_institution('assessed_month') }}

),

by_discharged_month as (

    select
        discharged_month as month,
        {{ institution_or_all() }} as institution_code,
        count(*) as discharges,
        count_if(is_completed) as completed,
        count_if(has_both_scores) as with_both_scores,
        count_if(reliable_improvement) as reliable_improvement,
        count_if(in_recovery_base) as in_recovery_base,
        count_if(reliable_recovery) as reliable_recovery
    from episodes
    where discharged_on is not null
    {{ by_month_and_institution('discharged_month') }}

),

metrics as (

    select month, institution_code, 'ucope_referrals' as metric, episodes as value
    from by_referral_month

    union all

    select month, institution_code, 'ucope_students', students
    from by_referral_month

    union all

    select month, institution_code, 'ucope_assessed', assessed
    from by_assessed_month

    union all

    select month, institution_code, 'ucope_median_days_to_assessment',
        median_days_to_assessment
    from by_assessed_month

    union all

    select month, institution_code, 'ucope_assessed_14d_pct',
        100.0 * assessed_within_14d / assessed
    from by_assessed_month

    union all

    select month, institution_code, 'ucope_discharges', discharges
    from by_discharged_month

    union all

    select month, institution_code, 'ucope_completion_pct', 100.0 * completed / discharges
    from by_discharged_month

    union all

    -- omitted where no discharge of the month has both scores (empty denominator)
    select month, institution_code, 'ucope_reliable_improvement_pct',
        100.0 * reliable_improvement / with_both_scores
    from by_discharged_month
    where with_both_scores > 0

    union all

    -- omitted where no discharge of the month starts in the clinical range with both scores
    select month, institution_code, 'ucope_reliable_recovery_pct',
        100.0 * reliable_recovery / in_recovery_base
    from by_discharged_month
    where in_recovery_base > 0

)

-- every (month, institution) group holds at least one episode: counts are never 0
{{ metric_rows('metrics') }}
