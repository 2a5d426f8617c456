-- The frame of the suite marts_fct_ucope_episodes.json: the columns of
-- marts.fct_ucope_episodes that its checks need. The ids are here only to be counted:
-- a result never copies one.
select
    episode_id,
    student_key,
    institution_code,
    referred_on,
    referral_month,
    days_to_assessment,
    sessions_attended,
    core10_start,
    core10_end
from marts.fct_ucope_episodes
