-- The services students are referred to (seed `services`).
select
    service_code,
    service_name,
    provider
from {{ ref('services') }}
