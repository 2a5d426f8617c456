-- The frame of the suite expectations/incoming_case_discussions.json: one row profiling what the
-- source case_discussions has delivered (volume, vanished codes, quarantine share, fill rate and
-- the load-log accounting); see macros/incoming_profile.sql.
{{ incoming_profile(
    'liaison', 'case_discussions',
    code_columns=['institution_code', 'agreed_pathway'],
    filled_column='pathway_started_on'
) }}
