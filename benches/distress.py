"""Benchmark for bot.domain.distress: accuracy per language and category, and throughput.

Run:  uv run python -m benches.distress        (add --errors to list every miss)

Prints, for each language (en, es) and each split (dev = the posts the lexicon was tuned on,
holdout = posts written before the detector existed and never tuned on): precision, recall
and F1 overall and per category (a category holds only crisis posts or only posts that must
not alert, so its row shows recall or the share spared), then single-threaded messages/s on
the mixed corpus, on long posts, and on a typical chat stream (mostly ordinary messages),
best of five rounds; and the time for 100 KB adversarial strings (context is read in a window
around each match, so the cost stays linear).
Target: recall >= 0.95 at precision >= 0.8.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from bot.domain.distress import assess

CORPUS_DIR = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "distress"
SPLITS = {"en": ("en", "en_holdout"), "es": ("es", "es_holdout")}


def load(name: str) -> list[dict]:
    with (CORPUS_DIR / f"{name}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Score:
    __slots__ = ("tp", "fp", "fn", "tn")

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = self.tn = 0

    def add(self, expected: bool, found: bool) -> None:
        if expected:
            self.tp += found
            self.fn += not found
        else:
            self.fp += found
            self.tn += not found

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def row(self, name: str) -> str:
        if self.tp + self.fn == 0:  # a category of posts that must not alert
            spared = self.tn / self.n if self.n else 1.0
            return f"  {name:<22} n={self.n:>4}   spared {spared:6.1%}  (false alerts {self.fp})"
        return (
            f"  {name:<22} n={self.n:>4}   P {self.precision:.3f}  R {self.recall:.3f}  "
            f"F1 {self.f1:.3f}  (missed {self.fn}, false alerts {self.fp})"
        )


def evaluate(language: str, cases: list[dict]) -> tuple[Score, dict[str, Score], list[str]]:
    overall = Score()
    per_category: dict[str, Score] = defaultdict(Score)
    errors: list[str] = []
    for case in cases:
        result = assess(case["text"], language=language)
        overall.add(case["distress"], result.is_distress)
        per_category[case["category"]].add(case["distress"], result.is_distress)
        if result.is_distress != case["distress"]:
            kind = "MISSED" if case["distress"] else f"FALSE {list(result.matched)}"
            errors.append(f"    {kind} [{case['category']}] {case['text'][:110]!r}")
    return overall, dict(per_category), errors


def throughput(language: str, texts: list[str], rounds: int = 5, seconds: float = 0.3) -> float:
    """Best of several short rounds: on a shared machine the best round is the honest one."""
    best = 0.0
    for _ in range(rounds):
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            for text in texts:
                assess(text, language=language)
            done += len(texts)
        best = max(best, done / (time.perf_counter() - start))
    return best


ADVERSARIAL = {
    "100 KB, one long sentence": "word " * 20000,
    "100 KB, 5,000 negated phrases": "i dont want to die " * 5000,
    "100 KB, 4,000 phrases in a film": "in the film i want to die " * 4000,
    "100 KB, 4,000 ordinary goodbyes": "goodbye everyone see you " * 4000,
    "100 KB, one stretched letter": "a" * 100_000,
    "100 KB, punctuation only": ". , " * 25000,
    "100 KB, accents and emoji": "Ça va 😂 ñ " * 10000,
}


def main(argv: list[str]) -> int:
    show_errors = "--errors" in argv
    print("Distress detection (bot.domain.distress.assess); target R >= 0.95 at P >= 0.80")
    all_texts: dict[str, list[str]] = {}
    for language, splits in SPLITS.items():
        for split_name, file_name in zip(("dev", "holdout"), splits, strict=True):
            cases = load(file_name)
            all_texts.setdefault(language, []).extend(c["text"] for c in cases)
            overall, per_category, errors = evaluate(language, cases)
            print(f"\n[{language} {split_name}] {file_name}.jsonl")
            print(overall.row("ALL"))
            for name in sorted(per_category):
                print(per_category[name].row(name))
            if show_errors and errors:
                print("\n".join(errors))
    print("\nThroughput (single thread, messages/s):")
    for language, texts in all_texts.items():
        print(f"  {language} corpus (mixed)          {throughput(language, texts):>10,.0f}")
    long_posts = [" ".join(all_texts["en"][i : i + 12]) for i in range(0, 240, 12)]
    print(f"  en long posts (~1 KB each)     {throughput('en', long_posts):>10,.0f}")
    chat = [
        "lol same",
        "how did the scan go?",
        "Thanks everyone 💜",
        "Morning all, rough night",
        "Does anyone know if the pharmacy is open Sunday?",
        "hugs to you",
        "yes!!",
        "My oncologist appointment got moved again, so annoying",
        "Feeling a bit better today after the fluids",
        "I can't go on like this",
    ]
    print(f"  en chat stream (1 in 10 crisis) {throughput('en', chat):>9,.0f}")
    print("\nAdversarial inputs (es: both lexicons), worst of 3, ms:")
    for name, text in ADVERSARIAL.items():
        worst = 0.0
        for _ in range(3):
            start = time.perf_counter()
            assess(text, language="es")
            worst = max(worst, time.perf_counter() - start)
        print(f"  {name:<34} {worst * 1000:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
