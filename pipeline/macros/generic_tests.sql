{#
  The generic tests the project needs beyond dbt's built-in four. Written here because
  the dbt package hub (dbt_utils) cannot be reached from these machines.
#}

{#
  unique_combination: no two rows share the same values of `columns`
  (a composite key, e.g. month + institution_code + metric).
#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#
  value_between: every non-null value of the column lies in [min_value, max_value],
  bounds inclusive (e.g. percentages 0-100).
#}
{% test value_between(model, column_name, min_value=none, max_value=none) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and (
    false
    {%- if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
    {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
  )
{% endtest %}

{#
  primary_key: the column is a key, unique and never null, checked in one query (one node
  instead of dbt's `unique` and `not_null`, which a nightly build would run as two). A
  failing row names the key value and the problem: `null` or `duplicate`.
#}
{% test primary_key(model, column_name) %}
select cast({{ column_name }} as varchar) as key_value, 'null' as problem
from {{ model }}
where {{ column_name }} is null
union all
select cast({{ column_name }} as varchar), 'duplicate'
from {{ model }}
where {{ column_name }} is not null
group by {{ column_name }}
having count(*) > 1
{% endtest %}

{#
  not_null_columns: none of `columns` holds a null, checked in one query for the model (one
  dbt node instead of one `not_null` per column). A failing row names the column and how
  many of its rows are null.
#}
{% test not_null_columns(model, columns) %}
{% for column in columns %}
select '{{ column }}' as column_name, count(*) as null_rows
from {{ model }}
where {{ column }} is null
having count(*) > 0
{% if not loop.last %}union all{% endif %}
{% endfor %}
{% endtest %}
