"""A persistent scheduler: reminders live in the database and survive restarts.

How it waits: one loop asks the database for the earliest pending due time (one probe of the
partial index ``reminders_pending_due``) and sleeps on the clock until then, or until
`schedule()` adds something sooner. Due items are claimed in batches of `batch_size`
(``status = 'running'``, one statement walking the head of that index) and handed to their
kind's handler, each in a background task, at most `max_in_flight` handlers at a time (and
no faster than `max_per_second` when set: Discord's limits). A handler's slot is free as soon
as it returns; its result is written separately.

Recording (group commit). Results go to an in-memory list that one writer task flushes in a
single transaction each time: whatever piled up while the previous flush ran, up to
`record_batch` rows, so a lone reminder is written at once and a burst in large batches.
Each row is updated only while it is still in the claim the result belongs to (``status``
running/sending and the same ``attempts``), so every state transition happens exactly once.
Once `max_unrecorded` results are unwritten (waiting or being written), no handler starts
until a flush lands (so at most ``max_unrecorded + max_in_flight - 1`` are ever unwritten).
Memory is therefore bounded by ``batch_size + max_in_flight + max_unrecorded`` items,
however many are pending. `on_finished` listeners hear about an item after its row is
committed. `stop()` (and shutdown, which waits for the writer) writes every result.

Delivery states (``reminders.status``)::

    pending -> running -> sending -> sent | stood_down | cancelled | failed
                  \\________\\____ transient error (429/5xx/network) -> pending (backoff)

Duplicate bound (a crash between sending and recording). A handler calls
`Delivery.sending()` right before its Discord call; that commits ``status = 'sending'`` and
``sends = sends + 1`` first (at once, never batched). After a crash, `start()` turns 'sending'
rows back into pending ones with ``maybe_sent = 1``, and their handler first looks for its
own message in the channel's recent history (`Delivery.maybe_sent`); if it is there the
reminder is recorded as sent without posting again. The same happens after a transient error
during a send (Discord may have created the message before failing). So a reminder is posted
twice only when its message was sent but cannot be seen in history when we look; and never
more than `MAX_SENDS` times in total: once ``sends`` reaches `MAX_SENDS`, `sending()` refuses
and the item is marked failed ("may_have_sent") for moderators to check. That is at most
``MAX_SENDS - 1`` (= 2) duplicates per reminder, whatever happens. (Follow-up handlers also
send with a fixed per-reminder nonce, which Discord enforces for a few minutes: a retry soon
after a lost answer gets the first message back instead of a second one.)

Batched recording leaves that bound as it is: the count it rests on (``sends``) is committed
before each send, never with the result. What batching changes is the window in which a
crash loses a result: from "until this result's own write lands" to "until the flush that
carries it lands" (the flush under way plus the next one: milliseconds under load; at most
``max_unrecorded + max_in_flight`` results). A result lost that way leaves its row
'sending' (a send was started: recovered with ``maybe_sent``, so the history check runs
before any new send, and any new send counts against `MAX_SENDS`) or 'running' (nothing was
sent: it simply runs again). A stale result that lands after recovery changes nothing, since
its claim (``attempts``) is gone; nor does a 'sending' mark from a stale run. Tested in
tests/services/test_scheduler.py and test_scheduler_recording.py (crashes after the send and
before the batched write, with and without a history that shows the message).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import failpoints
from bot.clock import Clock
from bot.db.reminders import (
    CANCELLED,
    FAILED,
    SENT,
    STOOD_DOWN,
    Completion,
    NewReminder,
    Reminder,
    ReminderRepository,
)
from bot.domain.followups import Postpone, is_late, lateness, retry_delay
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
            self.reminder.id, self._scheduler.clock.now(), attempts=self.reminder.attempts
        ))
        if not marked:
            raise DeliveryFailed("state_changed", notify=False)
        self.sends_started += 1


Handler = Callable[[Delivery], Awaitable[Done]]
FinishedListener = Callable[[Finished], Awaitable[None]]
# Turns an exception a handler let escape into RetryLater (429, 5xx, network), DeliveryFailed
# (no access, not found) or None (unexpected); the Discord one is bot.adapters.scheduler's.
ErrorClassifier = Callable[[BaseException], "RetryLater | DeliveryFailed | None"]


def is_transient(error: BaseException) -> bool:
    """Worth trying again later: RetryLater, timeouts and network (OS) errors."""
    return isinstance(error, RetryLater | asyncio.TimeoutError | OSError)


def classify_plain(error: BaseException) -> RetryLater | DeliveryFailed | None:
    """The default classifier: transient errors retry, anything else is unexpected."""
    return RetryLater(str(error)) if is_transient(error) else None


@dataclass(frozen=True, slots=True)
class _Result:
    """A handler's result waiting to be written."""

    delivery: Delivery
    done: Done
    fired_at: datetime


