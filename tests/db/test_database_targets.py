"""STEWARD_DATABASE picks the backend; SQL placeholders translate for PostgreSQL."""

from pathlib import Path

import pytest

from bot.db.postgres import rowcount, to_dollar
from config.settings import Settings, SettingsError, load_settings


@pytest.mark.parametrize(("value", "expected"), [
    ("data/steward.sqlite3", Path("data/steward.sqlite3")),
    ("sqlite:///data/steward.sqlite3", Path("data/steward.sqlite3")),
    ("sqlite:////srv/steward/steward.sqlite3", Path("/srv/steward/steward.sqlite3")),
    ("postgresql://steward@db:5432/steward", "postgresql://steward@db:5432/steward"),
    ("postgres:///steward?host=/run/postgresql", "postgres:///steward?host=/run/postgresql"),
])
def test_the_database_setting_is_a_file_or_a_postgres_url(monkeypatch, value, expected):
    monkeypatch.setenv("STEWARD_DATABASE", value)
    assert Settings(_env_file=None).database == expected


@pytest.mark.parametrize("value", ["mysql://db/steward", "sqlite://relative.db", " "])
def test_other_database_urls_are_refused_by_name(monkeypatch, value):
    monkeypatch.setenv("STEWARD_DATABASE", value)
    with pytest.raises(SettingsError, match="STEWARD_DATABASE"):
        load_settings(env_file=None)


def test_placeholders_become_numbered_outside_quotes_and_comments():
    sql = "SELECT '?', \"a?\" FROM t WHERE a = ? AND b IN (?, ?) -- why?\nAND c = ?"
    assert to_dollar(sql) == (
        "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b IN ($2, $3) -- why?\nAND c = $4")
    assert to_dollar("SELECT 'it''s ?' , ?") == "SELECT 'it''s ?' , $1"


def test_row_counts_come_from_the_command_tag():
    assert rowcount("INSERT 0 1") == 1
    assert rowcount("UPDATE 3") == 3
    assert rowcount("DELETE 0") == 0
    assert rowcount("CREATE TABLE") == 0
