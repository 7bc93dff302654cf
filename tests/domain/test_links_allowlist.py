"""Issue 12: the host a browser opens, and allowlists nobody can get around."""

from __future__ import annotations

import unicodedata

import pytest
from ada_url import URL

from bot.domain.holds import links_to_hold
from bot.domain.links import allowlist_entry, find_links, is_valid_domain, matches_domain

# Tricky URLs: our host must be the one a WHATWG parser (ada) takes.
WHATWG_CASES = [
    "https://evil.com\\@allowed.org/",
    "https://evil.com\\.allowed.org/",
    "http://evil.com\\\\allowed.org/x",
    "https:\\\\evil.com\\allowed.org",
    "https://allowed.org@evil.com/x",
    "http://allowed.org:pass@evil.com/",
    "https://a@b@evil.com/",
    "https://user@evil.com/x?next=allowed.org",
    "https://evil.com?@allowed.org",
    "https://evil.com#@allowed.org",
    "https://EVIL.com/x",
    "https://cafe\u0301.com/menu",
    "https://münchen.de/x",
    "https://пример.рф/x",
    "https://xn--e1afmkfd.xn--p1ai/x",
    "http://intranet.local/x",
    "http://nas:8080/share",
    "https://203.0.113.7/x",
    "https://www.cancer.org.za/x",
]


@pytest.mark.parametrize("url", WHATWG_CASES)
def test_host_is_the_whatwg_host(url: str) -> None:
    links = find_links(f"look {url} now")
    assert len(links) == 1
    assert links[0].host == URL(url).hostname


ALLOWED = ["allowed.org", "mayoclinic.org"]


@pytest.mark.parametrize(
    "text",
    [
        "https://evil.com\\@allowed.org/",
        "https://evil.com\\.allowed.org/",
        "https://allowed.org@evil.com/",
        "https://allowed.org:x@evil.com/",
        "https://allowed.org.evil.com/",
        "https://evil-allowed.org/",
        "https://allowedorg.com/",
        "https://mаyoclinic.org/",  # Cyrillic а
        unicodedata.normalize("NFD", "https://mayoclínic.org/"),
        "https://mayoclinic.org.evil.net/x",
    ],
)
def test_allowlist_bypasses_are_held(text: str) -> None:
    links = find_links(text)
    assert links, text
    assert links_to_hold(links, ALLOWED) == links


@pytest.mark.parametrize(
    "text", ["https://allowed.org/x", "www.allowed.org", "https://sub.mayoclinic.org/a"]
)
def test_allowed_sites_pass(text: str) -> None:
    assert links_to_hold(find_links(text), ALLOWED) == []


@pytest.mark.parametrize(
    ("entry", "stored"),
    [
        ("mysite.blogspot.com", "mysite.blogspot.com"),
        ("https://www.mysite.blogspot.com/2024/post", "mysite.blogspot.com"),
        ("x.github.io", "x.github.io"),
        ("https://x.github.io/repo", "x.github.io"),
        ("x.netlify.app", "x.netlify.app"),
        ("deep.x.netlify.app", "x.netlify.app"),
        ("github.io", None),
        ("blogspot.com", None),
        ("netlify.app", None),
        ("https://www.cancer.gov/x", "cancer.gov"),
        ("www.cancer.org.za", "cancer.org.za"),
        ("https://evil.com\\@allowed.org/", "evil.com"),
        ("https://allowed.org@evil.com/", "evil.com"),
    ],
)
def test_allowlist_entry_is_exactly_what_is_stored(entry: str, stored: str | None) -> None:
    assert allowlist_entry(entry) == stored
    assert is_valid_domain(entry) == stored


def test_shared_hosting_is_allowed_site_by_site() -> None:
    allowlist = [allowlist_entry("mysite.blogspot.com") or "", allowlist_entry("x.github.io") or ""]
    ok = find_links("https://mysite.blogspot.com/post and https://x.github.io/a")
    assert links_to_hold(ok, allowlist) == []
    other = find_links("https://spam.blogspot.com/post and https://y.github.io/a")
    assert links_to_hold(other, allowlist) == other


def test_an_allowed_shared_suffix_matches_only_itself() -> None:
    # an entry stored before site-level matching must not allow the whole service
    assert matches_domain("github.io", "github.io")
    assert not matches_domain("evil.github.io", "github.io")
    assert not matches_domain("spam.blogspot.com", "blogspot.com")
    assert matches_domain("www.cancer.gov", "cancer.gov")
