-- The declared change dates of the SPC charts (seed `spc_change_points`): from each, the
-- limits of the series it names are recalculated (rebasing, docs/dashboard.md).
select
    changed_on,
    institution_code,
    metric,
    reason
from {{ ref('spc_change_points') }}
