"""Services by type: built in cog `setup` or by the app, handed to whoever needs them."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


class ServiceRegistry:
    """A typed map from service class to its one instance in this bot."""

    def __init__(self) -> None:
        self._services: dict[type[Any], Any] = {}

    def provide(self, service: T, as_type: type[T] | None = None) -> T:
        """Register `service` (under its own class unless `as_type` is given)."""
        self._services[as_type or type(service)] = service
        return service

    def get(self, kind: type[T]) -> T:
        """The registered instance of `kind`; KeyError names the missing service."""
        try:
            return self._services[kind]  # type: ignore[no-any-return]
        except KeyError:
            raise KeyError(f"service {kind.__name__} is not available") from None

    def find(self, kind: type[T]) -> T | None:
        """The registered instance of `kind`, or None (optional collaborations)."""
        return self._services.get(kind)
