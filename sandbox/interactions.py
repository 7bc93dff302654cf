"""Interactions: what a user's click/command looks like to the bot, and how the bot's
answers are judged.

:class:`InteractionResult` is both the sandbox's record of one interaction and what the
scenario API returns (``r = await sb.slash(...)``). The callback/follow-up routes in
:mod:`sandbox.routes_webhooks` call :meth:`InteractionResult.callback` etc., which apply
Discord's rules: 3 s to answer (sandbox clock) else 10062, one answer only (40060), a modal
cannot follow a defer (40060), message/modal limits (50035).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox import errors, wire
from sandbox.models import (
    Channel,
    Guild,
    Message,
    MessageFlags,
    User,
    iter_components,
)
from sandbox.validation import validate_message, validate_modal

if TYPE_CHECKING:
    from sandbox.state import Upload, World

RESPONSE_WINDOW = dt.timedelta(seconds=3)
TOKEN_LIFETIME = dt.timedelta(minutes=15)
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class InteractionType:
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class ResponseType:
    PONG = 1
    MESSAGE = 4
    DEFERRED_MESSAGE = 5
    DEFERRED_UPDATE = 6
    UPDATE_MESSAGE = 7
    AUTOCOMPLETE = 8
    MODAL = 9


@dataclass
class Modal:
    """A modal the bot opened (callback type 9). Pass it to ``sb.submit_modal``."""

    custom_id: str
    title: str
    components: list[dict[str, Any]]
    source: InteractionResult

    def inputs(self) -> list[dict[str, Any]]:
        """Text inputs and selects, each with ``label`` filled from its Label wrapper."""
        out: list[dict[str, Any]] = []
        for comp in self.components:
            if comp.get("type") == 18:
                inner = dict(comp.get("component") or {})
                inner.setdefault("label", comp.get("label"))
                out.append(inner)
            elif comp.get("type") == 1:
                out.extend(c for c in comp.get("components") or [])
        return [c for c in out if c.get("type") in (3, 4, 5, 6, 7, 8)]

    @property
    def labels(self) -> list[str]:
        return [str(c.get("label")) for c in self.inputs()]


@dataclass(eq=False)
class InteractionResult:
    """One interaction and everything the bot did with it.

    Await :meth:`responded` before reading the response fields, or :meth:`done` to also
    wait for follow-ups. ``message`` is the message that shows the response: the new
    message for types 4/5, the component's message for types 6/7.
    """

    id: int
    token: str
    type: int
    channel: Channel
    guild: Guild | None
    user: User
    payload: dict[str, Any]
    created_at: dt.datetime
    world: World
    source_message: Message | None = None
    response_type: int | None = None
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    modal: Modal | None = None
    autocomplete_choices: list[dict[str, Any]] | None = None
    error: errors.ApiError | None = None
    rejected: list[errors.ApiError] = field(default_factory=list)
    last_activity: float = field(default_factory=time.monotonic)
    _responded: asyncio.Event = field(default_factory=asyncio.Event)

    # --------------------------------------------------------- test-facing
    async def responded(self, timeout: float = 5.0) -> InteractionResult:  # noqa: ASYNC109
        """Wait until the bot answered (or its answer was rejected, see ``error``)."""
        try:
            await asyncio.wait_for(self._responded.wait(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"the bot did not answer interaction {self.describe()} within {timeout}s"
            ) from None
        return self

    async def done(self, quiet: float = 0.1, timeout: float = 5.0) -> InteractionResult:  # noqa: ASYNC109
        """Wait for the answer, then until the bot made no REST call for ``quiet`` s.

        A "thinking…" deferral is not an answer yet: the wait goes on until the bot replaces
        it (work between the defer and the reply may make no REST call for a while).
        """
        await self.responded(timeout)
        api = getattr(self.world, "api", None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = max(self.last_activity, api.last_request_at if api else 0.0)
            busy = api.in_flight if api else 0
            if not busy and not self.thinking and time.monotonic() - last >= quiet:
                return self
            await asyncio.sleep(quiet / 4)
        return self

    @property
    def thinking(self) -> bool:
        """Deferred with "thinking…" and not replaced by the answer yet."""
        return self.original is not None and bool(self.original.flags & MessageFlags.LOADING)

    @property
    def answered(self) -> bool:
        return self.response_type is not None

    @property
    def message(self) -> Message | None:
        if self.response_type in (ResponseType.DEFERRED_UPDATE, ResponseType.UPDATE_MESSAGE):
            return self.source_message
        return self.original

    @property
    def ephemeral(self) -> bool:
        msg = self.original
        return bool(msg is not None and msg.flags & MessageFlags.EPHEMERAL)

    @property
    def deferred(self) -> bool:
        return self.response_type in (ResponseType.DEFERRED_MESSAGE,
                                      ResponseType.DEFERRED_UPDATE)

    @property
    def content(self) -> str | None:
        msg = self.message
        return msg.content if msg is not None else None

    @property
    def embeds(self) -> list[dict[str, Any]]:
        msg = self.message
        return msg.embeds if msg is not None else []

    @property
    def components(self) -> list[dict[str, Any]]:
        msg = self.message
        return msg.components if msg is not None else []

    @property
    def messages(self) -> list[Message]:
        """The original response message (if any) followed by every follow-up."""
        return ([self.original] if self.original else []) + self.followups

    @property
    def texts(self) -> list[str]:
        """Content of every message the bot produced for this interaction."""
        return [m.content for m in self.messages]

    def describe(self) -> str:
        data = self.payload.get("data") or {}
        return f"#{self.id} ({data.get('name') or data.get('custom_id')!r})"

    # ------------------------------------------------------------ wire side
    def _touch(self) -> None:
        self.last_activity = time.monotonic()

    def _reject(self, exc: errors.ApiError) -> errors.ApiError:
        self.rejected.append(exc)
        if self.error is None:
            self.error = exc
        self._touch()
        self._responded.set()
        return exc

    def _new_message(self, payload: dict[str, Any], uploads: list[Upload] | None,
                     *, followup: bool = False) -> Message:
        world = self.world
        hook = _app_webhook(world)
        msg = world.build_message(self.channel, world.bot_user, payload, uploads, webhook=hook)
        msg.author = world.bot_user
        msg.interaction_id = self.id
        if self.type == InteractionType.APPLICATION_COMMAND and not followup:
            ctype = int((self.payload.get("data") or {}).get("type") or 1)
            msg.type = 20 if ctype == 1 else 23
        msg.interaction_metadata = {
            "id": str(self.id), "type": self.type, "user": self.user.to_wire(),
            "authorizing_integration_owners": self.payload.get(
                "authorizing_integration_owners", {}),
        }
        return msg

    async def callback(self, body: dict[str, Any], uploads: list[Upload]) -> Message | None:
        """Apply ``POST /interactions/{id}/{token}/callback``; returns the new message."""
        world = self.world
        kind = int(body.get("type") or 0)
        data = body.get("data") or {}
        if self.response_type is not None:
            raise self._reject(errors.already_acknowledged())
        if world.now() - self.created_at > RESPONSE_WINDOW:
            raise self._reject(errors.unknown_interaction())
        msg: Message | None = None
        try:
            if kind in (ResponseType.MESSAGE, ResponseType.DEFERRED_MESSAGE):
                if kind == ResponseType.MESSAGE:
                    validate_message(data, file_count=len(uploads))
                else:
                    data = {"flags": int(data.get("flags") or 0) | MessageFlags.LOADING}
                msg = self._new_message(data, uploads)
            elif kind in (ResponseType.DEFERRED_UPDATE, ResponseType.UPDATE_MESSAGE):
                if self.type not in (InteractionType.MESSAGE_COMPONENT,
                                     InteractionType.MODAL_SUBMIT) or not self.source_message:
                    raise errors.ApiError(400, 40043, "Interaction has invalid type")
                if kind == ResponseType.UPDATE_MESSAGE:
                    source = self.source_message
                    validate_message(data, file_count=len(uploads), edit=True,
                                     current_flags=source.flags,
                                     current_text=bool(source.content or source.embeds))
            elif kind == ResponseType.MODAL:
                if self.type == InteractionType.MODAL_SUBMIT:
                    raise errors.ApiError(400, 50035, "Invalid Form Body",
                                          errors.form_error("type", "INTERACTION_RESPONSE_"
                                                            "TYPE_INVALID", "Invalid type"))
                validate_modal(data)
            elif kind == ResponseType.AUTOCOMPLETE:
                self.autocomplete_choices = list(data.get("choices") or [])
            else:
                raise errors.invalid_form_body("type", "BASE_TYPE_CHOICES",
                                               "Value must be one of (4, 5, 6, 7, 8, 9).")
        except errors.ApiError as exc:
            raise self._reject(exc) from None
        self.response_type = kind
        if msg is not None:
            self.original = world.store(msg)
            await world.publish(msg)
        elif kind == ResponseType.UPDATE_MESSAGE and self.source_message is not None:
            await world.edit(self.source_message, data, uploads)
            msg = self.source_message
        elif kind == ResponseType.MODAL:
            self.modal = Modal(str(data.get("custom_id")), str(data.get("title")),
                               list(data.get("components") or []), self)
        self._touch()
        self._responded.set()
        return msg

    def callback_response(self, msg: Message | None) -> dict[str, Any]:
        """The 200 body discord.py requires for ``?with_response=1``."""
        out: dict[str, Any] = {
            "interaction": {
                "id": str(self.id),
                "type": self.type,
                "response_message_id": str(msg.id) if msg else None,
                "response_message_loading": bool(msg and msg.flags & MessageFlags.LOADING),
                "response_message_ephemeral": bool(msg and msg.ephemeral),
            },
            "resource": {"type": self.response_type},
        }
        if msg is not None:
            out["resource"]["message"] = wire.message(self.world, msg)
        return out

    def check_token_alive(self) -> None:
        if self.response_type is None or self.world.now() - self.created_at > TOKEN_LIFETIME:
            raise errors.unknown_webhook()

    async def followup(self, payload: dict[str, Any], uploads: list[Upload]) -> Message:
        """``POST /webhooks/{app_id}/{token}``: the first one after a thinking defer
        replaces the loading message, like Discord."""
        self.check_token_alive()
        validate_message(payload, file_count=len(uploads))
        original = self.original
        if original is not None and original.flags & MessageFlags.LOADING:
            edit = {k: v for k, v in payload.items() if k != "flags"}
            edit.setdefault("content", "")
            await self.world.edit(original, edit, uploads)
            self._touch()
            return original
        msg = self._new_message(payload, uploads, followup=True)
        self.world.store(msg)
        self.followups.append(msg)
        await self.world.publish(msg)
        self._touch()
        return msg

    def find(self, message_ref: str) -> Message:
        """``@original`` or a follow-up id, for the webhook message routes."""
        if message_ref == "@original":
            target = self.original
            if target is None and self.response_type in (ResponseType.DEFERRED_UPDATE,
                                                         ResponseType.UPDATE_MESSAGE):
                target = self.source_message
        else:
            target = next((m for m in self.messages if str(m.id) == message_ref), None)
        if target is None or target.deleted:
            raise errors.unknown_message()
        return target


def _app_webhook(world: World) -> Any:
    """A stand-in webhook object carrying the application id for response messages."""

    @dataclass
    class _AppHook:
        id: int
        application_id: int

    return _AppHook(world.application_id, world.application_id)


def new_interaction(
    world: World,
    *,
    kind: int,
    data: dict[str, Any],
    channel: Channel,
    user: User,
    source_message: Message | None = None,
    locale: str | None = None,
) -> InteractionResult:
    """Build the INTERACTION_CREATE payload and its :class:`InteractionResult`."""
    guild = world.guild_of(channel)
    inter_id = world.ids.next()
    token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(60)
    payload: dict[str, Any] = {
        "id": str(inter_id),
        "application_id": str(world.application_id),
        "type": kind,
        "data": data,
        "channel_id": str(channel.id),
        "channel": _interaction_channel(world, channel, user),
        "token": token,
        "version": 1,
        "locale": locale or user.locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
    }
    if guild is not None:
        member = world.member(guild, user.id)
        payload.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": guild.preferred_locale,
                   "features": ["COMMUNITY"]},
            guild_locale=guild.preferred_locale,
            member={**member.to_wire(), "permissions": str(world.permissions(user.id, channel))},
            app_permissions=str(world.permissions(world.bot_user.id, channel)),
            context=0,
            authorizing_integration_owners={"0": str(guild.id)},
        )
    else:
        payload.update(user=user.to_wire(), app_permissions=str(_dm_app_permissions()),
                       context=1, authorizing_integration_owners={"0": "0"})
    if source_message is not None:
        payload["message"] = wire.message(world, source_message)
    result = InteractionResult(
        id=inter_id, token=token, type=kind, channel=channel, guild=guild, user=user,
        payload=payload, created_at=world.now(), world=world, source_message=source_message,
    )
    world.interactions[inter_id] = result
    return result


def _dm_app_permissions() -> int:
    import discord

    return discord.Permissions(view_channel=True, send_messages=True, embed_links=True,
                               attach_files=True, read_message_history=True).value


def _interaction_channel(world: World, channel: Channel, user: User) -> dict[str, Any]:
    out = channel.to_wire()
    if not channel.is_dm:
        out["permissions"] = str(world.permissions(user.id, channel))
    return out


def find_component(msg: Message, *, types: tuple[int, ...], custom_id: str | None = None,
                   label: str | None = None, placeholder: str | None = None
                   ) -> dict[str, Any]:
    """Locate a component on a message by custom_id, label or placeholder."""
    candidates = [c for c in iter_components(msg.components) if c.get("type") in types]
    for comp in candidates:
        if custom_id is not None and comp.get("custom_id") == custom_id:
            return comp
        if label is not None and comp.get("label") == label:
            return comp
        if placeholder is not None and comp.get("placeholder") == placeholder:
            return comp
        if custom_id is None and label is None and placeholder is None and len(candidates) == 1:
            return comp
    described = [
        {k: c.get(k) for k in ("type", "custom_id", "label", "placeholder") if c.get(k)}
        for c in candidates
    ]
    raise errors.SandboxError(
        f"no component matching custom_id={custom_id!r} label={label!r} "
        f"placeholder={placeholder!r} on message {msg.id}; it has {described}"
    )
