"""Colours, fonts and the few page styles of the dashboard, in one place (WCAG 2.2 AA).

The palette keeps the hues of Okabe & Ito (2008), chosen to stay distinguishable with
the common colour-vision deficiencies, but every colour reaches at least 3:1 against the
white ground (WCAG 1.4.11, non-text contrast): the light ones (orange, sky blue, yellow)
are darkened, the yellow to an olive. Colours that also write text (the target's labels)
reach 4.5:1 (WCAG 1.4.3). Stacked bars are separated by white lines, so each segment
meets the ground, not its neighbour. The SPC colours follow Making Data Count's meaning
(blue improvement, orange concern, purple neither, grey common cause) within that palette,
and their markers differ in shape too. Fonts are large (18 px text, 24 px titles) because
the board reads these charts on a projector.

``PAGE_CSS`` is the dashboard's only style sheet, for what Streamlit's own widgets leave
below WCAG 2.2 AA; ``apply_page_style`` puts it on every page, the sign-in page included.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue, 5.2:1 on white
    "#C18500",  # orange, darkened: 3.2:1
    "#009E73",  # bluish green, 3.4:1
    "#C875A2",  # reddish purple, 3.2:1
    "#4797C4",  # sky blue, darkened: 3.2:1
    "#B95000",  # vermillion, darkened: 5.0:1 (text-safe: the target's labels)
    "#867F21",  # yellow, darkened to an olive: 4.1:1
    "#000000",  # black
)
IMPROVEMENT = OKABE_ITO[0]
CONCERN = OKABE_ITO[1]
NEITHER = OKABE_ITO[3]
NEUTRAL = "#767676"  # 4.5:1
TARGET = OKABE_ITO[5]
LIGHT = "#949494"  # 3.0:1: the line joining an SPC chart's points
TEXT = "#222222"
GROUND = "#FFFFFF"

FONT_FAMILY = "Source Sans Pro, DejaVu Sans, Arial, sans-serif"
FONT_SIZE = 18
TITLE_SIZE = 24

PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
"""Passed to ``st.plotly_chart``: no plotly logo link, no selection tools."""

CAPTION = "#52535C"
"""Captions and disabled labels: 7.6:1 on white (Streamlit's own grey is 3.9:1)."""

PAGE_CSS = f"""
/* Captions (st.caption: notes, "Signed in as"): Streamlit's grey is 3.9:1, below 4.5:1. */
[data-testid="stCaptionContainer"] {{ color: {CAPTION}; opacity: 1; }}
/* A disabled widget (the one institution of a service manager) still tells its value. */
[data-testid="stWidgetLabel"][disabled],
[data-testid="stWidgetLabel"][disabled] p {{ color: {CAPTION}; }}
input:disabled {{ -webkit-text-fill-color: {CAPTION}; color: {CAPTION}; opacity: 1; }}
/* The day, month and year of a date input are separate targets: 24 x 24 px at least
   (WCAG 2.5.8); Streamlit draws them 18 x 20 px. */
[data-testid="stDateInputField"] [role="spinbutton"] {{
  display: inline-flex; align-items: center; justify-content: center;
  min-width: 24px; min-height: 24px;
}}
/* A visible focus ring on every control reached with the keyboard (WCAG 2.4.7). */
:is(a, button, summary, input, [role="spinbutton"], [role="combobox"], [tabindex]):focus-visible {{
  outline: 3px solid {IMPROVEMENT}; outline-offset: 2px;
}}
/* The target of a chart's "numbers" link (dashboard.ui.numbers_anchor): read out by screen
   readers when the link moves the focus there, not drawn, and taking no room. */
.smhp-numbers {{
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0;
}}
[data-testid="stElementContainer"]:has(.smhp-numbers) {{ height: 0; margin-bottom: -1rem; }}
"""


def apply_page_style() -> None:
    """Put ``PAGE_CSS`` on the page (once per rerun, from the entry point)."""
    import streamlit as st  # here only: charts and packs read the colours without it

    st.html(f"<style>{PAGE_CSS}</style>")


def _slim_white() -> go.layout.Template:
    """plotly's ``plotly_white`` as the dashboard's charts use it: its layout without the
    subplot kinds and colour scales no chart draws (3-D scenes, ternary, polar, maps;
    heatmap scales) and its trace defaults for bars and lines only. Every chart looks the
    same, and carries 1 KB of template instead of 7 KB: building, copying and serialising a
    cached chart on a page view costs 0.3 ms instead of 1.3 ms, and the browser receives
    less (on a whole page view the gain is within the machine's noise: 0-3 ms)."""
    white = pio.templates["plotly_white"]
    unused = {"scene", "ternary", "polar", "geo", "mapbox", "colorscale"}
    layout = {k: v for k, v in white.layout.to_plotly_json().items() if k not in unused}
    data = {k: v for k, v in white.data.to_plotly_json().items() if k in {"bar", "scatter"}}
    return go.layout.Template(layout=layout, data=data)


pio.templates["smhp_white"] = _slim_white()
TEMPLATE = "smhp_white"


def _use_template(fig: go.Figure, name: str) -> None:
    """Give ``fig`` plotly's registered template ``name``, as plotly gives every new figure
    its default template (``BaseFigure._initialize_layout_template``): a registered
    template is valid already, so it is set without validating it again. Through
    ``update_layout(template=name)`` plotly deep-copies and re-validates the whole template
    object, about 40 ms per chart, most of a page's server time; the figure is the same."""
    layout = fig.layout
    layout._validate = False
    try:
        layout.template = pio.templates[name]
    finally:
        layout._validate = fig._validate


def style(fig: go.Figure, title: str, x_title: str | None, y_title: str | None) -> go.Figure:
    """Apply the dashboard's look: title, axis titles, large fonts, palette, white ground."""
    _use_template(fig, TEMPLATE)
    fig.update_layout(
        title={"text": title, "font": {"size": TITLE_SIZE}, "x": 0, "xanchor": "left"},
        font={"family": FONT_FAMILY, "size": FONT_SIZE, "color": TEXT},
        colorway=list(OKABE_ITO),
        hoverlabel={"font": {"size": FONT_SIZE}},
        legend={"font": {"size": FONT_SIZE - 2}, "orientation": "h", "y": -0.2},
        margin={"t": 70, "b": 60, "l": 70, "r": 30},
        paper_bgcolor=GROUND,
        plot_bgcolor=GROUND,
    )
    fig.update_xaxes(title_text=x_title, title_font={"size": FONT_SIZE})
    fig.update_yaxes(title_text=y_title, title_font={"size": FONT_SIZE})
    return fig
