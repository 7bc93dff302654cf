"""The de-obfuscation step of link detection, with a map back to the text as written.

``normalize(text)`` returns the text with the usual link disguises undone (see the package
docstring for the list) and, for every output character, the span of the original text it
came from, plus "marks" recording which disguises were undone where (the detector asks
more of a candidate that only exists thanks to a weak join).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from operator import le, sub

from bot.domain.links.tables import GLUED_TLDS, SPECIAL_SCHEMES

STRONG = "strong"
WEAK_SPACE = "weak_space"
WEAK_WORD = "weak_word"
WEAK_NL = "weak_nl"
WEAK_EDGE = "weak_edge"
WEAK_PATH = "weak_path"  # "t. me/x", "discord,gg/x": counts only with a path
WEAK_SPACED = "weak_spaced"  # "f r e e . i n f o": letters spaced out


class PosMap:
    """Where each character of one rewrite pass's output came from, without a per-character table.

    A pass applies sorted, non-overlapping edits ``[a, b) -> rep`` to its input. For edit k,
    ``out_at[k]`` is where its replacement starts in the output and ``rep_len[k]`` its length;
    output characters between edits are copied one to one. A lookup bisects ``out_at``, so
    building the map costs a few list operations per edit and each lookup O(log edits);
    ``prior`` is the map of the pass before (None: that pass's input is the original text).
    """

    __slots__ = ("prior", "out_at", "rep_len", "src_a", "src_b")

    def __init__(
        self,
        prior: PosMap | None,
        out_at: list[int],
        rep_len: list[int],
        src_a: list[int],
        src_b: list[int],
    ) -> None:
        self.prior = prior
        self.out_at = out_at
        self.rep_len = rep_len
        self.src_a = src_a
        self.src_b = src_b

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PosMap):
            return NotImplemented
        return (self.prior, self.out_at, self.rep_len, self.src_a, self.src_b) == (
            other.prior, other.out_at, other.rep_len, other.src_a, other.src_b
        )

    __hash__ = None  # type: ignore[assignment]

    def start(self, p: int) -> int:
        """Original index where output character p starts."""
        k = bisect_right(self.out_at, p) - 1
        if k < 0:
            c = p
        else:
            at = self.out_at[k] + self.rep_len[k]
            c = self.src_a[k] if p < at else p - at + self.src_b[k]
        return c if self.prior is None else self.prior.start(c)

    def end(self, p: int) -> int:
        """Original index just after output character p."""
        k = bisect_right(self.out_at, p) - 1
        if k < 0:
            c = p
        else:
            at = self.out_at[k] + self.rep_len[k]
            c = self.src_b[k] - 1 if p < at else p - at + self.src_b[k]
        return c + 1 if self.prior is None else self.prior.end(c)


@dataclass(slots=True)
class Normalized:
    """Normalized text plus the map from each of its characters back to the original."""

    text: str
    original: str
    pos: PosMap | None  # None: identity map
    marks: tuple[tuple[int, int, str], ...]  # (orig_start, orig_end, kind)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a non-empty normalized span [start, end) to the original text."""
        if self.pos is None:
            return start, end
        return self.pos.start(start), self.pos.end(end - 1)


def _mark_ranges(lo: int, hi: int) -> str:
    """A regex class body of every combining mark (Mn, Mc, Me) with code point in [lo, hi)."""
    parts: list[str] = []
    start = prev = -2
    for cp in range(lo, hi):
        if unicodedata.category(chr(cp))[0] == "M":
            if cp != prev + 1:
                if start >= 0:
                    parts.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
                start = cp
            prev = cp
    parts.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
    return "".join(parts)


# Combining marks: part of a label after its first character ("cafe\u0301", Indic vowel
# signs); hosts are composed to NFC when they are encoded (UTS 46), so decomposed and
# composed spellings give the same link, and no position map is needed for it. The BMP
# class compiles to a bitmap (fast); supplementary-plane marks are a separate class.
BMP_MARKS = _mark_ranges(0x300, 0x10000)
SMP_MARKS = _mark_ranges(0x10000, 0x20000)
MARK = f"[{BMP_MARKS}]|[{SMP_MARKS}]"

# Invisible characters removed by normalize (format controls, joiners, selectors).
_INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001d173-\U0001d17a\U000e0000-\U000e007f]"
)
_INVISIBLE_RUN_RE = re.compile(_INVISIBLE_RE.pattern + "+")  # the search above stays fast


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0xFF01, 0xFF5F):  # fullwidth ASCII
        table[cp] = chr(cp - 0xFEE0)
    for lo, hi in ((0x1D400, 0x1D800), (0x24B6, 0x24EA), (0xFE50, 0xFE70)):
        for cp in range(lo, hi):
            folded = unicodedata.normalize("NFKC", chr(cp))
            if len(folded) == 1 and folded.isascii() and folded != chr(cp):
                table[cp] = folded.lower() if 0x24B6 <= cp < 0x24EA else folded
    for cp in (0x3002, 0xFF61, 0xFE52, 0x2024, 0x2E33):  # dot look-alikes
        table[cp] = "."
    return table


