"""The message router: which messages reach which handlers (no Discord: plain stand-ins)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.routing import MessageRouter


def message(*, bot: bool = False, webhook: bool = False, user_app: bool | None = None,
            guild_app: bool = False) -> SimpleNamespace:
    """A guild message; `user_app` gives it interaction metadata (a user-installed app's)."""
    meta = None
    if user_app is not None:
        meta = SimpleNamespace(is_user_integration=lambda: user_app,
                               is_guild_integration=lambda: guild_app)
    return SimpleNamespace(id=1, guild=object(), author=SimpleNamespace(bot=bot),
                           webhook_id=5 if webhook else None, interaction_metadata=meta)


@pytest.mark.asyncio
async def test_apps_posts_for_a_member_reach_only_handlers_that_ask_and_other_bots_none():
    router = MessageRouter()
    seen: dict[str, list[object]] = {"holds": [], "welcome": []}

    def handler(name: str):
        async def handle(msg: object) -> bool:
            seen[name].append(msg)
            return False
        return handle

    router.add("holds", handler("holds"), priority=10, app_posts=True)
    router.add("welcome", handler("welcome"), priority=90)
    human = message()
    app_post = message(bot=True, webhook=True, user_app=True)
    others = [message(bot=True), message(webhook=True), message(bot=True, user_app=False),
              message(bot=True, user_app=True, guild_app=True)]
    for msg in [human, app_post, *others]:
        await router.dispatch(msg)  # type: ignore[arg-type]
    assert seen["holds"] == [human, app_post]
    assert seen["welcome"] == [human]
