"""Developer tools that are not part of the bot (run with `uv run python -m tools.NAME`)."""
