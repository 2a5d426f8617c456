-- Who refers students (seed `referral_sources`).
select
    referral_source,
    referral_source_name
from {{ ref('referral_sources') }}
