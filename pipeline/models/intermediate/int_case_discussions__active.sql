-- One row per active case discussion (winning version), with the days to the start of
-- the agreed pathway: read by fct_case_discussions (the published fact) and
-- int_metrics__case_discussions, so the flag is defined here once.
with

discussions as (

    select * from {{ ref('int_case_discussions__current') }}
    where record_status = 'active'

),

final as (

    select
        discussion_id,
        student_key,
        institution_code,
        contact_id,
        discussed_on,
        {{ month_of('discussed_on') }} as month,
        agreed_pathway,
        pathway_started_on,

        -- whole days, later - earlier
        {{ days_between('discussed_on', 'pathway_started_on') }} as days_to_pathway_start,

        -- at most 14 days (14 counts, 15 does not); not started counts as not within 14
        coalesce({{ within_days('discussed_on', 'pathway_started_on', 14) }}, false)
            as pathway_started_within_14d,

        updated_at,
        file_id

    from discussions

)

select * from final
