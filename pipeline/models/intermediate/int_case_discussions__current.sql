-- The winning version of each case discussion (latest updated_at, then latest extract date),
-- deleted ones included: the marts drop them.
select *
from {{ ref('stg_liaison__case_discussions') }}
{{ winning_version(['discussion_id']) }}
