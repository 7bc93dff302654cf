"""Feature adapters: discord.py objects -> domain facts; plans -> Discord calls."""
