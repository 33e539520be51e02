"""Streamlit pieces the pages share (no data access, no math)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from app_data import DataError, Quality
from presentation import Figure
from presentation.columns import ColumnFormat

# Every ASCII punctuation character (CommonMark lets a backslash escape each of them).
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# U+2060 WORD JOINER: invisible, and no character of a bare URL or an e-mail address.
_JOINER = "\u2060"
PLAIN_LIMIT = 1000


def _starts_autolink(text: str, i: int) -> bool:
    """Whether text[i] is where GFM would see a bare URL or e-mail: the "." of "www.", the
    "//" after a scheme's ":", or an "@". Streamlit finds those in the text after markdown is
    parsed (backslash escapes already resolved), so only a character between them stops it."""
    c = text[i]
    return (
        c == "@"
        or (c == "." and text[max(0, i - 3) : i].lower() == "www")
        or (c == "/" and text[i - 1 : i] == ":")
    )


def plain(text: object, limit: int = PLAIN_LIMIT) -> str:
    """``text`` as markdown that shows exactly that text, on one line, at most ``limit`` long.

    For every piece of text the dashboard did not write itself (link parameters, API error
    messages) before it reaches st.warning/st.error/st.info/st.markdown/st.caption, which all
    render markdown: links and images, Streamlit's ``:color[...]`` and ``:material/...:``
    directives, ``$...$`` math and bare-URL autolinks would otherwise be live. A backslash
    before an ASCII punctuation character makes it literal in CommonMark, and every construct
    needs at least one (``[``, ``:``, ``$``, ``<``, ``&``...); bare URLs and e-mail addresses
    get an invisible word joiner (see _starts_autolink); newlines are collapsed so no line can
    start a heading, list or block.
    """
    flat = " ".join(str(text).split())
    flat = "".join(c for c in flat if c.isprintable())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    out = []
    for i, c in enumerate(flat):
        if _starts_autolink(flat, i):
            out.append(_JOINER)
        out.append("\\" + c if c in _PUNCTUATION else c)
    return "".join(out)


def csv_button(
    table: pd.DataFrame | str, filename: str, key: str, label: str = "Download CSV"
) -> None:
    """A download button for ``table`` as CSV (a DataFrame, or CSV text already made)."""
    data = table if isinstance(table, str) else table.to_csv(index=False)
    st.download_button(label, data, filename, "text/csv", key=key)


V = TypeVar("V")


def loaded(what: str, read: Callable[[], V], *, spinner: str = "") -> V | None:
    """``read()``'s view, or None after saying plainly why ``what`` could not be loaded (the
    page then returns: the router still draws the sidebar)."""
    try:
        if spinner:
            with st.spinner(spinner):
                return read()
        return read()
    except DataError as err:
        st.error(f"Could not load {what}: {plain(err)}")
        return None


def quality_banner(quality: Quality) -> None:
    """A warning saying what is missing when a view's data is partial, truncated or stale."""
    if not quality.complete:
        reasons = "; ".join(plain(r) for r in quality.reasons)
        st.warning(f"Data is {quality.status}: {reasons}", icon="⚠️")


def project_failures(failed: dict[str, str]) -> None:
    """One warning per watched project that could not be read (the others still show)."""
    for project, why in failed.items():
        st.warning(f"Project {plain(project)} could not be read: {plain(why)}")


def metric(where: Any, figure: Figure) -> None:
    """``figure`` as a st.metric in ``where`` (a column, or st itself)."""
    where.metric(
        figure.label,
        figure.value,
        figure.delta,
        delta_color="inverse" if figure.inverse else "normal",
        help=figure.help,
    )


def column_config(formats: Mapping[str, ColumnFormat]) -> dict[str, Any]:
    """A table's column formats (presentation's plain data) as Streamlit column configs."""
    out: dict[str, Any] = {}
    for col, f in formats.items():
        if f.kind == "line":
            out[col] = st.column_config.LineChartColumn(f.label, width=f.width)
        elif f.kind == "text":
            out[col] = st.column_config.TextColumn(f.label, width=f.width)
        elif f.kind == "link":
            out[col] = st.column_config.LinkColumn(f.label, display_text=f.format, width=f.width)
        else:
            out[col] = st.column_config.NumberColumn(f.label, format=f.format, width=f.width)
    return out


def links(pairs: Sequence[tuple[str, str]]) -> None:
    """A caption of links into Google's console ("label" -> URL), opened in a new tab."""
    if pairs:
        st.caption(" · ".join(f"[{plain(label)}]({url})" for label, url in pairs))
