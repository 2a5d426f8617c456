-- Referral metrics, one row per (month, institution or ALL, metric).
-- Month of `referred_on`:
--   referrals_received           number of referrals
--   referral_dna_pct             100 x referrals with outcome `did_not_attend` / referrals
--   referrals_per_1000_students  1000 x referrals / students enrolled that academic year
--                                (seed institution_populations; see below for ALL)
-- Month of `first_appointment_on` (referrals with a first appointment):
--   referral_completed_waits     number of referrals with a first appointment
--   referral_median_wait_days    median days referred_on -> first_appointment_on
--                                (interpolated: quantile_cont)
--   referral_seen_6wk_pct        100 x those with a wait of at most 42 days / those
with

referrals as (

    select * from {{ ref('int_referrals__active') }}

),

populations as (

    select * from {{ ref('institution_populations') }}

),

by_referral_month as (

    select
        referral_month as month,
        {{ institution_or_all() }} as institution_code,
        count(*) as referrals,
        count_if(is_dna) as dna
    from referrals
    {{ by_month_and_institution('referral_month') }}

),

by_first_appointment_month as (

    select
        first_appointment_month as month,
        {{ institution_or_all() }} as institution_code,
        count(*) as completed_waits,
        quantile_cont(wait_days, 0.5) as median_wait_days,
        count_if(seen_within_6wk) as seen_within_6wk
    from referrals
    where first_appointment_on is not null
    {{ by_month_and_institution('first_appointment_month') }}

),

-- referrals_per_1000_students: a month takes its academic year's headcount (1 August to
-- 31 July). Only institutions with a headcount row for that year take part; no
-- headcount, no row.
referrals_with_headcount as (

    select
        referrals.month,
        referrals.institution_code,
        referrals.referrals,
        populations.academic_year,
        populations.students
    from by_referral_month as referrals
    inner join populations
        on populations.institution_code = referrals.institution_code
        and populations.academic_year = {{ academic_year('referrals.month') }}

),

-- ALL: referrals and headcount both summed over the institutions with a headcount row
-- for the year (every such institution's students count, with or without referrals
-- that month)
headcount_all as (

    select academic_year, sum(students) as students
    from populations
    group by academic_year

),

per_1000_students as (

    select
        month,
        institution_code,
        1000.0 * referrals / students as value
    from referrals_with_headcount

    union all

    select
        referrals.month,
        'ALL' as institution_code,
        1000.0 * sum(referrals.referrals) / any_value(headcount_all.students) as value
    from referrals_with_headcount as referrals
    inner join headcount_all
        on headcount_all.academic_year = referrals.academic_year
    group by referrals.month

),

metrics as (

    select month, institution_code, 'referrals_received' as metric, referrals as value
    from by_referral_month

    union all

    select month, institution_code, 'referral_dna_pct', 100.0 * dna / referrals
    from by_referral_month

    union all

    select month, institution_code, 'referrals_per_1000_students', value
    from per_1000_students

    union all

    select month, institution_code, 'referral_completed_waits', completed_waits
    from by_first_appointment_month

    union all

    select month, institution_code, 'referral_median_wait_days', median_wait_days
    from by_first_appointment_month

    union all

    select month, institution_code, 'referral_seen_6wk_pct',
        100.0 * seen_within_6wk / completed_waits
    from by_first_appointment_month

)

-- every (month, institution) group holds at least one referral: counts are never 0 and
-- the denominators never empty
{{ metric_rows('metrics') }}
