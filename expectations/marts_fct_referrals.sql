-- The frame of the suite marts_fct_referrals.json: the columns of marts.fct_referrals that
-- its checks need. The ids are here only to be counted: a result never copies one.
select
    referral_id,
    student_key,
    institution_code,
    referred_on,
    referral_month,
    first_appointment_on,
    wait_days,
    seen_within_6wk
from marts.fct_referrals