_FOLD_TABLE = _build_fold_table()
_FOLD_RE = re.compile(
    "[\uff01-\uff5e\u3002\uff61\ufe50-\ufe6f\u2024\u2e33\u24b6-\u24e9\U0001d400-\U0001d7ff]"
)

_H = r"[ \t]{0,3}+"  # a little horizontal space
# Each disguise has its own small regex, run only when a cheap substring test says it may
# occur; context (a label character on each side) is checked in Python on the few hits.
_SCHEME_DEFANG_RE = re.compile(
    r"[hH](?:"
    + _H
    + r"[tTxX*]){2}"
    + _H
    + r"[pP](?:"
    + _H
    + r"[sS])?"
    + _H
    + r"(?:\[://\]|(?:\[:\]|\(:\)|\{:\}|:)"
    + _H
    + r"(?:/"
    + _H
    + r"/|\[/\]\[/\]|\[//\]))"
    + r"[ \t]{0,3}+(?:\n[ \t]{0,3}+)?"
)
_BRACKET_RE = re.compile(r"[\[({<][ \t]{0,2}+(dot|at|\.|/)[ \t]{0,2}+[\])}>]", re.IGNORECASE)
_ESC_RE = re.compile(r"\\(?=[./:@_])")
# A special-scheme URL (WHATWG): inside it a backslash is a slash, so "https://evil.com\\@ok.org"
# and "https://evil.com\\.ok.org" are evil.com.
_SPECIAL_URL_RE = re.compile(r"(?<![^\W_])([a-zA-Z]{2,5}+):[^\s]*+")
_PCT_RE = re.compile(r"%(?:2[dDeEfF]|3[0-9aA]|4[0-9a-fA-F]|5[0-9aA]|6[1-9a-fA-F]|7[0-9aA])")
# "dot" spelled with spaces inside ("d o t", "d 0 t") is a disguise nobody writes in prose
_WORD_DOT_RE = re.compile(
    r"[ \t]{1,3}+(dot|d0t|punto|d [o0] t)[ \t]{1,3}+", re.IGNORECASE
)
_GLUED_DOT_RE = re.compile(
    r"(?<![^\W_])[a-z0-9][a-z0-9\-]{1,62}(d[o0]t)([a-z]{2,6}+)(?=/[^\W_])", re.IGNORECASE
)
_DOT_SPACE_RE = re.compile(r"\. (?=[a-z]{2,6}+/[^\W_])")
_COMMA_TLDS = r"(?=(?:gg|com|net|org|io|ly|me|co)/[^\W_])"
_COMMA_RE = re.compile(r"," + _COMMA_TLDS, re.IGNORECASE)
_SPACED_COMMA_RE = re.compile(r"(?<=discord|DISCORD|Discord)(?: ,|, | , )" + _COMMA_TLDS)
# Letters spaced out: "f r e e - m e d s . i n f o", "W W W . E X A M P L E . O R G".
_UNIT = r"(?:[^\W_]|[\-./])"
_SPACED_LETTERS_RE = re.compile(
    r"(?<!\S)" + _UNIT + r"(?= )(?: " + _UNIT + r"(?![^\s.,;:!?)])){5,}+"
)
_SPACED_DOT_RE = re.compile(r"[ \t]{1,3}+\.[ \t]{0,3}+")
_DOT_NL_RE = re.compile(r"\.[ \t]{0,3}+\n[ \t]{0,3}+")
_NL_DOT_RE = re.compile(r"\n[ \t]{0,3}+\.")
_TOKEN_BEFORE_RE = re.compile(r"[^\s]{0,80}+")  # run on the reversed text


def _label_before(t: str, i: int) -> bool:
    return i > 0 and t[i - 1].isalnum()


def _label_at(t: str, i: int) -> bool:
    return i < len(t) and t[i].isalnum()


Edit = tuple[int, int, str, str | None]


def _url_backslashes(t: str) -> str:
    """Backslashes inside http(s)/ws/ftp/file URLs become slashes (1:1, positions kept)."""
    out: list[str] = []
    pos = 0
    for m in _SPECIAL_URL_RE.finditer(t):
        if m.group(1).lower() in SPECIAL_SCHEMES and "\\" in m.group():
            out.append(t[pos : m.start()])
            out.append(m.group().replace("\\", "/"))
            pos = m.end()
    if not out:
        return t
    out.append(t[pos:])
    return "".join(out)


