"""Unit tests for bot.domain.links, one group per class of the link-detection issue."""

from __future__ import annotations

import dataclasses

import pytest

from bot.domain.links import Link, find_links, is_valid_domain, matches_domain, normalize


def domains(text: str) -> list[str]:
    return [lk.domain for lk in find_links(text)]


def one(text: str) -> Link:
    links = find_links(text)
    assert len(links) == 1, links
    return links[0]


# ----------------------------------------------------------------------------- positives


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # any scheme, any case
        ("see https://www.example.com/a?b=c#d", "example.com"),
        ("HTTPS://EXAMPLE.ORG/X", "example.org"),
        ("hTtP://example.net", "example.net"),
        ("ftp://files.example.com/pub", "example.com"),
        ("sftp://example.io/data", "example.io"),
        ("https://pubmed.ncbi.nlm.nih.gov/123/", "nih.gov"),
        ("https://www.bbc.co.uk/news", "bbc.co.uk"),
        ("http://localhost:8000/admin", "localhost"),
        # www.
        ("www.example.com", "example.com"),
        ("WWW.EXAMPLE.CA", "example.ca"),
        ("www.beatcancer.today", "beatcancer.today"),
        ("www2.example.org/x", "example.org"),
        # bare domains with a path
        ("bit.ly/3abc", "bit.ly"),
        ("youtu.be/xyz", "youtu.be"),
        ("healing.now/join", "healing.now"),
        ("reddit.com/r/ChronicPain", "reddit.com"),
        ("example.com:8080", "example.com"),
        ("example.today/?ref=x", "example.today"),
        # bare domains alone
        ("mayoclinic.org", "mayoclinic.org"),
        ("Go to cancer.gov for more", "cancer.gov"),
        ("bit.ly", "bit.ly"),
        ("macmillan.org.uk", "macmillan.org.uk"),
        ("MayoClinic.org", "mayoclinic.org"),
        ("GOOGLE.COM", "google.com"),
        ("Amazon.Com", "amazon.com"),
        ("hse.ie", "hse.ie"),
        ("patient.info", "patient.info"),
        ("t.me", "t.me"),
        ("x.com", "x.com"),
        ("nhs.uk", "nhs.uk"),
        ("www.nhs.uk", "nhs.uk"),
        # IP addresses
        ("http://192.168.1.1/admin", "192.168.1.1"),
        ("10.0.0.5:8080", "10.0.0.5"),
        ("172.16.0.1/login", "172.16.0.1"),
        ("http://[2001:db8::1]/x", "2001:db8::1"),
        # Discord invites
        ("discord.gg/abc", "discord.gg"),
        ("discord.com/invite/abc", "discord.com"),
        ("https://discordapp.com/invite/abc", "discordapp.com"),
        ("discord.gift/AbCd", "discord.gift"),
        # markdown, angle brackets, code
        ("[click](https://evil.example.net/x)", "example.net"),
        ("<https://example.org/>", "example.org"),
        ("`bit.ly/abc`", "bit.ly"),
        ("```\nhttps://pastebin.com/raw/x\n```", "pastebin.com"),
        # split across lines
        ("https://\nbit.ly/abc", "bit.ly"),
        ("discord.\ngg/abc", "discord.gg"),
        ("example\n.com", "example.com"),
        # percent-encoding
        ("https%3A%2F%2Fexample.net%2Fx", "example.net"),
        ("bit%2Ely/abc", "bit.ly"),
        # e-mail
        ("email drx.healing@gmail.com now", "gmail.com"),
        ("Dr_X@Yahoo.Com", "yahoo.com"),
        ("mailto:drx@proton.me", "proton.me"),
        ("info@cure.today", "cure.today"),
        ("drx (at) gmail (dot) com", "gmail.com"),
        ("drx[at]gmail[dot]com", "gmail.com"),
        # defanged
        ("hxxp://evil.com", "evil.com"),
        ("hXXps://evil.com/x", "evil.com"),
        ("hxxps[:]//evil.com", "evil.com"),
        ("hxxps[://]evil[.]com", "evil.com"),
        ("example[.]com", "example.com"),
        ("example(.)com", "example.com"),
        ("example{.}com", "example.com"),
        ("example [ . ] com", "example.com"),
        ("example[dot]org", "example.org"),
        ("bestcure[.]today", "bestcure.today"),
        # spelled-out and spaced dots
        ("example dot com", "example.com"),
        ("www (dot) site (dot) org", "site.org"),
        ("drx DOT net", "drx.net"),
        ("bit . ly/x", "bit.ly"),
        ("bit .ly/x", "bit.ly"),
        ("www . curenow . net", "curenow.net"),
        # partial, escaped and look-alike invites
        (".gg/x", "discord.gg"),
        ("join .gg/abc", "discord.gg"),
        ("discord\\.gg/abc", "discord.gg"),
        ("discord.gg\\/abc", "discord.gg"),
        ("dsc.gg/x", "dsc.gg"),
        ("disc0rd.gg/x", "disc0rd.gg"),
        # invisible characters
        ("bit\u200b.ly/abc", "bit.ly"),
        ("disc\u200dord.gg/abc", "discord.gg"),
        ("may\u00adoclinic.org", "mayoclinic.org"),
        ("h\u200bttps://evil.com", "evil.com"),
        # fullwidth and look-alike dots
        ("ｄｉｓｃｏｒｄ．ｇｇ/abc", "discord.gg"),
        ("ｄｉｓｃｏｒｄ．ｇｇ", "discord.gg"),
        ("bit。ly", "bit.ly"),
        ("bit｡ly/abc", "bit.ly"),
        ("𝐞𝐯𝐢𝐥.𝐜𝐨𝐦", "evil.com"),
        # spaced-out schemes
        ("h t t p s : / / evil.com", "evil.com"),
        ("H T T P://evil.com", "evil.com"),
        ("https : // evil.com", "evil.com"),
        ("https:// evil.com", "evil.com"),
    ],
)
def test_finds(text: str, expected: str) -> None:
    assert domains(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "mayoclinic.org.",
        "mayoclinic.org!!!",
        "(mayoclinic.org)",
        "\"mayoclinic.org\",",
        "mayoclinic.org...",
        "**mayoclinic.org**",
        "_mayoclinic.org_",
        "mayoclinic.org?",
    ],
)
def test_trailing_punctuation_excluded(text: str) -> None:
    lk = one(text)
    assert lk.text == "mayoclinic.org"
    assert lk.domain == "mayoclinic.org"


