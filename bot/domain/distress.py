"""Distress detection: does a post express despair or crisis? Pure, precompiled, fast.

Public API (stable; services and benchmarks call it exactly so):

* ``assess(text, *, extra_phrases=(), language="en") -> Assessment`` with ``is_distress``
  and ``matched`` (the lexicon labels, or the server's own phrases as written, that decided
  it, in the order they appear; empty exactly when ``is_distress`` is false).
* ``normalize(text) -> str`` - the text as the lexicon reads it.

It runs on every message, so it never raises, does no I/O and does little work: the text is
normalized once; each phrase's pattern is analysed at import for the literal strings one of
which every match must contain, and only the phrases whose strings occur in the text (plain
substring tests) run their regex. Context is read in a window around a match, so the cost
stays linear in the length of the post.

Normalization
=============
Case-folded; accents, apostrophes (straight, curly, backtick) and other marks removed
(``I’M`` -> ``im``, ``can't`` / ``cant`` -> ``cant``, ``más`` -> ``mas``; NFC and NFD spell
the same); laughing emoji become the word ``lol``; sentence punctuation becomes ``.`` and
clause punctuation ``,``; everything else is a space; every run of a repeated letter is
squeezed to one, in the text and in the patterns alike (``dieeee`` -> ``die``, ``soooo``
-> ``so``), so stretched words match. A phrase matches on whole words only.

What alerts
===========
A statement of wanting to die or to end one's life, suicidal thoughts, self-harm, plans or
means (saved pills, a rope, standing on a bridge), farewells ("this is goodbye", "by the time
you read this"), feeling a burden ("they'd be better off without me") and hopelessness ("I
can't go on", "no point anymore", "nothing left to live for"), in many phrasings. The rules
that keep a match from alerting, each scoped as small as it can be:

* **Negation** - "I don't want to die", "not suicidal", "I would never hurt myself", "no
  plans to hurt myself", "I used to want to die", "no quiero morir", "nunca me haría daño":
  a negation before the phrase with only filler words ("really", "going to", "thinking
  about", "que") between them. "I don't know why, but I want to die" is not negated.
* **Not about dying** - the idioms are simply not in the lexicon ("this chemo is killing
  me", "dying to know", "dying of laughter", "my phone is dead", "the tumour is dead",
  "me muero de risa", "me muero por saber"), and phrases exclude the continuations that
  change their meaning: "want to die of embarrassment", "want to die at home" (end-of-life
  wishes are care planning, not crisis), "can't go on the trip", "no point calling before
  Monday", "saying goodbye to my hair", "no puedo más de tres horas", "quiero morir en casa".
* **Laughter** only cancels the hopelessness idioms people also say in jest ("I can't take it
  anymore lol", "no puedo más con este calor jajaja") and a trivial cause ("this wifi makes
  me want to die lmao"), in the same clause. A plain "I want to die lol" still alerts:
  people in crisis often soften what they say with a joke, and a moderator reading one
  extra alert costs far less than a missed crisis.
* **Fiction, media, training and leaflets** - a sentence about a film, book, character, song
  or game, or about warning signs, prevention, training or what to say "if someone says..."
  does not alert.
* **Recovery stories** - a sentence that places the feeling in the past ("five years ago I
  was suicidal", "there was a time I thought there was no point") does not alert; past-tense
  phrases ("wanted to die", "attempted suicide") are cancelled by such a marker anywhere in
  the post. "I tried to kill myself last week" alerts.
* **Third person.** A report about someone *alive and in crisis now* alerts: "my mum wants
  to die", "my son said he wants to kill himself", "my partner says we'd be better off
  without him". The member writing is frightened and likely needs a moderator's help and the
  resources for the person at risk; an automated group suggestion is the wrong answer to it.
  A report of someone who *has died* does not alert ("my brother killed himself two years
  ago", "she took her own life", "died by suicide"): that is grief, which the community
  answers; grief that turns into crisis ("I want to be with him again") alerts.

Extra phrases and languages
===========================
``extra_phrases`` (per server) are normalized the same way and matched as whole words,
case-insensitively, with the negation, fiction/training and recovery rules (not the
laughter rule). ``language="en"`` uses the English lexicon. ``language="es"`` (or ``es-ES``
etc.) uses the Spanish lexicon *and* the English one, since members mix languages and quote
English posts. Any other language falls back to English.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.domain import distress_lexicon as lex
from bot.domain import distress_lexicon_es as lex_es

__all__ = ["Assessment", "assess", "compile_phrase", "normalize", "required_literals"]


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdict on one post: distress or not, and the phrases that decided it."""

    is_distress: bool
    matched: tuple[str, ...] = ()


