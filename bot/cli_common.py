"""What the `steward` subcommands share: exit codes, the one-line error, the command type."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from config.settings import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def fail(message: str, code: int = EXIT_CONFIG) -> int:
    """Print one clear line to stderr and return the exit code."""
    print(f"steward: {message}", file=sys.stderr)
    return code
