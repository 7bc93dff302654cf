"""Crash points for the crash-safety tests: ``STEWARD_FAILPOINTS=name[,name]`` kills the process.

At a named point the process sends itself SIGKILL, as a power cut or ``kill -9`` would: no
cleanup, no ``finally``, no flushing beyond what SQLite already committed. The variables are read
once at import; unset (as in production) every point is a set lookup that is always false.

Points (each is where a crash would hurt most), and what a restart makes of it
(tests/features/test_crash_matrix.py):
- ``hold.stored``: a held post is stored, not yet removed from the channel: startup removes it,
  tells the member once and queues it once;
- ``hold.removed``: removed, the member not yet told: the same, told and queued once;
- ``hold.approving``: an approval is claimed, nothing published yet: set back to pending,
  published once when approved again;
- ``repost.part_sent``: a part was posted on Discord, its message id not yet recorded: found in
  history, not posted again;
- ``scheduler.sent``: a reminder was delivered, the delivery not yet recorded: found in recent
  history, not sent again;
- ``migrate.applying``: a migration's statements ran, its transaction not yet committed: the
  migration left no trace, the next ``steward migrate`` applies it (and the rest) once. With
  ``STEWARD_FAILPOINT_MIGRATION=N`` it fires only in migration N (unset: the first one that runs);
- ``welcome.claimed``: a welcome is claimed (recorded as sent), not sent yet: that one welcome is
  lost, never sent twice (the documented bound; moderators can ``/welcome resend``).
"""

from __future__ import annotations

import os
import signal

ACTIVE = frozenset(p for p in os.environ.get("STEWARD_FAILPOINTS", "").split(",") if p)
MIGRATION = int(os.environ.get("STEWARD_FAILPOINT_MIGRATION") or 0)


def hit(name: str) -> None:
    """Die here, at once, if `name` is an active failpoint."""
    if name in ACTIVE:
        os.kill(os.getpid(), signal.SIGKILL)


def hit_migration(version: int) -> None:
    """``migrate.applying`` inside migration `version` (any, unless one is chosen)."""
    if MIGRATION in (0, version):
        hit("migrate.applying")
