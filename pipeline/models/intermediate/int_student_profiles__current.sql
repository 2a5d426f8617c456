-- The winning version of each student profile, the record id being
-- (student_key, institution_code): latest updated_at, then latest extract date.
-- Deleted ones included: the marts drop them.
select *
from {{ ref('stg_student_records__student_profiles') }}
{{ winning_version(['student_key', 'institution_code']) }}