class Scheduler:
    """Runs due reminders through per-kind handlers; see the module docstring."""

    def __init__(
        self,
        repository: ReminderRepository,
        clock: Clock,
        tasks: BackgroundTasks,
        *,
        batch_size: int = 100,
        max_in_flight: int = 10,
        max_per_second: float | None = None,
        record_batch: int = 500,
        max_unrecorded: int = 1000,
        classify: ErrorClassifier = classify_plain,
    ) -> None:
        self.repository = repository
        self._classify = classify
        self.clock = clock
        self._tasks = tasks
        self._max_in_flight = max_in_flight
        # Paced, claim about a second's worth at a time: a claimed row can't be cancelled or
        # snoozed by a moderator (it is no longer pending) until its handler has run.
        self._batch_size = (batch_size if not max_per_second
                            else max(1, min(batch_size, max(max_in_flight,
                                                            int(max_per_second)))))
        self._record_batch = record_batch
        self._max_unrecorded = max_unrecorded
        self._handlers: dict[str, Handler] = {}
        self._listeners: list[FinishedListener] = []
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._loop_task: asyncio.Task[Any] | None = None
        self._writer: asyncio.Task[Any] | None = None
        self._writing = 0  # results taken by a flush under way
        self._unrecorded: list[_Result] = []
        self._sleeping_until: datetime | None = None
        self._idle = asyncio.Event()
        self._stopping = False
        # Discord's global limit is ~50 requests/s: a steady pace avoids bursts of 429s.
        self._interval = 1.0 / max_per_second if max_per_second else 0.0
        self._next_start = 0.0

    def register(self, kind: str, handler: Handler) -> None:
        """Deliver reminders of `kind` with `handler`."""
        self._handlers[kind] = handler

    def on_finished(self, listener: FinishedListener) -> None:
        """Call `listener` after each reminder's final state is committed (audit, mod log)."""
        self._listeners.append(listener)

    @property
    def running(self) -> bool:
        """True while the loop runs."""
        return self._loop_task is not None and not self._loop_task.done()

    @property
    def unrecorded(self) -> int:
        """Handler results not yet committed, waiting or being written (tests, diagnostics)."""
        return len(self._unrecorded) + self._writing

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
        """Stop claiming, wait for in-flight deliveries, write every result, and hand back
        claimed rows never started (sharded: another process needn't wait for the lease)."""
        if self._loop_task is not None:
            self._stopping = True
            self._wake.set()
            self._room.set()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
            self._stopping = False
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self.flush()
        await self.repository.release(self.clock.now())

    async def abort(self) -> None:
        """Hard stop, like a crash: cancel everything and drop unwritten results.

        `start()` recovers their rows ('running' ones run again; 'sending' ones look for
        their message first).
        """
        tasks = [t for t in (self._loop_task, self._writer, *self._in_flight) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop_task = None
        self._writer = None
        self._unrecorded.clear()

    async def flush(self) -> None:
        """Write every waiting result now (and wait for a flush already under way)."""
        if self._writer is not None and not self._writer.done():
            await asyncio.gather(self._writer, return_exceptions=True)
        await self._write()

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
        """Wait until nothing is due, running or unwritten (tests and the demo)."""
        while True:
            self._idle.clear()
            if self.idle:
                return
            await self._idle.wait()

    @property
    def idle(self) -> bool:
        """Running, asleep until a future moment, nothing in flight, every result written."""
        return (
            self.running
            and not self._in_flight
            and not self._unrecorded
            and not self._writing
            and not self._wake.is_set()
            and self._sleeping_until is not None
            and self._sleeping_until > self.clock.now()
        )

    # --- the loop: claim due items, start their handlers

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            now = self.clock.now()
            try:
                # Shielded: a cancellation (shutdown) must not cut a transaction in half.
                batch = await asyncio.shield(self.repository.claim_due(now, self._batch_size))
            except Exception:
                log.exception("scheduler could not read due reminders; retrying in 30 s")
                await self._sleep(now + timedelta(seconds=30))
                continue
            if batch:
                # Claimed rows not started (stop) stay 'running'; start() puts them back.
                for reminder in batch:
                    await self._wait_for_room()
                    if self._stopping:
                        break
                    await self._pace()
                    self._start(reminder)
                continue
            next_due = await self.repository.next_due_at()
            if next_due is not None and next_due <= self.clock.now():
                continue
            await self._sleep(next_due)

    async def _wait_for_room(self) -> None:
        """Until a handler slot is free and not too many results wait to be written."""
        while (len(self._in_flight) >= self._max_in_flight
               or self.unrecorded >= self._max_unrecorded) and not self._stopping:
            self._room.clear()
            await self._room.wait()

    async def _sleep(self, until: datetime | None) -> None:
        """Sleep until `until` (forever if None), or until woken by new work."""
        self._sleeping_until = until or datetime.max.replace(tzinfo=self.clock.now().tzinfo)
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

    def _start(self, reminder: Reminder) -> None:
        task = self._tasks.spawn(self._deliver(reminder, self.clock.now()),
                                 name=f"reminder-{reminder.id}")
        if task is None:
            return
        self._in_flight.add(task)
        task.add_done_callback(self._delivered)

    def _delivered(self, task: asyncio.Task[Any]) -> None:
        self._in_flight.discard(task)
        self._room.set()
        if not self._in_flight:
            self._idle.set()

    # --- one delivery

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
            kind = exc if isinstance(exc, RetryLater | Postpone) else self._classify(exc)
            if isinstance(kind, RetryLater | Postpone) and reminder.attempts < MAX_ATTEMPTS:
                await self._retry(delivery, exc)
                return
            if isinstance(kind, RetryLater):
                done = Done(FAILED, "gave_up_after_retries")
            elif isinstance(kind, DeliveryFailed):
                done = Done(FAILED, kind.reason)
            else:
                log.exception("reminder %s (%s) failed unexpectedly", reminder.id, reminder.kind)
                if reminder.attempts < MAX_ATTEMPTS:
                    await self._retry(delivery, exc)
                    return
                done = Done(FAILED, "error")
        failpoints.hit("scheduler.sent")
        await self._record(delivery, done)

    async def _retry(self, delivery: Delivery, error: BaseException) -> None:
        reminder = delivery.reminder
        now = self.clock.now()
        due = error.until if isinstance(error, Postpone) else now + retry_delay(reminder.attempts)
        log.log(getattr(error, "level", logging.WARNING), "reminder %s: not sent (%s); retry %d "
                "at %s", reminder.id, type(error).__name__, reminder.attempts, due.isoformat())
        await asyncio.shield(self.repository.retry(reminder.id, due, now,
                                                   maybe_sent=delivery.sends_started > 0,
                                                   attempts=reminder.attempts))
        self.notify_due(due)

    # --- recording results (group commit)

    async def _record(self, delivery: Delivery, done: Done) -> None:
        """Queue a result for the writer (started on demand); write it here at shutdown."""
        self._unrecorded.append(_Result(delivery, done, self.clock.now()))
        if self._writer is None or self._writer.done():
            self._writer = self._tasks.spawn(self._write(), name="scheduler-writer")
            if self._writer is None:  # shutting down: no new tasks, so write it ourselves
                await self._write()

    async def _write(self) -> None:
        """Flush until nothing waits: each flush takes what piled up during the last one."""
        while self._unrecorded:
            batch = self._unrecorded[:self._record_batch]
            del self._unrecorded[:len(batch)]
            self._writing += len(batch)
            try:
                await self._flush(batch)
            finally:
                self._writing -= len(batch)
                self._room.set()
                self._idle.set()

    async def _flush(self, batch: list[_Result]) -> None:
        now = self.clock.now()
        completions = [
            Completion(r.delivery.reminder.id, r.delivery.reminder.attempts, r.done.status,
                       r.fired_at, r.done.reason, r.done.message_id)
            for r in batch
        ]
        try:
            # Shielded: a cancelled writer must not cut the transaction in half.
            recorded = await asyncio.shield(self.repository.finish_many(completions, now))
        except Exception:
            # Rows stay running/sending: start() recovers them (the crash path).
            log.exception("scheduler could not record %d reminder result(s)", len(batch))
            return
        self._room.set()
        for result in batch:
            reminder = result.delivery.reminder
            if reminder.id not in recorded:
                continue
            done = result.done
            log.info("reminder %s (%s) %s%s", reminder.id, reminder.kind, done.status,
                     f" ({done.reason})" if done.reason else "")
            if not self._listeners:
                continue
            finished = Finished(reminder, done, result.delivery.late, result.delivery.lateness)
            for listener in self._listeners:
                try:
                    await listener(finished)
                except Exception:
                    log.exception("reminder listener failed for reminder %s", reminder.id)