def test_trailing_punctuation_on_paths() -> None:
    assert one("(bit.ly/abc).").text == "bit.ly/abc"
    assert one("see https://en.wikipedia.org/wiki/Lupus_(disease).").text.endswith("(disease)")
    assert one("[x](https://example.org/path)").text == "https://example.org/path"


def test_homoglyph_domain_keeps_identity() -> None:
    lk = one("mаyoclinic.org")  # Cyrillic a
    assert lk.domain == "xn--myoclinic-0yh.org"
    assert not matches_domain(lk.domain, "mayoclinic.org")
    assert one("münchen-klinik.de").domain == "xn--mnchen-klinik-wob.de"


def test_masked_link_reports_both_text_and_target() -> None:
    assert domains("[mayoclinic.org](http://mayo-help.ru/x)") == ["mayoclinic.org", "mayo-help.ru"]


def test_nested_redirect_target_is_reported() -> None:
    found = domains("https://www.google.com/url?q=https%3A%2F%2Fscam-pharma.ru%2Foffer")
    assert found == ["google.com", "scam-pharma.ru"]


def test_several_links_in_order() -> None:
    text = "a https://a.example.com b bit.ly/x c drx@gmail.com d discord.gg/abc"
    assert domains(text) == ["example.com", "bit.ly", "gmail.com", "discord.gg"]


