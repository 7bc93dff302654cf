"""`steward demo`: the real Steward plays a scripted story against the offline sandbox.

Nothing leaves the machine and no token is needed: a sandbox Discord runs in this process,
the real StewardBot connects to it, and simulated time (a FakeClock) stands in for days
passing. The transcript shows what each channel and DM would show a person.

Chapters live in `bot/demo/<feature>.py`, each with `async def chapter(story: Story) -> None`,
and play in the order of `CHAPTERS` (`module` runs its `chapter`, `module:name` its `name`;
a chapter whose module does not exist is skipped). A
chapter acts through `story.sb` (the sandbox scenario API: `post`, `join`, `slash`, `click`,
`context_menu`, `submit_modal`, ...), waits with `await story.settle()`, moves time with
`story.later("Two days later", days=2)`, and prints with `story.say(...)` and
`story.show()` (everything new in the server and in DMs since the last `show()`), or
`story.show_reply(result)` for an ephemeral answer only the clicker sees. The cast is shared:
`story.newcomer` is Sam, who joins in the welcome chapter (`await story.ensure_newcomer()`
joins Sam if no earlier chapter did).

The narration speaks the demo's language too (`--lang es`): `story.say`, `story.heading`,
`story.later` and `story.voice` take literal English text with named placeholders
(`story.say("Sam joins {server}.", server=name)`, never an f-string); `./dev i18n extract`
collects it under the message context "demo".
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.clock import FakeClock
from bot.i18n import COMMAND_CONTEXT, DEMO_CONTEXT, PSEUDO, Translator, fill, translator
from sandbox import Sandbox
from sandbox.interactions import Modal
from sandbox.models import Channel, Member, Message, Role, User
from sandbox.world import (
    StewardHarness,
    SupportServer,
    build_support_server,
    configure_defaults,
)

CHAPTERS = (
    "startup", "setup", "welcome", "linkhold", "welcome:later", "care", "repost", "followups",
    "memoriam", "privacy",
)

log = logging.getLogger(__name__)

_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")


def _name(who: Any) -> str:
    user = who.user if isinstance(who, Member) else who
    return str(getattr(user, "username", who))


class NarratedSandbox:
    """The sandbox, printing what a moderator or member typed, chose and pressed.

    Commands with their options (a fixed choice by its label in the picker), context menus,
    every field of a form (what was typed, what was kept as offered, the label of each picked
    option) and buttons: a reader learns the workflow from the transcript. Everything else
    goes straight to the sandbox.
    """

    def __init__(self, sb: Sandbox, story: Story) -> None:
        self._sb = sb
        self._story = story

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sb, name)

    def _act(self, line: str) -> None:
        self._story.out.write(f"  > {line}\n")

    def _words(self, text: str) -> str:
        return _short(self._story._render_mentions(text))

    def _value(self, value: Any) -> str:
        if isinstance(value, Member | User):
            return f"@{_name(value)}"
        if isinstance(value, Role):
            return f"@{value.name}"
        if isinstance(value, Channel):
            return f"#{value.name}"
        if isinstance(value, tuple) and value and isinstance(value[0], str):
            return value[0]  # an attachment: its file name
        return str(value)

    async def slash(self, guild: Any, user: Any, command: str, /, *args: Any,
                    options: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        given = {**(options or {}), **kwargs}
        choices = self._choices(guild, command)
        typed = " ".join(f"{key}: {self._picked(choices.get(key), value)}"
                         for key, value in given.items())
        self._act(self._story.voice("{who} types: {command}", who=_name(user),
                                    command=f"/{command}{' ' + typed if typed else ''}"))
        return await self._sb.slash(guild, user, command, *args, options=options, **kwargs)

    def _picked(self, choices: dict[Any, str] | None, value: Any) -> str:
        if choices and isinstance(value, str | int | float) and value in choices:
            return self._story.catalog.pgettext(COMMAND_CONTEXT, choices[value])
        return self._value(value)

    def _choices(self, guild: Any, command: str) -> dict[str, dict[Any, str]]:
        """The picker's label of each fixed choice, by option: what the moderator picked."""
        first, *path = command.split()
        cmd = self._sb.world.find_command(first, guild.id if guild else None, 1)
        options = cmd.data.get("options") or [] if cmd is not None else []
        for name in path:
            group: dict[str, Any] = next((o for o in options if o.get("name") == name), {})
            options = group.get("options") or []
        return {o["name"]: {c["value"]: c["name"] for c in o.get("choices") or []}
                for o in options if o.get("choices")}

    async def context_menu(self, guild: Any, user: Any, name: str, *, target: Any,
                           **kwargs: Any) -> Any:
        voice = self._story.voice
        whose = (voice("{who}'s message", who=_name(target.author))
                 if isinstance(target, Message) else _name(target))
        self._act(voice("{who} right-clicks {whose} → Apps → {menu}", who=_name(user),
                        whose=whose, menu=self._story.catalog.pgettext(COMMAND_CONTEXT, name)))
        return await self._sb.context_menu(guild, user, name, target=target, **kwargs)

    async def click(self, message: Message, label: str | None = None, *,
                    by: Any = None, **kwargs: Any) -> Any:
        self._act(self._story.voice("{who} presses [{button}]", who=self._who(by),
                                    button=label or kwargs.get("custom_id", "?")))
        return await self._sb.click(message, label, by=by, **kwargs)

    async def submit_modal(self, modal: Modal | None, *, by: Any = None,
                           values: dict[str, str] | None = None,
                           selects: dict[str, list[str]] | None = None) -> Any:
        if modal is not None:
            self._act(self._story.voice("{who} fills in the form “{form}”:",
                                        who=self._who(by), form=modal.title))
            for label, field in _labelled(modal):
                answer = self._field(field, label, values or {}, selects or {})
                self._story.out.write(f"      {label}: {answer}\n")
        return await self._sb.submit_modal(modal, by=by, values=values, selects=selects)

    async def select(self, message: Message, values: Any, *, by: Any = None,
                     **kwargs: Any) -> Any:
        chosen = list(values)
        names = []
        for value in chosen:
            option = next((o for row in message.components for c in row.get("components", [])
                           for o in c.get("options") or [] if o.get("value") == value), None)
            names.append(option.get("label") if option else self._value(value))
        self._act(self._story.voice("{who} picks: {choices}", who=self._who(by),
                                    choices=", ".join(names)))
        return await self._sb.select(message, chosen, by=by, **kwargs)

    def _who(self, by: Any) -> str:
        return _name(by) if by is not None else self._story.voice("someone")

    def _field(self, field: dict[str, Any], label: str, values: dict[str, str],
               selects: dict[str, list[str]]) -> str:
        keys = (field.get("custom_id"), label)
        if field.get("type") == 4:
            typed = next((values[k] for k in keys if k in values), None)
            offered = field.get("value") or ""
            if typed is None:
                voice = self._story.voice
                return (voice("{text} (as offered)", text=self._words(offered)) if offered
                        else voice("(left empty)"))
            return self._words(typed)
        chosen = next((selects[k] for k in keys if k in selects), [])
        if not chosen:
            return self._story.voice("(nothing picked)")
        options = {o.get("value"): o.get("label") for o in field.get("options") or []}
        names = []
        for value in chosen:
            channel = self._sb.world.channels.get(int(value)) if value.isdigit() else None
            names.append(options.get(value) or (f"#{channel.name}" if channel else value))
        return ", ".join(names)