NO_DISTRESS = Assessment(False, ())

# ---------------------------------------------------------------- normalization
_APOSTROPHES = re.compile("['’‘ʼ`´′＇‛]")
_LAUGHING = dict.fromkeys(map(ord, "😂🤣😆😹😅😄😁"), " lol ")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SENTENCE_MARKS = re.compile(r"[.!?…。\n\r\u2028\u2029]+")
_CLAUSE_MARKS = re.compile(r"[,;:()\[\]{}\"“”„«»¿¡—–|]+")
_NON_WORD = re.compile(r"[^a-z0-9.,]+")
_SQUEEZE = re.compile(r"([a-z])\1+")
_FIRST_GROUP = operator.itemgetter(1)  # a C callable: much faster than a "\1" template
_RUN_WITH_STOP = re.compile(r"(?:, )*\.(?: [.,])*")
_RUN_OF_COMMAS = re.compile(r",(?: ,)+")


def normalize(text: str) -> str:
    """Return the text as the lexicon reads it (see the module docstring)."""
    text = text.casefold()
    if not text.isascii():
        # NFKD first, so every normal form of a text reads the same; a spacing acute used as
        # an apostrophe ("can´t") decomposes to a space and a combining acute: drop both.
        text = unicodedata.normalize("NFKD", text).replace(" \u0301", "").translate(_LAUGHING)
        text = _COMBINING.sub("", text).casefold()
    text = _APOSTROPHES.sub("", text)
    text = _CLAUSE_MARKS.sub(" , ", _SENTENCE_MARKS.sub(" . ", text))
    text = _SQUEEZE.sub(_FIRST_GROUP, _NON_WORD.sub(" ", text))
    # One separator token between clauses, none at the edges: "a , . b" -> "a . b".
    text = _RUN_WITH_STOP.sub(".", " ".join(text.split()))
    return _RUN_OF_COMMAS.sub(",", text).strip(" .,")


# ---------------------------------------------------------------- compiled lexicons
_END = "(?:(?: (?:" + lex.END_FILLERS + "))*(?= [.,]|$))"


def _whole_word_lookaheads(src: str) -> str:
    """Make every lookahead test whole words: "(?! (?:a|an))" must not refuse "anymore"."""
    out: list[str] = []
    i = 0
    while i < len(src):
        if not src.startswith(("(?=", "(?!"), i):
            out.append(src[i])
            i += 1
            continue
        depth, j = 0, i
        for j in range(i, len(src)):  # noqa: B007 - j is the matching parenthesis after it
            depth += {"(": 1, ")": -1}.get(src[j], 0)
            if depth == 0:
                break
        body = _whole_word_lookaheads(src[i + 3 : j])
        out.append(f"{src[i : i + 3]}(?:{body})(?![a-z0-9]))")
        i = j + 1
    return "".join(out)


def _compile_source(source: str) -> str:
    source = _whole_word_lookaheads(_SQUEEZE.sub(r"\1", source))
    return source.replace("<w>", "[a-z0-9]+").replace("<end>", _SQUEEZE.sub(r"\1", _END))


def _words(source: str) -> str:
    # Matched against " " + normalized text: the literal leading space puts every match on a
    # word start and lets the regex engine skip straight from one space to the next.
    return r" (?:" + _compile_source(source) + r")(?![a-z0-9])"


@dataclass(frozen=True, slots=True)
class _Entry:
    label: str
    regex: re.Pattern[str]
    factors: frozenset[str]  # every match contains one of these; empty = always try
    negatable: bool
    soft: bool
    past: bool
    farewell: bool = False
    humour_exempt: bool = False


@dataclass(frozen=True, slots=True)
class _Lexicon:
    entries: tuple[_Entry, ...]
    by_factor: dict[str, frozenset[int]]  # factor -> the entries (by index) it keys
    always: frozenset[int]  # entries without factors

    def candidates(self, text: str) -> list[_Entry]:
        """The entries that may match ``text``, in lexicon order (substring tests only)."""
        hits = [ids for f, ids in self.by_factor.items() if f in text]
        if not hits and not self.always:
            return []
        return [self.entries[i] for i in sorted(self.always.union(*hits))]