def test_link_fields() -> None:
    lk = one("Please read https://WWW.Example.COM/Path?x=1 today")
    assert lk.text == "https://WWW.Example.COM/Path?x=1"
    assert lk.url == "https://www.example.com/Path?x=1"
    assert lk.domain == "example.com"
    assert (lk.start, lk.end) == (12, 44)
    assert one("bit.ly/x").url == "http://bit.ly/x"
    assert one("drx@gmail.com").url == "mailto:drx@gmail.com"
    assert one(".gg/abc").url == "https://discord.gg/abc"


def test_link_is_frozen_slotted_dataclass() -> None:
    lk = one("bit.ly/x")
    assert dataclasses.is_dataclass(lk)
    assert not hasattr(lk, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        lk.domain = "x"  # type: ignore[misc]


def test_spans_point_into_original_text_after_normalization() -> None:
    text = "pls join ｄｉｓｃｏｒｄ．ｇｇ/abc and bit\u200b.ly/x or example[.]com ok"
    for lk in find_links(text):
        assert text[lk.start : lk.end] == lk.text
    assert [lk.text for lk in find_links(text)] == [
        "ｄｉｓｃｏｒｄ．ｇｇ/abc",
        "bit\u200b.ly/x",
        "example[.]com",
    ]


# ----------------------------------------------------------------------------- negatives


@pytest.mark.parametrize(
    "text",
    [
        # abbreviations and degrees
        "e.g. this, i.e. that",
        "at 9 a.m. and 5 p.m.",
        "moved to the U.S. last year",
        "she has a Ph.D. and a B.Com",
        "M.Sc in psychology, B.Tech, M.Ed, B.COM",
        "Dr.Smith and Mr.Right at St.Jude's",
        "a.k.a. the worst, p.s. love you, etc.",
        "the U.S.A. and the U.K.",
        # social handles
        "follow @anna.kim",
        "@the.chronic.life and @spoonie.world",
        "cc @mama.bear.co",
        # technology names
        "built with Node.js and Vue.js",
        "I code in ASP.NET and VB.NET",
        # prose about dots
        "the dot com bubble",
        "back in the dot com days",
        "he got rich in the dot com boom",
        "a polka dot dress",
        # file names
        "report.pdf scan.png readme.md script.py",
        "archive.zip video.mov install.sh main.rs notes.txt",
        "IMG_2043.HEIC and photo.JPG",
        # versions, doses, dates, measurements
        "v2.0.1, 3.5mg, 98.6F, 1.5.2024",
        "0.25mg at 10.30pm, temp 37.8C, 1.5L",
        "iOS 17.4.1 and Android 14.0.1",
        "call 555.123.4567",
        "firmware 1.2.3.4",
        # missing space after a full stop
        "we went home.Today was better",
        "it was fine.Now I am not sure",
        "after chemo.Next week is scan week",
        "thank you all.It means a lot",
        "I was scared.So scared.",
        "I'M DONE.TODAY WAS THE WORST",
        "i cried all night.today i feel numb",
        "we got home.it was late",
        "had a nap.now i'm up",
        "I'm tired.\nco workers keep asking",
        "it's my life.Family first",
        "I'm so tired . Today was long",
        # plain
        "",
        "I can't sleep again, it's 3am and my brain won't switch off",
        "pain 7/10, mg/dL, BP 120/80",
    ],
)
def test_spares_ordinary_writing(text: str) -> None:
    assert find_links(text) == []


def test_dotless_and_unknown_hosts() -> None:
    # issue 12: after a web scheme any host is a link (the client makes it clickable)
    assert [(lk.domain, lk.url) for lk in find_links("http://intranet/x")] == [
        ("intranet", "http://intranet/x")
    ]
    assert find_links("note://x") == []
    assert find_links("abc.notatld/x") == []


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("join tg://resolve?domain=freemeds", "tg://resolve?domain=freemeds"),
        ("steam://openurl/x", "steam://openurl/x"),
        ("discord://invite/abc", "discord://invite/abc"),
        ("WhatsApp://send?phone=123", "whatsapp://send?phone=123"),
    ],
)
def test_app_schemes_to_any_host_are_links(text: str, url: str) -> None:
    # an app scheme opens the app at a place the sender chose: a link like http(s)
    assert one(text).url == url


