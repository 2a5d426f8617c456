-- The winning version of each student profile, the record id being
-- (student_key, institution_code): latest updated_at, then latest extract date.
-- Deleted ones included: the marts drop them.
-- Incremental: see macros/incremental_versions.sql.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    pre_hook="{{ forget_replaced_files() }}",
    unique_key=['student_key', 'institution_code']
) }}

{{ winning_versions_of(ref('stg_student_records__student_profiles'), ['student_key', 'institution_code']) }}
