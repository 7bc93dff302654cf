"""The README's invite link asks for exactly the permissions in bot.permissions' table."""

import re
from pathlib import Path

from bot.permissions import PERMISSIONS, required_permissions

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_the_invite_link_asks_for_the_permission_table():
    [value] = set(re.findall(r"permissions=(\d+)", README))
    assert int(value) == required_permissions().value


def test_the_readme_lists_every_permission_with_its_reason():
    for permission in PERMISSIONS:
        assert f"| {permission.label} | {permission.where} | {permission.why} |" in README
