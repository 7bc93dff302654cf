"""Every word Steward says, in the reader's language: gettext catalogs managed with Babel.

Strings are marked where they are written and translated where they are used:

- `tr("Your post in {channel} is held.", channel=mention)` translates into the language being
  spoken now and fills the named placeholders (`{name}`, never positional);
- `trn("{count} post", "{count} posts", n, count=n)` picks the plural form;
- `N_("Approve")` only marks a module-level constant for extraction; translate it with
  `tr(CONSTANT)` when it is shown.

Who reads a text decides its language. The layer that knows the reader (an adapter or UI
module: the interaction's locale, or the server's language for public posts, cards and the mod
log) opens `with speaking(language):` around the work; services and domain code receive a
plain language code or simply call `tr`, and never see discord. Outside any `speaking` block
the source language (English) is spoken.

Catalogs live in `bot/locale/<lang>/LC_MESSAGES/steward.po` and are compiled in memory when
first used, so a clean checkout needs no build step. `./dev i18n extract|update|compile`
manages them (see docs/guide/languages.md). The pseudo-locale `xx` wraps every translated
string in `⟦ ⟧`: a test plays the sandbox stories in it and fails on any visible text outside
the markers, which would be a string that bypasses the catalog.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

DOMAIN = "steward"
SOURCE = "en"
PSEUDO = "xx"
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
COMMAND_CONTEXT = "command"  # msgctxt of command, option and choice names
DEMO_CONTEXT = "demo"  # msgctxt of the demo's narration (bot/demo: `story.say(...)` and co.)

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_speaking: ContextVar[str] = ContextVar("steward_language", default=SOURCE)


def placeholders(text: str) -> set[str]:
    """The named `{placeholders}` in a message."""
    return set(_PLACEHOLDER.findall(text))


def fill(text: str, values: dict[str, object]) -> str:
    """`text` with each `{name}` given in `values` replaced; other braces are left alone."""
    if not values:
        return text
    return _PLACEHOLDER.sub(
        lambda m: str(values[m[1]]) if m[1] in values else m[0], text)


@cache
def shipped() -> tuple[str, ...]:
    """The languages Steward speaks: English (the source) and every catalog under locale/."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE, *[lang for lang in found if lang != SOURCE])


def negotiate(locale: str | None) -> str:
    """The shipped language for a Discord locale (`es-ES`, `es-419`, `en-US`, ...); else English."""
    if not locale:
        return SOURCE
    tag = str(locale).replace("_", "-")
    if tag == PSEUDO:
        return PSEUDO
    languages = shipped()
    if tag in languages:
        return tag
    base = tag.split("-")[0].lower()
    return base if base in languages else SOURCE


class Translator:
    """One language's catalog, plus Babel's formatting of numbers, dates and durations."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._catalog: gettext.NullTranslations = _load(language)
        self.locale = _babel_locale(language)

    def gettext(self, message: str, /, **values: object) -> str:
        """`message` in this language with its placeholders filled."""
        if self.language == PSEUDO:
            return _pseudo(fill(message, values))
        return fill(self._catalog.gettext(message), values)

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """The form of `singular`/`plural` for `n`, placeholders filled."""
        if self.language == PSEUDO:
            return _pseudo(fill(singular if n == 1 else plural, values))
        return fill(self._catalog.ngettext(singular, plural, n), values)

    def known(self, text: str, /) -> str:
        """`text` translated when it is one of the catalog's messages (recorded text, such as
        a reason in the audit log), else as it is."""
        if self.language == PSEUDO:
            return _pseudo(text) if text in _template_messages() else text
        return self._catalog.gettext(text)

    def pgettext(self, context: str, message: str, /) -> str:
        """`message` in `context` (e.g. a command name), untranslated when missing."""
        if self.language == PSEUDO:
            return _pseudo(message)
        return self._catalog.pgettext(context, message)

    def number(self, value: float) -> str:
        """A number written the local way (`1,234.5` / `1.234,5`)."""
        return format_decimal(value, locale=self.locale)

    def date(self, when: datetime, zone: tzinfo | None = None) -> str:
        """A date written the local way (`Mar 14, 2026` / `14 mar 2026`)."""
        return format_date(when.astimezone(zone) if zone else when, format="medium",
                           locale=self.locale)

    def datetime(self, when: datetime, zone: tzinfo | None = None) -> str:
        """A date and time written the local way, in `zone`."""
        return format_datetime(when, format="medium", tzinfo=zone, locale=self.locale)

    def duration(self, delta: timedelta) -> str:
        """A rounded duration in words (`3 days`, `3 días`)."""
        return format_timedelta(delta, threshold=1.5, locale=self.locale)


@cache
def translator(language: str) -> Translator:
    """The translator for a shipped language (English for any other)."""
    return Translator(language if language in (*shipped(), PSEUDO) else SOURCE)


def current() -> Translator:
    """The translator of the language being spoken now."""
    return translator(_speaking.get())


def current_language() -> str:
    """The language being spoken now."""
    return _speaking.get()


@contextmanager
def speaking(language: str | None) -> Iterator[Translator]:
    """Speak `language` (a Discord locale or language code; None keeps the current one)."""
    if language is None:
        yield current()
        return
    token = _speaking.set(negotiate(language))
    try:
        yield current()
    finally:
        _speaking.reset(token)


def use_language(language: str | None) -> None:
    """Speak `language` for the rest of the current task (an interaction's or event's task)."""
    _speaking.set(negotiate(language))


def tr(message: str, /, **values: object) -> str:
    """`message` in the language being spoken, named placeholders filled."""
    return current().gettext(message, **values)


def trn(singular: str, plural: str, n: int, /, **values: object) -> str:
    """The plural form for `n` in the language being spoken, placeholders filled."""
    return current().ngettext(singular, plural, n, **values)


def on_off(value: bool) -> str:
    """A setting's state in words: "on" or "off"."""
    return tr("on") if value else tr("off")


def custom_or_default(custom: object) -> str:
    """Whether a wording is the server's own ("custom") or Steward's ("default")."""
    return tr("custom") if custom else tr("default")


def N_(message: str, /) -> str:  # noqa: N802  # gettext's conventional name
    """Mark a constant for extraction; translate it with `tr` where it is shown."""
    return message


@cache
def _template_messages() -> frozenset[str]:
    path = LOCALE_DIR / f"{DOMAIN}.pot"
    if not path.exists():
        return frozenset()
    with path.open("rb") as pot:
        return frozenset(m.id for m in read_po(pot) if isinstance(m.id, str) and m.id)


def _pseudo(text: str) -> str:
    return f"{PSEUDO_OPEN}{text}{PSEUDO_CLOSE}"


def catalog_path(language: str) -> Path:
    """Where a language's .po file lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _load(language: str) -> gettext.NullTranslations:
    path = catalog_path(language)
    if language in (SOURCE, PSEUDO) or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _babel_locale(language: str) -> Locale:
    try:
        return Locale.parse(SOURCE if language == PSEUDO else language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(SOURCE)
