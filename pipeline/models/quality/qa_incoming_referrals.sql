-- The frame of the suite expectations/incoming_referrals.json: one row profiling what the
-- source referrals has delivered (volume, vanished codes, quarantine share, fill rate and
-- the load-log accounting); see macros/incoming_profile.sql.
{{ incoming_profile(
    'referrals', 'referrals',
    code_columns=['institution_code', 'source', 'service_code'],
    filled_column='first_appointment_on'
) }}