def _dot_word_edits(t: str, edits: list[Edit]) -> None:
    for m in _WORD_DOT_RE.finditer(t):
        a, b = m.span()
        if _label_before(t, a) and _label_at(t, b):
            word = m.group(1).lower()
            strong = word == "d0t" or len(word) == 5  # "d0t", "d o t", "d 0 t"
            edits.append((a, b, ".", STRONG if strong else WEAK_WORD))
    for m in _GLUED_DOT_RE.finditer(t):
        if m.group(2).lower() in GLUED_TLDS:
            edits.append((m.start(1), m.end(1), ".", STRONG))


def _spaced_letter_edits(t: str, edits: list[Edit]) -> None:
    for m in _SPACED_LETTERS_RE.finditer(t):
        run = m.group()
        if len(run) > 400:
            continue  # longer than any host spelled out
        dot = run.rfind(".")
        if dot < 0 or not run[dot + 2 : dot + 3].isalpha() or not run[dot + 4 : dot + 5].isalpha():
            continue  # needs ". x y": a top-level domain of two letters or more
        a = m.start()
        for k in range(1, len(run), 2):
            edits.append((a + k, a + k + 1, "", WEAK_SPACED))


def _scheme_edits(t: str, edits: list[Edit]) -> None:
    for m in _SCHEME_DEFANG_RE.finditer(t):
        g = m.group()
        if g == "https://" or g == "http://":
            continue  # already as written by a browser: nothing to undo
        a, b = m.span()
        if _label_before(t, a):
            continue
        squeezed = "".join(g.split()).lower()
        canon = "https://" if squeezed[4:5] == "s" else "http://"
        if g.lower() != canon:
            edits.append((a, b, canon, STRONG))


def _bracket_edits(t: str, edits: list[Edit]) -> None:
    n = len(t)
    for m in _BRACKET_RE.finditer(t):
        a, b = m.span()
        word = m.group(1).lower()
        if word == "/":
            edits.append((a, b, "/", STRONG))
            continue
        # absorb up to two spaces each side; need a label character on both sides
        if a > 0 and t[a - 1] in " \t":
            a -= 1
            if a > 0 and t[a - 1] in " \t":
                a -= 1
        if b < n and t[b] in " \t":
            b += 1
            if b < n and t[b] in " \t":
                b += 1
        if a > 0 and b < n and t[a - 1].isalnum() and t[b].isalnum():
            edits.append((a, b, "@" if word == "at" else ".", STRONG))


def _context_edits(
    t: str, rx: re.Pattern[str], rep: str, kind: str | None, edits: list[Edit]
) -> None:
    n = len(t)
    for m in rx.finditer(t):
        a, b = m.span()
        if a > 0 and b < n and t[a - 1].isalnum() and t[b].isalnum():
            edits.append((a, b, rep, kind))


def _spaced_dot_edits(t: str, edits: list[Edit]) -> None:
    for m in _SPACED_DOT_RE.finditer(t):
        a, b = m.span()
        if not (_label_before(t, a) and _label_at(t, b)):
            continue
        if t[b - 1] == ".":  # "bit .ly": space only before the dot
            if t.startswith("gg/", b) or t.startswith("GG/", b):
                continue  # "join .gg/x" is a partial invite, not "join.gg"
            edits.append((a, b, ".", WEAK_EDGE))
        else:
            edits.append((a, b, ".", WEAK_SPACE))


def _newline_edits(t: str, edits: list[Edit]) -> None:
    if ".\n" in t or ". \n" in t or ".\t\n" in t:
        for m in _DOT_NL_RE.finditer(t):
            a, b = m.span()
            if not (_label_before(t, a) and _label_at(t, b)):
                continue
            # "iherb.com.\nmy": the token before already holds a dot, so this one ends it
            rm = _TOKEN_BEFORE_RE.match(t[max(0, a - 80) : a][::-1])
            if rm is not None and "." not in rm.group():
                edits.append((a, b, ".", WEAK_NL))
    if "\n" in t:
        for m in _NL_DOT_RE.finditer(t):
            a, b = m.span()
            while a > 0 and t[a - 1] in " \t" and m.start() - a < 3:
                a -= 1
            if _label_before(t, a) and _label_at(t, b):
                edits.append((a, b, ".", WEAK_EDGE))


_PCT_DECODED = {f"%{cp:02X}": chr(cp) for cp in range(0x20, 0x80)}
_PCT_DECODED.update({k.lower(): v for k, v in _PCT_DECODED.items()})
_PCT_DECODED.update({k[:2] + k[2].lower(): v for k, v in _PCT_DECODED.items() if len(k) == 3})