# A necessary-factor analysis of the lexicon's own small regex dialect (literals, groups,
# lookarounds, classes, ?, *, +, {m,n}, placeholders): for each phrase, a set of literal
# strings of which every match holds at least one. Checking these with `in` is what keeps
# assess() cheap on the ordinary messages that are nearly all of its input.
_Factors = frozenset[str] | None


_OPENERS = ("(?:", "(?=", "(?!", "(?<=", "(?<!", "(")


# Factors this common pass nearly every message, so a phrase is better keyed on another part.
_COMMON = frozenset(
    ("a", "i", "to", "at", "the", "of", "on", "in", "it", "is", "my", "me", "do", "this", "and")
    + ("or", "be", "so", "no", "not", "im")
)


def _selectivity(candidate: frozenset[str]) -> tuple[int, int]:
    worst = min(0 if f.strip() in _COMMON else len(f.strip()) for f in candidate)
    return worst, -len(candidate)


def _best(candidates: list[frozenset[str]]) -> _Factors:
    return max(candidates, key=_selectivity) if candidates else None


def _parse_alternation(src: str, i: int) -> tuple[_Factors, int]:
    branches: list[_Factors] = []
    while True:
        factors, i = _parse_sequence(src, i)
        branches.append(factors)
        if i < len(src) and src[i] == "|":
            i += 1
            continue
        break
    if any(b is None for b in branches):
        return None, i
    return frozenset().union(*(b for b in branches if b is not None)), i


def _parse_sequence(src: str, i: int) -> tuple[_Factors, int]:
    candidates: list[frozenset[str]] = []
    run = ""
    while i < len(src) and src[i] not in "|)":
        atom: _Factors
        literal = ""
        if src[i] == "(":
            opener = next(o for o in _OPENERS if src.startswith(o, i))
            inner, i = _parse_alternation(src, i + len(opener))
            i += 1  # the closing parenthesis
            atom = inner if opener in ("(?:", "(") else None  # lookarounds consume nothing
        elif src[i] == "[":
            atom, i = None, src.index("]", i) + 1
        elif src[i] == "<":
            atom, i = None, src.index(">", i) + 1
        else:
            literal, atom, i = src[i], None, i + 1
        minimum, i = _quantifier(src, i)
        if literal and minimum == 1:
            run += literal
            continue
        if run:
            candidates.append(frozenset((run,)))
            run = ""
        if literal and minimum > 0:
            candidates.append(frozenset((literal,)))
        elif atom is not None and minimum > 0:
            candidates.append(atom)
    if run:
        candidates.append(frozenset((run,)))
    return _best(candidates), i


def _quantifier(src: str, i: int) -> tuple[int, int]:
    if i < len(src) and src[i] in "?*":
        return 0, i + 1
    if i < len(src) and src[i] == "+":
        return 1, i + 1
    if i < len(src) and src[i] == "{":
        close = src.index("}", i)
        return int(src[i + 1 : close].split(",")[0] or 0), close + 1
    return 1, i


def required_literals(source: str) -> frozenset[str]:
    """Literal strings of which every match of the lexicon pattern ``source`` holds one.

    Empty when no such set is known (the phrase is then always tried).
    """
    factors, _ = _parse_alternation(_SQUEEZE.sub(r"\1", source), 0)
    return factors or frozenset()


def compile_phrase(source: str) -> re.Pattern[str]:
    """Compile a lexicon pattern to match whole words in ``" " + normalize(text)``."""
    return re.compile(_words(source))


def _build(phrases: Sequence[lex.Phrase]) -> _Lexicon:
    entries = tuple(
        _Entry(
            p.label,
            compile_phrase(p.pattern),
            required_literals(p.pattern),
            p.negatable,
            p.soft,
            p.past,
            p.farewell,
        )
        for p in phrases
    )
    by_factor: dict[str, set[int]] = {}
    for index, entry in enumerate(entries):
        for factor in entry.factors:
            by_factor.setdefault(factor, set()).add(index)
    return _Lexicon(
        entries,
        {f: frozenset(ids) for f, ids in sorted(by_factor.items())},
        frozenset(i for i, e in enumerate(entries) if not e.factors),
    )


_LEXICONS = {"en": _build(lex.ENGLISH), "es": _build(lex_es.SPANISH)}
_MEDIA = re.compile(_words(lex.MEDIA_OR_HELPER))
_RECOVERY = re.compile(_words(lex.RECOVERY))
_HUMOUR = re.compile(_words(lex.HUMOUR))
_ORDINARY_LEAVE = re.compile(_words(lex.ORDINARY_LEAVE))
_NEGATED = re.compile(
    r"(?:^| )(?:" + _compile_source(lex.NEGATORS) + r")"
    r"(?: (?:" + _compile_source(lex.NEGATION_FILLERS) + r"))*$"
)
_TRIVIAL_CAUSE = re.compile(r"(?:^| )" + _compile_source(lex.TRIVIAL_CAUSE) + r"$")
_PREFIX_WORDS = 8


