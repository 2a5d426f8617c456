-- One row per extract file the ingest processed: the load log as the dashboard's quality
-- page and the freshness fallback read it (rejected files, files and rows by status).
select * from {{ ref('stg_ingest__extract_files') }}
