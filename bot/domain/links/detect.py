"""Link detection proper: anchors, candidates, and the rules that make a candidate a link."""

from __future__ import annotations

import bisect
import ipaddress
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from bot.domain.links.disguises import (
    BMP_MARKS,
    MARK,
    STRONG,
    WEAK_EDGE,
    WEAK_NL,
    WEAK_PATH,
    WEAK_WORD,
    Normalized,
    normalize,
)
from bot.domain.links.hosts import H_DOTLESS, H_IP, H_OTHER, host_info
from bot.domain.links.tables import (
    APP_SCHEMES,
    DOSE_UNITS,
    DOT_STOPWORDS,
    NUMBERING_WORDS,
    PROSE_NOUNS,
    SENTENCE_WORDS,
    WEB_SCHEMES,
)


@dataclass(frozen=True, slots=True)
class Link:
    """One link found in a message (``host``: the host a browser would open, punycode)."""

    text: str
    url: str
    domain: str
    start: int
    end: int
    host: str = ""



# Candidate: [scheme:][//][userinfo@|local@]host[:port][/path]. Possessive quantifiers and
# bounded parts keep every attempt linear; attempts start only at anchors.
def _candidate_re(marks: bool) -> re.Pattern[str]:
    """The candidate regex; with `marks`, combining marks are label characters too."""
    lbl = r"[^\W_](?:[^\W_]|-" + (f"|{MARK}" if marks else "") + r")*+"
    path_marks = BMP_MARKS if marks else ""
    return re.compile(
        r"(?<![^\W_])(?<!@)"
        r"(?:(?P<mailto>mailto:)|(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]{1,15}+:/{1,3}+))?"
        # after scheme://, everything up to the last '@' of the authority is userinfo (WHATWG)
        r"(?(scheme)(?P<userinfo>(?:[^\s/?#@\\]{0,128}+@)++)?|"
        r"(?:(?P<local>[\w.+%'!#$&*=?^`{|}~\-]{1,64}+)@)?)"
        r"(?P<host>\[[0-9A-Fa-f:.]{2,45}+\]|"
        + lbl
        + r"(?(scheme)(?:\."
        + lbl
        + r")*+|(?:\."
        + lbl
        + r")++))"
        r"(?P<port>:[0-9]{1,5}+(?![\w.]))?"
        r"(?P<path>[/?#](?:[\w\-.~/?#@!$&'()*+,;=%" + path_marks + r"]|:(?!//))*+)?"
    )


# Candidate: [scheme:][//][userinfo@|local@]host[:port][/path]. Possessive quantifiers and
# bounded parts keep every attempt linear; attempts start only at anchors. ASCII text (most
# messages) uses the same regex without the combining-mark class, which is much faster.
_CANDIDATE_RE = _candidate_re(marks=True)
_CANDIDATE_ASCII_RE = _candidate_re(marks=False)
# Anchors: a dot before a label character, an '@', or '://'. Ordinary prose has few.
_ANCHOR_RE = re.compile(r"\.(?=[^\W_])|@|://")
# Run on the reversed text to find where the token holding an anchor starts.
_BACK_WIDE_RE = re.compile(r"(?:[\w.+%'!#$&*=?^`{|}~\-:" + BMP_MARKS + r"]){0,100}+")
_BACK_LABEL_RE = re.compile(r"(?:[^\W_]|-|" + MARK + r"){0,100}+")
_BACK_WIDE_ASCII_RE = re.compile(r"[\w.+%'!#$&*=?^`{|}~\-:]{0,100}+")
_BACK_LABEL_ASCII_RE = re.compile(r"[a-zA-Z0-9\-]{0,100}+")
_INVITE_CODE_RE = re.compile(r"[A-Za-z0-9\-]{1,32}+")
_TRAILING_SCHEME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]{0,15}\Z")
_TRAIL_PUNCT = frozenset(".,;:!?'*_~-")
_QUERY_RE = re.compile(r"\?[\w\-.~%]+=")
_FRAG_RE = re.compile(r"#[^\W_]")
_WORD_BEFORE_RE = re.compile(r"\W{0,3}+([^\W_]{1,40}+)")  # run on reversed text
_WORD_AFTER_RE = re.compile(r"[ \t]+([^\W_]+)")
_MAX_MARK = 64  # no normalize edit spans more original characters than this
_NO_MARKS: frozenset[str] = frozenset()


