"""The shape rules: pure domain, thin cogs, one setup per extension, no colliding commands."""

import ast
import importlib
from pathlib import Path

import pytest

from bot.app import extension_names

ROOT = Path(__file__).resolve().parent.parent
PURE = [*sorted((ROOT / "bot" / "domain").glob("*.py")), ROOT / "bot" / "links.py"]
FORBIDDEN = {"discord", "aiosqlite", "sqlite3", "aiohttp"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", [p for p in PURE if p.exists()], ids=lambda p: p.name)
def test_domain_modules_do_not_import_discord_or_storage(path):
    assert not (_imports(path) & FORBIDDEN), f"{path.name} must stay pure"


@pytest.mark.parametrize("path", sorted((ROOT / "cogs").rglob("*.py")), ids=lambda p: p.name)
def test_cogs_hold_no_sql(path):
    text = path.read_text(encoding="utf-8").upper()
    for keyword in ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM"):
        assert f'"{keyword}' not in text and f"'{keyword}" not in text, (
            f"{path.name}: SQL belongs in bot/db repositories")


@pytest.mark.parametrize("name", extension_names())
def test_every_extension_has_setup(name):
    module = importlib.import_module(name)
    assert callable(getattr(module, "setup", None))


def test_no_cog_adds_its_own_on_message_listener():
    for path in (ROOT / "cogs").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "def on_message(" not in text, f"{path}: register with bot.router instead"
        assert "listener(\"on_message\")" not in text and "listener('on_message')" not in text
