"""`steward run` as a separate process, pointed at a sandbox by its two settings."""

from __future__ import annotations

from bot.clock import FakeClock
from sandbox import Sandbox
from sandbox.process import StewardProcess
from sandbox.world import build_support_server


async def test_steward_run_connects_to_the_given_urls_and_answers_a_slash_command(tmp_path):
    clock = FakeClock()
    async with Sandbox() as sb:
        server = build_support_server(sb, clock)
        steward = StewardProcess(sb, tmp_path / "run.sqlite3")
        await steward.start()
        try:
            assert sb.registered_commands()
            result = await sb.slash(server.guild, server.owner, "steward settings")
            await result.responded(timeout=30)
            assert result.ephemeral
            await result.done()
            shown = result.content + " ".join(
                (e.get("description") or "") + str(e.get("fields")) for e in result.embeds)
            assert "moderator_roles" in shown.lower().replace(" ", "_")
        finally:
            stderr = await steward.stop()  # asserts exit 0
        assert sb.token not in stderr
        # A clean stop finishes its shutdown work (database closed) before the loop ends.
        assert "Traceback" not in stderr, stderr[-3000:]
        assert "Event loop is closed" not in stderr


async def _run_until_exit(sb, tmp_path, token):
    steward = StewardProcess(sb, tmp_path / "run.sqlite3", token=token)
    await steward.spawn()
    code = await steward.exited()
    steward_lines = [line for line in steward.lines if line.startswith("steward:")]
    return code, steward_lines, steward.stderr


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
