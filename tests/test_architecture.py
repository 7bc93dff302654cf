"""The shape rules: pure domain, Discord-free services, thin cogs, no cycles, no sandbox.

The arrows (docs/ARCHITECTURE.md): cogs -> adapters/ui -> services -> domain; services -> db.
`KNOWN` lists what still breaks a rule while the structure moves into shape (issue 11); it only
ever shrinks, and a test fails when an entry no longer breaks its rule, so it cannot go stale.
"""

import ast
import importlib
from pathlib import Path

import pytest

from bot.app import extension_names

ROOT = Path(__file__).resolve().parent.parent
PURE = sorted((ROOT / "bot" / "domain").glob("*.py"))
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


PRODUCT = ("bot", "cogs", "config")
MAX_LINES = 500

# Rule -> modules that still break it (shrinks to empty; see the module docstring).
KNOWN: dict[str, set[str]] = {
    "services-no-discord": set(),
    "cogs-no-db": set(),
    "size": set(),
}
# Modules still caught in an import cycle.
KNOWN_IN_CYCLES: set[str] = set()
# Files allowed past MAX_LINES for good, with the reason (say it in docs/ARCHITECTURE.md too).
LARGE_BY_DESIGN: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _product_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*.py")):
            files[_module_name(path)] = path
    return files


FILES = _product_files()


def _imported_names(path: Path) -> set[str]:
    """Every dotted name a module imports (function-level and TYPE_CHECKING imports included)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def _targets(names: set[str]) -> set[str]:
    """The product modules those names resolve to (the most specific existing module)."""
    hits: set[str] = set()
    for name in names:
        parts = name.split(".")
        while parts and ".".join(parts) not in FILES:
            parts.pop()
        if parts:
            hits.add(".".join(parts))
    return hits


def _breaks(rule: str, module: str) -> bool:
    names = _imported_names(FILES[module])
    tops = {n.split(".")[0] for n in names}
    if rule == "services-no-discord":
        outer = ("bot.app", "bot.ui", "bot.adapters", "bot.messaging",
                 "bot.interactions", "cogs", "sandbox")
        return "discord" in tops or any(n == o or n.startswith(f"{o}.") for n in names
                                        for o in outer)
    if rule == "cogs-no-db":
        return any(n == "bot.db" or n.startswith("bot.db.") for n in names)
    if rule == "size":
        return len(FILES[module].read_text(encoding="utf-8").splitlines()) > MAX_LINES
    raise AssertionError(rule)


RULE_SCOPE = {
    "services-no-discord": "bot.services",
    "cogs-no-db": "cogs",
    "size": "",
}


@pytest.mark.parametrize("rule", sorted(RULE_SCOPE))
def test_layer_rules_hold_outside_the_known_list(rule):
    scope = RULE_SCOPE[rule]
    breaking = {m for m in FILES if m.startswith(scope) and _breaks(rule, m)}
    breaking -= set(LARGE_BY_DESIGN) if rule == "size" else set()
    assert breaking - KNOWN[rule] == set(), f"{rule}: new offenders"
    assert KNOWN[rule] - breaking == set(), f"{rule}: fixed, take them off KNOWN"


def test_domain_imports_nothing_of_the_outer_layers():
    outer = ("bot.db", "bot.services", "bot.app", "bot.ui", "bot.adapters", "cogs", "sandbox")
    for module, path in FILES.items():
        if module.startswith("bot.domain"):
            bad = [n for n in _imported_names(path) if n.startswith(outer)]
            assert not bad, f"{module} imports {bad}"


def test_the_composition_root_does_not_import_the_app():
    names = _imported_names(FILES["bot.composition"])
    assert not [n for n in names if n == "bot.app" or n.startswith("bot.app.")]


def test_only_the_demo_imports_the_sandbox():
    for module, path in FILES.items():
        if module.startswith("bot.demo"):
            continue
        tops = {n.split(".")[0] for n in _imported_names(path)}
        assert "sandbox" not in tops, f"{module} imports the sandbox"


def test_no_import_cycles_among_product_modules():
    graph = {m: _targets(_imported_names(p)) - {m} for m, p in FILES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    in_cycles = set().union(*cycles)
    new = [sorted(c) for c in cycles if not c <= KNOWN_IN_CYCLES]
    assert not new, f"import cycles: {new}"
    assert KNOWN_IN_CYCLES - in_cycles == set(), "out of every cycle: take off KNOWN_IN_CYCLES"
