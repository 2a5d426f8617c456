-- The current profile of each student at each institution: winning version, active only,
-- with every column of the staged profile but the delivery bookkeeping (record_versions.sql;
-- the enforced contract in dim_student_profiles.yml names what is published).
with

profiles as (

    select * from {{ ref('int_student_profiles__current') }}
    where record_status = 'active'

),

final as (

    select * exclude ({{ delivery_only_columns() }})
    from profiles

)

select * from final
