-- The winning version of each case discussion (latest updated_at, then latest extract date),
-- deleted ones included: the marts drop them.
-- Incremental: see macros/incremental_versions.sql.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    pre_hook="{{ forget_replaced_files() }}",
    unique_key='discussion_id'
) }}

{{ winning_versions_of(ref('stg_liaison__case_discussions'), ['discussion_id']) }}
