-- The winning version of each U-COPE episode (latest updated_at, then latest extract date),
-- deleted ones included: the marts drop them.
select *
from {{ ref('stg_ucope__episodes') }}
{{ winning_version(['episode_id']) }}
