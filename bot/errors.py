"""Domain errors. Cogs and services raise these; one handler turns them into short replies."""

from __future__ import annotations

from bot.i18n import N_, tr


class StewardError(Exception):
    """An expected failure with a message fit to show the person who caused it."""

    default = N_("Sorry, that didn't work.")

    def __init__(self, message: str | None = None) -> None:
        text = message or tr(self.default)
        super().__init__(text)
        self.user_message = text


class NotModerator(StewardError):
    """The person is not a moderator here."""

    default = N_("Only moderators can do that (Manage Messages or a moderator role).")


class NotAdmin(StewardError):
    """The person lacks Manage Server."""

    default = N_("Only server admins (Manage Server) can change Steward's settings.")


class NotAllowedThere(StewardError):
    """The moderator may not do this in that channel (they can't view or post there)."""

    default = N_("You can't post in that channel yourself, so I won't post there for you.")


class NotFound(StewardError):
    """The thing asked for does not exist (any more)."""

    default = N_("I couldn't find that. It may have been removed already.")


class AlreadyDecided(StewardError):
    """Someone else already acted on this."""

    default = N_("Someone already took care of this.")


class InvalidInput(StewardError):
    """The input can't be used as given."""

    default = N_("That input isn't valid.")


class BotMissingPermissions(StewardError):
    """The bot lacks a Discord permission it needs for this."""

    default = N_("I don't have the Discord permissions I need for that.")
