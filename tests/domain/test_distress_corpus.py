"""Corpus test: recall >= 0.95 at precision >= 0.8 on the labelled dev and holdout posts.

The holdout files were written before the detector and never tuned on; their figures are
reported separately by `python -m benches.distress`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.domain.distress import assess

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "distress"
FILES = {"en": "en", "en_holdout": "en", "es": "es", "es_holdout": "es"}
MIN_SIZE = {"en": 300, "en_holdout": 100, "es": 150, "es_holdout": 50}


def _load(name: str) -> list[dict]:
    with (CORPUS / f"{name}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.mark.parametrize("name", sorted(FILES))
def test_corpus_is_well_formed(name: str) -> None:
    cases = _load(name)
    assert len(cases) >= MIN_SIZE[name]
    for case in cases:
        assert set(case) == {"text", "distress", "category"}
        assert isinstance(case["distress"], bool)
        assert case["text"].strip()
    # Both kinds in fair numbers, and many kinds of post.
    positives = sum(c["distress"] for c in cases)
    assert 0.3 <= positives / len(cases) <= 0.7
    assert len({c["category"] for c in cases}) >= 15
    # A category is all crisis posts or all posts that must not alert.
    by_category: dict[str, set[bool]] = {}
    for case in cases:
        by_category.setdefault(case["category"], set()).add(case["distress"])
    assert all(len(labels) == 1 for labels in by_category.values())


def test_holdout_never_repeats_a_dev_post() -> None:
    for dev, holdout in (("en", "en_holdout"), ("es", "es_holdout")):
        assert not {c["text"] for c in _load(dev)} & {c["text"] for c in _load(holdout)}


@pytest.mark.parametrize("name", sorted(FILES))
def test_recall_and_precision_targets(name: str) -> None:
    tp = fp = fn = 0
    errors: list[str] = []
    for case in _load(name):
        found = assess(case["text"], language=FILES[name]).is_distress
        tp += found and case["distress"]
        fp += found and not case["distress"]
        fn += case["distress"] and not found
        if found != case["distress"]:
            errors.append(f"[{case['category']}] expected {case['distress']}: {case['text']!r}")
    recall = tp / (tp + fn)
    precision = tp / (tp + fp)
    assert recall >= 0.95 and precision >= 0.8, (recall, precision, "\n".join(errors))
