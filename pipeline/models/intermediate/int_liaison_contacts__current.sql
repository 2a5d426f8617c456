-- The winning version of each liaison contact (latest updated_at, then latest extract date),
-- deleted ones included: the marts drop them.
-- Incremental: see macros/incremental_versions.sql.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    pre_hook="{{ forget_replaced_files() }}",
    unique_key='contact_id'
) }}

{{ winning_versions_of(ref('stg_liaison__contacts'), ['contact_id']) }}
