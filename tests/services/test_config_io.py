"""Config as code: export -> import round-trips; bad files are refused by line, changing nothing."""

import tomllib

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.guild_settings import GuildSettingsRepository
from bot.domain.links import is_valid_domain
from bot.i18n import PSEUDO, speaking
from bot.services.config_io import (
    ImportRejected,
    apply_import,
    export_toml,
    is_server_field,
    key_lines,
    plan_import,
    split,
)
from bot.services.guild_settings import GuildSettingsService
from config.guild import GuildConfig

GUILD = 900_000_000_000_000_001
OTHER_GUILD = 900_000_000_000_000_002


def configured() -> GuildConfig:
    config = GuildConfig()
    config.core.moderator_roles = [800_000_000_000_000_001, 800_000_000_000_000_002]
    config.core.mod_log_channel = 700_000_000_000_000_001
    config.core.timezone = "Europe/London"
    config.linkhold.hold_days = 5
    config.linkhold.allowlist = ["cancer.org", "nhs.uk"]
    config.linkhold.queue_channel = 700_000_000_000_000_002
    config.linkhold.held_template = 'Hi {member},\n"thanks" — we\'ll look soon. ✨'
    config.followup.default_days = 10
    config.followup.autocheck_forums = {700_000_000_000_000_003: 14}
    config.welcome.dm = True
    config.welcome.channel = 700_000_000_000_000_004
    return config


@pytest.fixture
async def service(tmp_path):
    db = await Database.open(tmp_path / "c.sqlite3")
    await migrate(db)
    svc = GuildSettingsService(GuildSettingsRepository(db), FakeClock())
    yield svc
    await db.close()


def test_policy_holds_no_server_ids_and_server_holds_only_ids():
    policy, server = split(configured())
    text = export_toml(configured(), GUILD)
    data = tomllib.loads(text)
    assert data["server"]["guild_id"] == GUILD
    assert data["policy"]["linkhold"]["hold_days"] == 5
    assert data["server"]["followup"]["autocheck_forums"] == {"700000000000000003": 14}
    sections = {name: type(getattr(GuildConfig(), name)) for name in GuildConfig.model_fields}
    for section, values in policy.items():
        assert not any(is_server_field(sections[section], k) for k in values)
    for section, values in server.items():
        assert all(is_server_field(sections[section], k) for k in values)
    policy_text = text[text.index("[policy"):text.index("[server")]
    assert "70000000000000000" not in policy_text and "80000000000000000" not in policy_text


def test_export_then_import_into_the_same_guild_round_trips():
    config = configured()
    plan = plan_import(export_toml(config, GUILD), GuildConfig(), GUILD)
    assert plan.new == config and plan.notes == ()
    assert plan_import(export_toml(config, GUILD), config, GUILD).changes == {}


def test_importing_into_another_guild_applies_policy_and_keeps_its_own_server_part():
    theirs = GuildConfig()
    theirs.linkhold.queue_channel = 123
    plan = plan_import(export_toml(configured(), GUILD), theirs, OTHER_GUILD)
    assert plan.new.linkhold.hold_days == 5 and plan.new.linkhold.allowlist == ["cancer.org",
                                                                               "nhs.uk"]
    assert plan.new.linkhold.queue_channel == 123 and plan.new.core.mod_log_channel is None
    assert plan.new.followup.autocheck_forums == {}
    assert plan.notes and "/steward setup" in plan.notes[0]
    assert all(not name.endswith(("channel", "roles", "forums")) for name in plan.changes)


async def test_dry_run_shows_the_diff_and_saves_nothing(service):
    text = export_toml(configured(), GUILD)
    plan = await apply_import(service, GUILD, text, dry_run=True)
    assert plan.changes["linkhold.hold_days"] == (3, 5)
    assert service.get(GUILD) == GuildConfig()
    await apply_import(service, GUILD, text)
    assert service.get(GUILD) == configured()


