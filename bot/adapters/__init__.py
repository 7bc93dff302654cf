"""Feature adapters: discord.py objects -> facts; plans -> REST calls."""
