"""Crash points for the crash-safety tests: ``STEWARD_FAILPOINTS=name[,name]`` kills the process.

At a named point the process sends itself SIGKILL, as a power cut or ``kill -9`` would: no
cleanup, no ``finally``, no flushing beyond what SQLite already committed. The variable is read
once at import; unset (as in production) every point is a set lookup that is always false.

Points (each is where a crash would hurt most):
- ``hold.stored``: a held post is stored, not yet removed from the channel;
- ``hold.removed``: removed, the member not yet told;
- ``hold.approving``: an approval is claimed, nothing published yet;
- ``repost.part_sent``: a part was posted on Discord, its message id not yet recorded;
- ``scheduler.sent``: a reminder was delivered, the delivery not yet recorded;
- ``migrate.applying``: a migration's statements ran, its transaction not yet committed.
"""

from __future__ import annotations

import os
import signal

ACTIVE = frozenset(p for p in os.environ.get("STEWARD_FAILPOINTS", "").split(",") if p)


def hit(name: str) -> None:
    """Die here, at once, if `name` is an active failpoint."""
    if name in ACTIVE:
        os.kill(os.getpid(), signal.SIGKILL)