@pytest.mark.parametrize(("text", "line", "where", "says"), [
    ("[policy.linkhold]\nhold_days = 3\nnotify = \n", 3, "", "not valid TOML"),
    ("[policy.linkhold]\nenabled = true\n\nhold_days = -1\n", 4, "policy.linkhold.hold_days",
     "must be at least 0"),
    ("[policy.core]\ntimezone = \"Mars/Base\"\n", 2, "policy.core.timezone", "unknown time zone"),
    ("[policy.linkhold]\nhold_dayz = 3\n", 2, "policy.linkhold.hold_dayz", "unknown setting"),
    ("[policy.linkhold]\nqueue_channel = 5\n", 2, "policy.linkhold.queue_channel",
     "belongs in [server.linkhold]"),
    ("[policy]\n[policy.nope]\nx = 1\n", 2, "policy.nope", "unknown section"),
    ("[server]\nguild_id = 1\n[server.welcome]\nchannel = \"general\"\n", 4,
     "server.welcome.channel", "must be a whole number"),
    ("[steward]\nformat = 9\n", 2, "steward.format", "format 1"),
    # As strict as the commands: the same validators, no type coercion, no crash.
    ("[policy.linkhold]\nhold_days = true\n", 2, "policy.linkhold.hold_days",
     "must be a whole number"),
    ("[policy.linkhold]\nhold_days = \"3\"\n", 2, "policy.linkhold.hold_days",
     "must be a whole number"),
    ("[policy.linkhold]\nallowlist = [\"cancer.org\", \"com\"]\n", 2,
     "policy.linkhold.allowlist", "isn't a website address"),
    ("[policy.welcome]\ntemplate = \"Hi {x}\"\n", 2, "policy.welcome.template",
     "unknown placeholder {x}"),
    ("[policy.repost]\nattribution = \"by {moderator}\"\n", 2, "policy.repost.attribution",
     "unknown placeholder"),
    ("[policy.followup]\nask_template = \"{op {asker}\"\n", 2,
     "policy.followup.ask_template", ""),
    ("[policy.welcome]\ntemplate = \"" + "x" * 2001 + "\"\n", 2, "policy.welcome.template",
     "longer than 2000"),
    ("steward = 1\n", 1, "steward", "must be a table"),
    ("[server]\nguild_id = \"me\"\n", 2, "server.guild_id", "must be a server id"),
    (f"[server]\nguild_id = {GUILD}\n[server.core]\nmoderator_roles = [{GUILD}]\n", 4,
     "server.core.moderator_roles", "@everyone"),
    (f"[server]\nguild_id = {GUILD}\n[server.linkhold]\nexempt_roles = [{GUILD}]\n", 4,
     "server.linkhold.exempt_roles", "@everyone"),
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", None, "", "not valid TOML"),
])
async def test_invalid_files_are_refused_by_line_and_change_nothing(service, text, line,
                                                                     where, says):
    before = service.get(GUILD)
    with pytest.raises(ImportRejected) as caught:
        await apply_import(service, GUILD, text.replace("guild_id = 1", f"guild_id = {GUILD}"))
    [problem] = caught.value.problems
    assert problem.line == line and problem.where == where and says in problem.message
    if line is not None:
        assert str(problem).startswith(f"line {line}: ")
    assert service.get(GUILD) is before


async def test_a_support_group_role_is_refused_as_a_moderator_or_exempt_role(service):
    """Members give group roles to themselves: an import can't hand one Steward powers, as
    setup and settings refuse (the same domain check)."""
    group_role = 800_000_000_000_000_009
    groups = [("Carers", group_role), ("Stoma chat", None)]
    for section, name in (("core", "moderator_roles"), ("linkhold", "exempt_roles")):
        text = (f"[server]\nguild_id = {GUILD}\n[server.{section}]\n"
                f"{name} = [800000000000000001, {group_role}]\n")
        with pytest.raises(ImportRejected) as caught:
            await apply_import(service, GUILD, text, groups=groups)
        [problem] = caught.value.problems
        assert problem.line == 4 and problem.where == f"server.{section}.{name}"
        assert str(group_role) in problem.message and "Carers" in problem.message
        assert service.get(GUILD) == GuildConfig()
        # Another role is fine; so is a file from another server (its [server] part is skipped).
        assert plan_import(text.replace(str(group_role), "800000000000000003"), GuildConfig(),
                           GUILD, groups).changes
        assert plan_import(text, GuildConfig(), OTHER_GUILD, groups).changes == {}


