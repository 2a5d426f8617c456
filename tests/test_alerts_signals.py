"""Alerts, the pure parts (fast): the alerts file's checks, each rule on small hand-made
series, who gets which signal, the once-only state and the message's wording."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime
from email.policy import default
from pathlib import Path

import pandas as pd
import pytest

from smhp.alerts.message import compose, page_url, subject
from smhp.alerts.nightly import pending
from smhp.alerts.rules import (
    RUN_NOT_PUBLISHED,
    SOURCE_STALE,
    SPC_CONCERN,
    STANDARD_MISSED,
    AlertConfigError,
    Recipient,
    load_rules,
)
from smhp.alerts.signals import (
    RunStatus,
    Signal,
    run_not_published,
    spc_concern,
    stale_sources,
    standard_missed,
)
from smhp.alerts.state import AlertState, load_state, save_state
from smhp.reporting.catalogue import info
from smhp.settings import REPO_ROOT

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
SEEN_6WK = info("referral_seen_6wk_pct")  # higher is better, target 75
UOL = ("UOL", "University of Liverpool")
BOARD = Recipient("board", "board@example.org")
UOL_MANAGER = Recipient("service_manager", "uol@example.org", ("UOL",))
LJMU_MANAGER = Recipient("service_manager", "ljmu@example.org", ("LJMU",))
ADMIN = Recipient("admin", "admin@example.org")


def months(n: int, first: date = date(2025, 1, 1)) -> list[date]:
    return [d.date() for d in pd.date_range(first, periods=n, freq="MS")]


def series(values: list[float | None]) -> pd.DataFrame:
    """A shown series (``dashboard.series.shown_series``'s columns)."""
    return pd.DataFrame({"month": months(len(values)), "value": values})


def signal(rule: str = STANDARD_MISSED, institution: str | None = "UOL", **kw: object) -> Signal:
    fields = {
        "rule": rule,
        "subject": "referral_seen_6wk_pct",
        "label": "Seen within 6 weeks",
        "institution_code": institution,
        "institution_name": "University of Liverpool" if institution == "UOL" else "x",
        "month": date(2026, 10, 1),
        "value": "61.0%",
        "target": "75.0%",
        "detail": "below its target",
        "page_id": "overview",
    }
    return Signal(**{**fields, **kw})


# --- the alerts file --------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    return path


def test_the_committed_alerts_file_loads_with_example_addresses() -> None:
    rules = load_rules(REPO_ROOT / "config" / "alerts.toml")
    assert rules.rules == {SPC_CONCERN, STANDARD_MISSED, SOURCE_STALE, RUN_NOT_PUBLISHED}
    assert "referral_seen_6wk_pct" in rules.spc_metrics
    assert {r.role for r in rules.recipients} == {"board", "service_manager", "admin"}
    assert all(r.email.endswith("@example.org") for r in rules.recipients)


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        ('[spc]\nmetrics = ["referals_seen"]\n', "spc.metrics", "unknown metric 'referals_seen'"),
        ('[spc]\nmetrics = ["referrals_received"]\n', "spc.metrics", "no good direction"),
        ('[standards]\nmetrics = ["referral_dna_pct"]\n', "standards.metrics", "no target"),
        ("[rules]\nspc_concerns = true\n", "rules.spc_concerns", "unknown rule"),
        ('[rules]\nspc_concern = "yes"\n', "rules.spc_concern", "true or false"),
        ('[[recipients]]\nrole = "funder"\nemail = "f@example.org"\n', "recipients[1].role", ""),
        (
            '[[recipients]]\nrole = "service_manager"\nemail = "m@example.org"\n',
            "recipients[1]",
            "needs at least one institution",
        ),
        (
            '[[recipients]]\nrole = "service_manager"\ninstitution = "UoL"\nemail = "m@x.org"\n',
            "recipients[1]",
            "unknown institution code(s) UoL",
        ),
        ('[[recipients]]\nrole = "board"\nemail = "board"\n', "recipients[1].email", ""),
        ('[[recipients]]\nrole = "board"\nemail = "b@x.org"\ncc = 1\n', "recipients[1].cc", ""),
        ("[spc]\nmonths = 1\n", "spc.months", "at least 2"),
        ("[alerts]\n", "alerts", "unknown section"),
    ],
)
def test_a_mistake_in_the_alerts_file_names_the_file_and_the_key(
    tmp_path: Path, text: str, key: str, why: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AlertConfigError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(f"{path}: {key}: ")
    assert why in str(caught.value)


def test_a_missing_or_broken_alerts_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AlertConfigError, match="no alerts file"):
        load_rules(tmp_path / "none.toml")
    with pytest.raises(AlertConfigError, match="not valid TOML"):
        load_rules(write(tmp_path, "[rules\n"))


