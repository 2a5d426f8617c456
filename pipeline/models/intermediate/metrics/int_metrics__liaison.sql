-- Liaison service metrics, one row per (month, institution or ALL, metric).
-- Month of `presented_at`:
--   liaison_contacts          number of liaison contacts
--   liaison_students          distinct students among those contacts
--   liaison_referral_pct      100 x contacts with outcome `referral` / contacts
--   liaison_informed_72h_pct  100 x contacts whose university was informed at most 72 h
--                             after presenting / contacts
with

contacts as (

    select * from {{ ref('int_liaison_contacts__active') }}

),

by_presented_month as (

    select
        month,
        {{ institution_or_all() }} as institution_code,
        count(*) as contacts,
        count(distinct student_key) as students,
        count_if(is_referral) as referrals,
        count_if(informed_within_72h) as informed_within_72h
    from contacts
    {{ by_month_and_institution('month') }}

),

metrics as (

    select month, institution_code, 'liaison_contacts' as metric, contacts as value
    from by_presented_month

    union all

    select month, institution_code, 'liaison_students', students
    from by_presented_month

    union all

    select month, institution_code, 'liaison_referral_pct', 100.0 * referrals / contacts
    from by_presented_month

    union all

    select month, institution_code, 'liaison_informed_72h_pct',
        100.0 * informed_within_72h / contacts
    from by_presented_month

)

-- every (month, institution) group holds at least one contact: counts are never 0 and
-- the denominators never empty
{{ metric_rows('metrics') }}
