"""Discord's hierarchy for Timeout and Ban, as a pure rule."""

from __future__ import annotations

import pytest

from bot.domain.authority import (
    Standing,
    group_role_refusal,
    may_punish,
    power_role_refusal,
    role_powers,
)


def standing(**overrides: object) -> Standing:
    base: dict[str, object] = {"moderator_top": 5, "moderator_is_owner": False,
                               "target_top": 2, "target_is_owner": False, "steward_top": 9}
    base.update(overrides)
    return Standing(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", ["timeout", "ban"])
def test_a_moderator_above_the_target_with_steward_above_too_may(action):
    assert may_punish(action, standing()) is None


def test_the_owner_is_immune_even_to_the_highest():
    refusal = may_punish("ban", standing(target_is_owner=True, moderator_top=99,
                                         moderator_is_owner=False, target_top=1))
    assert refusal is not None and refusal.blocked_by == "owner"
    assert "owner" in refusal.message


@pytest.mark.parametrize("target_top", [5, 6])
def test_a_target_at_or_above_the_moderator_is_refused(target_top):
    refusal = may_punish("timeout", standing(target_top=target_top))
    assert refusal is not None and refusal.blocked_by == "moderator"
    assert "time out" in refusal.message and "above yours" in refusal.message


def test_the_owner_as_moderator_outranks_everyone_but_steward_still_must():
    assert may_punish("ban", standing(moderator_is_owner=True, moderator_top=0,
                                      target_top=4)) is None
    refusal = may_punish("ban", standing(moderator_is_owner=True, target_top=9,
                                         steward_top=9))
    assert refusal is not None and refusal.blocked_by == "steward"
    assert "ban" in refusal.message and "above mine" in refusal.message


def test_steward_below_the_target_is_explained():
    refusal = may_punish("timeout", standing(moderator_top=20, target_top=10, steward_top=8))
    assert refusal is not None and refusal.blocked_by == "steward"
    assert "Server Settings" in refusal.message


def test_someone_who_left_has_no_rank_and_may_be_banned_by_id():
    assert may_punish("ban", standing(target_top=None)) is None


def test_a_role_with_steward_powers_is_refused_as_a_group_role():
    assert group_role_refusal(7, moderator_roles=[1], exempt_roles=[2]) is None
    refusal = group_role_refusal(1, moderator_roles=[1], exempt_roles=[1])
    assert refusal is not None
    assert "a moderator role and exempt from link holds" in refusal
    assert role_powers(2, moderator_roles=[], exempt_roles=[2]) == ["exempt from link holds"]


def test_a_group_role_is_refused_as_a_power_role_naming_its_groups():
    groups = [("Grief and Loss", 5), ("Caregivers", None), ("Bereaved parents", 5)]
    assert power_role_refusal(6, groups) is None
    refusal = power_role_refusal(5, groups)
    assert refusal is not None and "Grief and Loss, Bereaved parents" in refusal