def test_rules_switched_off_and_a_manager_of_several_institutions(tmp_path: Path) -> None:
    rules = load_rules(
        write(
            tmp_path,
            "[rules]\nspc_concern = false\n"
            '[[recipients]]\nrole = "service_manager"\ninstitution = "HOPE"\n'
            'institutions = ["LIPA"]\nemail = "m@example.org"\n',
        )
    )
    assert not rules.on(SPC_CONCERN) and rules.on(STANDARD_MISSED)
    assert rules.recipients[0].institutions == ("HOPE", "LIPA")


# --- the rules on small series ----------------------------------------------------------


def test_spc_concern_on_the_latest_point_only() -> None:
    steady = [80.0, 82.0, 79.0, 81.0, 80.0, 83.0, 79.0, 81.0, 80.0, 82.0, 79.0, 81.0]
    found = spc_concern(series([*steady, 60.0]), SEEN_6WK, UOL)  # below the lower limit
    assert found is not None
    assert found.key == "spc_concern:referral_seen_6wk_pct:UOL:2026-01"
    assert (found.value, found.target, found.month) == ("60.0%", "75.0%", date(2026, 1, 1))
    assert "special cause concern (low)" in found.detail
    assert "outside the process limits" in found.detail
    # the drop is no longer the latest point: no signal (common cause now)
    assert spc_concern(series([*steady, 60.0, 80.0]), SEEN_6WK, UOL) is None
    # a rise is an improvement for a metric where higher is better, never a concern
    assert spc_concern(series([*steady, 99.0]), SEEN_6WK, UOL) is None


def test_spc_concern_leaves_gaps_out_and_honours_change_points() -> None:
    steady = [80.0, 82.0, 79.0, 81.0, 80.0, 83.0, 79.0, 81.0, 80.0, 82.0, 79.0, 81.0]
    with_gap = series([*steady, None, 60.0])
    found = spc_concern(with_gap, SEEN_6WK, UOL)
    assert found is not None and found.month == date(2026, 2, 1)  # the gap is not a point
    # limits recalculated from the drop: a segment of one point has no limits, no signal
    assert spc_concern(with_gap, SEEN_6WK, UOL, changes=[date(2026, 2, 1)]) is None


def test_standard_missed_in_the_month_asked_only() -> None:
    values = pd.DataFrame(
        {
            "month": [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)],
            "metric": ["referral_seen_6wk_pct"] * 3,
            "value": [74.96, 75.0, 10.0],
        }
    )
    found = standard_missed(values, SEEN_6WK, date(2026, 9, 1), UOL)
    assert found is None  # 74.96 is shown as 75.0: on the target meets it, as on the board
    assert standard_missed(values, SEEN_6WK, date(2026, 10, 1), UOL) is None
    found = standard_missed(values, SEEN_6WK, date(2026, 11, 1), UOL)
    assert found is not None and (found.value, found.target) == ("10.0%", "75.0%")
    assert found.key == "standard_missed:referral_seen_6wk_pct:UOL:2026-11"
    # a month without a row has no value: no records is not a missed standard
    assert standard_missed(values, SEEN_6WK, date(2026, 12, 1), UOL) is None


def test_stale_sources_and_runs_not_published() -> None:
    fresh = pd.DataFrame(
        {
            "source": ["referrals", "gp_referrals"],
            "last_extract_date": [date(2026, 10, 30), date(2026, 11, 29)],
            "days_since": [31, 1],
            "warn_after_days": [2, 2],
            "status": ["stale", "fresh"],
        }
    )
    (found,) = stale_sources(fresh)
    assert found.key == "source_stale:referrals:-:-"
    assert "31 days" in found.value and found.page_id == "quality"
    blocked = run_not_published(RunStatus("r1", "blocked", "expectation x failed"))
    assert blocked is not None and blocked.key == "run_not_published:blocked:-:-"
    assert blocked.detail == "expectation x failed"
    assert run_not_published(RunStatus("r2", "published_with_warnings", "stale")) is None
    assert run_not_published(None) is None


# --- who hears of what ------------------------------------------------------------------


