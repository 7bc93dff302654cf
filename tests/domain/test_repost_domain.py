"""Pure rules of reposting: splitting, framing, webhook names, keys and notices."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.domain import repost as rp

URL_RE = re.compile(r"https?://\S+")


def reassemble(original: str, chunks: list[rp.Chunk]) -> None:
    """Each chunk minus the fences the splitter added is the next stretch of `original`;
    only whitespace lies between stretches."""
    at = 0
    for chunk in chunks:
        body = chunk.text[len(chunk.reopened): len(chunk.text) - len(chunk.closed)]
        gap_end = original.index(body, at) if body else at
        assert original[at:gap_end].strip() == "", (at, gap_end, original[at:gap_end])
        at = gap_end + len(body)
    assert original[at:].strip() == ""


def check(text: str, limit: int) -> list[rp.Chunk]:
    chunks = rp.split_chunks(text, limit)
    for chunk in chunks:
        assert len(chunk.text) <= limit
        assert chunk.text.strip()
    reassemble(text, chunks)
    if not rp.has_unclosed_fence(text):
        for chunk in chunks:
            assert not rp.has_unclosed_fence(chunk.text), chunk.text
    return chunks


# -- examples ---------------------------------------------------------------------------------


def test_short_text_is_one_part() -> None:
    assert rp.split_message("hello there") == ["hello there"]


def test_prefers_paragraph_breaks() -> None:
    para = ("word " * 30).strip()
    text = "\n\n".join([para] * 4)
    parts = rp.split_message(text, 400)
    assert all(p.strip() == p for p in parts)
    assert all(p.count(para) >= 1 and set(p.replace(para, "")) <= {"\n"} for p in parts)


def test_line_breaks_before_spaces() -> None:
    line = "a" * 30 + " " + "b" * 30
    text = "\n".join([line] * 10)
    parts = rp.split_message(text, 200)
    assert all(set(p.replace(line, "")) <= {"\n"} for p in parts)


def test_never_cuts_a_long_url() -> None:
    url = "https://example.org/" + "x" * 300
    text = ("some words " * 20) + url + (" and more" * 20)
    parts = check(text, 200 + 150)
    assert any(url in p.text for p in parts)


def test_masked_link_kept_whole() -> None:
    link = "[our story in pictures and words](https://example.org/story)"
    text = "x " * 40 + link + " y" * 40
    for limit in range(60, 140, 7):
        parts = check(text, limit)
        assert any(link in p.text for p in parts)


def test_code_block_is_closed_and_reopened() -> None:
    code = "\n".join(f"line_{i} = {i} * 2" for i in range(120))
    text = "Here is my script:\n\n```py\n" + code + "\n```\n\nThanks!"
    chunks = check(text, 500)
    assert len(chunks) > 3
    middle = [c for c in chunks if c.reopened]
    assert middle and all(c.reopened == "```py\n" for c in middle)
    assert all(c.text.startswith("```py\n") for c in middle)
    closed = [c for c in chunks if c.closed]
    assert all(c.text.endswith("\n```") for c in closed)


def test_code_block_with_one_huge_line_is_hard_cut_inside_the_block() -> None:
    text = "```\n" + "y" * 1000 + "\n```"
    chunks = check(text, 300)
    assert all(c.text.startswith("```") and c.text.endswith("```") for c in chunks)


def test_the_issue_example_3900_chars_code_and_long_url() -> None:
    url = "https://www.youtube.com/watch?v=" + "A1b2C3d4E5" + "&t=" + "9" * 200
    story = (
        "We found out in March. My husband had been tired for months and we thought it was "
        "work. " * 12
    ).strip()
    code = "\n".join(f"day {i}: blood count {i * 3}, feeling ok" for i in range(40))
    text = f"{story}\n\nThe video: {url}\n\n```\n{code}\n```\n\n{story}"
    text = text[:3900] if len(text) > 3900 else text + "\n\n" + "Thank you all. " * (
        (3900 - len(text)) // 15)
    assert 3700 <= len(text) <= 4000
    fr = rp.frame("webhook", member_mention="<@42>",
                  attribution=rp.render_attribution("— shared for {member} by the moderators",
                                                    "<@42>")[0])
    rendered = rp.compose(text, fr)
    assert len(rendered.parts) >= 2
    assert all(len(p) <= 2000 for p in rendered.parts)
    assert rendered.parts[-1].endswith("— shared for <@42> by the moderators")
    assert sum(p.count("shared for") for p in rendered.parts) == 1
    assert any(url in p for p in rendered.parts)
    assert all(not rp.has_unclosed_fence(p) for p in rendered.parts)


def test_compose_with_head_and_tail() -> None:
    fr = rp.frame("bot", member_mention="<@7>", attribution="— shared for <@7>",
                  intro="Anna asked us to share this.",
                  reply_to_url="https://discord.com/channels/1/2/3", not_kept=("scan.mp4",))
    rendered = rp.compose("my words", fr)
    (part,) = rendered.parts
    assert part.startswith("-# 🛡️ The moderators, about this post by <@7>: Anna asked us to "
                           "share this.\n**Shared on behalf of <@7>:**")
    assert "In reply to https://discord.com/channels/1/2/3" in part
    assert "scan.mp4" in part
    head, words, tail = rp.split_framed(part, first=True, last=True,
                                        head_len=rendered.head_len, tail_len=rendered.tail_len)
    assert words == "my words"
    assert head + words + tail == part


def test_compose_attachment_only() -> None:
    fr = rp.frame("webhook", member_mention="<@7>", attribution="— shared for <@7>")
    rendered = rp.compose("   ", fr)
    assert rendered.parts == ("— shared for <@7>",)


def test_compose_unsplittable_last_part_gets_attribution_alone() -> None:
    url = "https://example.org/" + "z" * 1975
    fr = rp.frame("webhook", member_mention="<@7>", attribution="— shared for <@7>")
    rendered = rp.compose(url, fr)
    assert rendered.parts == (url, "— shared for <@7>")
    _, words, tail = rp.split_framed(rendered.parts[-1], first=False, last=True, head_len=0,
                                     tail_len=rendered.tail_len)
    assert words == "" and tail == "— shared for <@7>"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ann", "Ann"),
        ("  Ann   Marie ", "Ann Marie"),
        ("", "Member"),
        ("everyone", "everyone (member)"),
        ("x" * 100, "x" * 80),
    ],
)
def test_webhook_username(name: str, expected: str) -> None:
    assert rp.webhook_username(name) == expected


@given(st.text(min_size=0, max_size=120))
def test_webhook_username_always_acceptable(name: str) -> None:
    out = rp.webhook_username(name)
    assert 1 <= len(out) <= 80
    low = out.lower()
    assert "discord" not in low and "clyde" not in low
    assert not any(bad in out for bad in ("@", "#", ":", "```"))


def test_reserved_words_replaced_readably() -> None:
    out = rp.webhook_username("DiscordDan and Clyde")
    assert out.startswith("Discor") and "Clyd" in out
    assert "discord" not in out.lower()


def test_repost_key_stable_and_distinct() -> None:
    a = rp.repost_key(1, 2, 3, "hold:9", "text")
    assert a == rp.repost_key(1, 2, 3, "hold:9", "text")
    assert a != rp.repost_key(1, 2, 3, "hold:9", "text!")
    assert a != rp.repost_key(1, 2, 4, "hold:9", "text")
    assert len(rp.part_nonce(a, 12)) <= 25
    assert rp.part_nonce(a, 1) != rp.part_nonce(a, 2)


def test_notice_default_and_custom() -> None:
    default = rp.render_notice(None, member_mention="<@1>", channel_mention="<#2>",
                               link="https://l")
    assert default == ("A moderator shared your post in <#2>: https://l", False)
    custom, failed = rp.render_notice("Your post was approved, {member}! @everyone",
                                      member_mention="<@1>", channel_mention="<#2>",
                                      link="https://l")
    assert custom.endswith("\nhttps://l") and not failed
    assert "@everyone" not in custom
    broken = rp.render_notice("Approved {x}", member_mention="<@1>", channel_mention="<#2>",
                              link="https://l")
    assert broken == ("A moderator shared your post in <#2>: https://l", True)
    assert rp.render_attribution("by {oops}", "<@42>") == (
        "— shared for <@42> by the moderators", True)


def test_may_manage() -> None:
    assert rp.may_manage(5, 5, is_moderator=False)
    assert rp.may_manage(5, 6, is_moderator=True)
    assert not rp.may_manage(5, 6, is_moderator=False)


def test_about_mentions_both_people() -> None:
    text = rp.about(member_id=5, moderator_id=6, source="hold:3", mode="webhook",
                    created_at=datetime(2026, 1, 5, tzinfo=UTC))
    assert "<@5>" in text and "<@6>" in text and "held" in text


def test_about_a_forgotten_moderator_names_no_one() -> None:
    text = rp.about(member_id=5, moderator_id=-123456, source="hold:3", mode="webhook",
                    created_at=datetime(2026, 1, 5, tzinfo=UTC))
    assert "a former moderator" in text and "<@-" not in text


# -- properties -------------------------------------------------------------------------------

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéü😀.,!?'", min_size=1, max_size=25)
urls = st.builds(lambda path: "https://example.org/" + path,
                 st.text(alphabet="abcdefXYZ0123456789-_/?=&%", min_size=0, max_size=150))
masked = st.builds(lambda t, u: f"[{t}]({u})",
                   st.text(alphabet="abc xyz", min_size=1, max_size=20), urls)
inline = st.builds(lambda t: f"`{t}`", st.text(alphabet="ab cd()=", min_size=1, max_size=20))
seps = st.sampled_from([" ", " ", " ", "\n", "\n\n", "  ", "\n \n", "\t"])
code_lines = st.lists(st.text(alphabet="    abcxyz=(){}[]<>:;'\"#", min_size=0, max_size=90),
                      min_size=1, max_size=30)
code_blocks = st.builds(
    lambda lang, lines: f"```{lang}\n" + "\n".join(lines) + "\n```",
    st.sampled_from(["", "py", "js", "c++"]), code_lines,
)
tokens = st.one_of(words, words, words, urls, masked, inline, code_blocks)


@st.composite
def documents(draw: st.DrawFn, min_items: int = 1) -> str:
    items = draw(st.lists(tokens, min_size=min_items, max_size=max(160, min_items * 2)))
    out = [items[0]]
    for item in items[1:]:
        sep = draw(seps)
        if item.startswith("```") or out[-1].endswith("```"):
            sep = "\n"  # fences on their own lines, as people write them
        out.extend([sep, item])
    return "".join(out).strip()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.one_of(st.integers(min_value=220, max_value=500),
                              st.integers(min_value=500, max_value=2000)))
def test_split_properties(text: str, limit: int) -> None:
    assume(text.strip())
    split_properties(text, limit)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(documents(min_items=80), st.integers(min_value=220, max_value=700))
def test_split_properties_long_documents(text: str, limit: int) -> None:
    assume(len(text) > limit)
    split_properties(text, limit)


def split_properties(text: str, limit: int) -> None:
    chunks = check(text, limit)
    joined = "\n".join(c.text for c in chunks)
    for url in URL_RE.findall(text):
        url = url.rstrip(")")
        assert url in joined  # every link survives whole in some part
        assert any(url in c.text for c in chunks)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=3000), st.integers(min_value=40, max_value=2000))
def test_split_arbitrary_text(text: str, limit: int) -> None:
    assume(text.strip())
    chunks = rp.split_chunks(text.strip(), limit)
    assert all(len(c.text) <= limit for c in chunks)
    reassemble(text.strip(), chunks)


@settings(max_examples=200, deadline=None)
@given(documents(), st.integers(min_value=0, max_value=300),
       st.integers(min_value=0, max_value=300))
def test_compose_respects_limits(text: str, head_n: int, tail_n: int) -> None:
    assume(text.strip())
    fr = rp.Frame("h" * head_n + "\n\n" if head_n else "", "\n\n" + "t" * tail_n if tail_n else "")
    rendered = rp.compose(text, fr)
    assert all(len(p) <= 2000 for p in rendered.parts)
    assert rendered.parts[0].startswith(fr.head)
    assert rendered.parts[-1].endswith(fr.tail.lstrip("\n"))
    if len(rendered.parts) == 1:
        _, words_, _ = rp.split_framed(rendered.parts[0], first=True, last=True,
                                       head_len=rendered.head_len, tail_len=rendered.tail_len)
        assert words_ == text.strip()


def test_member_dms_name_a_new_forum_post_by_a_short_title_and_its_forum() -> None:
    long = "After my diagnosis of stage three bowel cancer last spring, everything changed."
    place = rp.place_for_member(5, forum_id=9, title=long)
    assert place.startswith("“After my diagnosis") and place.endswith("” in <#9>")
    assert len(place.split("”")[0]) <= rp.SHORT_TITLE_MAX + 1 and "<#5>" not in place
    assert rp.place_for_member(5) == "<#5>"
    assert rp.neutral_title("  Anna  B ") == "Shared for Anna B"
    assert rp.neutral_title(None) == "Shared for a member"

