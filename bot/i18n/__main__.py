"""`./dev i18n extract|update|compile|init LANG`: Babel's catalog commands, set up for Steward.

- extract: write bot/locale/steward.pot from every `tr`/`trn`/`N_` call and command text;
- update:  merge the template into every bot/locale/<lang>/LC_MESSAGES/steward.po;
- init LANG: start a new language's catalog from the template;
- compile: write the .mo files (optional: Steward compiles the .po files in memory itself).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

from bot.i18n import DOMAIN, LOCALE_DIR

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
MAPPING = Path(__file__).resolve().parent / "babel.cfg"
KEYWORDS = ["-k", "tr", "-k", "trn:1,2", "-k", "N_"]
SOURCES = ["bot", "cogs", "config"]


def main(argv: list[str]) -> int:
    """Run one catalog command; returns the exit status."""
    if not argv or argv[0] not in ("extract", "update", "compile", "init"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "extract":
        args = ["extract", "-F", str(MAPPING), *KEYWORDS, "--no-location", "--sort-output",
                "--project", "Steward", "--copyright-holder", "Steward contributors",
                "--msgid-bugs-address", "", "-o", str(TEMPLATE),
                *[str(ROOT / s) for s in SOURCES]]
    elif command == "update":
        args = ["update", "-i", str(TEMPLATE), "-d", str(LOCALE_DIR), "-D", DOMAIN,
                "--no-fuzzy-matching", "--ignore-obsolete"]
    elif command == "init":
        if not rest:
            print("usage: ./dev i18n init LANG (e.g. pt_BR)")
            return 2
        args = ["init", "-i", str(TEMPLATE), "-d", str(LOCALE_DIR), "-D", DOMAIN,
                "-l", rest.pop(0)]
    else:
        args = ["compile", "-d", str(LOCALE_DIR), "-D", DOMAIN, "--statistics"]
    CommandLineInterface().run(["pybabel", *args, *rest])  # type: ignore[no-untyped-call]
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
