"""Benchmark for the AutoMod rule's link patterns (bot.domain.automod.LINK_PATTERNS).

Run:  uv run python -m benches.automod

With AutoMod on, a post the rule blocks is never created: its exposure is 0. This prints,
for the labelled link corpus (tests/corpus/links/{dev,holdout}.jsonl):

* the share of link messages the generated patterns block by themselves (evaluated with
  Python ``re``; the patterns stay inside the syntax Rust's regex shares, see the tests);
* the false-block rate on the messages without links (a false block hides a member's post);
* what the bot-side detector (``find_links``) adds on top: link messages it catches that the
  patterns miss (those are held after they appeared, as today), and the reverse;
* the same per category, which pattern does the work, and the cost per message.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

from bot.domain.automod import LINK_PATTERNS, RuleFacts, build_rule, rule_payload
from bot.domain.links import find_links

CORPUS_DIR = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "links"
COMPILED = [re.compile(p) for p in LINK_PATTERNS]


def load(name: str) -> list[dict]:
    with (CORPUS_DIR / f"{name}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def blocking_pattern(text: str) -> int | None:
    """Index of the first pattern that matches (what AutoMod reports), or None."""
    for i, regex in enumerate(COMPILED):
        if regex.search(text):
            return i
    return None


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:5.1f}%" if d else "   - "


def report(name: str, cases: list[dict]) -> None:
    links = [c for c in cases if c["label"] == "link"]
    clean = [c for c in cases if c["label"] == "none"]
    blocked = {id(c) for c in cases if blocking_pattern(c["text"]) is not None}
    detected = {id(c) for c in cases if find_links(c["text"])}
    lb = sum(id(c) in blocked for c in links)
    ld = sum(id(c) in detected for c in links)
    adds = sum(id(c) in detected and id(c) not in blocked for c in links)
    only_rule = sum(id(c) in blocked and id(c) not in detected for c in links)
    either = sum(id(c) in blocked or id(c) in detected for c in links)
    fb = sum(id(c) in blocked for c in clean)
    fd = sum(id(c) in detected for c in clean)
    print(f"\n== {name}: {len(links)} link messages, {len(clean)} without links")
    print(f"  blocked by the AutoMod patterns alone : {lb:4d}  {pct(lb, len(links))}"
          "  (exposure 0)")
    print(f"  caught by the bot-side detector       : {ld:4d}  {pct(ld, len(links))}")
    print(f"  detector adds on top of the patterns  : {adds:4d}  {pct(adds, len(links))}"
          "  (held after they appeared)")
    print(f"  patterns catch, detector misses       : {only_rule:4d}  {pct(only_rule, len(links))}")
    print(f"  caught by either                      : {either:4d}  {pct(either, len(links))}")
    print(f"  false blocks (no link, post hidden)   : {fb:4d}  {pct(fb, len(clean))}")
    print(f"  detector false positives (held)       : {fd:4d}  {pct(fd, len(clean))}")


def per_category(cases: list[dict]) -> None:
    rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for c in cases:
        row = rows[(c["label"], c["category"])]
        row[0] += 1
        row[1] += blocking_pattern(c["text"]) is not None
        row[2] += bool(find_links(c["text"]))
    print("\n== per category (dev + holdout): messages, blocked by patterns, detector")
    for (label, cat), (n, b, d) in sorted(rows.items()):
        print(f"  {label:4s} {cat:18s} {n:4d}   patterns {pct(b, n)}   detector {pct(d, n)}")


def per_pattern(cases: list[dict]) -> None:
    first = Counter(blocking_pattern(c["text"]) for c in cases if c["label"] == "link")
    print("\n== first matching pattern on link messages (length / share)")
    for i, pattern in enumerate(LINK_PATTERNS):
        print(f"  #{i} {len(pattern):3d} chars  {first[i]:4d}   {pattern[:70]}...")
    print(f"  none        {first[None]:4d}")


def timing(cases: list[dict]) -> None:
    texts = [c["text"] for c in cases] * 20
    t0 = time.perf_counter()
    for text in texts:
        blocking_pattern(text)
    t1 = time.perf_counter()
    for text in texts:
        find_links(text)
    t2 = time.perf_counter()
    n = len(texts)
    print(f"\n== cost per message (Python re, {n} messages): patterns "
          f"{1e6 * (t1 - t0) / n:.1f} us, find_links {1e6 * (t2 - t1) / n:.1f} us")


def adversarial() -> None:
    """Python's backtracking engine on 100 KB of hostile text (Discord runs Rust's linear one)."""
    print("\n== 100 KB adversarial strings (all patterns, Python re)")
    for label, text in (("a" * 100_000, "a" * 100_000), ("a." * 50_000, "a." * 50_000),
                        ("1." * 50_000, "1." * 50_000), ("h t " * 25_000, "h t " * 25_000),
                        ("x@" * 50_000, "x@" * 50_000)):
        t0 = time.perf_counter()
        blocking_pattern(text)
        print(f"  {label[:12]!r:16s} {1000 * (time.perf_counter() - t0):8.1f} ms")


def main() -> None:
    payload = rule_payload(build_rule(RuleFacts()))
    patterns = payload["trigger_metadata"]["regex_patterns"]
    print(f"AutoMod rule {payload['name']!r}: {len(patterns)} regex patterns "
          f"(longest {max(map(len, patterns))} chars; Discord allows 10 x 260)")
    dev, holdout = load("dev"), load("holdout")
    report("dev", dev)
    report("holdout", holdout)
    report("dev + holdout", dev + holdout)
    per_category(dev + holdout)
    per_pattern(dev + holdout)
    timing(dev + holdout)
    adversarial()


if __name__ == "__main__":
    main()
