-- The frame of the suite expectations/incoming_referral_waits.json: ONE row comparing the median referral
-- wait of the latest complete month (by first appointment, winning versions from the mart)
-- with the median of the 12 months before, so that a jump in waits is asked about.
-- L is the latest extract date of referrals; only medians and counts leave this query.
with
latest as (
    select max(extract_date) as night
    from {{ source('ingest', 'load_log') }}
    where source = 'referrals' and status in ('loaded', 'replaced')
),
wait_month as (  -- the latest complete month of first appointments
    select case
        when extract(day from latest.night + 1) = 1 then date_trunc('month', latest.night)
        else date_trunc('month', latest.night) - interval 1 month
    end::date as month
    from latest
),
waits as (
    select
        median(r.wait_days) filter (where r.first_appointment_month = m.month)
            as latest_median,
        count(r.wait_days) filter (where r.first_appointment_month = m.month) as latest_n,
        median(r.wait_days) filter (
            where r.first_appointment_month >= m.month - interval 12 month
                and r.first_appointment_month < m.month
        ) as previous_median,
        count(r.wait_days) filter (
            where r.first_appointment_month >= m.month - interval 12 month
                and r.first_appointment_month < m.month
        ) as previous_n
    from {{ ref('fct_referrals') }} as r, wait_month as m
)
select
    'referral waits ' || coalesce(strftime(wait_month.month, '%Y-%m'), 'no extract yet')
        as row_label,
    waits.latest_median::double as median_wait_days_latest_month,
    waits.previous_median::double as median_wait_days_previous_12_months,
    -- median wait of the latest complete month / median over the 12 months before
    case when waits.latest_n >= 10 and waits.previous_n >= 30 and waits.previous_median > 0
        then waits.latest_median / waits.previous_median
    end::double as median_wait_ratio
from waits, wait_month
