"""What each partner system delivers: its columns in its own order, its cadence, its file format.

One entry per source of the extract contract (../shared/spec/extracts.md). Extract cadence
differs per source, to keep the demo at a few thousand files: referrals and liaison contacts
are extracted on weekday nights, case discussions weekly (Thursday, the meeting day), U-COPE
weekly (Friday) and student profiles weekly (Saturday, plus the go-live night). The file
formats differ the way real exports do (line ends, quoting, a byte-order mark); rendering
them is ``delivery.render``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from smhp.demo.timeline import FRI, MON, SAT, THU, TUE, WED

SOURCES = (
    "liaison_contacts",
    "case_discussions",
    "referrals",
    "ucope_episodes",
    "student_profiles",
)
#: The sources whose records are events; the last, student_profiles, describes the students.
EVENT_SOURCES = SOURCES[:-1]


@dataclass(frozen=True)
class SourceSpec:
    """How one partner system delivers: columns in its own order, cadence, file format."""

    name: str
    columns: tuple[str, ...]
    extract_weekdays: tuple[int, ...]
    header_only_when_quiet: bool  # sends a header-only file on an extract night with no changes
    line_end: str = "\n"
    bom: bool = False
    quote_all: bool = False


SPECS = {
    s.name: s
    for s in (
        SourceSpec(
            "liaison_contacts",
            (
                "contact_id",
                "student_ref",
                "institution_code",
                "presented_at",
                "setting",
                "outcome",
                "referred_to",
                "university_informed_at",
                "updated_at",
                "record_status",
            ),
            (MON, TUE, WED, THU, FRI),
            header_only_when_quiet=False,
        ),
        SourceSpec(
            "case_discussions",
            (
                "discussion_id",
                "discussed_on",
                "contact_id",
                "student_ref",
                "institution_code",
                "agreed_pathway",
                "pathway_started_on",
                "record_status",
                "updated_at",
            ),
            (THU,),
            header_only_when_quiet=True,
            quote_all=True,  # every field quoted: empty fields arrive as ""
        ),
        SourceSpec(
            "referrals",
            (
                "referral_id",
                "referred_on",
                "student_ref",
                "institution_code",
                "source",
                "service_code",
                "outcome",
                "first_appointment_on",
                "closed_on",
                "updated_at",
                "record_status",
            ),
            (MON, TUE, WED, THU, FRI),
            header_only_when_quiet=True,
            line_end="\r\n",  # the GP system is a Windows export
        ),
        SourceSpec(
            "ucope_episodes",
            (
                "updated_at",
                "episode_id",
                "student_ref",
                "institution_code",
                "referral_source",
                "referred_on",
                "assessed_on",
                "sessions_attended",
                "core10_start",
                "discharged_on",
                "discharge_reason",
                "core10_end",
                "record_status",
            ),
            (FRI,),
            header_only_when_quiet=False,
        ),
        SourceSpec(
            "student_profiles",
            (
                "institution_code",
                "student_ref",
                "age_band",
                "sex",
                "ethnic_group",
                "study_level",
                "year_of_study",
                "domicile",
                "updated_at",
                "record_status",
            ),
            (SAT,),
            header_only_when_quiet=False,
            bom=True,  # saved from a spreadsheet tool
        ),
    )
}
#: Each source's record id and the prefix its system issues ids with (``records.number``);
#: a student profile has none: it is keyed by student and institution.
ID_COLUMN = {
    "liaison_contacts": "contact_id",
    "case_discussions": "discussion_id",
    "referrals": "referral_id",
    "ucope_episodes": "episode_id",
}
ID_PREFIX = {
    "liaison_contacts": "LC",
    "case_discussions": "CD",
    "referrals": "RF",
    "ucope_episodes": "UC",
}


def file_name(source: str, night: date) -> str:
    """Where a night's extract of a source lands: ``<source>/<source>_<date>.csv``."""
    return f"{source}/{source}_{night.isoformat()}.csv"
