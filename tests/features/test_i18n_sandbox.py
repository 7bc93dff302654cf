"""Steward in Spanish, end to end against the sandbox.

Who reads decides the language: a member whose Discord speaks es-ES gets their replies, the
picker and (once Steward has seen their language) their link-hold DM in Spanish while the
moderators' card stays in the server's English; a server set to Spanish welcomes in Spanish and
keeps its mod log in Spanish; every command is registered with Spanish names and descriptions.
"""

from __future__ import annotations

import re
from itertools import count

import pytest
import pytest_asyncio
from babel.messages.pofile import read_po

from bot.domain.audit import EVENT_FAMILIES
from bot.i18n import COMMAND_CONTEXT, LOCALE_DIR, shipped, speaking, tr

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

_names = count()
# Discord's rule for command and option names (and their localizations): lowercase.
NAME = re.compile(r"^[-_\w]{1,32}$")


def fresh(prefix: str = "nuevo") -> str:
    return f"{prefix}{next(_names)}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(steward):
    sb, server = steward.sb, steward.server
    for private in (server.modlog, server.queue):
        sb.set_overwrite(private, sb.bot_role(server.guild), allow=["view_channel"])
    r = await sb.slash(server.guild, server.owner, "welcome settings",
                       options={"channel": server.welcome})
    await r.done()
    r = await sb.slash(server.guild, server.owner, "welcome group add", name="Duelo",
                       options={"channel": server.forum}, description="Para quien perdió a alguien",
                       keywords="duelo, pérdida")
    await r.done()
    return steward


def _options(command: dict) -> list[dict]:
    found = []
    for option in command.get("options") or []:
        found.append(option)
        found.extend(_options(option))
    return found


# --- commands ----------------------------------------------------------------------------------


async def test_every_command_is_registered_with_spanish_names_and_descriptions(env):
    commands = env.sb.registered_commands()
    assert commands
    for command in commands:
        data = command.data
        for locale in ("es-ES", "es-419"):
            # A name that reads the same in Spanish (steward, config, id) is left unlocalized.
            name = (data.get("name_localizations") or {}).get(locale, data["name"])
            if data.get("type", 1) == 1:
                assert NAME.match(name) and name == name.lower(), name
                assert data["description_localizations"][locale] != data["description"]
            else:  # context menus may have spaces and capitals
                assert 1 <= len(name) <= 32
        for option in _options(data):
            es = (option.get("name_localizations") or {}).get("es-ES", option["name"])
            assert NAME.match(es) and es == es.lower(), (data["name"], option["name"], es)
            if option["description"] != "…":  # discord.py's filler for an undescribed option
                described = option["description_localizations"]["es-ES"]
                assert 1 <= len(described) <= 100, (option["name"], described)
            for choice in option.get("choices") or []:
                assert 1 <= len(choice.get("name_localizations", {}).get("es-ES", "x")) <= 100
        for level in [data, *_options(data)]:  # siblings keep distinct names in Spanish too
            names = [(o.get("name_localizations") or {}).get("es-ES", o["name"])
                     for o in level.get("options") or []]
            assert len(names) == len(set(names)), (data["name"], names)
    linkhold = env.sb.command("linkhold")
    assert linkhold["name_localizations"]["es-ES"] == "retención-enlaces"
    assert linkhold["description_localizations"]["es-419"].startswith("Retención de enlaces")
    settings = next(o for o in linkhold["options"] if o["name"] == "settings")
    notify = next(o for o in settings["options"] if o["name"] == "notify")
    both = next(c for c in notify["choices"] if c["value"] == "both")
    assert both["name_localizations"]["es-ES"] == "ambos"
    menu = next(c.data for c in commands if c.data["name"] == "Repost for member")
    assert menu["name_localizations"]["es-ES"] == "Compartir por el miembro"
    assert "fr" not in linkhold["name_localizations"]  # languages Steward doesn't speak: none
    # The mod log's event families, one choice each, named in Spanish too.
    steward = env.sb.command("steward")
    modlog = next(o for o in steward["options"] if o["name"] == "modlog")
    event = next(o for o in modlog["options"] if o["name"] == "event")
    assert [c["value"] for c in event["choices"]] == list(EVENT_FAMILIES)
    for choice in event["choices"]:
        label = EVENT_FAMILIES[choice["value"]][0]
        assert choice["name"] == f"{choice['value']}: {label}"
        spanish = choice["name_localizations"]["es-ES"]
        with speaking("es"):
            assert spanish.endswith(tr(label)), (spanish, tr(label))


