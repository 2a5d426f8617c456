{#
  The frame of every `incoming_<source>` quality suite: ONE row profiling what a source
  has delivered, after the contract checks of the ingest (raw.<source> holds only valid
  rows). The five models `qa_incoming_<source>` call it with their source, the code
  columns whose vanishing is watched and the optional column whose fill rate is watched.
  It reads the raw layer itself, not staging: it profiles what arrived, as it arrived.

  Every measure is computed here so that the suite stays a list of bounds. A measure is
  NULL where there is too little data to judge: GX ignores NULLs, so the check passes.
  Windows count back from L, the latest extract date of this source: "last 28 days" are
  extracts dated after L - 28, "the 90 days before" those after L - 118 up to L - 28.
  Only counts, ratios, dates and codes leave this query: never a value of a row that
  could identify anyone.
#}
{% macro incoming_profile(system, table, code_columns, filled_column=none) -%}
{%- set raw = source(system, table) -%}
{%- set load_log = source('ingest', 'load_log') -%}
with
files as (  -- the files whose rows may be in raw; superseded = replaced by a correction
    select
        l.file_id,
        l.extract_date,
        l.rows_read,
        l.rows_loaded,
        l.rows_quarantined,
        exists (select 1 from {{ load_log }} as s where s.replaces_file_id = l.file_id)
            as superseded
    from {{ load_log }} as l
    where l.source = '{{ table }}' and l.status in ('loaded', 'replaced')
),
rows_per_file as (
    select _file_id as file_id, count(*) as n from {{ raw }} group by _file_id
),
accounting as (  -- rows read = loaded + quarantined, and raw holds exactly what was loaded
    select
        count(*) filter (
            where f.rows_read is distinct from f.rows_loaded + f.rows_quarantined
        ) as files_unbalanced,
        coalesce(sum(abs(
            coalesce(r.n, 0) - case when f.superseded then 0 else f.rows_loaded end
        )), 0) as rows_off
    from files as f
    left join rows_per_file as r on r.file_id = f.file_id
),
orphans as (  -- raw rows of no loaded file
    select coalesce(sum(r.n), 0) as n
    from rows_per_file as r
    left join files as f on f.file_id = r.file_id
    where f.file_id is null
),
bad_keys as (  -- student_key must be the 64-hex HMAC, never a delivered student_ref
    select count(*) as n
    from {{ raw }}
    where student_key is null or not regexp_full_match(student_key, '[0-9a-f]{64}')
),
night_rows as (  -- every extract night with a file, and the rows it holds now
    select n.night, count(x._extract_date) as n_rows
    from (select distinct extract_date as night from files) as n
    left join {{ raw }} as x on x._extract_date = n.night
    group by n.night
),
ranked as (
    select night, n_rows, row_number() over (order by night desc) as k from night_rows
),
latest as (  -- L, and its rows (one row even when nothing was delivered yet)
    select max(night) as night, max(n_rows) filter (where k = 1) as n_rows from ranked
),
baseline as (  -- the 8 extract nights before L
    select count(*) as nights, median(n_rows) as median_rows from ranked where k between 2 and 9
),
window_rows as (
    select x.*, x._extract_date > latest.night - 28 as is_recent
    from {{ raw }} as x, latest
    where x._extract_date > latest.night - 118
),
windows as (
    select
        count(*) filter (where is_recent) as recent_rows,
        count(*) filter (where not is_recent) as previous_rows,
        count({{ filled_column or 'null' }}) filter (where is_recent) as recent_filled,
        count({{ filled_column or 'null' }}) filter (where not is_recent) as previous_filled
    from window_rows
),
codes as (
    {%- for column in code_columns %}
    {% if not loop.first %}union all {% endif -%}
    select '{{ column }}' as col, {{ column }} as code, is_recent from window_rows
    {%- endfor %}
),
code_counts as (
    select
        col,
        code,
        count(*) filter (where is_recent) as recent,
        count(*) filter (where not is_recent) as previous
    from codes
    where code is not null
    group by col, code
),
vanished as (
    -- a code seen in the 90 days before the last 28 but not since, although at the last 28
    -- days' volume at least 8 rows of it were to be expected (none by chance: < 0.1 %)
    select string_agg(c.col || '=' || c.code, ', ' order by c.col, c.code) as codes
    from code_counts as c, windows as w
    where c.recent = 0
        and w.previous_rows > 0
        and c.previous * w.recent_rows / w.previous_rows >= 8
),
quarantine as (  -- files of the last 28 days
    select sum(f.rows_read) as rows_read, sum(f.rows_quarantined) as rows_quarantined
    from files as f, latest
    where f.extract_date > latest.night - 28 and not f.superseded
)
select
    '{{ table }} ' || coalesce(strftime(latest.night, '%Y-%m-%d'), 'no extract yet')
        as row_label,
    accounting.files_unbalanced::bigint as files_unbalanced,
    (accounting.rows_off + orphans.n)::bigint as rows_not_matching_load_log,
    bad_keys.n::bigint as student_keys_not_pseudonymised,
    latest.n_rows::bigint as latest_night_rows,
    baseline.median_rows::double as median_rows_previous_8_nights,
    -- rows of night L / median of the 8 nights before. Under a median of 10 rows a drop
    -- cannot be told from chance, so only a surge counts there: rows above 10 against 10.
    case
        when baseline.nights < 8 then null
        when baseline.median_rows >= 10 then latest.n_rows / baseline.median_rows
        else greatest(latest.n_rows, 10) / 10.0
    end::double as volume_ratio,
    vanished.codes as vanished_codes,
    case when quarantine.rows_read >= 50
        then quarantine.rows_quarantined / quarantine.rows_read
    end::double as quarantined_share_28d,
    -- share of rows with {{ filled_column or 'null' }} filled: last 28 days / the 90 days before
    case when windows.recent_rows >= 30 and windows.previous_rows >= 30
            and windows.previous_filled / windows.previous_rows >= 0.05
        then (windows.recent_filled / windows.recent_rows)
            / (windows.previous_filled / windows.previous_rows)
    end::double as filled_ratio
from accounting, orphans, bad_keys, latest, baseline, windows, vanished, quarantine
{%- endmacro %}