def test_recipients_by_role_and_institution() -> None:
    signals = [
        signal(institution="UOL"),
        signal(institution="LJMU"),
        signal(institution="ALL"),
        signal(rule=SOURCE_STALE, institution=None, subject="referrals", month=None),
    ]
    todo = pending(signals, (BOARD, UOL_MANAGER, LJMU_MANAGER, ADMIN), AlertState())
    told = {(s.institution_code, r.email) for s, r in todo}
    assert {e for i, e in told if e == BOARD.email} == {BOARD.email}
    assert sum(r is BOARD for _, r in todo) == 4  # the board: every signal
    assert {i for i, e in told if e == UOL_MANAGER.email} == {"UOL"}  # never ALL or LJMU
    assert {i for i, e in told if e == LJMU_MANAGER.email} == {"LJMU"}
    assert {i for i, e in told if e == ADMIN.email} == {None}  # operational only
    assert not Recipient("funder", "f@example.org").wants(STANDARD_MISSED, "ALL")
    assert not Recipient("funder", "f@example.org").wants(SOURCE_STALE, None)


# --- the state: once, not again, again after it resolved ---------------------------------


def test_a_signal_alerts_once_and_again_after_it_resolved(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    a, b = signal(institution="UOL"), signal(institution="LJMU")
    state = load_state(path)
    assert [s.key for s, _ in pending([a], (BOARD,), state)] == [a.key]
    state = state.advanced([a.key], [(a.key, BOARD.email)], NOW)
    save_state(path, state)
    state = load_state(path)
    assert pending([a], (BOARD,), state) == []  # still active: not told again
    assert not state.is_new(a.key) and state.is_new(b.key)
    state = state.advanced([b.key], [], NOW)  # a resolved, b active but its send failed
    assert pending([a, b], (BOARD,), state) == [(a, BOARD), (b, BOARD)]
    assert state.first_seen == {b.key: NOW.isoformat(timespec="seconds")}
    # a recipient told of a signal that is no longer active is forgotten with it
    assert state.advanced([], [(a.key, BOARD.email)], NOW).told == {}


def test_a_failed_send_is_not_remembered_and_is_tried_again() -> None:
    a = signal(institution="UOL")
    failed = AlertState().advanced([a.key], [], NOW, undelivered=[a.key, a.key])
    assert failed.to_json() == AlertState().to_json()  # nothing recorded: still new
    assert pending([a], (BOARD, UOL_MANAGER), failed) == [(a, BOARD), (a, UOL_MANAGER)]
    half = AlertState().advanced([a.key], [(a.key, BOARD.email)], NOW, undelivered=[a.key])
    assert pending([a], (BOARD, UOL_MANAGER), half) == [(a, UOL_MANAGER)]
    # an active signal that failed again keeps what it had
    assert half.advanced([a.key], [], NOW, undelivered=[a.key]).told == {a.key: {BOARD.email}}


def test_a_new_recipient_hears_of_an_active_signal_the_others_do_not() -> None:
    a = signal(institution="UOL")
    state = AlertState().advanced([a.key], [(a.key, BOARD.email)], NOW)
    assert pending([a], (BOARD, UOL_MANAGER), state) == [(a, UOL_MANAGER)]


# --- the message ------------------------------------------------------------------------


def test_the_message_names_metric_institution_month_value_target_and_link() -> None:
    found = signal(rule=SPC_CONCERN)
    message = compose(
        found,
        UOL_MANAGER,
        sender="alerts@example.org",
        public_url="https://smhp.example.org",
        now=NOW,
    )
    parsed = email.message_from_bytes(bytes(message), policy=default)
    assert parsed["Subject"] == "[smhp] Concern: Seen within 6 weeks, UOL, October 2026"
    assert (parsed["From"], parsed["To"]) == ("alerts@example.org", "uol@example.org")
    assert parsed["X-Smhp-Signal"] == found.key
    assert parsed["Auto-Submitted"] == "auto-generated"
    text = parsed.get_content()
    for part in (
        "Seen within 6 weeks (referral_seen_6wk_pct)",
        "UOL (University of Liverpool)",
        "October 2026",
        "61.0%",
        "75.0%",
        "https://smhp.example.org/service",  # a manager cannot open the board page
    ):
        assert part in text
    assert max(len(line) for line in text.splitlines()) <= 78


def test_links_and_subjects() -> None:
    assert page_url("http://localhost:8501", "overview", "board") == "http://localhost:8501/board"
    assert page_url("http://x", "quality", "admin") == "http://x/quality"
    assert page_url("http://x", "overview", "service_manager") == "http://x/service"
    partnership = signal(rule=STANDARD_MISSED, institution="ALL")
    assert subject(partnership) == (
        "[smhp] Standard missed: Seen within 6 weeks, Partnership, October 2026"
    )
    stale = stale_sources(
        pd.DataFrame(
            {
                "source": ["referrals"],
                "last_extract_date": [date(2026, 10, 30)],
                "days_since": [31],
                "warn_after_days": [2],
                "status": ["stale"],
            }
        )
    )[0]
    assert subject(stale) == "[smhp] Stale source: referrals"
