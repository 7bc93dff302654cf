"""`steward run` as a separate process, pointed at a sandbox by its two settings."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.world import build_support_server

ROOT = Path(__file__).resolve().parents[2]


async def test_steward_run_connects_to_the_given_urls_and_answers_a_slash_command(tmp_path):
    clock = FakeClock()
    async with Sandbox() as sb:
        server = build_support_server(sb, clock)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "STEWARD_"))}
        env.update({
            "DISCORD_TOKEN": sb.token,
            "DISCORD_API_BASE": sb.api_base,
            "DISCORD_GATEWAY_URL": sb.gateway_url,
            "STEWARD_DATABASE": str(tmp_path / "run.sqlite3"),
            "PYTHONPATH": str(ROOT),
        })
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            await sb.wait_for(lambda: sb.connected and sb.registered_commands(), timeout=60)
            # on_ready follows GUILD_CREATE after discord.py's guild_ready_timeout (2 s).
            await sb.wait_for(lambda: any(
                r.route == "GET /users/@me" for r in sb.requests), timeout=30)
            result = await sb.slash(server.guild, server.owner, "steward settings")
            await result.responded(timeout=30)
            assert result.ephemeral
            await result.done()
            shown = result.content + " ".join(
                (e.get("description") or "") + str(e.get("fields")) for e in result.embeds)
            assert "moderator_roles" in shown.lower().replace(" ", "_")
        finally:
            process.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert sb.token not in stderr.decode() and sb.token not in stdout.decode()
        # A clean stop finishes its shutdown work (database closed) before the loop ends.
        assert "Traceback" not in stderr.decode(), stderr.decode()[-3000:]
        assert "Event loop is closed" not in stderr.decode()


async def _run_until_exit(sb, tmp_path, token):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "STEWARD_"))}
    env.update({
        "DISCORD_TOKEN": token,
        "DISCORD_API_BASE": sb.api_base,
        "DISCORD_GATEWAY_URL": sb.gateway_url,
        "STEWARD_DATABASE": str(tmp_path / "run.sqlite3"),
        "PYTHONPATH": str(ROOT),
    })
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    steward_lines = [line for line in stderr.decode().splitlines() if line.startswith("steward:")]
    return process.returncode, steward_lines, stderr.decode()


async def test_steward_run_names_the_intents_to_enable_when_discord_refuses_them(tmp_path):
    async with Sandbox(privileged_intents_enabled=()) as sb:
        build_support_server(sb, FakeClock())
        code, lines, stderr = await _run_until_exit(sb, tmp_path, sb.token)
    assert code == 2, stderr[-2000:]
    assert len(lines) == 1
    assert "SERVER MEMBERS INTENT" in lines[0] and "MESSAGE CONTENT INTENT" in lines[0]
    assert "Traceback" not in stderr


async def test_steward_run_with_a_wrong_token_says_so_without_printing_it(tmp_path):
    async with Sandbox() as sb:
        build_support_server(sb, FakeClock())
        code, lines, stderr = await _run_until_exit(sb, tmp_path, "not-the-right-token")
    assert code == 2, stderr[-2000:]
    assert len(lines) == 1 and "DISCORD_TOKEN" in lines[0]
    assert "not-the-right-token" not in stderr and "Traceback" not in stderr
