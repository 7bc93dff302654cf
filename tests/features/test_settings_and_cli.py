import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import MissingTokenError, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("DISCORD_", "STEWARD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults(clean_env):
    settings = load_settings(None)
    assert settings.discord_api_base == "https://discord.com/api/v10"
    assert settings.discord_gateway_url == "wss://gateway.discord.gg/"
    assert str(settings.database) == "data/steward.sqlite3"
    assert settings.log_level == "INFO" and settings.dev_guild is None
    with pytest.raises(MissingTokenError):
        settings.token()


def test_env_file_is_read(clean_env, tmp_path):
    (tmp_path / ".env").write_text("DISCORD_TOKEN=abc.def\nSTEWARD_DEV_GUILD=123\n")
    settings = load_settings(tmp_path / ".env")
    assert settings.token() == "abc.def" and settings.dev_guild == 123


def test_invalid_values_name_the_variable_and_never_echo_the_token(clean_env):
    clean_env.setenv("DISCORD_TOKEN", "super-secret-token")
    clean_env.setenv("STEWARD_DEV_GUILD", "not-a-number")
    with pytest.raises(SettingsError) as info:
        load_settings(None)
    assert "STEWARD_DEV_GUILD" in str(info.value)
    assert "super-secret-token" not in str(info.value)
    assert "not-a-number" not in str(info.value)


def test_token_is_hidden_in_repr(clean_env):
    clean_env.setenv("DISCORD_TOKEN", "super-secret-token")
    settings = load_settings(None)
    assert "super-secret-token" not in repr(settings) and "super-secret-token" not in str(settings)


def _steward(*args, env=None, cwd):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "STEWARD_"))}
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env={**base, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60,
    )


def test_run_without_token_prints_one_line_and_exits_2(tmp_path):
    result = _steward("run", cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "DISCORD_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr


def test_run_with_an_invalid_setting_prints_one_line_and_exits_2(tmp_path):
    result = _steward("run", env={"STEWARD_LOG_FORMAT": "xml", "DISCORD_TOKEN": "t0ken"},
                      cwd=tmp_path)
    assert result.returncode == 2
    assert "STEWARD_LOG_FORMAT" in result.stderr and "t0ken" not in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_then_again_is_a_no_op_and_a_newer_database_is_refused(tmp_path):
    env = {"STEWARD_DATABASE": str(tmp_path / "db" / "s.sqlite3")}
    first = _steward("migrate", env=env, cwd=tmp_path)
    assert first.returncode == 0 and "Migrated" in first.stdout
    again = _steward("migrate", env=env, cwd=tmp_path)
    assert again.returncode == 0 and "up to date" in again.stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "db" / "s.sqlite3") as conn:
        conn.execute("PRAGMA user_version = 9999")
    newer = _steward("migrate", env=env, cwd=tmp_path)
    assert newer.returncode == 1 and "newer" in newer.stderr


def test_check_reports_and_fails_without_token(tmp_path):
    env = {"STEWARD_DATABASE": str(tmp_path / "c.sqlite3")}
    result = _steward("check", env=env, cwd=tmp_path)
    assert result.returncode == 1 and "DISCORD_TOKEN: NOT SET" in result.stdout
    ok = _steward("check", env={**env, "DISCORD_TOKEN": "x"}, cwd=tmp_path)
    assert ok.returncode == 0 and "schema version" in ok.stdout
    assert "DISCORD_TOKEN: set" in ok.stdout and " x" not in ok.stdout.replace("DISCORD_TOKEN", "")


def test_backup_copies_the_database(tmp_path):
    env = {"STEWARD_DATABASE": str(tmp_path / "b.sqlite3")}
    assert _steward("migrate", env=env, cwd=tmp_path).returncode == 0
    result = _steward("backup", str(tmp_path / "out" / "copy.sqlite3"), env=env, cwd=tmp_path)
    assert result.returncode == 0
    assert (tmp_path / "out" / "copy.sqlite3").stat().st_size > 0


def test_backup_takes_the_installation_key_along(tmp_path):
    env = {"STEWARD_DATABASE": str(tmp_path / "k.sqlite3")}
    assert _steward("migrate", env=env, cwd=tmp_path).returncode == 0
    (tmp_path / "k.sqlite3.key").write_bytes(b"k" * 32)
    result = _steward("backup", str(tmp_path / "out" / "copy.sqlite3"), env=env, cwd=tmp_path)
    assert result.returncode == 0
    copied = tmp_path / "out" / "copy.sqlite3.key"
    assert copied.read_bytes() == b"k" * 32
    assert copied.stat().st_mode & 0o777 == 0o600
