"""The PDF packs (issue 11), rendered for real from the demo warehouse by its nightly run:
the text pypdf extracts equals the scoped queries' figures, a manager pack names no other
institution, the funder pack follows disclosure control, every PDF is tagged (PDF/UA-1:
structure tree, language, title) and landscape A4 with a text alternative for every chart,
and a renderer that fails leaves a manifest that says why and raises from the add-on.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import date
from pathlib import Path

import pypdf
import pytest
from dashboard_warehouse import APP, sign_in
from streamlit.testing.v1 import AppTest

from dashboard import downloads
from dashboard.catalog import BOARD_TILES
from dashboard.data import as_of, monthly_metrics
from dashboard.queries import funder
from smhp.access import BOARD_SCOPE, FUNDER_SCOPE
from smhp.access.audit import AuditLog
from smhp.packs import content
from smhp.packs.nightly import UNCHANGED, after_run
from smhp.packs.render import PackRenderError
from smhp.packs.store import FAILED, RENDERED, Manifest, packs_dir, packs_for, write_manifest
from smhp.pipeline.addons import FinishedRun
from smhp.reporting.catalogue import info
from smhp.reporting.release_periods import FUNDED
from smhp.settings import Settings
from smhp.warehouse import resolve_published

pytestmark = pytest.mark.slow

A4_LANDSCAPE = (841.89, 595.28)


@pytest.fixture(scope="session")
def snapshot(demo_warehouse: Path) -> Path:
    return resolve_published(demo_warehouse)


@pytest.fixture(scope="session")
def rendered(snapshot: Path) -> tuple[Path, Manifest]:
    """Every pack of the demo, as ``smhp demo`` made them after its last nightly run (the
    nightly add-on, ``smhp.packs.nightly``), beside its published snapshot."""
    manifest = packs_for(snapshot)
    assert manifest is not None, "the demo's last nightly run made no packs"
    return packs_dir(snapshot), manifest


def text_of(path: Path) -> str:
    """The PDF's text; a word wrapped after its hyphen (U-/COPE in a narrow cell) joined."""
    text = "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(path).pages)
    return re.sub(r"(?<=\w-)\n(?=\w)", "", text)


def pdf(rendered: tuple[Path, Manifest], name: str) -> Path:
    return rendered[0] / name


def test_every_pack_is_rendered_and_listed(rendered, snapshot) -> None:
    out, manifest = rendered
    codes = [code for code, _ in content.institutions(snapshot)]
    assert manifest.status == RENDERED and manifest.reason is None
    assert [p.file for p in manifest.packs] == [
        "board.pdf",
        *(f"manager-{c}.pdf" for c in codes),
        "funder.pdf",
    ]
    assert all((out / p.file).stat().st_size > 10_000 and p.seconds > 0 for p in manifest.packs)
    assert Manifest.from_json((out / "manifest.json").read_text()) == manifest
    assert manifest.as_of == as_of(snapshot, BOARD_SCOPE).latest_extract.isoformat()


def _figures(node: object) -> list[pypdf.generic.DictionaryObject]:
    """Every /Figure element of a structure tree."""
    node = node.get_object() if hasattr(node, "get_object") else node
    found = []
    if isinstance(node, pypdf.generic.DictionaryObject):
        if node.get("/S") == "/Figure":
            found.append(node)
        kids = node.get("/K")
        if kids is not None:
            found += _figures(kids)
    elif isinstance(node, pypdf.generic.ArrayObject):
        for kid in node:
            found += _figures(kid)
    return found


def test_every_pdf_is_tagged_titled_landscape_a4_with_text_alternatives(rendered) -> None:
    out, manifest = rendered
    for pack in manifest.packs:
        reader = pypdf.PdfReader(out / pack.file)
        root = reader.trailer["/Root"]
        assert "/StructTreeRoot" in root and root["/Lang"] == "en-GB", pack.file
        assert root["/MarkInfo"]["/Marked"], pack.file
        assert reader.metadata.title == pack.title
        for page in reader.pages:
            size = (float(page.mediabox.width), float(page.mediabox.height))
            assert size == pytest.approx(A4_LANDSCAPE, abs=0.5), pack.file
        figures = _figures(root["/StructTreeRoot"])
        assert figures and all(str(f.get("/Alt", "")).strip() for f in figures), pack.file