def test_key_lines_follow_tables_and_dotted_headers():
    text = '# c\n[policy.linkhold]\nhold_days = 3\n\n[ server . "welcome" ]\nchannel = 1\n'
    lines = key_lines(text)
    assert lines[("policy", "linkhold", "hold_days")] == 3
    assert lines[("server", "welcome", "channel")] == 6


def test_missing_policy_keys_take_their_defaults():
    current = configured()
    plan = plan_import("[policy.linkhold]\nhold_days = 4\n", current, OTHER_GUILD)
    assert plan.new.linkhold.hold_days == 4 and plan.new.linkhold.allowlist == []
    assert plan.new.welcome.dm is False
    assert plan.new.linkhold.queue_channel == 700_000_000_000_000_002


plain = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="{}"),
               max_size=40)
# Valid templates (the models refuse unknown placeholders): any text, maybe with {member}.
templates = plain | st.builds(lambda a, b: a + "{member}" + b, plain, plain)


@settings(max_examples=60, deadline=None)
@given(templates, templates, st.lists(st.from_regex(r"[a-z]{1,10}\.(org|com|uk)",
                                                     fullmatch=True).filter(
    lambda d: is_valid_domain(d) == d), max_size=5),  # what /linkhold allow would store
       st.integers(0, 365), st.dictionaries(st.integers(1, 2**63 - 1), st.integers(1, 365),
                                            max_size=3))
def test_any_valid_config_round_trips(held, attribution, allowlist, days, forums):
    config = GuildConfig()
    config.linkhold.held_template = held
    config.repost.attribution = attribution
    config.linkhold.allowlist = allowlist
    config.linkhold.hold_days = days
    config.followup.autocheck_forums = forums
    assert plan_import(export_toml(config, GUILD), GuildConfig(), GUILD).new == config


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["steward", "policy", "server", "format", "guild_id", "core",
                         "linkhold", "welcome", "followup", "repost", "hold_days", "allowlist",
                         "template", "moderator_roles", "autocheck_forums", "x"]),
        children, max_size=5),
    max_leaves=30))
def test_any_document_is_imported_or_refused_never_crashes(document):
    """Fuzz: whatever the file holds, the importer answers with a plan or ImportRejected."""
    if not isinstance(document, dict):
        document = {"policy": document}
    try:
        text = tomli_w.dumps(_tomlable(document))
    except (TypeError, ValueError):
        return  # not representable as TOML at all
    try:
        plan = plan_import(text, GuildConfig(), GUILD)
    except ImportRejected as exc:
        assert exc.problems and all(str(p) for p in exc.problems)
    else:
        assert isinstance(plan.new, GuildConfig)


def _tomlable(value):
    if isinstance(value, dict):
        return {k: _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_tomlable(v) for v in value if v is not None]
    return value


@pytest.mark.parametrize("text", [
    "[policy.linkhold]\nhold_days = 999\n", "[policy.linkhold]\nhold_days = true\n",
    "[policy.repost]\nmode = \"x\"\n", "[policy.core]\ntimezone = \"Mars/Base\"\n",
    "[policy.nope]\nx = 1\n", "[policy.linkhold]\nqueue_channel = 5\n",
    "[policy.linkhold]\nallowlist = [\"com\"]\n", "[steward]\nformat = 9\n",
    "[policy.welcome]\nlanguage_templates = {fr = \"Salut\"}\n",
])
async def test_import_problems_come_from_the_catalog(service, text):
    """Every problem in the pseudo-locale is inside its markers (no pydantic English)."""
    with speaking(PSEUDO), pytest.raises(ImportRejected) as caught:
        await apply_import(service, GUILD, text)
    for problem in caught.value.problems:
        assert problem.message.startswith("⟦") and problem.message.endswith("⟧"), problem
    with speaking("es"):
        with pytest.raises(ImportRejected) as caught:
            await apply_import(service, GUILD, text)
        assert str(caught.value.problems[0]).startswith("línea ")
