-- The frame of the suite expectations/incoming_student_profiles.json: one row profiling what the
-- source student_profiles has delivered (volume, vanished codes, quarantine share, fill rate and
-- the load-log accounting); see macros/incoming_profile.sql.
{{ incoming_profile(
    'student_records', 'student_profiles',
    code_columns=['institution_code', 'study_level', 'domicile']
) }}
