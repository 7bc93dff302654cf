"""Link detection for member messages: catches disguised links, spares ordinary writing.

Pure package (stdlib + tldextract/idna; no discord import): ``tables`` (suffix and word
tables), ``disguises`` (``normalize``: undoing disguises), ``hosts`` (domains, allowlists),
``detect`` (candidates and rules). Public API:

* ``find_links(text) -> list[Link]`` - every link in a message, in order, never overlapping.
* ``normalize(text) -> Normalized`` - the de-obfuscation step, with a position map back
  to the text as written.
* ``matches_domain(link_domain, allowed) -> bool`` - allowlist matching.
* ``is_valid_domain(text) -> str | None`` - validate a moderator-typed allowlist entry.
* ``allowlist_entry(text) -> str | None`` - exactly what allowing ``text`` stores.

What counts as a link
=====================
An address a reader would visit or a spammer wants visited. Detection runs in two steps.

1. ``normalize`` undoes the usual disguises, recording for every output character the
   span of the original text it came from (so ``Link.start/end`` index what was written):

   * the text is composed to NFC (``cafe\u0301`` is ``café``); combining marks that do
     not compose stay part of the label they follow;
   * inside an http(s)/ws/ftp/file URL a backslash is a slash, as a browser reads it
     (``https://evil.com\\@ok.org`` and ``https://evil.com\\.ok.org`` open evil.com);

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
     ``https : //``), spaces or a line break after ``http(s)://``, ``d0t`` between
     labels, ``dot`` spelled with spaces inside (``freemeds d o t com``, ``d 0 t``), and
     ``dot`` glued between a name and a short-link TLD before a path
     (``isdotgd/abc``, ``shortlinkdotcom/x``);
   * *weak* joins, which prose can also produce, so the result must still pass the
     bare-domain rules below: spaced dots (``bit . ly``), the word ``dot``
     (``example dot com``, Spanish ``punto``); letters spaced out around a dot
     (``f r e e - m e d s . i n f o``); a space after the dot or a comma for it when a
     path follows (``t. me/abcd``, ``discord,gg/abc``: the host must count bare and its
     first label must not be a sentence word, so ``it. net/net`` is prose); a dot with a
     space only before it (``bit .ly``) or a line
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

   * it has a web scheme (``http(s)://``, ``ftp://``, ``ws://``...): then it is a link
     whatever its host (``https://clinic.example``, ``http://intranet.local``,
     ``http://nas:8080``); the host is what a WHATWG parser takes (userinfo before the last
     ``@`` is not the host). So is an app scheme that opens a place the sender chose
     (``tg://resolve?domain=x``, ``steam://openurl/x``, ``discord://...``), except when it
     only wraps another URL (``steam://openurl/https://x.com`` reports ``x.com``); or
   * its host is an IPv4 dotted quad (octets 0-255, no leading zeros): a link, home
     networks too (``192.168.1.1``), unless it is bare and reads as a number: after
     ``version``/``section``/``step``..., before a unit (``2.2.2.2 mg``), starting with 0,
     or every part one digit and not all the same (``1.2.3.4``; ``8.8.8.8`` and
     ``1.1.1.1`` are the public resolvers); an IPv6 literal with a scheme, or
     ``localhost``/a numeric host with a web scheme; or
   * its last label is a real TLD: the last label of any ICANN rule of the bundled
     public-suffix snapshot (tldextract, ``suffix_list_urls=()``, never fetched; so ``za``
     from ``org.za``), in Unicode or punycode (``.рф``, ``xn--p1ai``), and one of these holds:

     - explicit scheme (any scheme, any case), ``www.`` prefix, an e-mail local part
       (``drx@gmail.com`` is a link to ``gmail.com``), or a strong mark;
     - otherwise the missing-space / abbreviation guard must pass first: a TLD written
       in Titlecase (``home.Today``, ``fine.Now``, ``B.Com``, ``M.Sc``) is a missing
       space after a full stop or a degree, unless it is com/org/net/gov/edu after a
       label of 3+ characters (``Amazon.Com``); a single upper-case letter before a
       non-lower-case TLD is an abbreviation (``B.COM``); ``ASP.NET``-style names are
       technology. A Titlecase TLD with a path after a name of 2+ characters is a
       capitalised brand (``PayPal.Me/x``, ``Bit.Ly/x``);
     - then a path (``/x``), query (``?a=``), fragment (``#x``) or port makes it a
       link (``bit.ly/x``, ``healing.now/join``);
     - a bare domain (just ``name.tld``) counts only when its TLD is "link-y":
       com/net/org/gov/edu/info/biz/io/xyz/... or a country code that is not also an
       everyday word (``.it .in .is .me .my .no .so .to .us .be .do .am .at ...`` are
       words here), or any newer gTLD (``get-help-now.click``, ``hope.charity``) except
       everyday-word ones (``.today .now .love .lol .help``...), which need a hyphen or a
       digit in the name; and not a common file extension (``readme.md``, ``script.py``,
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

``Link.host`` is the host itself (lower-case punycode): allowlists match it, so a site on
shared hosting can be allowed alone. Hosts with no public suffix (``https://x.local``)
report the whole host as the domain.

``matches_domain`` is true for the allowed domain itself and its subdomains, compared
label by label in lower-case punycode (``evil-example.com`` and ``example.com.evil.net``
never match ``example.com``); an allowed shared-hosting suffix (``github.io``) matches only
itself. ``is_valid_domain``/``allowlist_entry`` accept a bare domain, a URL or an e-mail
address (``*.`` prefix allowed) and return what is stored: the registrable domain, or on
shared hosting (private public-suffix entries: ``blogspot.com``, ``github.io``,
``netlify.app``) the one site (``mysite.blogspot.com``); they refuse whitespace, IP
addresses, unknown TLDs and open suffixes such as ``co.uk`` or ``github.io``.

Known limits: a bare name on an everyday-word TLD with no hyphen or digit reads as a
missing space (``freemeds.today`` like ``home.today``); link text split in the middle of a
label across lines is found from the break.
"""

from __future__ import annotations

from bot.domain.links.detect import Link, find_links
from bot.domain.links.disguises import Normalized, normalize
from bot.domain.links.hosts import allowlist_entry, is_valid_domain, matches_domain

__all__ = [
    "Link",
    "Normalized",
    "allowlist_entry",
    "find_links",
    "is_valid_domain",
    "matches_domain",
    "normalize",
]
