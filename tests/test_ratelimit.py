"""The per-process REST budget: the token bucket, and its hook in front of discord.py's HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import discord
import pytest

from bot.app import point_at
from bot.ratelimit import TokenBucket, budget_trace, exempt
from config.settings import SettingsError, load_settings
from sandbox import Sandbox


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_lets_a_burst_through_then_spaces_requests_at_its_rate():
    ticks = Ticks()
    bucket = TokenBucket(rate=5, burst=2, now=ticks)
    assert [bucket.delay() for _ in range(2)] == [0.0, 0.0]
    assert bucket.delay() == pytest.approx(0.2)
    assert bucket.delay() == pytest.approx(0.4)  # queued behind the one before
    ticks.now += 10  # a quiet spell refills only up to the burst
    assert [bucket.delay() for _ in range(2)] == [0.0, 0.0]
    assert bucket.delay() == pytest.approx(0.2)
    assert bucket.taken == 7


def test_a_bucket_needs_a_positive_rate():
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate=0)


def test_only_requests_under_the_global_limit_are_counted():
    assert not exempt("/api/v10/channels/1/messages")
    assert not exempt("/api/v10/webhooks/1")  # reading a webhook uses the bot token
    assert exempt("/api/v10/webhooks/1/token")  # executing one does not
    assert exempt("/api/v10/interactions/1/token/callback")
    assert exempt("/api/v10/webhooks/5/token/messages/@original")


def test_the_budget_setting_is_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("STEWARD_REST_BUDGET", "80")
    with pytest.raises(SettingsError, match="STEWARD_REST_BUDGET"):
        load_settings(env_file=None)
    monkeypatch.setenv("STEWARD_REST_BUDGET", "12.5")
    monkeypatch.setenv("STEWARD_KEY_FILE", str(tmp_path / "k.key"))
    settings = load_settings(env_file=None)
    assert settings.rest_budget == 12.5 and settings.key_file == tmp_path / "k.key"


@pytest.mark.sandbox
async def test_discord_py_requests_wait_for_the_budget_and_interaction_replies_do_not():
    async with Sandbox() as sb:
        guild = sb.add_guild("Hope Together")
        channel = sb.add_text_channel(guild, "general")
        bucket = TokenBucket(rate=4, burst=1)
        client = discord.Client(intents=discord.Intents.none(), http_trace=budget_trace(bucket))
        point_at(sb.api_base, sb.gateway_url)
        await client.login(sb.token)  # GET /users/@me, /oauth2/applications/@me
        try:
            before = bucket.taken
            sent = await asyncio.gather(*(client.http.send_message(channel.id, params=_text(i))
                                          for i in range(5)))
            assert len(sent) == 5 and len(sb.messages(channel)) == 5
            assert bucket.taken == before + 5
            # At most one token saved up, then 4/s: at least four of the five were held back
            # (0.25 + 0.5 + 0.75 + 1.0 s in all, less whatever refilled meanwhile).
            assert bucket.waited > 1.0
            webhook = await client.http.create_webhook(channel.id, name="steward")
            counted = bucket.taken
            await client.http.request(discord.http.Route(
                "POST", "/webhooks/{webhook_id}/{webhook_token}",
                webhook_id=webhook["id"], webhook_token=webhook["token"]),
                json={"content": "from the webhook", "allowed_mentions": {"parse": []}})
            assert bucket.taken == counted  # webhook executions are outside the limit
        finally:
            await client.close()


def _text(i: int):
    from discord.http import handle_message_parameters

    return handle_message_parameters(content=f"note {i}",
                                     allowed_mentions=discord.AllowedMentions.none())


@pytest.mark.parametrize(("argv", "says"), [
    (["run", "--shards", "0-3"], "--shards and --shard-count go together"),
    (["run", "--shard-count", "8"], "--shards and --shard-count go together"),
    (["run", "--shards", "6-9", "--shard-count", "8"], "shard 8 is not below the shard count"),
    (["run", "--shards", "3-1", "--shard-count", "8"], "from low to high"),
    (["run", "--shards", "x", "--shard-count", "8"], "not a shard number"),
])
def test_steward_run_refuses_a_bad_shard_range_in_one_line(monkeypatch, capsys, argv, says):
    from bot.cli import main

    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    monkeypatch.setenv("DISCORD_TOKEN", "not-used")
    monkeypatch.setenv("DISCORD_API_BASE", "http://127.0.0.1:9/api/v10")  # never dialled
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and "not-used" not in err
