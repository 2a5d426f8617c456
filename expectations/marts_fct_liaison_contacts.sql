-- The frame of the suite marts_fct_liaison_contacts.json: the columns of
-- marts.fct_liaison_contacts that its checks need. The ids are here only to be counted:
-- a result never copies one.
select
    contact_id,
    student_key,
    institution_code,
    presented_at,
    month,
    hours_to_informed
from marts.fct_liaison_contacts
