"""Property tests for bot.domain.links: never raises, spans map back, deterministic, bounded."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.links import find_links, is_valid_domain, matches_domain, normalize

# Pieces that exercise every rule, mixed with arbitrary unicode.
_PIECES = [
    ".", "..", "@", ":", "://", "/", "\\", "%2E", "%3A%2F%2F", "[.]", "(.)", "{.}", " dot ",
    "[at]", " . ", "\n", "\n.", ".\n", "http", "https://", "hxxps[:]//", "h t t p s : / / ",
    "www.", "bit.ly/x", "discord.gg/", ".gg/", "com", "org", "uk", "co", "gg", "today", "Today",
    "\u200b", "\u00ad", "\ufeff", "．", "。", "ｇ", "а", "ü", "-", "_", "(", ")", "[", "]",
    "<", ">", "`", "*", "1", "255", "192.168.0.1", "mailto:", "xn--", "a", "Z", " ",
]
_texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=4)), max_size=40).map("".join),
)
_SETTINGS = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@_SETTINGS
@given(_texts)
def test_find_links_never_raises_and_spans_map_back(text: str) -> None:
    links = find_links(text)
    prev_end = 0
    for lk in links:
        assert 0 <= lk.start < lk.end <= len(text)
        assert text[lk.start : lk.end] == lk.text
        assert lk.start >= prev_end  # in order, never overlapping
        prev_end = lk.end
        assert lk.domain == lk.domain.lower()
        assert lk.domain.isascii()
        assert lk.url
    assert find_links(text) == links  # deterministic


@_SETTINGS
@given(_texts)
def test_normalize_map_is_total_and_monotonic(text: str) -> None:
    n = normalize(text)
    assert n.original == text
    prev = 0
    for i in range(len(n.text)):
        s, e = n.to_original(i, i + 1)
        assert 0 <= s < e <= len(text)
        assert s >= prev
        prev = s
    assert normalize(text) == n


@_SETTINGS
@given(_texts)
def test_links_survive_surrounding_text(text: str) -> None:
    # a plain link keeps being found whatever ordinary text is put around it
    msg = f"{text} please see https://example.org/x now {text}"
    assert "example.org" in {lk.domain for lk in find_links(msg)}


@_SETTINGS
@given(st.text(max_size=60), st.text(max_size=60))
def test_allowlist_helpers_never_raise(a: str, b: str) -> None:
    matches_domain(a, b)
    entry = is_valid_domain(a)
    if entry is not None:
        assert entry == entry.lower() and entry.isascii()
        assert matches_domain(entry, entry)
        assert matches_domain("www." + entry, entry)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(_PIECES), st.integers(min_value=2_000, max_value=20_000))
def test_long_repetitive_inputs_complete(piece: str, n: int) -> None:
    # no catastrophic backtracking: large repetitive inputs finish (timed in the benchmark)
    text = (piece * (n // max(1, len(piece))))[:n]
    for lk in find_links(text):
        assert text[lk.start : lk.end] == lk.text
