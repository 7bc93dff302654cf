"""Privacy: one place that forgets a member everywhere and purges stored content on schedule.

Every feature that stores something about members registers, in its cog `setup()`:

    privacy = bot.services.privacy
    privacy.register("linkhold", forget=repo.forget_member, purge=repo.purge_expired)

`forget(guild_id, user_id) -> int` deletes every row about that member in that guild and
returns how many it removed; `purge(now) -> int` deletes content past its retention and
returns how many rows it removed. Opt-outs that must outlive a forget are kept with
`remember_opt_out()`, which stores only a keyed HMAC of the member.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import Clock
from bot.db.database import Database
from bot.db.privacy import FEATURE_TABLES, PersonalData, PrivacyRepository
from bot.domain.privacy import pseudonym_id, pseudonym_label, user_hmac

log = logging.getLogger(__name__)

Forgetter = Callable[[int, int], Awaitable[int]]
Purger = Callable[[datetime], Awaitable[int]]
OptOuts = Callable[[int, int], Awaitable[list[str]]]

AUDIT = "audit"
FOLLOWUP_PINGS = "followups.pings"  # the member turned follow-up pings off
KEY_BYTES = 32
DEFAULT_PURGE_INTERVAL = timedelta(hours=6)


def key_path(database_path: str | Path) -> Path | None:
    """Where the installation key lives: next to the database (None for in-memory ones)."""
    if str(database_path) == ":memory:":
        return None
    path = Path(database_path)
    return path.with_name(path.name + ".key")


def load_or_create_key(database_path: str | Path, *, key_file: Path | None = None) -> bytes:
    """The installation's HMAC key, generated (0600) on first use.

    It is kept outside the database on purpose: a leaked database or backup alone can't be
    used to test which member ids opted out. Back it up together with the database.
    """
    path = key_file or key_path(database_path)
    if path is None:
        return secrets.token_bytes(KEY_BYTES)
    if path.exists():
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(key) < 16:
            raise ValueError(f"{path} does not hold a valid Steward key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    # Written aside and linked into place: a process starting at the same moment sees no
    # key or a whole one, and the first link wins (the other reads the winner's key).
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        return load_or_create_key(database_path, key_file=key_file)
    finally:
        draft.unlink()
    log.info("created the installation key at %s", path)
    return key


@dataclass(frozen=True, slots=True)
class Registration:
    """A feature's forget and purge functions."""

    name: str
    forget: Forgetter
    purge: Purger | None = None


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What a forget request removed, per feature, and which features failed."""

    guild_id: int
    removed: dict[str, int] = field(default_factory=dict)
    failed: tuple[str, ...] = ()
    pseudonym: str = ""  # what now stands for them where they acted as a moderator

    @property
    def total(self) -> int:
        """Rows removed or anonymized in all."""
        return sum(self.removed.values())


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a retention run removed, per feature."""

    removed: dict[str, int] = field(default_factory=dict)
    failed: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """Rows removed in all."""
        return sum(self.removed.values())


