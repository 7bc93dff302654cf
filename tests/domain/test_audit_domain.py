"""The mod log's words: titles, the "who" line, details in plain words, and routing."""

from datetime import UTC, datetime

from bot.domain.audit import (
    DEFAULT_MOD_LOG_EVENTS,
    EVENT_FAMILIES,
    actor_line,
    detail_lines,
    family_of,
    goes_to_mod_log,
    title_of,
)


def test_known_actions_have_human_titles_and_unknown_ones_read_as_words():
    assert title_of("hold.held") == "Link held"
    assert title_of("hold.approved") == "Post approved"
    assert title_of("care.quiet_added") == "Member marked do-not-tag"
    assert title_of("linkhold.something_new") == "Linkhold something new"
    assert title_of("") == "Event"


def test_the_who_line_names_the_person_with_the_actions_verb():
    assert actor_line("hold.approved", "<@5>") == "Approved by <@5>"
    assert actor_line("made.up", "<@5>") == "By <@5>"
    assert actor_line("hold.held", None) is None


def test_details_have_labels_and_values_in_words_not_codes():
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    lines = detail_lines({
        "hold": 12, "removed": "removed", "edited": False, "member_told": None,
        "queue": "https://discord.com/channels/1/2/3", "due": when.isoformat(),
        "mode": "webhook", "cancelled": [4, 5], "trusted": True, "note": "",
    })
    assert lines == [
        "**Held post:** #12", "**Post removed:** yes",
        "**Queue card:** [Open the card](https://discord.com/channels/1/2/3)",
        f"**Due:** <t:{int(when.timestamp())}:f>", "**Posted:** in the member's name",
        "**Reminders cancelled:** #4, #5", "**Trusted:** yes",
    ]
    assert detail_lines({"edited": True, "removed": "failed"}) == [
        "**Edited before approval:** yes", "**Post removed:** no: I couldn't remove it"]
    assert detail_lines({"due": "not a date"}) == ["**Due:** not a date"]
    assert detail_lines({"core.mod_log_channel": "None → 55", "care.enabled": "True → False"}
                        ) == ["**`core.mod_log_channel`:** not set → <#55>",
                              "**`care.enabled`:** on → off"]
    assert detail_lines({"source": "hold:4", "kind": "autocheck"}) == [
        "**From:** held post #4", "**Kind:** automatic check-in"]


def test_routing_welcomes_off_by_default_and_problems_always_go():
    assert "welcome" in EVENT_FAMILIES and "welcome" not in DEFAULT_MOD_LOG_EVENTS
    assert family_of("reminder.fired") == "followups" and family_of("member.ban") == "linkhold"
    assert family_of("template.fallback") is None
    assert not goes_to_mod_log("welcome.resent", DEFAULT_MOD_LOG_EVENTS)
    assert goes_to_mod_log("welcome.failed", DEFAULT_MOD_LOG_EVENTS)
    assert goes_to_mod_log("welcome.resent", ["welcome"])
    assert not goes_to_mod_log("hold.approved", [])
    assert goes_to_mod_log("hold.remove_failed", [])
    assert goes_to_mod_log("template.fallback", [])
