"""Guard mutants: remove or weaken each guard and check that a test fails (`./dev mutants`).

Mutation testing aimed where a silent hole hurts most: who may do what (moderator and admin
checks, re-checks when a form is submitted) and guild scoping (an id from another server must
find nothing). Each mutant replaces one exact snippet of guard code with a weakened one; the
named tests run against the mutated tree in a scratch copy; a mutant that leaves them green
*survived*: a guard that no test guards. A generic tool (mutmut) mutates every line of a file
and would spend its time on code that is not a guard; this list names the guards instead, and
`--check` verifies each snippet still exists, so a refactor that moves a guard fails loudly
rather than dropping it from the run.

Run:  uv run python -m tools.mutants            (every mutant; a few minutes on 2 cores)
      uv run python -m tools.mutants -k hold    (names containing "hold")
      uv run python -m tools.mutants --check    (only check that every snippet is found)
Exit 0 when every mutant was killed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    """One weakened guard: in `path`, `find` (exactly once) becomes `replace`."""

    name: str
    path: str
    find: str
    replace: str
    tests: tuple[str, ...]


PERMISSIONS = ("tests/features/test_permissions_everywhere.py",)

MUTANTS: tuple[Mutant, ...] = (
    Mutant("moderator check skipped", "bot/permissions.py",
           "    if not is_moderator(user, core):\n        raise NotModerator",
           "    if False:\n        raise NotModerator", PERMISSIONS),
    Mutant("moderator check reads the channel's permissions", "bot/permissions.py",
           "    if not is_moderator(user, core):\n        raise NotModerator",
           "    if not is_moderator(user, core, interaction.permissions):\n"
           "        raise NotModerator", PERMISSIONS),
    Mutant("admin check skipped", "bot/permissions.py",
           "    if not is_admin(user):\n        raise NotAdmin",
           "    if False:\n        raise NotAdmin", PERMISSIONS),
    Mutant("held post found by id from any server", "bot/services/linkhold_review.py",
           "if hold is None or hold.guild_id != guild_id:", "if hold is None:",
           ("tests/services/test_linkhold_service.py",)),
    Mutant("Edit & approve form not re-checked on submit", "bot/ui/linkhold.py",
           '"""Check the moderator again, then approve the edited text."""\n'
           "        moderator = checked_moderator(interaction)",
           '"""Check the moderator again, then approve the edited text."""\n'
           "        moderator = interaction.user  # type: ignore[assignment]",
           ("tests/features/test_linkhold_sandbox.py",)),
    Mutant("Reject form not re-checked on submit", "bot/ui/linkhold.py",
           '"""Check the moderator again, then reject."""\n'
           "        moderator = checked_moderator(interaction)",
           '"""Check the moderator again, then reject."""\n'
           "        moderator = interaction.user  # type: ignore[assignment]",
           ("tests/features/test_linkhold_sandbox.py",)),
    Mutant("Repost form not re-checked on submit", "bot/ui/repost.py",
           "        moderator = require_moderator(\n"
           "            interaction, self.bot.guild_settings.get(interaction.guild_id).core)",
           "        moderator = interaction.user  # type: ignore[assignment]",
           PERMISSIONS),
    Mutant("reminder found by id from any server", "bot/services/followups.py",
           "if reminder is None or reminder.guild_id != guild_id or reminder.kind not in "
           "VISIBLE_KINDS:",
           "if reminder is None or reminder.kind not in VISIBLE_KINDS:",
           ("tests/services/test_followups_service.py",)),
    Mutant("reminder cancel not scoped to the server", "bot/db/reminders.py",
           '            sql += " AND guild_id = ?"\n            params.append(guild_id)',
           '            pass',
           ("tests/services/test_followups_service.py", "tests/db")),
    Mutant("stop button finds a reminder from any server", "bot/services/followups.py",
           '        if reminder is None or reminder.guild_id != guild_id:\n'
           '            raise NotFound(tr("I couldn\'t find that reminder any more."))',
           '        if reminder is None:\n'
           '            raise NotFound(tr("I couldn\'t find that reminder any more."))',
           ("tests/services/test_followups_service.py",)),
    Mutant("follow-up subscription from any server", "bot/services/followups.py",
           "        if followup is None or followup.guild_id != guild_id:\n"
           '            raise NotFound(tr("I couldn\'t find that follow-up any more."))',
           "        if followup is None:\n"
           '            raise NotFound(tr("I couldn\'t find that follow-up any more."))',
           ("tests/services/test_followups_service.py",)),

    Mutant("moderator may post where they can't themselves", "bot/permissions.py",
           "    if not may_post_in(member, place):\n"
           "        raise NotAllowedThere(message.format(channel=channel_id))",
           "    if False:\n"
           "        raise NotAllowedThere(message.format(channel=channel_id))",
           ("tests/features/test_repost_sandbox.py", "tests/features/test_followups_sandbox.py",
            "tests/features/test_linkhold_sandbox.py")),
    Mutant("Timeout/Ban ignore the moderator's place in the role order", "bot/domain/authority.py",
           "if not standing.moderator_is_owner and standing.moderator_top <= standing.target_top:",
           "if False:",
           ("tests/domain/test_authority_domain.py", "tests/services/test_linkhold_service.py")),
    Mutant("the server owner can be timed out or banned", "bot/domain/authority.py",
           "    if standing.target_is_owner:\n        return Refusal(",
           "    if False:\n        return Refusal(",
           ("tests/domain/test_authority_domain.py",)),
    Mutant("forget allowed to non-admins", "cogs/core/_privacy.py",
           "        if interaction.guild is None or not isinstance(user, discord.Member) or \\\n"
           "                not is_admin(user):",
           "        if interaction.guild is None or not isinstance(user, discord.Member):",
           ("tests/features/test_privacy_sandbox.py", *PERMISSIONS)),
)


def locate(mutant: Mutant, root: Path = ROOT) -> str:
    """The file's text, after checking the snippet occurs exactly once."""
    text = (root / mutant.path).read_text(encoding="utf-8")
    count = text.count(mutant.find)
    if count != 1:
        raise SystemExit(f"mutant {mutant.name!r}: snippet found {count} times in {mutant.path}"
                         " (the guard moved: update tools/mutants.py)")
    return text


def scratch_copy() -> Path:
    """The tracked tree (as it is in the working copy) in a temporary folder."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    target = Path(tempfile.mkdtemp(prefix="steward-mutants-"))
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def killed(copy: Path, mutant: Mutant) -> tuple[bool, float]:
    original = locate(mutant, copy)
    (copy / mutant.path).write_text(original.replace(mutant.find, mutant.replace),
                                    encoding="utf-8")
    started = time.perf_counter()
    try:
        env = {**os.environ, "PYTHONPATH": str(copy)}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
             *mutant.tests], cwd=copy, env=env, capture_output=True)
    finally:
        (copy / mutant.path).write_text(original, encoding="utf-8")
    return result.returncode != 0, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only mutants whose name contains this")
    parser.add_argument("--check", action="store_true", help="only check the snippets")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if args.k.lower() in m.name.lower()]
    for mutant in chosen:
        locate(mutant)
    if args.check:
        print(f"{len(chosen)} guard snippets found")
        return 0
    copy = scratch_copy()
    survived = []
    try:
        for mutant in chosen:
            dead, seconds = killed(copy, mutant)
            print(f"{'killed  ' if dead else 'SURVIVED'} {seconds:6.1f} s  {mutant.name}",
                  flush=True)
            if not dead:
                survived.append(mutant.name)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    print(f"\n{len(chosen) - len(survived)} killed, {len(survived)} survived")
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())
