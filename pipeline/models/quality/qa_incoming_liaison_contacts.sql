-- The frame of the suite expectations/incoming_liaison_contacts.json: one row profiling what the
-- source liaison_contacts has delivered (volume, vanished codes, quarantine share, fill rate and
-- the load-log accounting); see macros/incoming_profile.sql.
{{ incoming_profile(
    'liaison', 'liaison_contacts',
    code_columns=['institution_code', 'setting', 'outcome', 'referred_to'],
    filled_column='university_informed_at'
) }}
