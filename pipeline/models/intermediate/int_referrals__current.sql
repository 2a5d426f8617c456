-- The winning version of each referral (latest updated_at, then latest extract date),
-- deleted ones included: the marts drop them.
select *
from {{ ref('stg_referrals__referrals') }}
{{ winning_version(['referral_id']) }}