def _strip_trailing(s: str) -> str:
    """Drop trailing punctuation and unbalanced closing parentheses from a path."""
    if s[-1] not in _TRAIL_PUNCT and s[-1] != ")":
        return s
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


def _word_before(orig: str, i: int) -> str | None:
    before = _WORD_BEFORE_RE.match(orig[max(0, i - 44) : i][::-1])
    return None if before is None else before.group(1)[::-1].lower()


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
            before = _word_before(orig, s)
            if before is None or before in DOT_STOPWORDS:
                return True
    after = _WORD_AFTER_RE.match(orig, b)
    return after is not None and after.group(1).lower() in PROSE_NOUNS


def _bare_ip_ok(norm: Normalized, host: str, a: int, b: int) -> bool:
    """A dotted quad with nothing around it: an address, unless it reads as a number.

    Home-network addresses count ("router at 192.168.1.1": a new member posting one is
    posting a link). A section or version number reads the same, so a quad is not a link
    after a numbering word ("version 4.1.0.2", "step 3.2.1.1") or before a unit ("2.2.2.2
    mg"), nor when it starts with 0 ("0.1.2.3": no address anyone opens). Single digits
    throughout ("1.2.3.4") read as numbering unless all four are the same digit, as public
    resolvers are written ("8.8.8.8", "1.1.1.1").
    """
    if host[0] == "0":  # a valid octet starting with 0 is 0 itself
        return False
    if len(host) == 7 and not host[0] == host[2] == host[4] == host[6]:
        return False  # seven characters: four single digits, not all the same
    if _word_before(norm.original, a) in NUMBERING_WORDS:
        return False
    after = _WORD_AFTER_RE.match(norm.original, b)
    return after is None or after.group(1).lower() not in DOSE_UNITS


def _evaluate(
    norm: Normalized,
    groups: tuple[str | None, str | None, str | None, str, str | None],
    path: str,
    a: int,
    b: int,
    wraps: bool = False,
) -> tuple[str, str, str] | None:
    """Decide whether a candidate is a link; return (domain, url, host) or None.

    ``wraps``: the path stopped before an embedded ``scheme://`` (a redirect wrapper).
    """
    # userinfo ("https://allowed.org@evil.com") is never the host: it is dropped here
    scheme, _userinfo, local, host, port_g = groups
    port = port_g or ""
    if not path.isascii():
        path = unicodedata.normalize("NFC", path)
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
        return str(ip6), f"{low_scheme}{host}{port}{path}", str(ip6)
    info = host_info(host)
    if info is None:
        return None
    ascii_host = info.ascii_host
    if path:
        has_path = path[0] == "/" or bool(_QUERY_RE.match(path) or _FRAG_RE.match(path))
    else:
        has_path = False
    has_path = has_path or bool(port)
    if info.kind == H_IP:
        bare = low_scheme is None and not has_path and local is None
        if bare and not _bare_ip_ok(norm, host, a, b):
            return None
        return info.domain, f"{low_scheme or 'http://'}{host}{port}{path}", host
    if info.kind in (H_DOTLESS, H_OTHER):
        # any host after a web scheme: the client makes "https://x.local/" clickable; an
        # app scheme opens the app there ("tg://resolve?domain=x", "steam://openurl/...")
        if low_scheme is None:
            return None
        bare_scheme = low_scheme.split(":", 1)[0]
        if bare_scheme not in WEB_SCHEMES and (bare_scheme not in APP_SCHEMES or wraps):
            return None  # "steam://openurl/https://x.com": the wrapped URL is the link
        return info.domain, f"{low_scheme}{ascii_host}{port}{path}", ascii_host
    if local is not None:
        return info.domain, f"mailto:{local}@{ascii_host}", ascii_host
    url = f"{low_scheme or 'http://'}{ascii_host}{port}{path}"
    found = info.domain, url, ascii_host
    marks = _marks_in(norm, a, b) if norm.marks else _NO_MARKS
    if low_scheme is not None or info.www or STRONG in marks:
        return found
    slash_path = len(path) > 1 and path[0] == "/"
    if not info.guard_ok and not (info.title_only and slash_path):
        return None  # "home.Today", "B.Com"; but "PayPal.Me/x" is a brand with a path
    if WEAK_PATH in marks:  # "t. me/x", "discord,gg/x": a path and a real host name
        first = host.split(".", 1)[0].lower()
        return found if slash_path and info.bare_ok and first not in SENTENCE_WORDS else None
    if has_path:
        return found
    if not info.bare_ok or WEAK_NL in marks:
        return None
    if WEAK_EDGE in marks and not host.islower():
        return None
    if WEAK_WORD in marks and _dot_word_rejected(norm, a, b):
        return None
    return found


