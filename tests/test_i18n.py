"""The catalogs: complete, in sync with the code, placeholders intact; negotiation, the
pseudo-locale and Babel's formatting."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from bot.i18n import (
    COMMAND_CONTEXT,
    LOCALE_DIR,
    N_,
    PSEUDO,
    SOURCE,
    catalog_path,
    fill,
    negotiate,
    placeholders,
    shipped,
    speaking,
    tr,
    translator,
    trn,
)

SHIPPED = [lang for lang in shipped() if lang != SOURCE]
TEMPLATE = LOCALE_DIR / "steward.pot"


def _catalog(language):
    with catalog_path(language).open("rb") as po:
        return read_po(po, locale=language)


def _template():
    with TEMPLATE.open("rb") as pot:
        return read_po(pot)


def _forms(value):
    return list(value) if isinstance(value, tuple | list) else [value]


def test_spanish_ships():
    assert "es" in shipped() and shipped()[0] == SOURCE


@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_of_the_template_is_translated(language):
    template = {(m.context, m.id) for m in _template() if m.id}
    catalog = _catalog(language)
    entries = {(m.context, m.id): m for m in catalog if m.id}
    missing = sorted(str(key) for key in template - entries.keys())
    assert not missing, f"{language}: not in the catalog (run ./dev i18n update): {missing[:5]}"
    untranslated = [str(k) for k, m in entries.items()
                    if k in template and (not all(_forms(m.string)) or m.fuzzy)]
    assert not untranslated, f"{language}: untranslated or fuzzy: {untranslated[:5]}"


@pytest.mark.parametrize("language", SHIPPED)
def test_placeholders_match_in_every_translation(language):
    wrong = []
    for message in _catalog(language):
        if not message.id:
            continue
        ids = _forms(message.id)
        expected = set().union(*(placeholders(i) for i in ids))
        got = [placeholders(s) for s in _forms(message.string)]
        # Every form uses only the message's placeholders; together they use all of them.
        if any(g - expected for g in got) or set().union(*got) != expected:
            wrong.append((ids[0][:60], sorted(expected), [sorted(g) for g in got]))
    assert not wrong, f"{language}: placeholders differ: {wrong[:5]}"


@pytest.mark.parametrize("language", SHIPPED)
def test_markdown_and_mentions_survive_translation(language):
    """A translation keeps the message's mentions, code spans' count and line breaks."""
    wrong = []
    for message in _catalog(language):
        if not message.id or message.context == COMMAND_CONTEXT:
            continue
        source = _forms(message.id)[-1]
        for text in _forms(message.string):
            for pattern in (r"<(?:@[!&]?|#)\{?\w+\}?>", r"<t:\{\w+\}:\w>", r"\n"):
                if len(re.findall(pattern, source)) != len(re.findall(pattern, text)):
                    wrong.append((source[:60], pattern))
            if source.count("`") % 2 == 0 and text.count("`") % 2:
                wrong.append((source[:60], "unbalanced `"))
    assert not wrong, wrong[:5]


def test_only_named_placeholders_are_used_in_the_template():
    positional = [m.id for m in _template() if m.id
                  and any(re.search(r"\{\d*\}|%[sd]", i) for i in _forms(m.id))]
    assert not positional, positional


def test_the_template_is_in_sync_with_the_code(tmp_path):
    """`./dev i18n extract` was run: the committed template has exactly the code's messages."""
    out = tmp_path / "steward.pot"
    from bot.i18n.__main__ import KEYWORDS, MAPPING, ROOT, SOURCES

    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(MAPPING), *KEYWORDS,
                                "--no-location", "-o", str(out),
                                *[str(ROOT / s) for s in SOURCES]])
    with out.open("rb") as pot:
        fresh = {(m.context, m.id) for m in read_po(pot) if m.id}
    committed = {(m.context, m.id) for m in _template() if m.id}
    new, stale = sorted(map(str, fresh - committed)), sorted(map(str, committed - fresh))
    assert not new, f"new messages; run ./dev i18n extract and update: {new[:5]}"
    assert not stale, f"stale messages; run ./dev i18n extract and update: {stale[:5]}"


@pytest.mark.parametrize("locale, language", [
    ("es-ES", "es"), ("es-419", "es"), ("es", "es"), ("en-US", "en"), ("en-GB", "en"),
    ("fr", "en"), (None, "en"), ("", "en"), (PSEUDO, PSEUDO), ("es_ES", "es"), ("ES-es", "es"),
])
def test_discord_locales_negotiate_to_a_shipped_language(locale, language):
    assert negotiate(locale) == language


