"""Property tests for bot.domain.distress: total, deterministic, consistent, invariant."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.domain.distress import assess, normalize

# Pieces that exercise every rule, mixed with arbitrary unicode.
_PIECES = [
    "I want to die",
    "i dont",
    "not",
    "never",
    "can't go on",
    "can’t",
    "no point anymore",
    "lol",
    "😂",
    "jajaja",
    "film",
    "years ago",
    "my mum",
    "wants to die",
    "goodbye",
    "better off without me",
    "no puedo más",
    "me quiero morir",
    "no ",
    "de risa",
    "Ñ",
    "é",
    "e\u0301",
    "İ",
    "ß",
    "ﬁ",
    ".",
    ",",
    "!",
    "?",
    "\n",
    "'",
    "’",
    "(",
    ")",
    "(?!",
    "[",
    "\\",
    "*",
    "a",
    "aaaa",
    " ",
    "  ",
    "\t",
    "0",
    "9",
    "\u200b",
    "\u00a0",
]
_texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=4)), max_size=30).map("".join),
)
_languages = st.sampled_from(["en", "es", "es-ES", "fr", "", "EN"])
_extra = st.lists(
    st.one_of(st.sampled_from(["give up", "Sin Salida", "(", ""]), st.text(max_size=8)), max_size=3
)
_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(_texts, _languages, _extra)
def test_never_raises_deterministic_and_matched_iff_distress(
    text: str, language: str, extra: list[str]
) -> None:
    result = assess(text, extra_phrases=extra, language=language)
    assert isinstance(result.is_distress, bool)
    assert result.is_distress == bool(result.matched)
    assert len(set(result.matched)) == len(result.matched)
    assert assess(text, extra_phrases=extra, language=language) == result


@_SETTINGS
@given(_texts, _languages)
def test_case_invariant(text: str, language: str) -> None:
    result = assess(text, language=language)
    assert assess(text.upper(), language=language) == result
    assert assess(text.lower(), language=language) == result


@_SETTINGS
@given(_texts, _languages, st.sampled_from([" ", "  ", "\t", " \t "]))
def test_spaces_and_tabs_invariant(text: str, language: str, gap: str) -> None:
    result = assess(text, language=language)
    assert assess(gap + text + gap, language=language) == result
    assert assess(text.replace(" ", gap), language=language) == result


@_SETTINGS
@given(_texts, _languages)
@example("DONT´I WANT TO DIE", "en")  # a spacing acute used as an apostrophe
def test_unicode_normal_forms_invariant(text: str, language: str) -> None:
    result = assess(text, language=language)
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert assess(unicodedata.normalize(form, text), language=language) == result


@_SETTINGS
@given(_texts)
def test_normalize_is_idempotent_and_plain(text: str) -> None:
    norm = normalize(text)
    assert normalize(norm) == norm
    assert set(norm) <= set("abcdefghijklmnopqrstuvwxyz0123456789 .,")
    assert norm == norm.strip(" .,")
    assert "  " not in norm


@_SETTINGS
@given(_texts, _languages)
def test_extra_phrases_only_add(text: str, language: str) -> None:
    base = assess(text, language=language)
    more = assess(text, language=language, extra_phrases=("hopeless tonight",))
    assert set(base.matched) <= set(more.matched)
    assert more.is_distress >= base.is_distress
