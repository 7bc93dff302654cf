"""Corpus test: F1 >= 0.99 and precision >= 0.998 on every labelled corpus (per message)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.domain.links import find_links

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "links"


def _load(name: str) -> list[dict]:
    with (CORPUS / f"{name}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


CORPORA = ["dev", "holdout", "holdout2"]


def _score(cases: list[dict]) -> tuple[float, float, list[str]]:
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
    return (2 * p * r / (p + r) if p + r else 0.0), p, errors


def test_corpus_is_well_formed() -> None:
    for name in CORPORA:
        cases = _load(name)
        assert len(cases) >= 300
        for c in cases:
            assert set(c) == {"text", "label", "domains", "category"}
            assert c["label"] in {"link", "none"}
            assert bool(c["domains"]) == (c["label"] == "link")
        cats = {c["category"] for c in cases}
        assert len(cats) >= 20


def test_holdout2_is_large_enough() -> None:
    assert len(_load("holdout2")) >= 400


@pytest.mark.parametrize("name", CORPORA)
def test_corpus_f1(name: str) -> None:
    f1, precision, errors = _score(_load(name))
    assert f1 >= 0.99, "\n".join(errors)
    assert precision >= 0.998, "\n".join(errors)


@pytest.mark.parametrize("name", CORPORA)
def test_no_false_holds_on_ordinary_writing(name: str) -> None:
    held = [c["text"][:120] for c in _load(name) if c["label"] == "none" and find_links(c["text"])]
    assert held == []
