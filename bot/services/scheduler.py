"""A persistent scheduler: reminders live in the database and survive restarts.

How it waits: one loop asks the database for the earliest pending due time (one probe of a
partial index) and sleeps on the clock until then, or until `schedule()` adds something
sooner. Due items are claimed in small batches (`status = 'running'`), so memory stays the
same whether 1,000 or 1,000,000 reminders wait. Each claimed item runs its kind's handler in
a background task, at most `max_in_flight` at a time.

Delivery states (``reminders.status``)::

    pending -> running -> sending -> sent | stood_down | cancelled | failed
                  \\________\\____ transient error (429/5xx/network) -> pending (backoff)

Duplicate bound (a crash between sending and recording). A handler calls
`Delivery.sending()` right before its Discord call; that commits ``status = 'sending'`` and
``sends = sends + 1`` first. After a crash, `start()` turns 'sending' rows back into pending
ones with ``maybe_sent = 1``, and their handler first looks for its own message in the
channel's recent history (`Delivery.maybe_sent`); if it is there the reminder is recorded as
sent without posting again. The same happens after a transient error during a send (Discord
may have created the message before failing). So a reminder is posted twice only when its
message was sent but cannot be seen in history when we look; and never more than
`MAX_SENDS` times in total: once ``sends`` reaches `MAX_SENDS`, `sending()` refuses and the
item is marked failed ("may_have_sent") for moderators to check. That is at most
``MAX_SENDS - 1`` (= 2) duplicates per reminder, whatever happens. (Follow-up handlers also
send with a fixed per-reminder nonce, which Discord enforces for a few minutes: a retry soon
after a lost answer gets the first message back instead of a second one.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import discord

from bot.clock import Clock
from bot.db.followups import (
    CANCELLED,
    FAILED,
    SENT,
    STOOD_DOWN,
    NewReminder,
    Reminder,
    ReminderRepository,
)
from bot.domain.followups import is_late, lateness, retry_delay
from bot.tasks import BackgroundTasks

log = logging.getLogger(__name__)

MAX_SENDS = 3
MAX_ATTEMPTS = 8


class DeliveryFailed(Exception):
    """The reminder can't be delivered (and retrying won't help); `reason` is recorded."""

    def __init__(self, reason: str, *, notify: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.notify = notify


class RetryLater(Exception):
    """A transient problem: try the reminder again after a backoff."""


@dataclass(frozen=True, slots=True)
class Done:
    """How a handler finished: a final status, why, and the message it posted."""

    status: str
    reason: str | None = None
    message_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def sent(cls, message_id: int | None, **details: Any) -> Done:
        """Delivered (or found already delivered)."""
        return cls(SENT, None, message_id, details)

    @classmethod
    def stood_down(cls, reason: str, **details: Any) -> Done:
        """Not sent, on purpose (answered, opted out, ...)."""
        return cls(STOOD_DOWN, reason, None, details)

    @classmethod
    def closed(cls, reason: str, **details: Any) -> Done:
        """Not sent because the person or place is gone."""
        return cls(CANCELLED, reason, None, details)


@dataclass(frozen=True, slots=True)
class Finished:
    """What `on_finished` hears about: the reminder, how it ended, how late it fired."""

    reminder: Reminder
    done: Done
    late: bool
    lateness: timedelta


class Delivery:
    """One run of a handler: the claimed reminder, its lateness, and the 'sending' mark."""

    def __init__(self, scheduler: Scheduler, reminder: Reminder, started: datetime) -> None:
        self.reminder = reminder
        self.started = started
        self.lateness = lateness(reminder.due_at, started)
        self.late = is_late(reminder.due_at, started)
        self.sends_started = 0
        self._scheduler = scheduler

    @property
    def maybe_sent(self) -> bool:
        """An earlier attempt may have posted: look for our message before sending."""
        return self.reminder.maybe_sent

    async def sending(self) -> None:
        """Record that a send starts now (before the Discord call); refuse past MAX_SENDS."""
        if self.reminder.sends + self.sends_started >= MAX_SENDS:
            raise DeliveryFailed("may_have_sent")
        marked = await asyncio.shield(self._scheduler.repository.mark_sending(
            self.reminder.id, self._scheduler.clock.now()
        ))
        if not marked:
            raise DeliveryFailed("state_changed", notify=False)
        self.sends_started += 1


Handler = Callable[[Delivery], Awaitable[Done]]
FinishedListener = Callable[[Finished], Awaitable[None]]


def is_transient(error: BaseException) -> bool:
    """429, 5xx and network trouble: worth trying again later."""
    if isinstance(error, RetryLater | aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return True
    if isinstance(error, discord.HTTPException):
        return error.status == 429 or error.status >= 500
    return False


class Scheduler:
    """Runs due reminders through per-kind handlers; see the module docstring."""

    def __init__(
        self,
        repository: ReminderRepository,
        clock: Clock,
        tasks: BackgroundTasks,
        *,
        batch_size: int = 50,
        max_in_flight: int = 10,
        max_per_second: float | None = None,
    ) -> None:
        self.repository = repository
        self.clock = clock
        self._tasks = tasks
        self._batch_size = batch_size
        self._max_in_flight = max_in_flight
        self._handlers: dict[str, Handler] = {}
        self._listeners: list[FinishedListener] = []
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._loop_task: asyncio.Task[Any] | None = None
        self._sleeping_until: datetime | None = None
        self._idle = asyncio.Event()
        self._stopping = False
        # Deliveries talk to Discord, whose global limit is ~50 requests/s; starting them at a
        # steady pace avoids bursts of 429s (discord.py gives up after five in a row).
        self._interval = 1.0 / max_per_second if max_per_second else 0.0
        self._next_start = 0.0

    def register(self, kind: str, handler: Handler) -> None:
        """Deliver reminders of `kind` with `handler`."""
        self._handlers[kind] = handler

    def on_finished(self, listener: FinishedListener) -> None:
        """Call `listener` after each reminder reaches a final state (audit, mod log)."""
        self._listeners.append(listener)

    @property
    def running(self) -> bool:
        """True while the loop runs."""
        return self._loop_task is not None and not self._loop_task.done()

    async def start(self) -> None:
        """Recover items a crash left half-done, then start the loop."""
        if self.running:
            return
        running, sending = await self.repository.recover(self.clock.now())
        if running or sending:
            log.info("scheduler recovered %d claimed and %d possibly sent reminder(s)",
                     running, sending)
        self._loop_task = self._tasks.spawn(self._run(), name="scheduler", daemon=True)

    async def stop(self) -> None:
        """Let the loop finish its current step and stop, then wait for in-flight deliveries."""
        if self._loop_task is not None:
            self._stopping = True
            self._wake.set()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
            self._stopping = False
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def abort(self) -> None:
        """Hard stop: cancel the loop and in-flight deliveries; `start()` recovers their rows."""
        tasks = [t for t in (self._loop_task, *self._in_flight) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop_task = None

    async def schedule(self, new: NewReminder) -> Reminder:
        """Persist a reminder and wake the loop if it is due sooner than what it waits for."""
        reminder = await self.repository.add(new, self.clock.now())
        self.notify_due(reminder.due_at)
        return reminder

    async def schedule_many(self, items: Iterable[NewReminder]) -> None:
        """Persist many reminders in one transaction, then wake the loop."""
        await self.repository.add_many(items, self.clock.now())
        self._wake.set()

    def notify_due(self, due_at: datetime) -> None:
        """Wake the loop early if `due_at` is sooner than its current sleep."""
        if self._sleeping_until is None or due_at < self._sleeping_until:
            self._wake.set()

    async def wait_idle(self) -> None:
        """Wait until nothing is due and no delivery is running (tests and the demo)."""
        while True:
            self._idle.clear()
            if self.idle:
                return
            await self._idle.wait()

    @property
    def idle(self) -> bool:
        """Running, asleep until a future moment, nothing in flight and nothing to wake for."""
        return (
            self.running
            and not self._in_flight
            and not self._wake.is_set()
            and self._sleeping_until is not None
            and self._sleeping_until > self.clock.now()
        )

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            while len(self._in_flight) >= self._max_in_flight:
                await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
            now = self.clock.now()
            capacity = self._max_in_flight - len(self._in_flight)
            try:
                # Shielded: a cancellation (shutdown) must not cut a transaction in half.
                batch = await asyncio.shield(
                    self.repository.claim_due(now, min(self._batch_size, capacity)))
            except Exception:
                log.exception("scheduler could not read due reminders; retrying in 30 s")
                await self._sleep(now + timedelta(seconds=30))
                continue
            if self._stopping:
                break  # claimed rows stay 'running'; start() puts them back
            if batch:
                for reminder in batch:
                    await self._pace()
                    self._start(reminder, now)
                continue
            next_due = await self.repository.next_due_at()
            if next_due is not None and next_due <= self.clock.now():
                continue
            await self._sleep(next_due)

    async def _sleep(self, until: datetime | None) -> None:
        """Sleep until `until` (forever if None), or until woken by new work."""
        self._sleeping_until = until or datetime.max.replace(tzinfo=self.clock.now().tzinfo)
        if not self._in_flight:
            self._idle.set()
        waiters: list[asyncio.Task[Any]] = [
            asyncio.ensure_future(self._wake.wait())
        ]
        if until is not None:
            waiters.append(asyncio.ensure_future(self.clock.sleep_until(until)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
            self._sleeping_until = None

    async def _pace(self) -> None:
        """Wait (in real time: Discord's limits are real) so starts keep `max_per_second`."""
        if not self._interval:
            return
        loop = asyncio.get_running_loop()
        wait = self._next_start - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self._next_start = max(loop.time(), self._next_start) + self._interval

    def _start(self, reminder: Reminder, now: datetime) -> None:
        task = self._tasks.spawn(self._deliver(reminder, now), name=f"reminder-{reminder.id}")
        if task is None:
            return
        self._in_flight.add(task)
        task.add_done_callback(self._delivered)

    def _delivered(self, task: asyncio.Task[Any]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def _deliver(self, reminder: Reminder, started: datetime) -> None:
        delivery = Delivery(self, reminder, started)
        handler = self._handlers.get(reminder.kind)
        try:
            if handler is None:
                raise DeliveryFailed(f"no handler for {reminder.kind!r}")
            done = await handler(delivery)
        except DeliveryFailed as exc:
            done = Done(FAILED, exc.reason, None, {"notify": exc.notify})
        except asyncio.CancelledError:
            # Shutdown mid-delivery: leave the row as is; start() recovers it next time.
            raise
        except Exception as exc:
            if is_transient(exc) and reminder.attempts < MAX_ATTEMPTS:
                await self._retry(delivery, exc)
                return
            if is_transient(exc):
                done = Done(FAILED, "gave_up_after_retries")
            elif isinstance(exc, discord.Forbidden):
                done = Done(FAILED, "no_access")
            elif isinstance(exc, discord.NotFound):
                done = Done(FAILED, "not_found")
            else:
                log.exception("reminder %s (%s) failed unexpectedly", reminder.id, reminder.kind)
                if reminder.attempts < MAX_ATTEMPTS:
                    await self._retry(delivery, exc)
                    return
                done = Done(FAILED, "error")
        await self._finish(delivery, done)

    async def _retry(self, delivery: Delivery, error: BaseException) -> None:
        reminder = delivery.reminder
        now = self.clock.now()
        due = now + retry_delay(reminder.attempts)
        log.warning("reminder %s: transient failure (%s); retry %d at %s", reminder.id,
                    type(error).__name__, reminder.attempts, due.isoformat())
        await asyncio.shield(self.repository.retry(reminder.id, due, now,
                                                   maybe_sent=delivery.sends_started > 0))
        self.notify_due(due)

    async def _finish(self, delivery: Delivery, done: Done) -> None:
        reminder = delivery.reminder
        recorded = await asyncio.shield(self.repository.finish(
            reminder.id, done.status, self.clock.now(), reason=done.reason,
            message_id=done.message_id,
        ))
        if not recorded:
            return
        log.info("reminder %s (%s) %s%s", reminder.id, reminder.kind, done.status,
                 f" ({done.reason})" if done.reason else "")
        finished = Finished(reminder, done, delivery.late, delivery.lateness)
        for listener in self._listeners:
            try:
                await listener(finished)
            except Exception:
                log.exception("reminder listener failed for reminder %s", reminder.id)