def test_app_scheme_wrapper_reports_the_wrapped_url_only() -> None:
    assert domains("steam://openurl/https://steamcommunity.com/gift/1") == ["steamcommunity.com"]
    # an unknown scheme stays prose, a web scheme wrapper still counts (unchanged)
    assert find_links("note://x and memo://y") == []
    assert domains("http://intranet/https://x.com") == ["intranet", "x.com"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("use 8.8.8.8 for dns", "8.8.8.8"),
        ("1.1.1.1", "1.1.1.1"),
        ("router at 192.168.1.1", "192.168.1.1"),
        ("log in at 10.0.0.1 tonight", "10.0.0.1"),
        ("127.0.0.1", "127.0.0.1"),
        ("visit 203.0.113.7", "203.0.113.7"),
    ],
)
def test_bare_dotted_quads_are_links(text: str, expected: str) -> None:
    assert domains(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "see 1.2.3.4 in the trial protocol",
        "doses went 1.2.3.4 over the week",
        "version 8.8.8.8",
        "step 10.0.0.1 of the guide",
        "2.2.2.2 mg each morning",
        "titrating 25.50.75.100 mg",
        "0.0.0.0",
        "0.1.2.3",
        "256.1.1.1 and 1.2.3.400",
        "01.02.03.04",
    ],
)
def test_number_like_quads_are_not_links(text: str) -> None:
    assert find_links(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("freemeds d 0 t com", "freemeds.com"),
        ("freemeds d o t com/offer", "freemeds.com"),
        ("get FREEMEDS D O T NET now", "freemeds.net"),
        ("cheap-pills  d o t  info", "cheap-pills.info"),
    ],
)
def test_spaced_dot_word_is_a_strong_disguise(text: str, expected: str) -> None:
    assert domains(text) == [expected]


def test_spaced_dot_word_needs_a_real_tld() -> None:
    assert find_links("freemeds d o t notatld") == []
    assert find_links("d o t com") == []  # nothing before it
    assert {m[2] for m in normalize("x d 0 t com").marks} == {"strong"}


# ----------------------------------------------------------------------------- normalize


def test_normalize_identity_for_plain_text() -> None:
    n = normalize("just a normal message.")
    assert n.text == "just a normal message."
    assert n.to_original(0, 4) == (0, 4)
    assert n.marks == ()


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("bit\u200b.ly", "bit.ly"),
        ("\ufeffwww.x.com", "www.x.com"),
        ("ｄｉｓｃｏｒｄ．ｇｇ", "discord.gg"),
        ("bit。ly", "bit.ly"),
        ("hxxps[:]//x[.]com", "https://x.com"),
        ("hxxp://x.com", "http://x.com"),
        ("x(.)com x{.}com x[dot]com", "x.com x.com x.com"),
        ("drx [at] gmail [dot] com", "drx@gmail.com"),
        ("example dot com", "example.com"),
        ("bit . ly", "bit.ly"),
        ("discord\\.gg", "discord.gg"),
        ("h t t p s : / / x.com", "https://x.com"),
        ("https%3A%2F%2Fx.com", "https://x.com"),
        ("x\n.com", "x.com"),
    ],
)
def test_normalize_rewrites(text: str, normalized: str) -> None:
    assert normalize(text).text == normalized


def test_normalize_position_map() -> None:
    text = "go ｄｉｓ\u200bｃｏｒｄ[.]gg now"
    n = normalize(text)
    assert n.text == "go discord.gg now"
    a = n.text.index("discord")
    b = a + len("discord.gg")
    s, e = n.to_original(a, b)
    assert text[s:e] == "ｄｉｓ\u200bｃｏｒｄ[.]gg"
    # every normalized character maps inside the original text, monotonically
    prev = 0
    for i in range(len(n.text)):
        s, e = n.to_original(i, i + 1)
        assert 0 <= s < e <= len(text)
        assert s >= prev
        prev = s
    # "now" maps to itself
    k = n.text.index("now")
    assert n.to_original(k, k + 3) == (text.index("now"), text.index("now") + 3)