def test_every_chart_says_what_it_shows(rendered, snapshot) -> None:
    board = content.board_pack(snapshot)
    text = re.sub(r"\s+", " ", text_of(pdf(rendered, "board.pdf")))
    assert len(board.charts) >= 7
    for chart in board.charts:
        assert chart.sentence in text  # the plain sentence under every chart
    assert re.search(r"Referrals received: (common cause|special cause [^;]+); no target\.", text)
    assert "About this chart: SPC chart" in text


def test_board_headlines_are_the_marts(rendered, snapshot) -> None:
    month = as_of(snapshot, BOARD_SCOPE).complete_month
    values = monthly_metrics(snapshot, BOARD_SCOPE, BOARD_TILES)
    text = text_of(pdf(rendered, "board.pdf"))
    line = next(t for t in text.splitlines() if t.startswith("Headline figures, "))
    assert line.startswith(f"Headline figures, {month:%B %Y} compared with")
    for metric in BOARD_TILES:
        mi = info(metric)
        hit = values[(values["metric"] == metric) & (values["month"] == month)]["value"]
        value = float(hit.iloc[0]) if not hit.empty else 0.0
        shown = mi.format(round(value, 1))
        assert re.search(rf"{re.escape(mi.label)}\s+{re.escape(shown)}", text), (metric, shown)


INSTITUTIONS = {
    "UOL": "University of Liverpool",
    "LJMU": "Liverpool John Moores University",
    "HOPE": "Liverpool Hope University",
    "LIPA": "Liverpool Institute for Performing Arts",
    "LSTM": "Liverpool School of Tropical Medicine",
    "UOLIC": "University of Liverpool International College",
}


def test_a_manager_pack_names_no_other_institution(rendered, snapshot) -> None:
    assert dict(content.institutions(snapshot)) == INSTITUTIONS
    for code, name in INSTITUTIONS.items():
        text = re.sub(r"\s+", " ", text_of(pdf(rendered, f"manager-{code}.pdf")))
        assert code in text and name in text
        others = text.replace(name, "")
        for other, other_name in INSTITUTIONS.items():
            if other != code:
                assert not re.search(rf"\b{other}\b", text), (code, other)
                assert other_name not in others, (code, other_name)
        assert "referral_id" not in text and "Days waiting" not in text  # counts, no records


COUNT_COLUMNS = {
    "Students supported by the liaison service",
    "Students supported by U-COPE",
    "Referrals received",
    "Institutions reached",
    "Students enrolled at those institutions",
    "Measured",
    "Met the standard",
    "Of",
    "Met",
    "Students reached",
    "Students enrolled",
}


def _disclosed(value: str) -> bool:
    if value in ("*", "—", "0"):
        return True
    number = float(value.replace(",", ""))
    return number.is_integer() and number % 5 == 0 and number > 7


def test_the_funder_pack_is_disclosed(rendered, snapshot) -> None:
    pack = content.funder_pack(snapshot)
    text = re.sub(r"\s+", " ", text_of(pdf(rendered, "funder.pdf")))
    assert re.search(r"Students supported by the liaison service 429\b", text)
    assert re.search(r"Students supported by U-COPE 299\b", text)
    exact = funder.exact_in(snapshot, FUNDER_SCOPE, FUNDED)  # the one cell the spec allows
    exact_rows = {label for key, label, _ in funder.HEADLINES if key in exact}
    assert {
        "Students supported by the liaison service",
        "Students supported by U-COPE",
    } <= exact_rows
    checked = 0
    for section in pack.sections:
        for table in (b for b in section.blocks if isinstance(b, content.Table)):
            for row in table.rows:
                assert " ".join(row) in text, (table.caption, row)  # the PDF shows the model
                cells = dict(zip(table.header, row, strict=True))
                if table.header == ("Measure", "Value"):  # the one exact cell of the spec
                    if row[0] in COUNT_COLUMNS and row[0] not in exact_rows:
                        assert _disclosed(row[1]), row
                    continue
                if table.header[0] == "Standard":
                    continue  # the exact cell's standards (the funder page's rule)
                for column, value in cells.items():
                    if column in COUNT_COLUMNS and column != table.header[0]:
                        checked += 1
                        assert _disclosed(value), (table.caption, column, value)
    assert checked > 50
    assert "Disclosure control (NHS rule" in text


