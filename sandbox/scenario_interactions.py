"""Users invoking the bot's application commands and components.

Each method sends INTERACTION_CREATE and returns an
:class:`~sandbox.interactions.InteractionResult` at once; ``await r.responded()`` /
``await r.done()`` wait for the bot. Commands are looked up among what the bot registered
(``tree.sync()``), so option values are typed by the registered option types.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.errors import SandboxError
from sandbox.interactions import (
    InteractionResult,
    InteractionType,
    Modal,
    find_component,
    new_interaction,
)
from sandbox.models import Attachment, Channel, ChannelType, Guild, Member, Message, Role, User
from sandbox.scenario_base import SandboxBase

CLICK_GRACE = 0.05  # seconds after the bot read its HTTP response before a click lands

OPTION_SUBCOMMAND, OPTION_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(3, 12)


class InteractionsMixin(SandboxBase):
    """slash / context_menu / click / select / submit_modal."""

    # ----------------------------------------------------------- helpers
    def _default_channel(self, guild: Guild | None) -> Channel:
        if guild is None:
            raise SandboxError("pass channel= for DM interactions")
        for chan in guild.channels.values():
            if chan.type == ChannelType.TEXT and not chan.deleted:
                return chan
        raise SandboxError(f"{guild.name!r} has no text channel; pass channel=")

    async def _send(self, result: InteractionResult) -> InteractionResult:
        await self.world.dispatch("INTERACTION_CREATE", result.payload)
        return result

    def _resolve_value(self, opt_type: int, value: Any, channel: Channel, user: User,
                       resolved: dict[str, dict[str, Any]]) -> Any:
        world = self.world
        guild = world.guild_of(channel)
        if opt_type == STRING:
            return str(value)
        if opt_type == INTEGER:
            return int(value)
        if opt_type == NUMBER:
            return float(value)
        if opt_type == BOOLEAN:
            return bool(value)
        if opt_type in (USER, MENTIONABLE) and isinstance(value, User | Member):
            target = value.user if isinstance(value, Member) else value
            resolved.setdefault("users", {})[str(target.id)] = target.to_wire()
            member = guild.members.get(target.id) if guild else None
            if member is not None:
                resolved.setdefault("members", {})[str(target.id)] = {
                    **member.to_wire(with_user=False),
                    "permissions": str(world.permissions(target.id, channel)),
                }
            return str(target.id)
        if opt_type in (ROLE, MENTIONABLE) and isinstance(value, Role):
            resolved.setdefault("roles", {})[str(value.id)] = value.to_wire()
            return str(value.id)
        if opt_type == CHANNEL and isinstance(value, Channel):
            resolved.setdefault("channels", {})[str(value.id)] = {
                **value.to_wire(), "permissions": str(world.permissions(user.id, value))}
            return str(value.id)
        if opt_type == ATTACHMENT:
            if isinstance(value, tuple):
                value = world.make_attachment(channel, value[0], value[1],
                                              value[2] if len(value) > 2 else None)
            if not isinstance(value, Attachment):
                raise SandboxError("attachment options take (filename, bytes) or Attachment")
            resolved.setdefault("attachments", {})[str(value.id)] = {
                **value.to_wire(), "ephemeral": True}
            return str(value.id)
        raise SandboxError(f"value {value!r} does not fit option type {opt_type}")

    # --------------------------------------------------------------- slash
    def _command_data(self, guild: Guild | None, invoker: User, where: Channel, command: str,
                      given: Mapping[str, Any], *, focused: str | None = None
                      ) -> dict[str, Any]:
        """``data`` for a chat-input command (or its autocomplete when ``focused``)."""
        world = self.world
        names = command.split()
        cmd = world.find_command(names[0], guild.id if guild else None, 1)
        if cmd is None:
            known = sorted({c.name for scope in world.commands.values() for c in scope})
            raise SandboxError(f"/{names[0]} is not registered (registered: {known}); "
                               "did the bot call tree.sync()?")
        resolved: dict[str, dict[str, Any]] = {}
        definitions = cmd.data.get("options") or []
        leaf: list[dict[str, Any]] = []
        top: list[dict[str, Any]] = leaf
        for name in names[1:]:
            sub = next((o for o in definitions if o["name"] == name
                        and o["type"] in (OPTION_SUBCOMMAND, OPTION_GROUP)), None)
            if sub is None:
                raise SandboxError(f"/{command}: no subcommand {name!r}")
            node: dict[str, Any] = {"name": name, "type": sub["type"], "options": []}
            leaf.append(node)
            leaf = node["options"]
            definitions = sub.get("options") or []
        by_name = {o["name"]: o for o in definitions}
        for key, value in given.items():
            opt = by_name.get(key)
            if opt is None:
                raise SandboxError(f"/{command} has no option {key!r}; options: {list(by_name)}")
            if key == focused:
                leaf.append({"name": key, "type": opt["type"], "value": str(value),
                             "focused": True})
                continue
            leaf.append({"name": key, "type": opt["type"],
                         "value": self._resolve_value(opt["type"], value, where, invoker,
                                                      resolved)})
        missing = [o["name"] for o in definitions if o.get("required") and o["name"] not in given
                   and o["type"] not in (OPTION_SUBCOMMAND, OPTION_GROUP)]
        if missing and focused is None:
            raise SandboxError(f"/{command}: required options missing: {missing}")
        if focused is not None and focused not in given:
            raise SandboxError(f"autocomplete: give the focused option {focused!r} a value")
        data: dict[str, Any] = {"id": str(cmd.id), "name": cmd.name, "type": 1,
                                "options": top}
        if cmd.guild_id is not None:
            data["guild_id"] = str(cmd.guild_id)
        if resolved:
            data["resolved"] = resolved
        return data

    async def slash(
        self,
        guild: Guild | None,
        user: User | Member,
        command: str,
        /,
        channel: Channel | None = None,
        *,
        options: Mapping[str, Any] | None = None,
        locale: str | None = None,
        **kwargs: Any,
    ) -> InteractionResult:
        """Invoke ``/command`` (space-separated path: ``"linkhold allow"``).

        Options go as keyword arguments (``domain="x.com", member=anna``) or in
        ``options={...}`` (needed for an option literally named ``channel``). Users/members,
        roles, channels and ``("file.png", b"...")`` attachments are resolved like Discord.
        ``channel`` is where the command is used (default: the guild's first text channel;
        for DMs pass ``sb.dm_channel(user)`` and ``guild=None``).
        """
        invoker = user.user if isinstance(user, Member) else user
        where = channel or self._default_channel(guild)
        data = self._command_data(guild, invoker, where, command,
                                  {**(options or {}), **kwargs})
        result = new_interaction(self.world, kind=InteractionType.APPLICATION_COMMAND,
                                 data=data, channel=where, user=invoker, locale=locale)
        return await self._send(result)

    async def autocomplete(
        self,
        guild: Guild | None,
        user: User | Member,
        command: str,
        /,
        focused: str,
        channel: Channel | None = None,
        *,
        options: Mapping[str, Any] | None = None,
        locale: str | None = None,
        **kwargs: Any,
    ) -> InteractionResult:
        """The user is typing option ``focused`` (its partial text among the options).
        ``await r.responded()`` then read ``r.autocomplete_choices``."""
        invoker = user.user if isinstance(user, Member) else user
        where = channel or self._default_channel(guild)
        data = self._command_data(guild, invoker, where, command,
                                  {**(options or {}), **kwargs}, focused=focused)
        result = new_interaction(self.world, kind=InteractionType.AUTOCOMPLETE, data=data,
                                 channel=where, user=invoker, locale=locale)
        return await self._send(result)

    async def context_menu(self, guild: Guild | None, user: User | Member, name: str, *,
                           target: Message | User | Member, channel: Channel | None = None,
                           locale: str | None = None) -> InteractionResult:
        """Use a user or message context-menu command (type taken from the target)."""
        world = self.world
        invoker = user.user if isinstance(user, Member) else user
        ctype = 3 if isinstance(target, Message) else 2
        cmd = world.find_command(name, guild.id if guild else None, ctype)
        if cmd is None:
            raise SandboxError(f"no {'message' if ctype == 3 else 'user'} command {name!r}")
        resolved: dict[str, dict[str, Any]] = {}
        if isinstance(target, Message):
            from sandbox import wire

            where = channel or target.channel
            resolved["messages"] = {str(target.id): wire.message(world, target)}
            target_id = target.id
        else:
            where = channel or self._default_channel(guild)
            target_id = int(self._resolve_value(USER, target, where, invoker, resolved))
        data: dict[str, Any] = {"id": str(cmd.id), "name": cmd.name, "type": ctype,
                                "target_id": str(target_id), "resolved": resolved}
        if cmd.guild_id is not None:
            data["guild_id"] = str(cmd.guild_id)
        result = new_interaction(world, kind=InteractionType.APPLICATION_COMMAND, data=data,
                                 channel=where, user=invoker, locale=locale)
        return await self._send(result)

    # ---------------------------------------------------------- components
    async def _await_view_registered(self, message: Message, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """discord.py registers a view only after reading the HTTP response."""
        deadline = time.monotonic() + timeout
        while message.answered_at is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)  # polling a plain attribute set by the REST layer
        if message.answered_at is None:
            raise SandboxError(f"message {message.id} was never returned to the bot")
        wait = message.answered_at + CLICK_GRACE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def _component_user(self, message: Message, by: User | Member | None) -> User:
        if by is None:
            raise SandboxError("pass by=<user> (who clicks)")
        return by.user if isinstance(by, Member) else by

    async def click(self, message: Message, label: str | None = None, *,
                    custom_id: str | None = None, by: User | Member | None = None
                    ) -> InteractionResult:
        """Click a button (found by ``label`` or ``custom_id``) on a message, including
        ephemeral ones from ``r.message``/``r.followups``."""
        button = find_component(message, types=(2,), custom_id=custom_id, label=label)
        if button.get("disabled"):
            raise SandboxError(f"button {button.get('label')!r} is disabled")
        if not button.get("custom_id"):
            raise SandboxError("link buttons cannot be clicked by the bot's users")
        await self._await_view_registered(message)
        data = {"custom_id": button["custom_id"], "component_type": 2}
        result = new_interaction(self.world, kind=InteractionType.MESSAGE_COMPONENT,
                                 data=data, channel=message.channel,
                                 user=self._component_user(message, by),
                                 source_message=message)
        return await self._send(result)

    async def select(self, message: Message, values: Iterable[Any], *,
                     by: User | Member | None = None, custom_id: str | None = None,
                     placeholder: str | None = None) -> InteractionResult:
        """Choose ``values`` in a select menu (string values, or users/roles/channels)."""
        comp = find_component(message, types=(3, 5, 6, 7, 8), custom_id=custom_id,
                              placeholder=placeholder)
        user = self._component_user(message, by)
        chosen, resolved = self._select_values(comp, list(values), message.channel, user)
        await self._await_view_registered(message)
        data: dict[str, Any] = {"custom_id": comp["custom_id"],
                                "component_type": comp["type"], "values": chosen}
        if resolved:
            data["resolved"] = resolved
        result = new_interaction(self.world, kind=InteractionType.MESSAGE_COMPONENT,
                                 data=data, channel=message.channel, user=user,
                                 source_message=message)
        return await self._send(result)

    def _select_values(self, comp: dict[str, Any], values: list[Any], channel: Channel,
                       user: User) -> tuple[list[str], dict[str, dict[str, Any]]]:
        resolved: dict[str, dict[str, Any]] = {}
        lo, hi = int(comp.get("min_values", 1)), int(comp.get("max_values", 1))
        if not lo <= len(values) <= hi:
            raise SandboxError(f"select {comp['custom_id']!r} takes {lo}..{hi} values")
        if comp["type"] == 3:
            allowed = [o["value"] for o in comp.get("options") or []]
            for value in values:
                if value not in allowed:
                    raise SandboxError(f"{value!r} is not an option of the select ({allowed})")
            return [str(v) for v in values], resolved
        kinds = {5: USER, 6: ROLE, 7: MENTIONABLE, 8: CHANNEL}
        out = [str(self._resolve_value(kinds[comp["type"]], v, channel, user, resolved))
               for v in values]
        return out, resolved

    async def submit_modal(self, modal: Modal | None, *, by: User | Member | None = None,
                           values: Mapping[str, str] | None = None,
                           selects: Mapping[str, list[str]] | None = None
                           ) -> InteractionResult:
        """Submit a modal the bot opened. ``values``/``selects`` are keyed by custom_id or
        by label; required inputs must be given."""
        if modal is None:
            raise SandboxError("the interaction did not answer with a modal")
        values = dict(values or {})
        selects = dict(selects or {})
        source = modal.source
        user = (by.user if isinstance(by, Member) else by) or source.user

        def mirror(comp: dict[str, Any], label: str | None) -> dict[str, Any] | None:
            keys = [comp.get("custom_id"), label or comp.get("label")]
            if comp.get("type") == 4:
                value = next((values[k] for k in keys if k in values), None)
                if value is None:
                    if comp.get("required", True) and not comp.get("value"):
                        raise SandboxError(f"modal input {keys[1] or keys[0]!r} is required")
                    value = comp.get("value") or ""
                if comp.get("max_length") and len(value) > int(comp["max_length"]):
                    raise SandboxError(f"modal input {keys[1]!r} allows "
                                       f"{comp['max_length']} characters")
                return {"type": 4, "id": comp.get("id"), "custom_id": comp["custom_id"],
                        "value": value}
            if comp.get("type") in (3, 5, 6, 7, 8):
                chosen = next((selects[k] for k in keys if k in selects), [])
                return {"type": comp["type"], "id": comp.get("id"),
                        "custom_id": comp["custom_id"], "values": list(chosen)}
            return None

        mirrored: list[dict[str, Any]] = []
        for comp in modal.components:
            if comp.get("type") == 1:
                kids = [m for c in comp.get("components") or [] if (m := mirror(c, None))]
                mirrored.append({"type": 1, "id": comp.get("id"), "components": kids})
            elif comp.get("type") == 18:
                inner = mirror(comp.get("component") or {}, comp.get("label"))
                if inner is not None:
                    mirrored.append({"type": 18, "id": comp.get("id"), "component": inner})
        data = {"custom_id": modal.custom_id, "components": mirrored}
        result = new_interaction(self.world, kind=InteractionType.MODAL_SUBMIT, data=data,
                                 channel=source.channel, user=user,
                                 source_message=source.source_message)
        return await self._send(result)
