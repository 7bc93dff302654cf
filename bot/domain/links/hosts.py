"""Hosts and domains: punycode, registrable domains, per-host facts, allowlist matching."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import idna

from bot.domain.links.disguises import normalize
from bot.domain.links.tables import (
    CORE_TLDS,
    DEGREES,
    EXTRACT,
    FILE_EXTS,
    KNOWN_SHORT_HOSTS,
    OPEN_SLDS,
    PROSE_TLDS,
    STRONG_TLDS,
    TLDS,
    WORD_CCTLDS,
)

IPV4_RE = re.compile(
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}"
)
WWW_RE = re.compile(r"www\d{0,2}")
_NUMERIC_HOST_RE = re.compile(r"[0-9]{1,10}|0[xX][0-9a-fA-F]{1,8}")
_TECH_NET_RE = re.compile(r"[A-Z]{1,5}\.NET")
_DASH_DIGIT_RE = re.compile(r"[\d\-]")

# Host classes.
H_IP = 1  # dotted-quad IPv4
H_DOTLESS = 2  # localhost / numeric: a link with a web scheme
H_NAME = 3  # a name under a real top-level domain
H_OTHER = 4  # any other host: a link only after "scheme://"


@dataclass(frozen=True, slots=True)
class HostFacts:
    """What the detector needs to know about one host, computed once per host."""

    kind: int
    ascii_host: str
    domain: str
    www: bool = False
    guard_ok: bool = True  # not a missing space / abbreviation ("home.Today", "B.Com")
    title_only: bool = False  # guard failed only for a Titlecase TLD ("PayPal.Me")
    bare_ok: bool = False  # counts with no scheme, path or www


@functools.lru_cache(maxsize=65536)
def to_ascii(host: str) -> str | None:
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
def registrable(ascii_host: str) -> str | None:
    """Registrable domain of an ASCII host via the bundled public-suffix list (ICANN part)."""
    ext = EXTRACT(ascii_host)
    if not ext.suffix:
        return None
    if not ext.domain:
        # the host is itself a multi-label public suffix (nhs.uk, gov.uk): report it
        return ext.suffix if "." in ext.suffix else None
    if WWW_RE.fullmatch(ext.domain):
        # www.nhs.uk: "www" is only registrable under a public suffix that is itself the site
        return ext.suffix if "." in ext.suffix else f"{ext.domain}.{ext.suffix}"
    return f"{ext.domain}.{ext.suffix}"


@functools.lru_cache(maxsize=4096)
def _site(ascii_host: str) -> tuple[str | None, bool]:
    """(site, private): the registrable name counting private suffixes (x.github.io)."""
    ext = EXTRACT.extract_str(ascii_host, include_psl_private_domains=True)
    if not ext.is_private:
        return registrable(ascii_host), False
    if not ext.domain:
        return None, True  # the host is a shared-hosting suffix itself (github.io)
    return f"{ext.domain}.{ext.suffix}", True


def tld_ok(label: str) -> str | None:
    """Return the ASCII TLD if label is a real top-level domain (Unicode or punycode)."""
    low = label.lower() if label.isascii() else unicodedata.normalize("NFC", label).lower()
    if low in TLDS:
        return low if low.isascii() else to_ascii(low)
    return None


def _valid_labels(labels: list[str]) -> bool:
    return all(lbl and len(lbl) <= 63 and lbl[-1] != "-" for lbl in labels)


def _titlecase(word: str) -> bool:
    return len(word) >= 2 and word[0].isupper() and word[1:].islower()


@functools.lru_cache(maxsize=65536)
def host_info(host: str) -> HostFacts | None:
    """Cached per-host facts, or None when the text cannot be a host at all."""
    if host[-1].isdigit() and IPV4_RE.fullmatch(host):
        return HostFacts(H_IP, host, host)
    if len(host) > 253:
        return None
    labels = host.split(".")
    if not _valid_labels(labels):
        return None
    low = host.lower()
    if len(labels) == 1 and (low == "localhost" or _NUMERIC_HOST_RE.fullmatch(host)):
        return HostFacts(H_DOTLESS, low, low)
    ascii_host = to_ascii(host)
    if ascii_host is None:
        return None
    tld_raw = labels[-1]
    tld = tld_ok(tld_raw) if len(labels) > 1 else None
    if tld is None:
        return HostFacts(H_OTHER, ascii_host, ascii_host)
    # a TLD the list only carries under second levels (name.za): the last two labels
    domain = registrable(ascii_host) or ".".join(ascii_host.split(".")[-2:])
    www = len(labels) >= 3 and WWW_RE.fullmatch(labels[0].lower()) is not None
    reg_label = labels[-2]
    abbreviation = (
        (len(reg_label) == 1 and reg_label.isupper() and not tld_raw.islower())
        or _TECH_NET_RE.fullmatch(host) is not None
        or (len(labels) == 2 and not host.islower() and reg_label.lower() in DEGREES)
    )
    titled = _titlecase(tld_raw) and not (tld in CORE_TLDS and len(reg_label) >= 3)
    if tld in STRONG_TLDS:
        bare = tld not in FILE_EXTS
    elif len(tld) > 2 and tld not in FILE_EXTS and tld not in WORD_CCTLDS:
        # newer gTLDs (get-help-now.click, hope.charity); word TLDs need a hyphen or digit
        bare = tld not in PROSE_TLDS or _DASH_DIGIT_RE.search(reg_label) is not None
    else:
        bare = False
    return HostFacts(
        H_NAME,
        ascii_host,
        domain,
        www=www,
        guard_ok=not (abbreviation or titled),
        title_only=titled and not abbreviation and len(reg_label) >= 2,
        bare_ok=bare or ascii_host in KNOWN_SHORT_HOSTS,
    )


@functools.lru_cache(maxsize=1024)
def _is_shared_suffix(ascii_host: str) -> bool:
    ext = EXTRACT.extract_str(ascii_host, include_psl_private_domains=True)
    return ext.is_private and not ext.domain


def matches_domain(link_domain: str, allowed: str) -> bool:
    """True if link_domain (a host or domain) is allowed or under it, label by label.

    An allowed entry that is itself a shared-hosting suffix (``github.io``, ``blogspot.com``)
    matches only itself, never the sites under it.
    """
    ld = to_ascii(link_domain.strip())
    al = to_ascii(allowed.strip())
    if not ld or not al:
        return False
    if ld == al:
        return True
    return ld.endswith("." + al) and not _is_shared_suffix(al)


_ENTRY_RE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.\-]*:/{0,3})?(?:[^@/\\\s]*@)?([^/\\:?#\s]+)")


def allowlist_entry(text: str) -> str | None:
    """Exactly what allowing `text` stores: its site (lower-case punycode), or None.

    The site is the registrable domain (``www.cancer.gov/x`` -> ``cancer.gov``), or on shared
    hosting the one site (``mysite.blogspot.com``, ``x.github.io``, never the whole service).
    Refused: whitespace, IP addresses, unknown TLDs, open suffixes (``co.uk``, ``github.io``).
    """
    norm = normalize(text.strip()).text.strip()
    if not norm or any(ch.isspace() for ch in norm):
        return None
    m = _ENTRY_RE.match(norm)
    if m is None:
        return None
    host = m.group(1).removeprefix("*.").strip(".")
    if "." not in host or IPV4_RE.fullmatch(host):
        return None
    ascii_host = to_ascii(host)
    if ascii_host is None or len(ascii_host) > 253:
        return None
    labels = ascii_host.split(".")
    if any(not lbl or len(lbl) > 63 or lbl[0] == "-" or lbl[-1] == "-" for lbl in labels):
        return None
    if not all(c.isalnum() or c in "-." for c in ascii_host):
        return None
    site, private = _site(ascii_host)
    if site is not None and not private and site == ascii_host and labels[0] in OPEN_SLDS:
        return None  # "co.uk", "com.au": allowing it would allow every site under it
    return site


def is_valid_domain(text: str) -> str | None:
    """Validate a moderator-typed allowlist entry; return what to store (see allowlist_entry)."""
    return allowlist_entry(text)