def _scan(norm: Normalized, out: list[Link]) -> None:
    text = norm.text
    orig = norm.original
    pmap = norm.pos  # None: the text was not rewritten, positions are the original's
    n = len(text)
    rev = ""
    cand = back_wide = back_label = _CANDIDATE_ASCII_RE.match  # chosen at the first anchor
    # Anchors in order; after a long candidate the search restarts past it instead of
    # stepping over every anchor inside it ("a." * 50k is one candidate).
    finditer = _ANCHOR_RE.finditer
    anchors: Iterator[re.Match[str]] | None = finditer(text)
    pos = 0
    while anchors is not None:
        restart = -1
        for am in anchors:
            i = am.start()
            if i < pos:
                if pos - i > 32:
                    restart = pos
                    break
                continue
            c = text[i]
            if c == "@":
                if text.find(".", i, i + 260) == -1:
                    continue  # no host with a dot follows: "a@b" is no address ("a@" * 50k is fast)
            elif c == "." and text.startswith(".gg/", i) and (
                i == 0 or text[i - 1] not in "@." and not text[i - 1].isalnum()
            ):
                cm = _INVITE_CODE_RE.match(text, i + 4)
                if cm is not None:
                    o_s, o_e = norm.to_original(i, cm.end())
                    url = f"https://discord.gg/{cm.group()}"
                    out.append(Link(orig[o_s:o_e], url, "discord.gg", o_s, o_e, "discord.gg"))
                    pos = cm.end()
                continue
            if not rev:
                rev = text[::-1]
                # ASCII text (most messages): the regexes without the combining-mark classes
                if text.isascii():
                    cand = _CANDIDATE_ASCII_RE.match
                    back_wide = _BACK_WIDE_ASCII_RE.match
                    back_label = _BACK_LABEL_ASCII_RE.match
                else:
                    cand = _CANDIDATE_RE.match
                    back_wide = _BACK_WIDE_RE.match
                    back_label = _BACK_LABEL_RE.match
            # the candidate whose token holds the anchor at i (widest start first)
            back = back_wide(rev, n - i)
            start = i - (back.end() - back.start()) if back is not None else i
            m = cand(text, start)
            if m is None or m.end() <= i:
                back = back_label(rev, n - i)
                start2 = i - (back.end() - back.start()) if back is not None else i
                if start2 == start or (
                    start2 >= 2 and text[start2 - 1] == "." and text[start2 - 2].isalnum()
                ):
                    m = None  # same attempt, or the middle of a host that was already refused
                else:
                    m = cand(text, start2)
                    if m is not None and m.end() <= i:
                        m = None
            if m is None or m.start() < pos:
                continue  # nothing here, or it would overlap the previous link
            a = m.start()
            end = m.end()
            mailto, scheme, userinfo, local, host, port, path = m.groups("")
            wraps = False
            if path:
                if text.startswith("://", end):
                    tail = _TRAILING_SCHEME_RE.search(path, max(0, len(path) - 17))
                    if tail is not None:
                        end -= len(path) - tail.start()
                        path = path[: tail.start()]
                        wraps = True
                stripped = _strip_trailing(path)
                end -= len(path) - len(stripped)
                path = stripped
            pos = end if end > i else i + 1
            if not (scheme or mailto):
                # without a scheme only a name on a real TLD or an IPv4 address can count
                # (what _evaluate decides first; "x.y" * 25k is refused here cheaply)
                info = host_info(host) if host[0] != "[" else None
                if info is None or info.kind == H_DOTLESS or info.kind == H_OTHER:
                    continue
            if pmap is None:
                o_s, o_e = a, end
            else:
                o_s, o_e = pmap.start(a), pmap.end(end - 1)
            groups = (scheme or mailto or None, userinfo or None, local or None, host, port or None)
            result = _evaluate(norm, groups, path, o_s, o_e, wraps)
            if result is not None:
                out.append(Link(orig[o_s:o_e], result[1], result[0], o_s, o_e, result[2]))
        anchors = finditer(text, restart) if restart >= 0 else None


def find_links(text: str) -> list[Link]:
    """Find every link in a message (see the package docstring for the rules)."""
    if not text:
        return []
    norm = normalize(text)
    out: list[Link] = []
    _scan(norm, out)
    return out
