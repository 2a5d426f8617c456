"""The Making Data Count variation and assurance icons, drawn here as small SVGs.

Drawn locally as ``data:`` URLs so that the dashboard fetches nothing from outside (the
partnership's machines are offline) and needs no emoji font. The shapes follow the NHS
icons in spirit: a circle in the signal's colour with a letter — H or L for a
special-cause high or low point, P / F / ? for assurance — and a small dotted run for
common-cause variation. Colour is never the only cue: the letter and the text beside the
icon say the same.
"""

from __future__ import annotations

from base64 import b64encode

from dashboard.theme import CONCERN, IMPROVEMENT, NEITHER, NEUTRAL
from smhp.reporting.spc import Assurance, Variation


def _svg(colour: str, inner: str, title: str) -> str:
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='48' height='48' viewBox='0 0 48 48'>"
        f"<title>{title}</title>"
        f"<circle cx='24' cy='24' r='21' fill='white' stroke='{colour}' stroke-width='4'/>"
        f"{inner}</svg>"
    )
    return "data:image/svg+xml;base64," + b64encode(svg.encode("utf-8")).decode("ascii")


def _letter(colour: str, letter: str, arrow: str | None = None) -> str:
    text = (
        f"<text x='24' y='31' font-family='DejaVu Sans, Arial, sans-serif' "
        f"font-size='20' font-weight='bold' text-anchor='middle' fill='{colour}'>"
        f"{letter}</text>"
    )
    if arrow == "up":
        text += f"<path d='M24 5 L30 13 L18 13 Z' fill='{colour}'/>"
    elif arrow == "down":
        text += f"<path d='M24 43 L30 35 L18 35 Z' fill='{colour}'/>"
    return text


_COMMON_RUN = "".join(
    f"<circle cx='{x}' cy='{y}' r='3' fill='{NEUTRAL}'/>"
    for x, y in ((11, 26), (18, 20), (24, 28), (30, 21), (37, 25))
)

_VARIATION: dict[Variation, tuple[str, str]] = {
    Variation.COMMON: (NEUTRAL, _COMMON_RUN),
    Variation.IMPROVEMENT_HIGH: (IMPROVEMENT, _letter(IMPROVEMENT, "H", "up")),
    Variation.IMPROVEMENT_LOW: (IMPROVEMENT, _letter(IMPROVEMENT, "L", "down")),
    Variation.CONCERN_HIGH: (CONCERN, _letter(CONCERN, "H", "up")),
    Variation.CONCERN_LOW: (CONCERN, _letter(CONCERN, "L", "down")),
    Variation.NEITHER_HIGH: (NEITHER, _letter(NEITHER, "H", "up")),
    Variation.NEITHER_LOW: (NEITHER, _letter(NEITHER, "L", "down")),
    Variation.NOT_ENOUGH_DATA: (NEUTRAL, _letter(NEUTRAL, "–")),
}

_ASSURANCE: dict[Assurance, tuple[str, str]] = {
    Assurance.PASS: (IMPROVEMENT, _letter(IMPROVEMENT, "P")),
    Assurance.FAIL: (CONCERN, _letter(CONCERN, "F")),
    Assurance.HIT_AND_MISS: (NEUTRAL, _letter(NEUTRAL, "?")),
    Assurance.NO_TARGET: (NEUTRAL, _letter(NEUTRAL, "–")),
    Assurance.NOT_ENOUGH_DATA: (NEUTRAL, _letter(NEUTRAL, "–")),
}


def variation_icon(variation: Variation) -> str:
    """The variation icon as a ``data:image/svg+xml`` URL."""
    colour, inner = _VARIATION[variation]
    return _svg(colour, inner, variation.value)


def assurance_icon(assurance: Assurance) -> str:
    """The assurance icon as a ``data:image/svg+xml`` URL."""
    colour, inner = _ASSURANCE[assurance]
    return _svg(colour, inner, assurance.value)