def _lexicons_for(language: str) -> tuple[_Lexicon, ...]:
    primary = language.casefold().replace("_", "-").split("-", 1)[0]
    if primary == "es":
        return (_LEXICONS["es"], _LEXICONS["en"])
    return (_LEXICONS["en"],)


@lru_cache(maxsize=256)
def _extra_entries(phrases: tuple[str, ...]) -> tuple[_Entry, ...]:
    entries = []
    for phrase in phrases:
        norm = normalize(phrase)
        if not any(ch.isalnum() for ch in norm):
            continue
        regex = re.compile(" " + re.escape(norm) + r"(?![a-z0-9])")
        entries.append(
            _Entry(
                phrase.strip(),
                regex,
                frozenset((norm,)),
                negatable=True,
                soft=False,
                past=False,
                humour_exempt=True,
            )
        )
    return tuple(entries)


# ---------------------------------------------------------------- context rules
# Context is read within this many characters of a match, so a 100 KB post with thousands of
# negated or quoted phrases stays linear instead of re-reading the whole post for each one.
_WINDOW = 400


class _Message:
    """A normalized post, with the message-level context worked out at most once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._recovery: bool | None = None
        self._ordinary_leave: bool | None = None

    @property
    def tells_recovery(self) -> bool:
        if self._recovery is None:
            self._recovery = _RECOVERY.search(self.text) is not None
        return self._recovery

    @property
    def says_ordinary_leave(self) -> bool:
        if self._ordinary_leave is None:
            self._ordinary_leave = _ORDINARY_LEAVE.search(self.text) is not None
        return self._ordinary_leave

    def bounds(self, start: int, end: int, marks: str) -> tuple[int, int]:
        """The span around [start, end) up to the nearest of ``marks`` (or the window)."""
        text = self.text
        lo, hi = max(0, start - _WINDOW), min(len(text), end + _WINDOW)
        left = max(text.rfind(mark, lo, start) for mark in marks) + 1
        if left == 0 and lo > 0:
            left = text.find(" ", lo, start) if text.find(" ", lo, start) != -1 else start
        rights = [i for i in (text.find(mark, end, hi) for mark in marks) if i != -1]
        right = min(rights) if rights else hi
        if not rights and hi < len(text):
            right = text.rfind(" ", end, hi) if text.rfind(" ", end, hi) != -1 else end
        return left, right


def _counts(entry: _Entry, message: _Message, m: re.Match[str]) -> bool:
    text = message.text
    start, end = m.span()
    left, right = message.bounds(start, end, ".,")
    prefix = " ".join(text[left:start].split()[-_PREFIX_WORDS:])
    if entry.negatable and _NEGATED.search(prefix):
        return False
    sentence_left, sentence_right = message.bounds(start, end, ".")
    sentence = text[sentence_left:sentence_right]
    if _MEDIA.search(sentence) or _RECOVERY.search(sentence):
        return False
    if entry.past and message.tells_recovery:
        return False
    if entry.farewell and message.says_ordinary_leave:
        return False
    if not entry.humour_exempt:
        clause = text[left:right]
        if (entry.soft or _TRIVIAL_CAUSE.search(prefix)) and _HUMOUR.search(clause):
            return False
    return True


def _scan(entries: Sequence[_Entry], message: _Message, found: dict[str, int]) -> None:
    for entry in entries:
        for m in entry.regex.finditer(message.text):
            if _counts(entry, message, m):
                found.setdefault(entry.label, m.start())
                break


def assess(text: str, *, extra_phrases: Sequence[str] = (), language: str = "en") -> Assessment:
    """Say whether ``text`` expresses distress, and which phrases decided it."""
    norm = " " + normalize(text)
    if norm == " ":
        return NO_DISTRESS
    found: dict[str, int] = {}
    message = _Message(norm)
    for lexicon in _lexicons_for(language):
        _scan(lexicon.candidates(norm), message, found)
    if extra_phrases:
        _scan(_extra_entries(tuple(extra_phrases)), message, found)
    if not found:
        return NO_DISTRESS
    ordered = sorted(found, key=lambda label: (found[label], label))
    return Assessment(True, tuple(ordered))
