"""Issue 12: every top-level domain, both forms; NFC/NFD forms give the same result."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.links import find_links
from bot.domain.links.hosts import to_ascii
from bot.domain.links.tables import TLDS

ALL_TLDS = sorted(TLDS)
NAMES = st.from_regex(r"\A[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,6})?\Z")


def _hosts(text: str) -> list[str]:
    return [lk.host for lk in find_links(text)]


def test_the_tld_set_is_complete() -> None:
    # second-level-only ccTLDs and internationalised TLDs, in both forms
    for tld in ("za", "np", "bd", "ck", "er", "fk", "jm", "kh", "mm", "pg"):
        assert tld in TLDS
    for unicode, puny in (("рф", "xn--p1ai"), ("онлайн", "xn--80asehdb"), ("中国", "xn--fiqs8s")):
        assert unicode in TLDS
        assert puny in TLDS
    assert len(TLDS) > 1500


def test_every_tld_is_found_after_a_scheme() -> None:
    missed = [t for t in ALL_TLDS if _hosts(f"https://name.{t}/x") != [to_ascii(f"name.{t}")]]
    assert missed == []


def test_every_tld_is_found_with_a_path_and_no_scheme() -> None:
    missed = [t for t in ALL_TLDS if not find_links(f"see name.{t}/x for more")]
    assert missed == []


@settings(max_examples=300, deadline=None)
@given(tld=st.sampled_from(ALL_TLDS), name=NAMES)
def test_scheme_url_on_any_tld_any_name(tld: str, name: str) -> None:
    text = f"look at https://{name}.{tld}/x please"
    links = find_links(text)
    assert [lk.host for lk in links] == [to_ascii(f"{name}.{tld}")]
    assert text[links[0].start : links[0].end] == links[0].text == f"https://{name}.{tld}/x"


ACCENTED = st.text(alphabet="abcdeéèêëíñöüåçøšž", min_size=2, max_size=12).filter(
    lambda s: s[0].isalpha()
)


@settings(max_examples=300, deadline=None)
@given(
    label=ACCENTED,
    tld=st.sampled_from(["com", "de", "fr", "org", "рф"]),
    prefix=st.sampled_from(["https://", "www.", ""]),
)
def test_nfc_and_nfd_forms_give_the_same_links(label: str, tld: str, prefix: str) -> None:
    composed = unicodedata.normalize("NFC", f"see {prefix}{label}.{tld}/x today")
    decomposed = unicodedata.normalize("NFD", composed)
    a = find_links(composed)
    b = find_links(decomposed)
    assert [(lk.url, lk.domain, lk.host) for lk in a] == [(lk.url, lk.domain, lk.host) for lk in b]
    for text, links in ((composed, a), (decomposed, b)):
        for lk in links:
            assert text[lk.start : lk.end] == lk.text  # spans index the text as written


def test_decomposed_hosts_are_whole() -> None:
    assert _hosts("https://cafe\u0301.com/menu") == ["xn--caf-dma.com"]
    decomposed = unicodedata.normalize("NFD", "münchen.de/hilfe")
    assert [lk.domain for lk in find_links(decomposed)] == ["xn--mnchen-3ya.de"]
    assert find_links(decomposed)[0].text == decomposed
