-- The partner institutions (seed `institutions`).
select
    institution_code,
    institution_name,
    joined_on
from {{ ref('institutions') }}