def test_normalize_position_map_composes_both_passes_exactly() -> None:
    # invisible characters removed first, then disguises undone over what is left: each
    # output character maps to exactly what it came from, replacements to their whole span
    text = "a\u200b\u200bb[.]c\u200bom %2E x"
    n = normalize(text)
    assert n.text == "ab.com . x"
    spans = [text[slice(*n.to_original(i, i + 1))] for i in range(len(n.text))]
    assert spans == ["a", "b", "[.]", "c", "o", "m", " ", "%2E", " ", "x"]
    assert n.to_original(0, 6) == (0, text.index(" "))
    assert n.marks == ((4, 7, "strong"), (12, 15, "strong"))


def test_normalize_many_edits_map_like_few() -> None:
    # the batched map answers the same for edit 1 and edit 5,000
    text = "x[.]" * 5000 + "x"
    n = normalize(text)
    assert n.text == "x." * 5000 + "x"
    assert n.to_original(1, 2) == (1, 4)
    assert n.to_original(9998, 10000) == (19996, 20000)
    assert len(n.marks) == 5000


def test_normalize_marks_strength() -> None:
    assert {m[2] for m in normalize("x[.]com").marks} == {"strong"}
    assert {m[2] for m in normalize("x dot com").marks} == {"weak_word"}
    assert {m[2] for m in normalize("x . com").marks} == {"weak_space"}


def test_normalize_keeps_other_scripts() -> None:
    assert normalize("mаyoclinic.org").text == "mаyoclinic.org"


# ----------------------------------------------------------------------------- allowlist


@pytest.mark.parametrize(
    ("link_domain", "allowed", "ok"),
    [
        ("example.com", "example.com", True),
        ("www.example.com", "example.com", True),
        ("a.b.example.com", "example.com", True),
        ("EXAMPLE.COM", "example.com", True),
        ("example.com", "Example.Com.", True),
        ("evil-example.com", "example.com", False),
        ("example.com.evil.net", "example.com", False),
        ("notexample.com", "example.com", False),
        ("example.co", "example.com", False),
        ("example.com", "www.example.com", False),
        ("xn--myoclinic-0yh.org", "mayoclinic.org", False),
        ("mаyoclinic.org", "xn--myoclinic-0yh.org", True),
        ("xn--mnchen-klinik-wob.de", "münchen-klinik.de", True),
        ("", "example.com", False),
        ("example.com", "", False),
    ],
)
def test_matches_domain(link_domain: str, allowed: str, ok: bool) -> None:
    assert matches_domain(link_domain, allowed) is ok


def test_allowlist_round_trip() -> None:
    entry = is_valid_domain("https://www.MayoClinic.org/diseases")
    assert entry == "mayoclinic.org"
    for lk in find_links("see https://www.mayoclinic.org/x and mayoclinic.org and mаyoclinic.org"):
        assert matches_domain(lk.domain, entry) is (lk.domain == "mayoclinic.org")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("MayoClinic.org", "mayoclinic.org"),
        ("https://www.cancer.gov/x", "cancer.gov"),
        ("  bit.ly  ", "bit.ly"),
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("nhs.uk", "nhs.uk"),
        ("*.example.com", "example.com"),
        ("mаyoclinic.org", "xn--myoclinic-0yh.org"),
        ("münchen-klinik.de", "xn--mnchen-klinik-wob.de"),
        ("drx@gmail.com", "gmail.com"),
        ("not a domain", None),
        ("localhost", None),
        ("foo.notatld", None),
        ("192.168.1.1", None),
        ("", None),
        ("-bad-.com", None),
        ("co.uk", None),
        ("com.au", None),
        ("gov.uk", "gov.uk"),
    ],
)
def test_is_valid_domain(entry: str, expected: str | None) -> None:
    assert is_valid_domain(entry) == expected
