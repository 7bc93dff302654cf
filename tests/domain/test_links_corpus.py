"""Corpus test: F1 >= 0.99 on the labelled dev and holdout corpora (per-message scoring)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.domain.links import find_links

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "links"


def _load(name: str) -> list[dict]:
    with (CORPUS / f"{name}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _f1(cases: list[dict]) -> tuple[float, list[str]]:
    tp = fp = fn = 0
    errors: list[str] = []
    for case in cases:
        found = {lk.domain for lk in find_links(case["text"])}
        expected = set(case["domains"])
        if case["label"] == "link":
            if found == expected:
                tp += 1
                continue
            fn += 1
            fp += bool(found)
        elif found:
            fp += 1
        else:
            continue
        errors.append(f"[{case['category']}] {expected} != {found}: {case['text'][:120]!r}")
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return (2 * p * r / (p + r) if p + r else 0.0), errors


def test_corpus_is_well_formed() -> None:
    for name in ("dev", "holdout"):
        cases = _load(name)
        assert len(cases) >= 300
        for c in cases:
            assert set(c) == {"text", "label", "domains", "category"}
            assert c["label"] in {"link", "none"}
            assert bool(c["domains"]) == (c["label"] == "link")
        cats = {c["category"] for c in cases}
        assert len(cats) >= 20


@pytest.mark.parametrize("name", ["dev", "holdout"])
def test_corpus_f1(name: str) -> None:
    f1, errors = _f1(_load(name))
    assert f1 >= 0.99, "\n".join(errors)
