"""The offline demo plays start to finish and shows the story."""

from __future__ import annotations

import io

from bot.demo import play


async def test_demo_plays_offline_and_shows_the_story(tmp_path):
    out = io.StringIO()
    await play(out, tmp_path / "demo.sqlite3")
    transcript = out.getvalue()
    assert "registered" in transcript and "/steward" in transcript
    assert "#mod-queue" in transcript
    assert transcript.rstrip().endswith("built-in sandbox.")
