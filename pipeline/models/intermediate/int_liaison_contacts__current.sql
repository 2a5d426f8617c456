-- The winning version of each liaison contact (latest updated_at, then latest extract date),
-- deleted ones included: the marts drop them.
select *
from {{ ref('stg_liaison__contacts') }}
{{ winning_version(['contact_id']) }}