async def test_every_command_choice_name_is_a_catalog_message(env):
    """A choice named at run time (an f-string) can't be in the catalog, so Discord would show
    it in English to everyone: every choice name is a message of the template (context
    "command"), except a language's own name in the language picker."""
    with (LOCALE_DIR / "steward.pot").open("rb") as pot:
        known = {(m.context, m.id) for m in read_po(pot)}
    choices = [(command.data["name"], option["name"], choice)
               for command in env.sb.registered_commands() for option in _options(command.data)
               for choice in option.get("choices") or []]
    assert len(choices) > 20
    for command, option, choice in choices:
        if option == "language" and choice["value"] in shipped():
            continue  # "Español" stays "Español" for everyone
        assert (COMMAND_CONTEXT, choice["name"]) in known, (command, option, choice["name"])


# --- a member whose Discord speaks Spanish -------------------------------------------------------


async def test_a_spanish_client_gets_replies_picker_and_hold_dm_in_spanish(env):
    sb, server = env.sb, env.server
    newbie = await sb.join(server.guild, fresh())
    newbie.user.locale = "es-ES"
    r = await sb.slash(server.guild, newbie, "groups")
    await r.done()
    assert r.ephemeral and r.content.startswith("Elige los grupos que quieres seguir")
    labels = [b["label"] for b in r.message.buttons()]
    assert "Guardar" in labels
    # Their link is held: the DM speaks their language, the card the server's (English).
    msg = await sb.post(server.general, newbie, "Mirad este vídeo: https://youtu.be/xyz789")
    dm = await sb.wait_for_message(sb.dm_channel(newbie), lambda m: "retenido" in m.content)
    assert dm.content.startswith(f"Hola, {newbie.user.username}. Gracias por publicar en")
    assert "en 3 días" in dm.content and "No tienes que hacer nada." in dm.content
    card = await sb.wait_for_message(
        server.queue, lambda m: f"<@{newbie.id}>" in m.display_text)
    assert card.display_text.startswith("### Held post from a new member")
    assert [b["label"] for b in card.buttons()][:3] == ["Approve", "Edit & approve", "Reject"]
    assert msg.deleted
    # An error reply is in their language too.
    r = await sb.slash(server.guild, newbie, "linkhold queue")
    await r.done()
    assert r.ephemeral and r.content.startswith("Solo los moderadores pueden hacer eso")


async def test_the_same_command_answers_each_clicker_in_their_own_language(env):
    sb, server = env.sb, env.server
    spanish = await sb.join(server.guild, fresh())
    spanish.user.locale = "es-419"
    english = await sb.join(server.guild, fresh())
    r_es = await sb.slash(server.guild, spanish, "preferences")
    r_en = await sb.slash(server.guild, english, "preferences")
    await r_es.done()
    await r_en.done()
    assert "**Menciones de seguimiento:**" in r_es.content
    assert "**Follow-up pings:**" in r_en.content


async def test_a_moderator_with_a_spanish_client_decides_in_spanish_the_member_is_told_in_english(
        env):
    sb, server = env.sb, env.server
    newbie = await sb.join(server.guild, fresh("english"))
    await sb.post(server.general, newbie, "Look: https://youtu.be/eng123")
    card = await sb.wait_for_message(
        server.queue, lambda m: f"<@{newbie.id}>" in m.display_text)
    server.mod.user.locale = "es-ES"
    try:
        r = await sb.click(card, "Reject", by=server.mod)
        await r.responded()
        assert r.modal is not None and r.modal.title.startswith("Rechazar la retención #")
        done = await sb.submit_modal(r.modal, by=server.mod,
                                     values={"Motivo (opcional)": "Spam"},
                                     selects={"¿Avisar al miembro?": ["yes"]})
        await done.done()
        assert done.content.startswith("Rechacé la retención #")
        dm = await sb.wait_for_message(sb.dm_channel(newbie), lambda m: "decided not" in m.content)
        assert "The moderator's note: Spam" in dm.content
        await sb.wait_for(lambda: "**Decision:**" in sb.message(card.id).display_text)
        assert "**Decision:** Rejected by" in sb.message(card.id).display_text
    finally:
        server.mod.user.locale = "en-US"


