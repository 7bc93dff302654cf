"""Link detection for member messages: catches disguised links, spares ordinary writing.

Pure module (stdlib + tldextract/idna; no discord import). Public API:

* ``find_links(text) -> list[Link]`` - every link in a message, in order, never overlapping.
* ``normalize(text) -> Normalized`` - the de-obfuscation step, with a position map back
  to the text as written.
* ``matches_domain(link_domain, allowed) -> bool`` - allowlist matching.
* ``is_valid_domain(text) -> str | None`` - validate a moderator-typed allowlist entry.

What counts as a link
=====================
An address a reader would visit or a spammer wants visited. Detection runs in two steps.

1. ``normalize`` undoes the usual disguises, recording for every output character the
   span of the original text it came from (so ``Link.start/end`` index what was written):

   * invisible characters (zero-width space/joiner, soft hyphen, word joiner, BOM,
     bidi controls, variation selectors, ...) are removed;
   * fullwidth forms (``ｄｉｓｃｏｒｄ．ｇｇ``), mathematical bold/italic letters, circled
     letters and dot look-alikes (``。 ｡ ﹒ ․``) are folded to ASCII. Other scripts are
     NOT folded: a Cyrillic ``а`` keeps its identity and surfaces as punycode;
   * *strong* disguises, which nobody writes by accident, so a candidate holding one is
     a link whenever its host has a real public suffix: ``hxxp(s)``, ``[:]``, ``[://]``,
     ``[.] (.) {.} <.>`` and ``[dot] (dot)`` (spaces allowed inside), ``[at] (at)``,
     escaped ``\\.`` / ``\\/``, percent-encoded separators (``%3A%2F%2F``, ``%2E``;
     encoded letters are decoded too), spaced-out schemes (``h t t p s : / /``,
     ``https : //``) and spaces or a line break after ``http(s)://``;
   * *weak* joins, which prose can also produce, so the result must still pass the
     bare-domain rules below: spaced dots (``bit . ly``), the word ``dot``
     (``example dot com``); a dot with a space only before it (``bit .ly``) or a line
     break before it (``drx-herbal\\n.com``), which as bare domains must be all
     lower-case (``tbh .NET`` is prose); and a dot then a line break
     (``discord.\\ngg/x``), which needs a path, scheme or ``www.`` - and is not joined
     at all when the token before already holds a dot (``iherb.com.\\nmy mum``).

2. A linear-time scan finds anchors (a dot before a letter or digit, ``@``, ``://``),
   walks back to the start of the token and matches one candidate
   ``[scheme:][//][local@]host[:port][/path|?query|#frag]`` there (possessive
   quantifiers, bounded look-back, nothing re-scanned), plus partial invites
   ``.gg/code`` (reported as ``discord.gg``). A path stops before an embedded
   ``scheme://`` so redirect targets are reported too. Trailing punctuation and
   unbalanced closing brackets are not part of a link. A candidate is a link when:

   * its host is an IPv4 dotted quad and it has a scheme, port, path or local part
     (a bare ``192.168.1.1`` or ``1.2.3.4`` is a version/number), or an IPv6 literal
     with a scheme, or ``localhost``/a numeric host with a web scheme; otherwise
   * its last label is a real TLD in the bundled public-suffix snapshot (tldextract,
     ``suffix_list_urls=()``, never fetched) and one of these holds:

     - explicit scheme (any scheme, any case), ``www.`` prefix, an e-mail local part
       (``drx@gmail.com`` is a link to ``gmail.com``), or a strong mark;
     - otherwise the missing-space / abbreviation guard must pass first: a TLD written
       in Titlecase (``home.Today``, ``fine.Now``, ``B.Com``, ``M.Sc``) is a missing
       space after a full stop or a degree, unless it is com/org/net/gov/edu after a
       label of 3+ characters (``Amazon.Com``); a single upper-case letter before a
       non-lower-case TLD is an abbreviation (``B.COM``); ``ASP.NET``-style names are
       technology;
     - then a path (``/x``), query (``?a=``), fragment (``#x``) or port makes it a
       link (``bit.ly/x``, ``healing.now/join``);
     - a bare domain (just ``name.tld``) counts only when its TLD is "link-y":
       com/net/org/gov/edu/info/biz/io/xyz/... or a country code that is not also an
       everyday word (``.it .in .is .me .my .no .so .to .us .be .do .am .at ...`` are
       words here), and is not a common file extension (``readme.md``, ``script.py``,
       ``archive.zip``, ``video.mov``). A few well-known short hosts (``youtu.be``,
       ``t.me``, ``amzn.to``, ``discord.gift``...) count bare too. So ``mayoclinic.org``,
       ``cancer.gov`` and ``bit.ly`` are links; ``we went home.today`` is not;
     - weak ``dot``-word joins are refused after a determiner or preposition
       (``the dot com bubble``, ``in dot com days``) or before a prose noun
       (``dot com boom``).

   Never links: an ``@handle.name`` with nothing before the ``@`` (social handle),
   all-numeric dotted runs (``v2.0.1``, ``3.5mg``, ``98.6F``, ``1.5.2024``), unknown
   TLDs (``Node.js``, ``e.g.``, ``Ph.D.``, ``Dr.Smith``).

Domains and URLs
================
``Link.domain`` is the registrable domain (public suffix + one label, ICANN section of
the list) in lower-case ASCII, internationalised names IDNA-encoded (punycode). When
the host is itself a multi-label public suffix that is also a site (``nhs.uk``,
``gov.uk``), or is ``www.`` under one, that suffix is reported (``www.nhs.uk`` ->
``nhs.uk``; ``111.nhs.uk`` stays ``111.nhs.uk``, as the list says). IP hosts report the
address. ``Link.url`` is absolute: the scheme lower-cased (``http://`` when none was
written), the host lower-case punycode, port and path as written; e-mail addresses give
``mailto:local@host``; partial invites give ``https://discord.gg/code``.

``matches_domain`` is true for the allowed domain itself and its subdomains, compared
label by label in lower-case punycode (``evil-example.com`` and ``example.com.evil.net``
never match ``example.com``). ``is_valid_domain`` accepts a bare domain, a URL or an
e-mail address (``*.`` prefix allowed) and returns its registrable domain; it refuses
whitespace, IP addresses, unknown TLDs and open second-level suffixes such as ``co.uk``.

Known limits: an all-caps two-label degree over a country code (``MB.BS``) reads as a
domain; link text split in the middle of a label across lines is found from the break.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
import unicodedata
from dataclasses import dataclass

import idna
import tldextract

__all__ = [
    "Link",
    "Normalized",
    "find_links",
    "is_valid_domain",
    "matches_domain",
    "normalize",
]


@dataclass(frozen=True, slots=True)
class Link:
    """One link found in a message."""

    text: str
    url: str
    domain: str
    start: int
    end: int


STRONG = "strong"
WEAK_SPACE = "weak_space"
WEAK_WORD = "weak_word"
WEAK_NL = "weak_nl"
WEAK_EDGE = "weak_edge"


@dataclass(slots=True)
class Normalized:
    """Normalized text plus the map from each of its characters back to the original."""

    text: str
    original: str
    starts: tuple[int, ...] | None  # None: identity map
    ends: tuple[int, ...] | None
    marks: tuple[tuple[int, int, str], ...]  # (orig_start, orig_end, kind)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a non-empty normalized span [start, end) to the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


# --------------------------------------------------------------------------- tables

_EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False
)
_TLDS: frozenset[str] = frozenset(s for s in _EXTRACT.tlds if "." not in s)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Country codes that are also everyday English words (or common abbreviations here).
_WORD_CCTLDS = _words(
    "ad am as at be by do id im in is it la ma me mo ms my no pa pm ps re so st to us ye"
)
_LINKY_GTLDS = _words(
    """com net org gov edu mil int info biz io xyz top site online shop store club app dev
    tech pro mobi icu vip buzz cyou sbs cfd asia website"""
)
_STRONG_TLDS = frozenset(
    {t for t in _TLDS if len(t) == 2 and t.isascii() and t not in _WORD_CCTLDS} | _LINKY_GTLDS
)
_WEB_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp", "ws", "wss"})
_OPEN_SLDS = _words(
    "co com org net ltd plc me info biz nom or ne name web firm gen ind per blog store shop"
)
_CORE_TLDS = frozenset({"com", "org", "net", "gov", "edu"})
_FILE_EXTS = _words(
    """pdf png jpg jpeg gif webp heic bmp tif tiff svg doc docx xls xlsx ppt pptx odt ods txt
    rtf csv tsv json xml yaml yml toml ini cfg conf log md rst py js ts rb rs go java kt c h
    cpp cc cs sh bash zsh bat ps ps1 pl php html htm css zip rar tar gz tgz bz2 xz mp3 mp4
    m4a wav flac ogg mov avi mkv webm exe msi dmg apk iso bin dat db sql psd eps epub tf ml
    ipynb r swift lua dart"""
)
_KNOWN_SHORT_HOSTS = _words(
    """youtu.be t.me wa.me amzn.to gofund.me about.me bit.do discord.gift
    forms.gle goo.gl"""
)
_DOT_STOPWORDS = _words(
    """the a an this that these those my your our their his her its one no any some each
    every whole big small early late old new pre post of in on at by for from during like
    than then after before since until about around a whole red blue black white polka
    connect"""
)
_PROSE_NOUNS = _words(
    """bubble boom bust crash era days day years age company companies startup startups
    thing things mania millionaire millionaires world business businesses economy
    generation job jobs"""
)

# Invisible characters removed by normalize (format controls, joiners, selectors).
_INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001d173-\U0001d17a\U000e0000-\U000e007f]"
)


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
_SCHEME_GATE_RE = re.compile(
    r"h(?:xx|\*\*|[ \t]{1,3}+t)|[\[({]:|:[ \t]{1,3}+/|:/[ \t]|://\s|[ \t]:/", re.IGNORECASE
)
_BRACKET_RE = re.compile(r"[\[({<][ \t]{0,2}+(dot|at|\.|/)[ \t]{0,2}+[\])}>]", re.IGNORECASE)
_ESC_RE = re.compile(r"\\(?=[./:@_])")
_PCT_RE = re.compile(r"%(?:2[dDeEfF]|3[0-9aA]|4[0-9a-fA-F]|5[0-9aA]|6[1-9a-fA-F]|7[0-9aA])")
_WORD_DOT_RE = re.compile(r"[ \t]{1,3}+dot[ \t]{1,3}+", re.IGNORECASE)
_SPACED_DOT_RE = re.compile(r"[ \t]{1,3}+\.[ \t]{0,3}+")
_DOT_NL_RE = re.compile(r"\.[ \t]{0,3}+\n[ \t]{0,3}+")
_NL_DOT_RE = re.compile(r"\n[ \t]{0,3}+\.")
_TOKEN_BEFORE_RE = re.compile(r"[^\s]{0,80}+")  # run on the reversed text


def _is_label_char(ch: str) -> bool:
    return ch.isalnum()


def _label_before(t: str, i: int) -> bool:
    return i > 0 and t[i - 1].isalnum()


def _label_at(t: str, i: int) -> bool:
    return i < len(t) and t[i].isalnum()


Edit = tuple[int, int, str, str | None]


def _scheme_edits(t: str, edits: list[Edit]) -> None:
    for m in _SCHEME_DEFANG_RE.finditer(t):
        a, b = m.span()
        if _label_before(t, a):
            continue
        squeezed = "".join(m.group().split()).lower()
        canon = "https://" if squeezed[4:5] == "s" else "http://"
        if m.group().lower() != canon:
            edits.append((a, b, canon, STRONG))


def _bracket_edits(t: str, edits: list[Edit]) -> None:
    for m in _BRACKET_RE.finditer(t):
        a, b = m.span()
        word = m.group(1).lower()
        if word == "/":
            edits.append((a, b, "/", STRONG))
            continue
        # absorb up to two spaces each side; need a label character on both sides
        while a > 0 and b - a < 12 and t[a - 1] in " \t" and m.start() - a < 2:
            a -= 1
        while b < len(t) and t[b] in " \t" and b - m.end() < 2:
            b += 1
        if _label_before(t, a) and _label_at(t, b):
            edits.append((a, b, "@" if word == "at" else ".", STRONG))


def _context_edits(
    t: str, rx: re.Pattern[str], rep: str, kind: str | None, edits: list[Edit]
) -> None:
    for m in rx.finditer(t):
        a, b = m.span()
        if _label_before(t, a) and _label_at(t, b):
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


def _pct_edits(t: str, edits: list[Edit]) -> None:
    for m in _PCT_RE.finditer(t):
        ch = chr(int(m.group()[1:], 16))
        edits.append((m.start(), m.end(), ch, STRONG if ch in ".:/@" else None))


def _collect_edits(t: str) -> list[Edit]:
    edits: list[Edit] = []
    low = t.lower()
    if "%" in t:
        _pct_edits(t, edits)
    if "\\" in t:
        for m in _ESC_RE.finditer(t):
            nxt = t[m.end()]
            edits.append((m.start(), m.end(), "", STRONG if nxt in "./:" else None))
    if ("hxx" in low or "h**" in low or "h t" in low or ":" in t) and _SCHEME_GATE_RE.search(
        t
    ) is not None:
        _scheme_edits(t, edits)
    if ("[" in t or "(" in t or "{" in t or "<" in t) and _BRACKET_RE.search(t) is not None:
        _bracket_edits(t, edits)
    if "dot" in low:
        _context_edits(t, _WORD_DOT_RE, ".", WEAK_WORD, edits)
    if " ." in t or "\t." in t:
        _spaced_dot_edits(t, edits)
    if "\n" in t:
        _newline_edits(t, edits)
    if len(edits) > 1:
        edits.sort(key=lambda e: (e[0], -e[1]))
        kept: list[Edit] = []
        last = -1
        for e in edits:
            if e[0] >= last:
                kept.append(e)
                last = e[1]
        edits = kept
    return edits


class _Builder:
    """Accumulates one rewrite pass: output pieces plus the composed position map."""

    __slots__ = ("src", "st", "en", "out", "new_st", "new_en", "pos", "marks")

    def __init__(self, src: str, st: list[int] | None, en: list[int] | None) -> None:
        self.src = src
        self.st = st if st is not None else list(range(len(src)))
        self.en = en if en is not None else list(range(1, len(src) + 1))
        self.out: list[str] = []
        self.new_st: list[int] = []
        self.new_en: list[int] = []
        self.pos = 0
        self.marks: list[tuple[int, int, str]] = []

    def replace(self, a: int, b: int, rep: str, kind: str | None) -> None:
        self.out.append(self.src[self.pos : a])
        self.new_st.extend(self.st[self.pos : a])
        self.new_en.extend(self.en[self.pos : a])
        o_s = self.st[a]
        o_e = self.en[b - 1]
        if rep:
            self.out.append(rep)
            self.new_st.extend([o_s] * len(rep))
            self.new_en.extend([o_e] * len(rep))
        if kind is not None:
            self.marks.append((o_s, o_e, kind))
        self.pos = b

    def finish(self) -> tuple[str, list[int], list[int]]:
        self.out.append(self.src[self.pos :])
        self.new_st.extend(self.st[self.pos :])
        self.new_en.extend(self.en[self.pos :])
        return "".join(self.out), self.new_st, self.new_en


def normalize(text: str) -> Normalized:
    """Undo link disguises; keep a map from normalized positions to the original text."""
    cur = text
    st: list[int] | None = None
    en: list[int] | None = None
    marks: list[tuple[int, int, str]] = []
    if not text.isascii():
        if _INVISIBLE_RE.search(cur) is not None:
            b = _Builder(cur, st, en)
            for m in _INVISIBLE_RE.finditer(cur):
                b.replace(m.start(), m.end(), "", None)
            cur, st, en = b.finish()
        if _FOLD_RE.search(cur) is not None:
            cur = cur.translate(_FOLD_TABLE)  # 1:1, positions unchanged
    edits = _collect_edits(cur)
    if edits:
        b = _Builder(cur, st, en)
        for a, e, rep, kind in edits:
            b.replace(a, e, rep, kind)
        cur, st, en = b.finish()
        marks = b.marks
    return Normalized(
        text=cur,
        original=text,
        starts=tuple(st) if st is not None else None,
        ends=tuple(en) if en is not None else None,
        marks=tuple(marks),
    )


# --------------------------------------------------------------------------- domains


@functools.lru_cache(maxsize=65536)
def _to_ascii(host: str) -> str | None:
    """Lower-case ASCII (punycode) form of a host, or None if it cannot be encoded."""
    host = host.strip(".").lower()
    if not host:
        return None
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            return None


@functools.lru_cache(maxsize=65536)
def _registrable(ascii_host: str) -> str | None:
    """Registrable domain of an ASCII host via the bundled public-suffix list."""
    ext = _EXTRACT(ascii_host)
    if not ext.suffix:
        return None
    if not ext.domain:
        # the host is itself a multi-label public suffix (nhs.uk, gov.uk): report it
        return ext.suffix if "." in ext.suffix else None
    if _WWW_RE.fullmatch(ext.domain):
        # www.nhs.uk: "www" is only registrable under a public suffix that is itself the site
        return ext.suffix if "." in ext.suffix else f"{ext.domain}.{ext.suffix}"
    return f"{ext.domain}.{ext.suffix}"


def _tld_ok(label: str) -> str | None:
    """Return the ASCII TLD if label is a real top-level domain."""
    if label.isascii():
        low = label.lower()
        return low if low in _TLDS else None
    enc = _to_ascii(label)
    return enc if enc is not None and enc in _TLDS else None


def matches_domain(link_domain: str, allowed: str) -> bool:
    """True if link_domain is allowed or a subdomain of it (label-boundary, punycode-aware)."""
    ld = _to_ascii(link_domain.strip())
    al = _to_ascii(allowed.strip())
    if not ld or not al:
        return False
    return ld == al or ld.endswith("." + al)


_ENTRY_RE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.\-]*:/{0,3})?(?:[^@/\s]*@)?([^/:?#\s]+)")


def is_valid_domain(text: str) -> str | None:
    """Registrable domain (lower-case punycode) for an allowlist entry, or None."""
    norm = normalize(text.strip()).text.strip()
    if not norm or any(ch.isspace() for ch in norm):
        return None
    m = _ENTRY_RE.match(norm)
    if m is None:
        return None
    host = m.group(1).removeprefix("*.").strip(".")
    if "." not in host or _IPV4_RE.fullmatch(host):
        return None
    ascii_host = _to_ascii(host)
    if ascii_host is None or len(ascii_host) > 253:
        return None
    labels = ascii_host.split(".")
    if any(not lbl or len(lbl) > 63 or lbl[0] == "-" or lbl[-1] == "-" for lbl in labels):
        return None
    if not all(c.isalnum() or c in "-." for c in ascii_host):
        return None
    domain = _registrable(ascii_host)
    if domain is not None and domain == ascii_host and labels[0] in _OPEN_SLDS:
        return None  # "co.uk", "com.au": allowing it would allow every site under it
    return domain


# --------------------------------------------------------------------------- detection

# Candidate: [scheme:][//][local@]host[:port][/path]. Possessive quantifiers and bounded
# local/scheme parts keep every attempt linear; attempts start only at anchors.
_LBL = r"[^\W_](?:[^\W_]|-)*+"
_CANDIDATE_RE = re.compile(
    r"(?<![^\W_])(?<!@)"
    r"(?P<scheme>mailto:|[a-zA-Z][a-zA-Z0-9+.\-]{1,15}+:/{1,3}+)?"
    r"(?:(?P<local>[\w.+%'!#$&*=?^`{|}~\-]{1,64}+)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]{2,45}+\]|"
    + _LBL
    + r"(?(scheme)(?:\."
    + _LBL
    + r")*+|(?:\."
    + _LBL
    + r")++))"
    r"(?P<port>:[0-9]{1,5}+(?![\w.]))?"
    r"(?P<path>[/?#](?:[\w\-.~/?#@!$&'()*+,;=%]|:(?!//))*+)?"
)
# Anchors: a dot before a label character, an '@', or '://'. Ordinary prose has few.
_ANCHOR_RE = re.compile(r"\.(?=[^\W_])|@|://")
# Run on the reversed text to find where the token holding an anchor starts.
_BACK_WIDE_RE = re.compile(r"[\w.+%'!#$&*=?^`{|}~\-:]{0,100}+")
_BACK_LABEL_RE = re.compile(r"(?:[^\W_]|-){0,100}+")
_INVITE_CODE_RE = re.compile(r"[A-Za-z0-9\-]{1,32}+")
_TRAILING_SCHEME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]{0,15}\Z")
_TRAIL_PUNCT = frozenset(".,;:!?'*_~-")
_IPV4_RE = re.compile(
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
)
_QUERY_RE = re.compile(r"\?[\w\-.~%]+=")
_FRAG_RE = re.compile(r"#[^\W_]")
_WORD_BEFORE_RE = re.compile(r"\W{0,3}+([^\W_]{1,40}+)")  # run on reversed text
_WORD_AFTER_RE = re.compile(r"[ \t]+([^\W_]+)")
_WWW_RE = re.compile(r"www\d{0,2}")
_NUMERIC_HOST_RE = re.compile(r"[0-9]{1,10}|0[xX][0-9a-fA-F]{1,8}")
_TECH_NET_RE = re.compile(r"[A-Z]{1,5}\.NET")


def _titlecase(word: str) -> bool:
    return len(word) >= 2 and word[0].isupper() and word[1:].islower()


def _strip_trailing(s: str) -> str:
    """Drop trailing punctuation and unbalanced closing parentheses from a path."""
    opens = s.count("(")
    closes = s.count(")")
    end = len(s)
    while end:
        c = s[end - 1]
        if c in _TRAIL_PUNCT:
            end -= 1
        elif c == ")" and closes > opens:
            closes -= 1
            end -= 1
        else:
            break
    return s[:end]


def _marks_in(norm: Normalized, a: int, b: int) -> frozenset[str]:
    """Kinds of the normalize marks overlapping the original span [a, b)."""
    marks = norm.marks
    lo = bisect.bisect_left(marks, (a - _MAX_MARK,))
    found: set[str] = set()
    for i in range(lo, len(marks)):
        s, e, k = marks[i]
        if s >= b:
            break
        if e > a:
            found.add(k)
    return frozenset(found)


_MAX_MARK = 64  # no normalize edit spans more original characters than this


def _dot_word_rejected(norm: Normalized, a: int, b: int) -> bool:
    """A `dot`-word join in prose: `the dot com bubble`, `in dot com days`."""
    orig = norm.original
    marks = norm.marks
    lo = bisect.bisect_left(marks, (a,))
    for i in range(lo, len(marks)):
        s, _e, k = marks[i]
        if s >= b:
            break
        if k == WEAK_WORD:
            before = _WORD_BEFORE_RE.match(orig[max(0, s - 44) : s][::-1])
            if before is None or before.group(1)[::-1].lower() in _DOT_STOPWORDS:
                return True
    after = _WORD_AFTER_RE.match(orig, b)
    return after is not None and after.group(1).lower() in _PROSE_NOUNS


# Host classes returned by _host_info.
_H_IP = 1  # dotted-quad IPv4: needs scheme, port/path or a local part
_H_DOTLESS = 2  # localhost / numeric: needs a web scheme
_H_NAME = 3  # a name under a real public suffix


@functools.lru_cache(maxsize=65536)
def _host_info(host: str) -> tuple[int, str, str, bool, bool, bool] | None:
    """Cached per-host facts: (class, ascii host, domain, www, guard_ok, bare_ok)."""
    if host[-1].isdigit() and _IPV4_RE.fullmatch(host):
        return _H_IP, host, host, False, True, False
    if len(host) > 253:
        return None
    labels = host.split(".")
    if host[-1] == "-" or "-." in host or max(map(len, labels)) > 63:
        return None
    if len(labels) == 1:
        if host.lower() != "localhost" and not _NUMERIC_HOST_RE.fullmatch(host):
            return None
        return _H_DOTLESS, host.lower(), host.lower(), False, True, False
    tld_raw = labels[-1]
    tld = _tld_ok(tld_raw)
    if tld is None:
        return None
    ascii_host = _to_ascii(host)
    if ascii_host is None:
        return None
    domain = _registrable(ascii_host)
    if domain is None:
        return None
    www = len(labels) >= 3 and _WWW_RE.fullmatch(labels[0].lower()) is not None
    # Missing-space and abbreviation guard (home.Today, B.Com, M.SC, ASP.NET).
    reg_label = labels[-2]
    guard_ok = not (
        (_titlecase(tld_raw) and not (tld in _CORE_TLDS and len(reg_label) >= 3))
        or (len(reg_label) == 1 and reg_label.isupper() and not tld_raw.islower())
        or _TECH_NET_RE.fullmatch(host) is not None
    )
    bare_ok = ascii_host in _KNOWN_SHORT_HOSTS or (tld in _STRONG_TLDS and tld not in _FILE_EXTS)
    return _H_NAME, ascii_host, domain, www, guard_ok, bare_ok


def _evaluate(
    norm: Normalized,
    groups: tuple[str | None, str | None, str, str | None],
    path: str,
    a: int,
    b: int,
) -> tuple[str, str] | None:
    """Decide whether a candidate is a link; return (domain, url) or None."""
    scheme, local, host, port_g = groups
    port = port_g or ""
    if local is not None and (local[0] == "." or local[-1] == "."):
        return None
    low_scheme = scheme.lower() if scheme is not None else None
    if low_scheme == "mailto:" and local is None:
        return None
    if host[0] == "[":
        if low_scheme is None:
            return None
        try:
            ip6 = ipaddress.ip_address(host[1:-1])
        except ValueError:
            return None
        return str(ip6), f"{low_scheme}{host}{port}{path}"
    info = _host_info(host)
    if info is None:
        return None
    hclass, ascii_host, domain, www, guard_ok, bare_ok = info
    if path:
        has_path = path[0] == "/" or bool(_QUERY_RE.match(path) or _FRAG_RE.match(path))
    else:
        has_path = False
    has_path = has_path or bool(port)
    if hclass == _H_IP:
        if low_scheme is None and not has_path and local is None:
            return None
        return domain, f"{low_scheme or 'http://'}{host}{port}{path}"
    if hclass == _H_DOTLESS:
        if low_scheme is None or low_scheme.split(":", 1)[0] not in _WEB_SCHEMES:
            return None
        return domain, f"{low_scheme}{ascii_host}{port}{path}"
    if local is not None:
        return domain, f"mailto:{local}@{ascii_host}"
    url = f"{low_scheme or 'http://'}{ascii_host}{port}{path}"
    marks = _marks_in(norm, a, b) if norm.marks else _NO_MARKS
    if low_scheme is not None or www or STRONG in marks:
        return domain, url
    if not guard_ok:
        return None
    if has_path:
        return domain, url
    if not bare_ok or WEAK_NL in marks:
        return None
    if WEAK_EDGE in marks and not host.islower():
        return None
    if WEAK_WORD in marks and _dot_word_rejected(norm, a, b):
        return None
    return domain, url


_NO_MARKS: frozenset[str] = frozenset()


def _match_at_anchor(text: str, rev: str, i: int) -> re.Match[str] | None:
    """The candidate whose token holds the anchor at i (widest start first)."""
    n = len(text)
    back = _BACK_WIDE_RE.match(rev, n - i)
    start = i - (back.end() - back.start()) if back is not None else i
    m = _CANDIDATE_RE.match(text, start)
    if m is not None and m.end() > i:
        return m
    back = _BACK_LABEL_RE.match(rev, n - i)
    start2 = i - (back.end() - back.start()) if back is not None else i
    if start2 == start or (start2 >= 2 and text[start2 - 1] == "." and text[start2 - 2].isalnum()):
        return None  # same attempt, or the middle of a host that was already refused
    m = _CANDIDATE_RE.match(text, start2)
    return m if m is not None and m.end() > i else None


def _scan(norm: Normalized, out: list[Link]) -> None:
    text = norm.text
    orig = norm.original
    st = norm.starts
    en = norm.ends
    rev = ""
    pos = 0
    for am in _ANCHOR_RE.finditer(text):
        i = am.start()
        if i < pos:
            continue
        if text.startswith(".gg/", i) and (
            i == 0 or text[i - 1] not in "@." and not text[i - 1].isalnum()
        ):
            cm = _INVITE_CODE_RE.match(text, i + 4)
            if cm is not None:
                o_s, o_e = norm.to_original(i, cm.end())
                out.append(
                    Link(orig[o_s:o_e], f"https://discord.gg/{cm.group()}", "discord.gg", o_s, o_e)
                )
                pos = cm.end()
            continue
        if not rev:
            rev = text[::-1]
        m = _match_at_anchor(text, rev, i)
        if m is None or m.start() < pos:
            continue  # nothing here, or it would overlap the previous link
        a = m.start()
        end = m.end()
        path = m.group("path") or ""
        if path:
            if text.startswith("://", end):
                tail = _TRAILING_SCHEME_RE.search(path, max(0, len(path) - 17))
                if tail is not None:
                    end -= len(path) - tail.start()
                    path = path[: tail.start()]
            stripped = _strip_trailing(path)
            end -= len(path) - len(stripped)
            path = stripped
        if st is None or en is None:
            o_s, o_e = a, end
        else:
            o_s, o_e = st[a], en[end - 1]
        scheme, local, host, port = m.group("scheme", "local", "host", "port")
        result = _evaluate(norm, (scheme, local, host, port), path, o_s, o_e)
        if result is not None:
            out.append(Link(orig[o_s:o_e], result[1], result[0], o_s, o_e))
        pos = end if end > i else i + 1


def find_links(text: str) -> list[Link]:
    """Find every link in a message (see the module docstring for the rules)."""
    if not text:
        return []
    norm = normalize(text)
    out: list[Link] = []
    _scan(norm, out)
    return out