class PrivacyService:
    """Registry of forgetters and purgers, the retention job, and hashed opt-outs."""

    def __init__(self, db: Database, clock: Clock, key: bytes) -> None:
        self._db = db
        self._clock = clock
        self._key = key
        self._repository = PrivacyRepository(db)
        self._registrations: dict[str, Registration] = {}

    def register(self, name: str, forget: Forgetter, purge: Purger | None = None) -> None:
        """Add (or replace, on extension reload) a feature's forget/purge functions."""
        if name == AUDIT:
            raise ValueError(f"{AUDIT!r} is built in")
        self._registrations[name] = Registration(name, forget, purge)

    def register_tables(self, name: str, *, purge: Purger | None = None,
                        opt_outs: OptOuts | None = None,
                        before: Callable[[int, int], Awaitable[object]] | None = None) -> None:
        """Register forgetting over the feature's tables in `bot.db.privacy.FEATURE_TABLES`.

        `opt_outs(guild_id, user_id)` names the scopes the person opted out of; they are kept
        (hashed) before the rows go. `before(guild_id, user_id)` lets the feature drop what
        it holds in memory first.
        """
        data = PersonalData(self._db, FEATURE_TABLES[name])

        async def forget(guild_id: int, user_id: int) -> int:
            if before is not None:
                await before(guild_id, user_id)
            if opt_outs is not None:
                for scope in await opt_outs(guild_id, user_id):
                    await self.remember_opt_out(guild_id, user_id, scope)
            return await data.forget(guild_id, user_id, self.pseudonym(guild_id, user_id))

        self.register(name, forget, purge)

    async def followup_opt_outs(self, guild_id: int, user_id: int) -> list[str]:
        """The follow-up opt-outs to keep for a person being forgotten."""
        data = PersonalData(self._db, ())
        return [FOLLOWUP_PINGS] if await data.followup_pings_off(guild_id, user_id) else []

    @property
    def registered(self) -> list[str]:
        """Names of the registered features, in registration order."""
        return list(self._registrations)

    def user_hmac(self, guild_id: int, user_id: int) -> str:
        """The keyed hash that stands for a member in opt-outs."""
        return user_hmac(self._key, guild_id, user_id)

    def pseudonym(self, guild_id: int, user_id: int) -> int:
        """The stable stand-in id that keeps a forgotten moderator's actions accountable."""
        return pseudonym_id(self._key, guild_id, user_id)

    async def remember_opt_out(self, guild_id: int, user_id: int, scope: str) -> None:
        """Keep an opt-out (e.g. "followups") as a hash; it survives forget()."""
        await self._repository.add_opt_out(
            guild_id, scope, self.user_hmac(guild_id, user_id), self._clock.now())

    async def withdraw_opt_out(self, guild_id: int, user_id: int, scope: str) -> bool:
        """The member opted back in; True when there was an opt-out."""
        return await self._repository.remove_opt_out(
            guild_id, scope, self.user_hmac(guild_id, user_id))

    async def has_opted_out(self, guild_id: int, user_id: int, scope: str) -> bool:
        """Whether the member opted out of `scope` (works after a forget too)."""
        return await self._repository.has_opt_out(
            guild_id, scope, self.user_hmac(guild_id, user_id))

    async def forget(self, guild_id: int, user_id: int) -> ForgetReport:
        """Delete everything stored about a member in a guild; anonymize the audit trail.

        Where they acted as a moderator a keyed pseudonym takes their place (not NULL), so
        what they did stays attributable to one person.

        Features run first (they may convert plain opt-outs to hashed ones), the audit trail
        last; a failing feature is reported, not hidden, and the others still run. The WAL is
        checkpointed so removed content leaves the files on disk.
        """
        removed: dict[str, int] = {}
        failed: list[str] = []
        for registration in list(self._registrations.values()):
            try:
                removed[registration.name] = await registration.forget(guild_id, user_id)
            except Exception:
                log.exception("forget failed in %s for a member of guild %s",
                              registration.name, guild_id)
                failed.append(registration.name)
        pseudonym = self.pseudonym(guild_id, user_id)
        removed[AUDIT] = await self._repository.anonymize_audit(guild_id, user_id, pseudonym)
        await self._db.checkpoint()
        log.info("forgot a member of guild %s: %d row(s), failed: %s",
                 guild_id, sum(removed.values()), ",".join(failed) or "none")
        return ForgetReport(guild_id, removed, tuple(failed), pseudonym_label(pseudonym))

    async def purge(self) -> PurgeReport:
        """Run every feature's purge for content past retention, then checkpoint the WAL."""
        now = self._clock.now()
        removed: dict[str, int] = {}
        failed: list[str] = []
        for registration in list(self._registrations.values()):
            if registration.purge is None:
                continue
            try:
                removed[registration.name] = await registration.purge(now)
            except Exception:
                log.exception("purge failed in %s", registration.name)
                failed.append(registration.name)
        await self._db.checkpoint()
        if any(removed.values()):
            log.info("retention purge removed %d row(s)", sum(removed.values()))
        return PurgeReport(removed, tuple(failed))

    async def run_retention(self, interval: timedelta = DEFAULT_PURGE_INTERVAL) -> None:
        """Purge now and then every `interval`, until cancelled."""
        due = self._clock.now()
        while True:
            try:
                await self.purge()
            except Exception:
                log.exception("retention purge failed; will retry")
            # A fixed schedule (no drift); after a long pause it runs once, not many times.
            due = max(due + interval, self._clock.now())
            await self._clock.sleep_until(due)