async def test_a_spanish_speakers_distress_is_read_in_spanish_and_the_support_dm_speaks_it(env):
    sb, server = env.sb, env.server
    member = await sb.join(server.guild, fresh())
    member.user.locale = "es-ES"
    r = await sb.slash(server.guild, member, "preferences")  # Steward now knows their language
    await r.done()
    await sb.post(server.general, member, "Ya no puedo más, quiero morirme.")
    card = await sb.wait_for_message(
        server.queue, lambda m: m.embeds and m.embeds[0].get("title") == "A member may be "
        "struggling" and f"<@{member.id}>" in m.embeds[0]["description"])
    opened = await sb.click(card, "Send support message", by=server.mod)
    await opened.responded()
    assert opened.modal is not None and opened.modal.title == "Send a support message"
    (field,) = opened.modal.inputs()
    assert field["value"].startswith(f"Hola, <@{member.id}>. Soy parte del equipo de moderación")
    sent = await sb.submit_modal(opened.modal, by=server.mod,
                                 values={field["custom_id"]: field["value"]})
    await sent.done()
    assert sent.content.startswith("Sent to")  # the moderator's own language
    (dm,) = sb.dms(member)
    assert dm.content.endswith(f"— enviado por {server.mod.user.username}, del equipo de "
                               f"moderación de {server.guild.name}, a través de Steward")


# --- a server set to Spanish ---------------------------------------------------------------------


async def test_a_server_set_to_spanish_welcomes_and_logs_in_spanish(env):
    sb, server = env.sb, env.server
    r = await sb.slash(server.guild, server.owner, "steward settings", language="es")
    await r.done()
    assert r.content.startswith("Saved.")  # the owner's client is English
    try:
        assert env.bot.language_of(server.guild.id) == "es"
        env.clock.advance(minutes=1)
        newcomer = await sb.join(server.guild, fresh())
        welcome = await sb.wait_for_message(server.welcome,
                                            lambda m: f"<@{newcomer.id}>" in m.content)
        assert welcome.content.startswith(f"¡Te damos la bienvenida a {server.guild.name}, "
                                          f"<@{newcomer.id}>!")
        assert [b["label"] for b in welcome.buttons()] == ["Encuentra tu grupo de apoyo"]
        # Public posts and the moderators' cards follow the server, even for an English client.
        await sb.post(server.general, newcomer, "https://bit.ly/abc")
        card = await sb.wait_for_message(
            server.queue, lambda m: f"<@{newcomer.id}>" in m.display_text)
        assert card.display_text.startswith("### Publicación retenida de un miembro nuevo")
        logged = await sb.wait_for_message(
            server.modlog, lambda m: m.embeds and m.embeds[0].get("title") == "Enlace retenido"
            and f"<@{newcomer.id}>" in m.embeds[0]["description"])
        assert "**Miembro:**" in logged.embeds[0]["description"]
    finally:
        r = await sb.slash(server.guild, server.owner, "steward settings", language="auto")
        await r.done()
    assert env.bot.language_of(server.guild.id) == "en"


async def test_a_server_keeps_one_welcome_per_language(env):
    sb, server = env.sb, env.server
    r = await sb.slash(server.guild, server.owner, "welcome message",
                       template="¡Hola, {member}! Bienvenida a {server}.", language="es")
    await r.done()
    assert "**Own welcome in:** `es`" in r.content
    r = await sb.slash(server.guild, server.owner, "welcome message",
                       template="Hola {nobody}", language="es")
    await r.done()
    assert r.content.startswith("That template can't be used")  # checked like any template
    try:
        env.clock.advance(minutes=1)
        english = await sb.join(server.guild, fresh("en"))
        welcome = await sb.wait_for_message(server.welcome,
                                            lambda m: f"<@{english.id}>" in m.content)
        assert welcome.content.startswith(f"Welcome to {server.guild.name}, <@{english.id}>!")
        r = await sb.slash(server.guild, server.owner, "steward settings", language="es")
        await r.done()
        env.clock.advance(minutes=1)
        spanish = await sb.join(server.guild, fresh())
        welcome = await sb.wait_for_message(server.welcome,
                                            lambda m: f"<@{spanish.id}>" in m.content)
        assert welcome.content == f"¡Hola, <@{spanish.id}>! Bienvenida a {server.guild.name}."
    finally:
        for command, options in (("steward settings", {"language": "auto"}),
                                 ("welcome message", {"template": "default", "language": "es"})):
            r = await sb.slash(server.guild, server.owner, command, **options)
            await r.done()
    assert env.bot.guild_settings.get(server.guild.id).welcome.language_templates == {}


async def test_the_server_language_defaults_to_its_preferred_locale(env):
    sb, server = env.sb, env.server
    other = sb.add_guild("Esperanza", "dueña", locale="es-ES")
    await sb.wait_for(lambda: env.bot.get_guild(other.id) is not None)
    assert env.bot.language_of(other.id) == "es"
    assert env.bot.language_of(server.guild.id) == "en"


async def test_only_shipped_languages_can_be_chosen(env):
    from pydantic import ValidationError

    from config.guild import CoreSettings

    assert CoreSettings(language="es").language == "es"
    with pytest.raises(ValidationError, match="Steward speaks en, es"):
        CoreSettings(language="fr")