def _labelled(modal: Modal) -> list[tuple[str, dict[str, Any]]]:
    """Each input of a form with the label its reader sees (from its Label wrapper)."""
    out = []
    for comp in modal.components:
        inner = comp.get("component") if comp.get("type") == 18 else None
        kids = [inner] if inner else comp.get("components") or []
        for kid in kids:
            if kid.get("type") in (3, 4, 5, 6, 7, 8):
                out.append((str(comp.get("label") or kid.get("label") or kid.get("custom_id")),
                            kid))
    return out


def _short(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


class Story:
    """The demo's stage: sandbox, clock, server, the running bot, and a transcript printer."""

    def __init__(self, sb: Sandbox, clock: FakeClock, server: SupportServer,
                 harness: StewardHarness, out: TextIO, language: str = "en") -> None:
        self.language = language
        self.catalog: Translator = translator(language)
        self.sb: Any = NarratedSandbox(sb, self)
        self.clock = clock
        self.server = server
        self.harness = harness
        self.out = out
        self.newcomer: Member | None = None
        self.cast: dict[str, Any] = {}
        self._shown: set[int] = set()
        self._deleted_shown: set[int] = set()

    @property
    def bot(self) -> Any:
        """The running StewardBot."""
        return self.harness.bot

    def t(self, text: str) -> str:
        """What Steward shows for the English `text` (a label to click) in the demo's language."""
        return self.catalog.gettext(text)

    def voice(self, text: str, /, **values: Any) -> str:
        """The demo's own words (English `text`, named placeholders) in the demo's language."""
        return fill(self.catalog.pgettext(DEMO_CONTEXT, text), values)

    def heading(self, title: str, /, **values: Any) -> None:
        """Start a chapter."""
        self.out.write(f"\n{'=' * 72}\n{self.voice(title, **values)}\n{'=' * 72}\n")

    def say(self, text: str, /, **values: Any) -> None:
        """A narrator's line (literal English with named placeholders, see the module doc)."""
        self.out.write(f"\n  ~ {self.voice(text, **values)}\n")

    async def settle(self, quiet: float = 0.15) -> None:
        """Wait until Steward has stopped talking to Discord for a moment."""
        await self.sb.idle(quiet=quiet)

    async def settle_scheduled(self) -> None:
        """Let Steward finish: its scheduler asleep and no request to Discord for a moment."""
        await asyncio.wait_for(self.bot.services.scheduler.wait_idle(), 10)
        await self.settle()

    def later(self, note: str | None = None, **delta: float) -> None:
        """Move simulated time forward (e.g. `later("Two days later", days=2)`)."""
        self.clock.advance(timedelta(**delta))
        said = self.voice(note) if note else self.voice("Later")
        self.out.write(f"\n  ~ ({said}: {self._when(self.clock.now())})\n")

    def _when(self, when: datetime) -> str:
        return self.voice("{when} UTC", when=self.catalog.datetime(when, UTC))

    async def ensure_newcomer(self) -> Member:
        """Sam, the newcomer; joins now unless an earlier chapter brought them in."""
        if self.newcomer is None:
            self.newcomer = await self.sb.join(self.server.guild, "sam")
            await self.settle()
        return self.newcomer

    def _where(self, channel: Channel) -> str:
        if channel.recipient is not None:
            return self.voice("DM to {who}", who=channel.recipient.username)
        if channel.parent_id is not None:
            parent = self.sb.world.channels.get(channel.parent_id)
            return f"#{parent.name if parent else '?'} > {channel.name}"
        return f"#{channel.name}"

    def _author(self, message: Message) -> str:
        name = message.author.username
        if message.webhook_id == self.sb.application_id or message.interaction_id is not None:
            return self.voice("{name} [bot]", name=self.sb.bot_user.username)
        if message.webhook_id is not None:
            return self.voice("{name} [via webhook]", name=name)
        if message.author.id == self.sb.bot_user.id:
            return self.voice("{name} [bot]", name=name)
        return name

    def _render_mentions(self, text: str) -> str:
        for user in self.sb.world.users.values():
            text = text.replace(f"<@{user.id}>", f"@{user.username}")
        for channel in self.sb.world.channels.values():
            if channel.name:
                text = text.replace(f"<#{channel.id}>", f"#{channel.name}")
        for guild in self.sb.world.guilds.values():
            for role in guild.roles.values():
                text = text.replace(f"<@&{role.id}>", f"@{role.name}")
        return _TIMESTAMP.sub(self._timestamp, text)

    def _timestamp(self, match: re.Match[str]) -> str:
        when = datetime.fromtimestamp(int(match.group(1)), tz=UTC)
        if match.group(2) == "R":
            days = (self.clock.now() - when).days
            if days == 0:
                return self.voice("today")
            return (self.voice("{days} days ago", days=days) if days > 0
                    else self.voice("in {days} days", days=-days))
        return self._when(when)

    def _format(self, message: Message) -> list[str]:
        lines = [f"[{self._where(message.channel)}] {self._author(message)}:"]
        body = self._render_mentions(message.content or "")
        lines += [f"    {line}" for line in body.splitlines() if line.strip()]
        for embed in message.embeds:
            if embed.get("title"):
                lines.append(f"    | {self._render_mentions(embed['title'])}")
            for line in self._render_mentions(embed.get("description") or "").splitlines():
                if line.strip():
                    lines.append(f"    | {line}")
            for field in embed.get("fields", []):
                value = self._render_mentions(str(field.get("value", ""))).replace("\n", " / ")
                lines.append(f"    | {field.get('name')}: {value}")
        for line in self._render_mentions(message.display_text).splitlines():
            if line.strip():  # a Components V2 message (the queue card)
                lines.append(f"    | {line.removeprefix('### ').removeprefix('-# ')}")
        for item in message.gallery:
            what = item.get("description") or self.voice("image")
            lines.append("    | " + (self.voice("[image preview (behind a spoiler): {what}]",
                                                what=what) if item.get("spoiler")
                                     else self.voice("[image preview: {what}]", what=what)))
        for attachment in message.attachments:
            if any(attachment.filename in str(i.get("media")) for i in message.gallery):
                continue
            lines.append("    " + self.voice("(attachment: {file})", file=attachment.filename))
        buttons = [b.get("label") for b in message.buttons() if b.get("label")]
        if buttons:
            lines.append("    " + "  ".join(f"[{label}]" for label in buttons))
        pinged = self.sb.mentions_pinged(message)
        if pinged:
            names = sorted(self.sb.world.users[p].username if p in self.sb.world.users
                           else str(p) for p in pinged)
            lines.append("    " + self.voice("(pings: {names})", names=", ".join(names)))
        return lines

    def show(self) -> None:
        """Print every message that appeared (or was removed) since the last call."""
        for message in sorted(self.sb.world.messages.values(), key=lambda m: m.id):
            if message.ephemeral:
                continue
            if message.id not in self._shown:
                self._shown.add(message.id)
                if message.deleted:
                    self._deleted_shown.add(message.id)
                    self.out.write("\n".join(self._format(message)) + "\n")
                    self.out.write("    " + self.voice("(removed by Steward moments later)")
                                   + "\n")
                    continue
                self.out.write("\n".join(self._format(message)) + "\n")
            elif message.deleted and message.id not in self._deleted_shown:
                self._deleted_shown.add(message.id)
                self.out.write(f"[{self._where(message.channel)}] " + self.voice(
                    "(a message by {who} was removed)", who=message.author.username) + "\n")

    def show_reply(self, result: Any, who: str = "") -> None:
        """Print an interaction's visible answer (ephemeral ones marked as private)."""
        for message in getattr(result, "messages", []) or []:
            tag = self.voice("only you can see this") if message.ephemeral else self.voice("reply")
            lines = self._format(message)
            lines[0] = f"[{tag}{' — ' + who if who else ''}] {self._author(message)}:"
            self.out.write("\n".join(lines) + "\n")
            self._shown.add(message.id)

    def mark_seen(self) -> None:
        """Skip everything so far (e.g. set-up noise)."""
        for message in self.sb.world.messages.values():
            self._shown.add(message.id)
            if message.deleted:
                self._deleted_shown.add(message.id)


async def _startup(story: Story) -> None:
    story.heading("Steward starts")
    bot = story.bot
    commands = story.sb.registered_commands()
    story.say("Steward connected to the sandbox as {bot} and registered {count} application "
              "commands:", bot=bot.user, count=len(commands))
    for command in sorted(commands, key=lambda c: (c.type, c.name)):
        kind = {1: "/", 2: story.voice("user menu: "),
                3: story.voice("message menu: ")}.get(command.type, "")
        name = command.name if command.type == 1 else story.catalog.pgettext(COMMAND_CONTEXT,
                                                                             command.name)
        story.out.write(f"    {kind}{name}\n")
    guild = bot.get_guild(story.server.guild.id)
    story.say("A tour of {server}: {count} members.", server=guild.name,
              count=guild.member_count)
    for channel in sorted(guild.channels, key=lambda c: c.position):
        story.out.write(f"    #{channel.name} ({channel.type.name})\n")
    story.say("The admin has pointed Steward at #mod-queue, #mod-log, #welcome and #rules, "
              "and made the Moderators role its moderators.")


LOCALES = {"en": "en-US", "es": "es-ES", PSEUDO: PSEUDO}


async def play(out: TextIO, database: Path, language: str = "en") -> Sandbox:
    """Build the server, start Steward and play every chapter (members' clients and the
    server in `language`); returns the sandbox, whose requests show everything Steward sent."""
    clock = FakeClock()
    locale = LOCALES.get(language, language)
    async with Sandbox(clock=clock) as sb:
        sb.world.default_locale = locale
        server = build_support_server(sb, clock)
        server.guild.preferred_locale = locale
        harness = StewardHarness(sb, clock, database)
        bot = await harness.start()
        try:
            await bot.guild_settings.update(server.guild.id, configure_defaults(server))
            story = Story(sb, clock, server, harness, out, language)
            await story.settle()
            story.mark_seen()
            for name in CHAPTERS:
                if name == "startup":
                    await _startup(story)
                    continue
                module_name, _, function = name.partition(":")
                try:
                    module = importlib.import_module(f"bot.demo.{module_name}")
                except ModuleNotFoundError:
                    continue
                await getattr(module, function or "chapter")(story)
                await story.settle()
                story.show()
        finally:
            await harness.stop()
    out.write("\n" + story.voice("The end. Everything above ran offline against Steward's "
                                  "built-in sandbox.") + "\n")
    return sb


async def run_demo(*, quiet: bool = False, language: str = "en") -> int:
    """Play the demo, printing the transcript to stdout; returns the exit code."""
    logging.basicConfig(level=logging.ERROR if quiet else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="steward-demo-") as folder:
        await play(sys.stdout, Path(folder) / "demo.sqlite3", language)
    return 0
