-- The winning version of each referral (latest updated_at, then latest extract date),
-- deleted ones included: the marts drop them.
-- Incremental: see macros/incremental_versions.sql.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    pre_hook="{{ forget_replaced_files() }}",
    unique_key='referral_id'
) }}

{{ winning_versions_of(ref('stg_referrals__referrals'), ['referral_id']) }}