def test_a_run_without_new_data_leaves_the_packs(snapshot) -> None:
    run = FinishedRun("r", "blocked", "a check", False, None, Settings.from_env(), date.today())
    assert after_run(run) == UNCHANGED


def test_a_failing_renderer_is_recorded_and_raised(
    snapshot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "warehouse.duckdb.snapshots" / snapshot.name
    copy.parent.mkdir()
    shutil.copyfile(snapshot, copy)
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))  # kaleido, for real
    run = FinishedRun(copy.stem, "published", None, True, copy, Settings.from_env(), date.today())
    with pytest.raises(PackRenderError, match="no-such-chromium"):
        after_run(run)
    manifest = packs_for(copy)
    assert manifest is not None and manifest.status == FAILED and manifest.packs == ()
    assert "ChromeNotFoundError" in manifest.reason and manifest.run_id == copy.stem


# --- the packs page ---------------------------------------------------------------------


@pytest.fixture
def packs_published(
    rendered, snapshot: Path, private_access: Path, tmp_path: Path, monkeypatch
) -> Path:
    """A published warehouse whose snapshot (a copy of the demo's) has this session's packs
    beside it; the demo users and a fresh audit log (returned)."""
    copy = tmp_path / "warehouse.duckdb.snapshots" / snapshot.name
    copy.parent.mkdir()
    shutil.copyfile(snapshot, copy)
    shutil.copytree(rendered[0], packs_dir(copy))
    link = tmp_path / "warehouse.duckdb"
    link.symlink_to(copy)
    monkeypatch.setenv("SMHP_WAREHOUSE", str(link))
    return private_access


@pytest.fixture
def pack_clicks(monkeypatch) -> dict:
    """The deferred data of each pack's download button, by file name."""
    latest: dict = {}
    real = downloads.deferred

    def spy(file_name, make, **details):
        latest[file_name] = real(file_name, make, **details)
        return latest[file_name]

    monkeypatch.setattr(downloads, "deferred", spy)
    return latest


def packs_page(username: str) -> AppTest:
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), username)
    at = at.switch_page("views/packs.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    ("username", "files"),
    [
        ("board", {"board.pdf", "funder.pdf", *(f"manager-{c}.pdf" for c in INSTITUTIONS)}),
        ("manager_uol", {"manager-UOL.pdf"}),
        ("manager_hope_lipa", {"manager-HOPE.pdf", "manager-LIPA.pdf"}),
        ("funder", {"funder.pdf"}),
    ],
)
def test_each_role_is_offered_only_its_packs(
    packs_published: Path, pack_clicks: dict, username: str, files: set[str]
) -> None:
    at = packs_page(username)
    pdfs = {name for name in pack_clicks if name.endswith(".pdf")}
    assert pdfs == files  # no button (and no file read) for any other pack
    assert any("Made by run" in m.value for m in at.markdown)
    assert audit_events(packs_published, "download") == []  # nothing until a click


def test_a_pack_download_is_audited_before_it_is_built(
    packs_published: Path, pack_clicks: dict
) -> None:
    packs_page("funder")
    data = pack_clicks["funder.pdf"]()
    assert data.startswith(b"%PDF")
    (recorded,) = audit_events(packs_published, "download")
    assert recorded["username"] == "funder"
    assert recorded["details"]["file"] == "funder.pdf" and recorded["details"]["page"] == "packs"
    assert recorded["details"]["pack"] == "funder"


def test_the_page_shows_a_failed_render(packs_published: Path, monkeypatch, tmp_path: Path) -> None:
    link = Path(os.environ["SMHP_WAREHOUSE"])
    folder = packs_dir(resolve_published(link))
    failed = Manifest(FAILED, "r1", None, "2026-01-01T00:00:00+00:00", reason="OSError: disk full")
    write_manifest(folder, failed)
    at = packs_page("board")
    assert any("disk full" in e.value for e in at.error)
    assert not at.get("download_button")


def audit_events(audit_db: Path, event: str) -> list[dict]:
    return list(reversed(AuditLog(audit_db).recent(10_000, event=event)))
