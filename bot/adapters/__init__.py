"""Discord adapters: discord.py objects -> the domain's facts; plans -> REST calls."""
