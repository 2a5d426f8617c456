-- One row per contract rule a delivered row broke (the quarantine, without record ids or
-- values): the quality page counts them by source, column, rule and value class.
select * from {{ ref('stg_ingest__rule_breaks') }}
