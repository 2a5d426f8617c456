-- The frame of the suite marts_fct_case_discussions.json: the columns of
-- marts.fct_case_discussions that its checks need. The ids are here only to be counted:
-- a result never copies one.
select
    discussion_id,
    student_key,
    institution_code,
    discussed_on,
    month,
    days_to_pathway_start
from marts.fct_case_discussions
