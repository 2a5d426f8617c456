"""Queries of the SPC charts beyond the monthly series (``dashboard.data``): the declared
change dates from which a series' limits are recalculated (``marts.dim_spc_change_points``,
from the seed ``spc_change_points``: the one place they are kept).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dashboard.data import read_frame
from smhp.access import Scope

# The series drawn for a scope is the partnership's (ALL rows) when the scope is every
# institution, else the total of the scope's institutions: it changes when any one of
# them does, so it takes the rows of each of its institutions (the partnership's rows
# describe the whole partnership, not a part of it).
_SQL = """
select changed_on, institution_code, metric, reason
from marts.dim_spc_change_points
where case
    when $institutions is null then institution_code = 'ALL'
    else list_contains($institutions, institution_code)
end
order by changed_on, institution_code, metric
"""


def change_points(snapshot: Path | str, scope: Scope) -> pd.DataFrame:
    """The change dates of the series the scope's charts draw: columns changed_on (a
    ``datetime.date``), institution_code, metric (``*``: every metric) and reason. Only
    the rows of the scope's own series: ``ALL`` for the whole partnership, the scope's
    institutions' rows for one institution or several."""
    return read_frame(snapshot, _SQL, scope.params())
