"""filters.quote and the Monitoring filter builder: escaping, validation, canonical order.

The property tests tokenize the built filter with a tiny tokenizer written here (independent of
the code under test) and check that, whatever the input, the filter either is rejected or has
exactly the intended structure with the input intact inside one string literal. The emulator's
own filter lexer (what the server parses) is checked the same way.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors import filters
from emulator.api import filter_tokens
from foundation import names

METRIC = "run.googleapis.com/request_count"


def tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens: str (unescaped literal), word, op; raises on an unterminated string."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == " ":
            i += 1
        elif c == '"':
            i += 1
            buf = []
            while True:
                if i >= len(text):
                    raise ValueError("unterminated string")
                if text[i] == "\\":
                    buf.append(text[i + 1])
                    i += 2
                elif text[i] == '"':
                    i += 1
                    break
                else:
                    buf.append(text[i])
                    i += 1
            out.append(("str", "".join(buf)))
        elif c in "()":
            out.append(("op", c))
            i += 1
        elif text.startswith("!=", i):
            out.append(("op", "!="))
            i += 2
        elif c in "=:":
            out.append(("op", c))
            i += 1
        else:
            j = i
            while j < len(text) and text[j] not in ' ()"=:!':
                j += 1
            out.append(("word", text[i:j]))
            i = j
    return out


def shape(toks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Tokens with string literal contents blanked: the filter's structure."""
    return [(k, "" if k == "str" else t) for k, t in toks]


def test_quote_escapes_backslash_and_quote() -> None:
    assert filters.quote("plain") == '"plain"'
    assert filters.quote('a"b') == '"a\\"b"'
    assert filters.quote("a\\b") == '"a\\\\b"'
    assert filters.quote('\\"') == '"\\\\\\""'
    assert filters.quote("") == '""'
    assert filters.quote("ünïcode ✓") == '"ünïcode ✓"'


@pytest.mark.parametrize("bad", ["a\nb", "tab\there", "nul\x00", "\x7f", "bell\x07", "x\u2028"])
def test_quote_rejects_control_characters(bad: str) -> None:
    with pytest.raises(names.InvalidName, match="control character"):
        filters.quote(bad)


def test_quote_rejects_non_text() -> None:
    with pytest.raises(names.InvalidName):
        filters.quote(3)


def test_monitoring_filter_canonical_and_parenthesised() -> None:
    got = filters.monitoring_filter(
        METRIC,
        services=["b-svc", "a-svc", "b-svc"],
        regions=["europe-west1"],
        revisions=["a-svc-00002-xyz"],
    )
    assert got == (
        'metric.type = "run.googleapis.com/request_count"'
        ' AND resource.type = "cloud_run_revision"'
        ' AND resource.labels.service_name = one_of("a-svc", "b-svc")'
        ' AND (resource.labels.revision_name = "a-svc-00002-xyz")'
        ' AND (resource.labels.location = "europe-west1")'
    )
    again = filters.monitoring_filter(
        METRIC,
        services=("a-svc", "b-svc"),
        regions=("europe-west1",),
        revisions=("a-svc-00002-xyz",),
    )
    assert again == got


def test_monitoring_filter_without_scope() -> None:
    assert filters.monitoring_filter(METRIC) == (
        'metric.type = "run.googleapis.com/request_count" AND resource.type = "cloud_run_revision"'
    )


@pytest.mark.parametrize(
    ("kw", "value"),
    [
        ("services", 'a" OR resource.type="x'),
        ("services", "Upper"),
        ("revisions", "rev with space"),
        ("regions", "europe-west1) OR (x"),
        ("services", "a" * 50),
    ],
)
def test_monitoring_filter_rejects_bad_names(kw: str, value: str) -> None:
    with pytest.raises(names.InvalidName):
        filters.monitoring_filter(METRIC, **{kw: [value]})


def test_metric_type_and_fields_are_checked() -> None:
    with pytest.raises(ValueError, match="metric type"):
        filters.monitoring_filter('x" OR "')
    with pytest.raises(ValueError, match="field path"):
        filters.term("labels.a OR b", "x")
    with pytest.raises(ValueError, match="operator"):
        filters.term("labels.a", "x", op="=~ x OR")
    with pytest.raises(ValueError, match="at least one"):
        filters.any_of("labels.a", [])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=4))
def test_any_of_keeps_structure_for_any_text(values: list[str]) -> None:
    try:
        built = filters.all_of(
            filters.term("resource.type", "cloud_run_revision"),
            filters.any_of("labels.instanceId", values),
        )
    except names.InvalidName:
        assert any(not _printable(v) for v in values)
        return
    unique = sorted(set(values))
    expected = [("word", "resource.type"), ("op", "="), ("str", ""), ("word", "AND"), ("op", "(")]
    for i, _ in enumerate(unique):
        if i:
            expected.append(("word", "OR"))
        expected += [("word", "labels.instanceId"), ("op", "="), ("str", "")]
    expected.append(("op", ")"))
    toks = tokens(built)
    assert shape(toks) == expected
    assert [t for k, t in toks if k == "str"][1:] == unique
    # The emulator's lexer (what the server parses) sees the same literals.
    lexed = [t.text for t in filter_tokens.tokenize(built) if t.kind == "str"]
    assert lexed[1:] == unique


def _printable(value: str) -> bool:
    try:
        filters.quote(value)
    except names.InvalidName:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(max_size=60), max_size=3),
    st.lists(st.text(max_size=60), max_size=3),
    st.lists(st.text(max_size=30), max_size=2),
)
def test_monitoring_filter_rejects_or_keeps_structure(
    services: list[str], revisions: list[str], regions: list[str]
) -> None:
    try:
        built = filters.monitoring_filter(
            METRIC, services=services, revisions=revisions, regions=regions
        )
    except names.InvalidName:
        return
    toks = tokens(built)
    literals = [t for k, t in toks if k == "str"]
    assert literals == [
        METRIC,
        "cloud_run_revision",
        *sorted(set(services)),
        *sorted(set(revisions)),
        *sorted(set(regions)),
    ]
    # every OR is inside parentheses: depth > 0 wherever OR appears
    depth = 0
    for kind, text in toks:
        if (kind, text) == ("op", "("):
            depth += 1
        elif (kind, text) == ("op", ")"):
            depth -= 1
        elif (kind, text) == ("word", "OR"):
            assert depth == 1
        elif (kind, text) == ("word", "AND"):
            assert depth == 0
    assert depth == 0
