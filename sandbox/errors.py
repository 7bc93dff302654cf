"""Discord-shaped API errors raised by sandbox route handlers.

Every REST handler signals a failure by raising :class:`ApiError`; the REST layer turns it
into the JSON body Discord sends (``{"code": N, "message": "...", "errors": {...}}``) with
the matching HTTP status, so discord.py raises the same exception it would in production
(``discord.Forbidden`` for 403, ``discord.NotFound`` for 404, ``discord.HTTPException``
otherwise).

Scenario misuse (asking for a command that was never registered, clicking a button that
does not exist, ...) raises :class:`SandboxError` in the *test*, never on the wire.
"""

from __future__ import annotations

from typing import Any


class SandboxError(Exception):
    """A test used the scenario API in a way that cannot work (raised in the test)."""


class ApiError(Exception):
    """An error response, exactly as Discord would send it."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        """The JSON body Discord sends for this error."""
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            out["errors"] = self.errors
        return out


def form_error(path: str, code: str, message: str) -> dict[str, Any]:
    """Build Discord's nested ``errors`` object for one failing field.

    ``path`` is dotted, e.g. ``"embeds.0.title"`` ->
    ``{"embeds": {"0": {"title": {"_errors": [{"code": ..., "message": ...}]}}}}``.
    """
    out: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        out = {part: out}
    return out


def invalid_form_body(path: str, code: str, message: str) -> ApiError:
    """400 / 50035 Invalid Form Body for one field."""
    return ApiError(400, 50035, "Invalid Form Body", form_error(path, code, message))


def too_long(path: str, limit: int) -> ApiError:
    """50035 for a string longer than Discord allows."""
    return invalid_form_body(
        path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
    )


def too_many(path: str, limit: int) -> ApiError:
    """50035 for a list longer than Discord allows."""
    return invalid_form_body(
        path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
    )


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def empty_message() -> ApiError:
    return ApiError(400, 50006, "Cannot send an empty message")


def cannot_dm() -> ApiError:
    return ApiError(403, 50007, "Cannot send messages to this user")


def unknown_channel() -> ApiError:
    return ApiError(404, 10003, "Unknown Channel")


def unknown_guild() -> ApiError:
    return ApiError(404, 10004, "Unknown Guild")


def unknown_member() -> ApiError:
    return ApiError(404, 10007, "Unknown Member")


def unknown_message() -> ApiError:
    return ApiError(404, 10008, "Unknown Message")


def unknown_role() -> ApiError:
    return ApiError(404, 10011, "Unknown Role")


def unknown_user() -> ApiError:
    return ApiError(404, 10013, "Unknown User")


def unknown_webhook() -> ApiError:
    return ApiError(404, 10015, "Unknown Webhook")


def unknown_ban() -> ApiError:
    return ApiError(404, 10026, "Unknown Ban")


def unknown_interaction() -> ApiError:
    return ApiError(404, 10062, "Unknown interaction")


def unknown_command() -> ApiError:
    return ApiError(404, 10063, "Unknown application command")


def already_acknowledged() -> ApiError:
    return ApiError(400, 40060, "Interaction has already been acknowledged.")


def not_found_route() -> ApiError:
    return ApiError(404, 0, "404: Not Found")


def unauthorized() -> ApiError:
    return ApiError(401, 0, "401: Unauthorized")


def archived_thread() -> ApiError:
    return ApiError(400, 50083, "Thread is archived")
