"""The sandbox refuses Components V2 payloads the way Discord does, and Steward's queue card
(the largest V2 message it sends) stays inside those rules at its fullest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.db.holds import HeldAttachment, HeldLink, Hold
from bot.services.linkhold import QueueCard
from bot.ui.linkhold import card_layout, forgotten_layout
from bot.ui.linkhold_previews import preview_files, previewed
from sandbox.errors import ApiError
from sandbox.models import MessageFlags
from sandbox.validation import validate_message, validate_v2_layout

V2 = int(MessageFlags.IS_COMPONENTS_V2)
assert V2 == 1 << 15


def code_and_key(fn, *args, **kwargs) -> tuple[int, str]:
    with pytest.raises(ApiError) as info:
        fn(*args, **kwargs)
    return info.value.code, str(info.value.body())


def text(content: str = "hello") -> dict:
    return {"type": 10, "content": content}


def button(i: int) -> dict:
    return {"type": 2, "style": 1, "label": f"b{i}", "custom_id": f"c{i}"}


def row(*buttons: dict) -> dict:
    return {"type": 1, "components": list(buttons)}


def gallery(n: int) -> dict:
    return {"type": 12, "items": [{"media": {"url": f"attachment://p{i}.png"}, "spoiler": True}
                                  for i in range(n)]}


def container(*children: dict) -> dict:
    return {"type": 17, "components": list(children)}


def test_a_valid_layout_passes():
    validate_message({"flags": V2, "components": [
        container(text("### Title"), gallery(10), row(button(0), button(1))),
        {"type": 9, "components": [text()], "accessory": button(2)},
        {"type": 14, "divider": True}]})


@pytest.mark.parametrize(("payload", "key"), [
    ({"flags": V2, "content": "hi", "components": [text()]}, "LEGACY_FIELDS"),
    ({"flags": V2, "embeds": [{"title": "t"}], "components": [text()]}, "LEGACY_FIELDS"),
    ({"flags": V2, "components": []}, "BASE_TYPE_REQUIRED"),
    ({"flags": V2, "components": [container(container(text()))]}, "UNION_TYPE_CHOICES"),
    ({"flags": V2, "components": [{"type": 2, "style": 1, "custom_id": "x", "label": "x"}]},
     "UNION_TYPE_CHOICES"),
    ({"flags": V2, "components": [{"type": 9, "components": [text()]}]}, "BASE_TYPE_REQUIRED"),
    ({"flags": V2, "components": [{"type": 9, "components": [text()] * 4,
                                   "accessory": button(0)}]}, "BAD_LENGTH"),
    ({"flags": V2, "components": [gallery(0)]}, "BAD_LENGTH"),
    ({"flags": V2, "components": [gallery(11)]}, "BAD_LENGTH"),
    ({"flags": V2, "components": [text() for _ in range(41)]}, "MAX_TOTAL_COMPONENTS"),
    # 40 counted with nesting: a container of 8 rows of 4 buttons is 1 + 8 + 32 = 41.
    ({"flags": V2, "components": [container(*(row(*(button(r * 4 + b) for b in range(4)))
                                              for r in range(8)))]}, "MAX_TOTAL_COMPONENTS"),
    ({"flags": V2, "components": [text("x" * 2001), text("y" * 2000)]}, "MAX_TEXT_LENGTH"),
    ({"flags": V2, "components": [row(button(1), button(1))]}, "CUSTOM_ID_DUPLICATED"),
    ({"flags": V2, "components": [row({**button(0), "custom_id": "c" * 101})]},
     "BASE_TYPE_MAX_LENGTH"),
    ({"flags": V2, "components": [row()]}, "BAD_LENGTH"),
    ({"flags": V2, "components": [row(button(0), {"type": 3, "custom_id": "s", "options": []})]},
     "WIDTH_EXCEEDED"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_discord_refuses(payload, key):
    code, body = code_and_key(validate_message, payload)
    assert code == 50035 and key in body, body


def test_legacy_messages_still_refuse_layout_types():
    code, body = code_and_key(validate_message, {"content": "x", "components": [text()]})
    assert code == 50035 and "UNION_TYPE_CHOICES" in body


def test_edits_respect_the_flag_the_message_already_has():
    # An edit of a V2 message may not bring content back, nor drop the flag.
    code, _ = code_and_key(validate_message, {"content": "again"}, edit=True,
                           current_flags=V2)
    assert code == 50035
    code, body = code_and_key(validate_message, {"flags": 0, "components": [text()]},
                              edit=True, current_flags=V2)
    assert "CANNOT_REMOVE" in body
    # Turning a plain message into V2 must clear its content and embeds in the same edit.
    code, _ = code_and_key(validate_message, {"flags": V2, "components": [text()]},
                           edit=True, current_text=True)
    assert code == 50035
    validate_message({"flags": V2, "content": None, "embeds": [], "components": [text()]},
                     edit=True, current_text=True)
    validate_message({"flags": V2, "components": [text("changed")]}, edit=True,
                     current_flags=V2)


def _fullest_card() -> QueueCard:
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    hold = Hold(
        id=987654321, guild_id=1, channel_id=2, parent_id=3, message_id=4,
        member_id=1_457_659_890_892_800_000, kind="forum_post", content="w" * 4000,
        forum_title="t" * 100, forum_tag_ids=(), reply_to_url=None,
        links=tuple(HeldLink(f"l{i}", f"https://{'x' * 200}{i}.com/" + "p" * 300, "x.com")
                    for i in range(30)),
        dup_key="k", repeat_count=9, step="queued", removal="failed", member_told="dm+channel",
        status="rejected", queue_channel_id=5, queue_message_id=6, decided_by=7,
        decided_at=now, decision="ban", reason=None, repost_url=None, reminded_at=None,
        created_at=now, purged_at=None)
    files = tuple(HeldAttachment(i, hold.id, i, f"{'n' * 200}{i}.png", "image/png", 10,
                                 b"img", None) for i in range(12)) + tuple(
        HeldAttachment(20 + i, hold.id, 20 + i, f"{'d' * 200}{i}.pdf", "application/pdf",
                       10 ** 9, None, "too large") for i in range(10))
    return QueueCard(hold=hold, history={"approved": 5, "rejected": 7, "pending": 1},
                     files=files, active=False)


def test_the_fullest_queue_card_is_a_valid_v2_message():
    card = _fullest_card()
    view = card_layout(card, joined_at=card.hold.created_at)
    assert view.has_components_v2()
    payload = {"flags": V2, "components": view.to_components()}
    validate_message(payload, file_count=len(preview_files(card)))
    assert len(previewed(card)) == 10  # the gallery's limit; the rest are named
    validate_v2_layout(forgotten_layout(card.hold).to_components())


def test_a_gallery_may_only_show_the_messages_own_files():
    layout = {"flags": V2, "components": [gallery(2)]}
    validate_message(layout, file_count=2, attachment_names={"p0.png", "p1.png"})
    code, body = code_and_key(validate_message, layout, file_count=1,
                              attachment_names={"p0.png"})
    assert code == 50035 and "ATTACHMENT_NOT_FOUND" in body
    # An edit that drops the files can't keep showing them.
    code, _ = code_and_key(validate_message, {**layout, "attachments": []}, edit=True,
                           current_flags=V2, attachment_names=set())
    assert code == 50035
