-- The frame of the suite expectations/incoming_ucope_episodes.json: one row profiling what the
-- source ucope_episodes has delivered (volume, vanished codes, quarantine share, fill rate and
-- the load-log accounting); see macros/incoming_profile.sql.
{{ incoming_profile(
    'ucope', 'ucope_episodes',
    code_columns=['institution_code', 'referral_source'],
    filled_column='core10_start'
) }}
