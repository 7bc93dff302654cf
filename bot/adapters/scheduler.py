"""What a Discord error means to the scheduler: try again later, or give up with a reason."""

from __future__ import annotations

import aiohttp
import discord

from bot.services.scheduler import DeliveryFailed, RetryLater, classify_plain


def classify_discord_error(error: BaseException) -> RetryLater | DeliveryFailed | None:
    """429, 5xx and network trouble retry; 403 and 404 fail; anything else is unexpected."""
    if isinstance(error, aiohttp.ClientError):
        return RetryLater(type(error).__name__)
    if isinstance(error, discord.HTTPException):
        if error.status == 429 or error.status >= 500:
            return RetryLater(f"HTTP {error.status}")
        if isinstance(error, discord.Forbidden):
            return DeliveryFailed("no_access")
        if isinstance(error, discord.NotFound):
            return DeliveryFailed("not_found")
        return None
    return classify_plain(error)
