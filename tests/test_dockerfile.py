"""The Dockerfile, read as text (no podman here; `./dev image-check` builds and runs it).

It keeps the BASE_IMAGE argument the image check builds on, copies every top-level package
the `steward` entry point reaches (imports, and extension names like f"cogs.{name}"), and runs
as a non-root user it creates.
"""

import ast
import re
import tomllib
from pathlib import Path

import pytest

from tools.image_check import CheckFailed, apt_mirror

ROOT = Path(__file__).resolve().parent.parent


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        result.append((keyword.upper(), args.strip()))
        pending = ""
    return result


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def local_packages() -> set[str]:
    return {path.parent.name for path in ROOT.glob("*/__init__.py")}


def referenced_packages(package: str, local: set[str]) -> set[str]:
    """Local top-level packages `package`'s modules import or name as `pkg.module` strings."""
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"\w+\.(\w+(\.\w+)*)?", node.value):
                names = [node.value]
            found |= {name.split(".")[0] for name in names} & local
    return found


def entry_point_packages() -> set[str]:
    """Every local package reachable from the console scripts, transitively."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo = {target.split(":")[0].split(".")[0] for target in project["scripts"].values()}
    local, seen = local_packages(), set()
    while todo:
        package = todo.pop()
        seen.add(package)
        todo |= referenced_packages(package, local) - seen
    return seen


def copied() -> set[str]:
    destinations = set()
    for keyword, args in DOCKERFILE:
        if keyword == "COPY":
            sources = [word for word in args.split() if not word.startswith("--")][:-1]
            destinations |= {source.rstrip("/") for source in sources}
    return destinations


def test_the_base_image_is_an_argument_defaulting_to_python_slim():
    first_from = next(i for i, (keyword, _) in enumerate(DOCKERFILE) if keyword == "FROM")
    args = [args for keyword, args in DOCKERFILE[:first_from] if keyword == "ARG"]
    assert "BASE_IMAGE=python:3.11-slim" in args
    assert DOCKERFILE[first_from][1].split()[0] in ("${BASE_IMAGE}", "$BASE_IMAGE")


def test_the_entry_point_reaches_the_sandbox_through_the_demo():
    # The reachability walk is what the next test relies on: it must see these edges.
    assert {"bot", "cogs", "config", "sandbox"} <= entry_point_packages()


def test_every_package_the_entry_point_reaches_is_copied():
    missing = entry_point_packages() - copied()
    assert not missing, f"the Dockerfile does not COPY {sorted(missing)}"


def test_the_wheel_packages_and_migrations_are_copied():
    hatch = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]
    wheel = hatch["build"]["targets"]["wheel"]
    needed = set(wheel["packages"]) | set(wheel.get("force-include", {}))
    assert needed <= copied(), f"not copied: {sorted(needed - copied())}"


def test_it_runs_as_a_non_root_user_it_creates():
    users = [args for keyword, args in DOCKERFILE if keyword == "USER"]
    assert users, "no USER instruction: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    runs = " ".join(args for keyword, args in DOCKERFILE if keyword == "RUN")
    created = re.search(r"useradd\b[^&;]*--uid (\d+)[^&;]* (\w+)(?:\s|$)", runs)
    assert created, "the Dockerfile creates no user with a fixed uid"
    uid, name = created.groups()
    assert uid != "0" and user in (uid, name)
    # The last instruction that could run as someone else comes before USER.
    last_user = max(i for i, (keyword, _) in enumerate(DOCKERFILE) if keyword == "USER")
    assert all(keyword != "RUN" for keyword, _ in DOCKERFILE[last_user:])


def test_the_parser_sees_a_missing_package_and_a_root_user():
    text = "ARG BASE_IMAGE=x\nFROM ${BASE_IMAGE}\nCOPY bot ./bot\n# USER nobody\nUSER root\n"
    parsed = instructions(text)
    assert [keyword for keyword, _ in parsed] == ["ARG", "FROM", "COPY", "USER"]
    assert parsed[-1] == ("USER", "root")


def test_the_image_check_takes_the_debian_mirror_from_apt_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    with pytest.raises(CheckFailed, match="no apt source"):
        apt_mirror(tmp_path)
    (tmp_path / "sources.list.d" / "other.sources").write_text(
        "Types: deb\nURIs: https://example.invalid/node\nSuites: nodistro\nComponents: main\n")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# a comment: with a colon\nURIs: http://mirror.invalid/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.invalid/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n")
    assert apt_mirror(tmp_path) == "http://mirror.invalid/debian"
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.invalid/debian bookworm main\n"
        "deb [arch=amd64] http://list.invalid/debian bookworm main contrib\n")
    assert apt_mirror(tmp_path) == "http://list.invalid/debian"  # sources.list is read first
