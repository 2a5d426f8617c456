"""The project's generic dbt tests (``pipeline/macros/generic_tests.sql``), run as the SQL
dbt would run: a failing row for each problem, none on clean data."""

from __future__ import annotations

import re

import duckdb
import jinja2

from smhp.settings import PIPELINE_DIR


def _test_sql(name: str, **arguments: str) -> str:
    """The body of ``{% test name(...) %}``, rendered with ``arguments``."""
    text = (PIPELINE_DIR / "macros" / "generic_tests.sql").read_text(encoding="utf-8")
    body = re.search(r"{%\s*test " + name + r"\(.*?\)\s*%}(.*?){%\s*endtest\s*%}", text, re.S)
    assert body, name
    return jinja2.Template(body.group(1)).render(**arguments)


def test_primary_key_names_each_null_and_each_duplicate() -> None:
    con = duckdb.connect()
    con.execute("create table t as select * from (values (1), (2), (2), (null), (3)) v(id)")
    sql = _test_sql("primary_key", model="t", column_name="id")
    assert sorted(con.execute(sql).fetchall(), key=str) == [("2", "duplicate"), (None, "null")]
    con.execute("create table clean as select * from (values (1), (2), (3)) v(id)")
    assert con.execute(_test_sql("primary_key", model="clean", column_name="id")).fetchall() == []


def test_not_null_columns_names_each_column_with_nulls_and_how_many() -> None:
    con = duckdb.connect()
    con.execute(
        "create table t as select * from (values (1, 'a'), (null, 'b'), (null, null)) v(x, y)"
    )
    sql = _test_sql("not_null_columns", model="t", columns=["x", "y"])
    assert sorted(con.execute(sql).fetchall()) == [("x", 2), ("y", 1)]
    con.execute("create table clean as select * from (values (1, 'a')) v(x, y)")
    clean = _test_sql("not_null_columns", model="clean", columns=["x", "y"])
    assert con.execute(clean).fetchall() == []