def test_speaking_switches_the_language_and_restores_it():
    assert tr("Approve") == "Approve"
    with speaking("es-ES"):
        assert tr("Approve") == "Aprobar"
        with speaking("en-US"):
            assert tr("Approve") == "Approve"
        assert tr("Approve") == "Aprobar"
        with speaking(None):
            assert tr("Approve") == "Aprobar"
    assert tr("Approve") == "Approve"


def test_named_placeholders_are_filled_and_unknown_braces_left_alone():
    assert fill("Hi {member}, {unknown} {{x}}", {"member": "Sam"}) == "Hi Sam, {unknown} {{x}}"
    with speaking("es"):
        assert tr("Hold #{id}", id=7) == "Retención #7"
        assert trn("{count} day", "{count} days", 1, count=1) == "1 día"
        assert trn("{count} day", "{count} days", 3, count=3) == "3 días"
        assert trn("{count} day", "{count} days", 1_000_000, count=1_000_000) == "1000000 días"


def test_an_unknown_message_falls_back_to_english():
    with speaking("es"):
        assert tr("A sentence nobody translated, {who}.", who="Sam") == (
            "A sentence nobody translated, Sam.")


def test_the_pseudo_locale_wraps_every_string_and_its_values():
    with speaking(PSEUDO):
        assert tr("Hi {name}", name=tr("Sam")) == "⟦Hi ⟦Sam⟧⟧"
        assert trn("{n} post", "{n} posts", 2, n=2) == "⟦2 posts⟧"
    assert N_("Approve") == "Approve"


def test_numbers_dates_and_durations_are_written_the_local_way():
    when = datetime(2026, 3, 14, 15, 30, tzinfo=UTC)
    english, spanish = translator("en"), translator("es")
    assert english.number(1234.5) == "1,234.5" and spanish.number(1234.5) == "1.234,5"
    assert english.date(when) == "Mar 14, 2026" and spanish.date(when) == "14 mar 2026"
    assert "15:30" in spanish.datetime(when) and "3:30" in english.datetime(when)
    assert english.duration(timedelta(days=3)) == "3 days"
    assert spanish.duration(timedelta(days=3)) == "3 días"


def test_the_mod_log_speaks_the_readers_language():
    from bot.domain.audit import actor_line, detail_lines, plain_value, title_of

    with speaking("es"):
        assert title_of("hold.approved") == "Publicación aprobada"
        assert actor_line("hold.approved", "<@1>") == "Aprobado por <@1>"
        assert plain_value("edited", True) == "sí" and plain_value("removed", "gone") == (
            "ya no estaba")
        assert plain_value("check_in_due", "2026-04-14T15:00+00:00") == "<t:1776178800:f>"
        assert plain_value("core.timezone", "None → Europe/Madrid") == (
            "sin configurar → Europe/Madrid")
        assert detail_lines({"hold": 3, "strange_key": "x"}) == [
            "**Publicación retenida:** #3", "**Strange key:** x"]
    assert title_of("hold.approved") == "Post approved"


def test_attachment_sizes_are_written_the_local_way():
    from bot.ui.linkhold import _size

    assert _size(1536 * 1024) == "1.5 MB" and _size(2048) == "2 KB" and _size(12) == "12 B"
    with speaking("es"):
        assert _size(1536 * 1024) == "1,5 MB"


def test_recorded_words_read_in_the_readers_language_when_they_are_stewards_own():
    from bot.domain.audit import plain_value

    with speaking("es"):
        assert plain_value("reason", "the original poster answered") == (
            "el autor original respondió")
        assert plain_value("reason", "Selling fake pills") == "Selling fake pills"
    with speaking(PSEUDO):
        assert plain_value("reason", "the original poster answered") == (
            "⟦the original poster answered⟧")
        assert plain_value("reason", "Selling fake pills") == "Selling fake pills"


def test_steward_s_own_sentences_in_the_audit_log_are_read_in_the_readers_language():
    import json

    from bot.domain.audit import detail_lines, plain_value, said

    # Recorded as a catalog message and its values (as stored: JSON), not as English text.
    why = json.loads(json.dumps(said(N_("Discord error {status}/{code}"), status=500, code=0)))
    assert plain_value("problem", why) == "Discord error 500/0"
    with speaking("es"):
        assert plain_value("problem", why) == "Error de Discord 500/0"
        assert detail_lines({"problem": why}) == ["**Problema:** Error de Discord 500/0"]
        assert plain_value("via", "command line") == "la línea de comandos"
    with speaking(PSEUDO):
        assert plain_value("problem", why) == "⟦Discord error 500/0⟧"
