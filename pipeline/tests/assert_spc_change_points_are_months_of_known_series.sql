-- Every declared SPC change date (seed `spc_change_points`) is the first day of a month
-- (a segment starts with a month of the monthly series), names the partnership (`ALL`) or
-- a partner institution, and every metric (`*`) or one of the metric catalogue: a typo
-- would otherwise rebase nothing, silently. Returns the rows that break it.
select c.*
from {{ ref('spc_change_points') }} c
left join {{ ref('institutions') }} i using (institution_code)
left join {{ ref('metric_catalogue') }} m using (metric)
where day(c.changed_on) <> 1
   or (c.institution_code <> 'ALL' and i.institution_code is null)
   or (c.metric <> '*' and m.metric is null)