def _pct_edits(t: str, edits: list[Edit]) -> None:
    dec = _PCT_DECODED
    edits.extend(
        [
            (a, b, ch, STRONG if ch in ".:/@" else None)
            for m in _PCT_RE.finditer(t)
            for a, b in (m.span(),)
            for ch in (dec[m.group()],)
        ]
    )


def _collect_edits(t: str) -> list[Edit]:
    edits: list[Edit] = []
    low = t.lower()
    if "%" in t:
        _pct_edits(t, edits)
    if "\\" in t:
        for m in _ESC_RE.finditer(t):
            nxt = t[m.end()]
            edits.append((m.start(), m.end(), "", STRONG if nxt in "./:" else None))
    if ":" in t and "/" in t:  # every scheme disguise holds both; [hH] starts a fast search
        _scheme_edits(t, edits)
    if ("[" in t or "(" in t or "{" in t or "<" in t) and _BRACKET_RE.search(t) is not None:
        _bracket_edits(t, edits)
    if "dot" in low or "d0t" in low or "punto" in low or " t " in low:  # " t ": "d o t"
        _dot_word_edits(t, edits)
    if "/" in t:
        if ". " in t:
            _context_edits(t, _DOT_SPACE_RE, ".", WEAK_PATH, edits)
        if "," in t:
            _context_edits(t, _COMMA_RE, ".", WEAK_PATH, edits)
            if "discord" in low:
                _context_edits(t, _SPACED_COMMA_RE, ".", WEAK_PATH, edits)
    if " . " in t:
        _spaced_letter_edits(t, edits)
    if " ." in t or "\t." in t:
        _spaced_dot_edits(t, edits)
    if "\n" in t:
        _newline_edits(t, edits)
    if len(edits) > 1 and not all(
        map(le, [e[1] for e in edits[:-1]], [e[0] for e in edits[1:]])
    ):  # not already in order and apart: sort, keep the first of overlapping edits
        edits.sort(key=lambda e: (e[0], -e[1]))
        kept: list[Edit] = []
        last = -1
        for e in edits:
            if e[0] >= last:
                kept.append(e)
                last = e[1]
        edits = kept
    return edits


def _apply(
    src: str, edits: list[Edit], prior: PosMap | None
) -> tuple[str, PosMap, list[tuple[int, int, str]]]:
    """Apply sorted, non-overlapping edits in one pass: output text, its map, the marks.

    Whole-list operations only (slices, joins, ``accumulate``): no per-character work and
    a few list operations per edit.
    """
    src_a = [e[0] for e in edits]
    src_b = [e[1] for e in edits]
    reps = [e[2] for e in edits]
    n = len(edits)
    parts: list[str] = [""] * (2 * n + 1)
    parts[0 : 2 * n : 2] = [src[p:a] for p, a in zip([0, *src_b], src_a, strict=False)]
    parts[1 : 2 * n : 2] = reps
    parts[2 * n] = src[src_b[-1] :]
    rep_len = list(map(len, reps))
    removed = [b - a - r for a, b, r in zip(src_a, src_b, rep_len, strict=True)]
    shifts = accumulate(removed, initial=0)  # characters removed before each edit
    out_at = list(map(sub, src_a, shifts))
    pmap = PosMap(prior, out_at, rep_len, src_a, src_b)
    if prior is None:
        marks = [(a, b, k) for a, b, _, k in edits if k is not None]
    else:
        marks = [(prior.start(a), prior.end(b - 1), k) for a, b, _, k in edits if k is not None]
    return "".join(parts), pmap, marks


def normalize(text: str) -> Normalized:
    """Undo link disguises; keep a map from normalized positions to the original text."""
    cur = text
    pos: PosMap | None = None
    marks: list[tuple[int, int, str]] = []
    if not text.isascii():
        if _INVISIBLE_RE.search(cur) is not None:
            # a run of invisible characters is one deletion
            spans = map(re.Match.span, _INVISIBLE_RUN_RE.finditer(cur))
            dels: list[Edit] = [(a, b, "", None) for a, b in spans]
            cur, pos, _ = _apply(cur, dels, None)
        if _FOLD_RE.search(cur) is not None:
            cur = cur.translate(_FOLD_TABLE)  # 1:1, positions unchanged
    if "\\" in cur and ":" in cur:
        cur = _url_backslashes(cur)  # as a browser reads it: never an escape to undo
    edits = _collect_edits(cur)
    if edits:
        cur, pos, marks = _apply(cur, edits, pos)
    return Normalized(text=cur, original=text, pos=pos, marks=tuple(marks))
