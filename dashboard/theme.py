"""Colours and fonts of every chart: colour-blind safe, readable on a board-room projector.

The palette is Okabe & Ito's (2008), distinguishable with the common colour-vision
deficiencies. The SPC colours follow Making Data Count's meaning (blue improvement,
orange concern, purple neither, grey common cause) within that palette. Fonts are large
(18 px text, 24 px titles) because the board reads these charts on a projector.
"""

from __future__ import annotations

import plotly.graph_objects as go

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
IMPROVEMENT = "#0072B2"
CONCERN = "#E69F00"
NEITHER = "#CC79A7"
NEUTRAL = "#7F7F7F"
TARGET = "#D55E00"
LIGHT = "#BBBBBB"

FONT_FAMILY = "Source Sans Pro, DejaVu Sans, Arial, sans-serif"
FONT_SIZE = 18
TITLE_SIZE = 24

PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
"""Passed to ``st.plotly_chart``: no plotly logo link, no selection tools."""


def style(fig: go.Figure, title: str, x_title: str | None, y_title: str | None) -> go.Figure:
    """Apply the dashboard's look: title, axis titles, large fonts, palette, white ground."""
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "font": {"size": TITLE_SIZE}, "x": 0, "xanchor": "left"},
        font={"family": FONT_FAMILY, "size": FONT_SIZE, "color": "#222222"},
        colorway=list(OKABE_ITO),
        hoverlabel={"font": {"size": FONT_SIZE}},
        legend={"font": {"size": FONT_SIZE - 2}, "orientation": "h", "y": -0.2},
        margin={"t": 70, "b": 60, "l": 70, "r": 30},
    )
    fig.update_xaxes(title_text=x_title, title_font={"size": FONT_SIZE})
    fig.update_yaxes(title_text=y_title, title_font={"size": FONT_SIZE})
    return fig
