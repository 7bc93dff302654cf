"""Turning errors into short, kind ephemeral replies, for commands, buttons and modals alike."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import discord
from discord import app_commands

from bot.errors import StewardError
from bot.i18n import N_, tr
from bot.messaging import reply_ephemeral
from bot.ui.language import hear

log = logging.getLogger(__name__)

GENERIC_APOLOGY = N_(
    "Sorry, something went wrong on my side. The moderators can see the details in my logs."
)

P = ParamSpec("P")
T = TypeVar("T")


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        if error.__cause__ is None:
            break
        error = error.__cause__
    return error


async def answer_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Reply to `interaction` with the error's user message, or a generic apology (logged)."""
    error = _unwrap(error)
    if isinstance(error, StewardError):
        message = error.user_message
    elif isinstance(error, app_commands.CheckFailure):
        message = str(error) or tr("You can't use this command here.")
    elif isinstance(error, discord.Forbidden):
        log.warning("Discord refused an action for interaction %s: %s", interaction.id, error.code)
        message = tr("Discord didn't let me do that: I'm missing a permission. "
                     "An admin can run /steward doctor to see which.")
    else:
        log.error("interaction %s failed", interaction.id, exc_info=error)
        message = tr(GENERIC_APOLOGY)
    try:
        await reply_ephemeral(interaction, message)
    except discord.HTTPException:
        log.warning("could not tell the user about an error on interaction %s", interaction.id)


def guarded(
    func: Callable[P, Awaitable[None]],
) -> Callable[P, Awaitable[None]]:
    """Wrap a component/modal callback `(self, interaction, ...)` so errors become replies.

    Use on DynamicItem callbacks: discord.py would only log their errors.
    """

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        for arg in args:
            if isinstance(arg, discord.Interaction):
                hear(arg)
        try:
            await func(*args, **kwargs)
        except Exception as exc:
            interaction = next(a for a in args if isinstance(a, discord.Interaction))
            await answer_error(interaction, exc)

    return wrapper


class StewardTree(app_commands.CommandTree[Any]):
    """The command tree: one error handler for every application command."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Every command answers in the invoker's language."""
        hear(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Map domain errors to ephemeral replies; log the rest once."""
        await answer_error(interaction, error)


class StewardModal(discord.ui.Modal):
    """A modal whose errors become ephemeral replies, in the submitter's language."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Answer in the submitter's language."""
        hear(interaction)
        return True

    async def on_error(  # type: ignore[override]  # Modal.on_error takes no item
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:
        """Reply with the error."""
        await answer_error(interaction, error)


class StewardView(discord.ui.View):
    """A view whose errors become ephemeral replies, in the clicker's language.

    Buttons declared with `@discord.ui.button(label=N_("..."))` are labelled in the language
    spoken where the view is built.
    """

    def __init__(self, *, timeout: float | None = 180.0) -> None:
        super().__init__(timeout=timeout)
        for item in self.children:
            if isinstance(item, discord.ui.Button) and item.label:
                item.label = tr(item.label)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Answer in the clicker's language."""
        hear(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        """Reply with the error."""
        await answer_error(interaction, error)
