-- Who each service reached, and when: one row per (service, institution, student, event
-- date) of the records that count, as the facts define them (the *_active models):
-- liaison contacts on presented_on (the UK local date of presented_at), referrals and
-- U-COPE episodes on referred_on. fct_service_reach adds the student's bands.
with

liaison as (

    select distinct
        'liaison' as service, institution_code, student_key, presented_on as reached_on
    from {{ ref('int_liaison_contacts__active') }}

),

referrals as (

    select distinct
        'referrals' as service, institution_code, student_key, referred_on as reached_on
    from {{ ref('int_referrals__active') }}

),

ucope as (

    select distinct
        'ucope' as service, institution_code, student_key, referred_on as reached_on
    from {{ ref('int_ucope_episodes__active') }}

),

final as (

    select * from liaison
    union all
    select * from referrals
    union all
    select * from ucope

)

select * from final
