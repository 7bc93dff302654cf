"""The distress lexicons: well-formed data, and the literal index never hides a phrase."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.distress import compile_phrase, normalize, required_literals
from bot.domain.distress_lexicon import ENGLISH, Phrase
from bot.domain.distress_lexicon_es import SPANISH

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "distress"
PHRASES = [*ENGLISH, *SPANISH]


@pytest.mark.parametrize("lexicon", [ENGLISH, SPANISH], ids=["en", "es"])
def test_lexicon_is_well_formed(lexicon: tuple[Phrase, ...]) -> None:
    labels = [p.label for p in lexicon]
    assert len(labels) == len(set(labels))
    for phrase in lexicon:
        assert phrase.pattern.isascii() and "\\" not in phrase.pattern, phrase.label
        compile_phrase(phrase.pattern)
        assert required_literals(phrase.pattern), f"{phrase.label} would run on every message"


def test_required_literals_of_small_patterns() -> None:
    assert required_literals("want to die") == {"want to die"}
    assert required_literals("(?:want|wish) to die(?! of)") == {" to die"}
    assert required_literals("(?:kill|end) it|suicidal") == {"kil", "end", "suicidal"}
    assert required_literals("ab?c") == {"c"} or required_literals("ab?c") == {"a"}
    assert required_literals("(?:a )?<w>") == frozenset()


_COMPILED = [(p.label, compile_phrase(p.pattern), required_literals(p.pattern)) for p in PHRASES]


def _assert_sound(text: str) -> None:
    padded = " " + normalize(text)
    for label, regex, literals in _COMPILED:
        for m in regex.finditer(padded):
            assert any(lit in m.group() for lit in literals), (label, m.group())


def test_literal_index_is_sound_on_the_corpus() -> None:
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            _assert_sound(json.loads(line)["text"])


_WORDS = sorted(
    {w for p in PHRASES for w in re.findall(r"[a-z]+", p.pattern)}
    | {"i", "im", "my", "the", "a", ".", ",", "lol", "not"}
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=12).map(" ".join))
def test_literal_index_is_sound_on_lexicon_words(text: str) -> None:
    _assert_sound(text)


_PHRASE_AND_MATCH = st.sampled_from(_COMPILED).flatmap(
    lambda c: st.tuples(st.just(c), st.from_regex(c[1], fullmatch=True))
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_PHRASE_AND_MATCH)
def test_every_string_a_phrase_matches_holds_one_of_its_literals(
    case: tuple[tuple[str, re.Pattern[str], frozenset[str]], str],
) -> None:
    (label, _, literals), text = case
    assert any(lit in text for lit in literals), (label, text)
