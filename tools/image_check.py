"""Build the container image for real and check it: `./dev image-check`.

Steps, each timed:
  1. the base image: `--base IMAGE` if given, else a stand-in for python:3.11-slim made from
     Debian packages (debootstrap minbase + python3, python3-venv, python3-pip, ca-certificates,
     from the machine's own apt source), imported into podman once and reused afterwards;
  2. `podman build` of the Dockerfile with BASE_IMAGE set to it and the host's CA bundle
     mounted into the build (package downloads behind a TLS-inspecting proxy need it);
  3. in the image: the process runs as uid 10001, `steward demo` plays to its last line,
     `steward check` passes on SQLite in a fresh volume whose folder is 0700 and whose files are
     0600, and, with host networking, `steward migrate` + `steward check` on a throwaway
     PostgreSQL database and `steward migrate-db` of the SQLite volume into another one.

Needs podman, runc and debootstrap (installed with apt-get when running as root; otherwise
the check says what is missing) and a PostgreSQL reachable from the host network
(`--pg-url`, or `--no-postgres` to skip that step). Only the standard library is used, so it
runs before anything else is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
STANDIN = "localhost/steward-base-standin"
IMAGE = "localhost/steward-bot:image-check"
SUITE = "bookworm"
STANDIN_PACKAGES = "python3,python3-venv,python3-pip,ca-certificates"
TOOLS = {"podman": "podman", "runc": "runc", "debootstrap": "debootstrap"}  # command: package
UID = "10001"
DEMO_LAST_LINE = "The end. Everything above ran offline against Steward's built-in sandbox."
SEED_GUILD = 123456789012345678
SEED_TOML = r"[steward]\nformat = 1\n\n[policy.linkhold]\nhold_days = 5\n"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
# Where podman's default rlimits can't be set (a container inside a container), runs fall back
# to explicit ones: plenty for the bot (a few hundred sockets and files, a handful of threads).
FALLBACK_ULIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
RUN_OPTIONS: list[str] = []


class CheckFailed(Exception):
    """One step failed; the message says which and why."""


class Report:
    """The summary lines, one per step, with timings."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.started = time.monotonic()

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        """Time a step; the body appends its one-line result to the yielded list."""
        note: list[str] = []
        began = time.monotonic()
        print(f"image-check: {name} ...", flush=True)
        try:
            yield note
        except CheckFailed as exc:
            self.add(name, f"FAILED: {exc}", time.monotonic() - began)
            raise
        self.add(name, " ".join(note) or "ok", time.monotonic() - began)

    def add(self, name: str, text: str, seconds: float) -> None:
        line = f"image-check: {name:<22} {text} ({seconds:.1f}s)"
        self.lines.append(line)
        print(line, flush=True)

    def print_summary(self, ok: bool) -> None:
        total = time.monotonic() - self.started
        print("\n== image-check summary")
        for line in self.lines:
            print(line)
        verdict = "all checks passed" if ok else "FAILED"
        print(f"image-check: {verdict} in {total:.1f}s")


def run(cmd: list[str], *, check: bool = True, capture: bool = True,
        stdin: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise CheckFailed with the end of its output."""
    result = subprocess.run(cmd, text=True, stdin=stdin,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.STDOUT if capture else None, check=False)
    if check and result.returncode != 0:
        tail = "\n".join((result.stdout or "").strip().splitlines()[-15:])
        raise CheckFailed(f"`{shlex.join(cmd)}` exited {result.returncode}"
                          + (f":\n{tail}" if tail else ""))
    return result


def podman(*args: str) -> list[str]:
    # runc: the default runtime can't set rlimits on some machines (containers in containers).
    return ["podman", "--runtime", "runc", *args]


def ensure_tools() -> None:
    """Install podman, runc and debootstrap with apt-get when missing (root only)."""
    missing = [package for command, package in TOOLS.items() if shutil.which(command) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise CheckFailed("missing " + ", ".join(missing) + ": install them (Debian/Ubuntu: "
                          f"`sudo apt-get install -y {' '.join(missing)}`) and run again")
    print(f"image-check: installing {', '.join(missing)} with apt-get", flush=True)
    install = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    env_quiet = {"DEBIAN_FRONTEND": "noninteractive"}
    os.environ.update(env_quiet)
    if run(install, check=False).returncode != 0:
        run(["apt-get", "update"])
        run(install)


def apt_mirror(apt: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses for the suite's main component."""
    candidates: list[str] = []
    for path in [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*"))]:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".sources":
            for stanza in text.split("\n\n"):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.strip().startswith("#") or ":" not in line:
                        continue
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if ("deb" in fields.get("types", "").split()
                        and SUITE in fields.get("suites", "").split()
                        and "main" in fields.get("components", "").split()):
                    candidates.extend(fields.get("uris", "").split())
        elif path.suffix == ".list":
            for line in text.splitlines():
                words = [w for w in line.split("#", 1)[0].split() if not w.startswith("[")]
                if len(words) >= 4 and words[0] == "deb" and words[2] == SUITE \
                        and "main" in words[3:]:
                    candidates.append(words[1])
    if not candidates:
        raise CheckFailed(f"no apt source for Debian {SUITE} main in /etc/apt: pass --mirror URL "
                          "or --base IMAGE")
    return candidates[0]


def ca_bundle() -> str | None:
    """The host's CA bundle, if it has one where Debian or Fedora keep it (or SSL_CERT_FILE)."""
    for candidate in (os.environ.get("SSL_CERT_FILE", ""), *CA_BUNDLES):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def image_exists(name: str) -> bool:
    return run(["podman", "image", "exists", name], check=False).returncode == 0


def image_id(name: str) -> str | None:
    found = run(["podman", "image", "inspect", "--format", "{{.Id}}", name], check=False)
    return found.stdout.strip() if found.returncode == 0 else None


def build_standin(mirror: str | None, rebuild: bool) -> str:
    """Make (or reuse) the Debian stand-in for python:3.11-slim; returns what happened."""
    if image_exists(STANDIN) and not rebuild:
        return f"reused {STANDIN}"
    if os.geteuid() != 0:
        raise CheckFailed("debootstrap needs root: run as root once to make the stand-in, or "
                          "pass --base IMAGE (e.g. python:3.11-slim)")
    source = mirror or apt_mirror()
    with tempfile.TemporaryDirectory(prefix="steward-standin-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "root"
        run(["debootstrap", "--variant=minbase", f"--include={STANDIN_PACKAGES}", SUITE,
             str(root), source])
        with subprocess.Popen(["tar", "-C", str(root), "-c", "."],
                              stdout=subprocess.PIPE) as tar:
            run(["podman", "import", "--change", "ENV LANG=C.UTF-8",
                 "--change", 'CMD ["python3"]', "-", STANDIN], stdin=tar.stdout.fileno()
                if tar.stdout else None)
            if tar.wait() != 0:
                raise CheckFailed("tar of the debootstrap tree failed")
    return f"built {STANDIN} from Debian {SUITE} packages"


def build_image(base: str, no_cache: bool) -> str:
    # The stand-in exists only locally; a named base is pulled when podman lacks it.
    pull = "--pull=never" if base == STANDIN else "--pull=missing"
    cmd = podman("build", pull, *(["--no-cache"] if no_cache else []),
                 "-t", IMAGE, "-f", str(ROOT / "Dockerfile"), "--build-arg", f"BASE_IMAGE={base}")
    bundle = ca_bundle()
    if bundle:
        cmd += ["-v", f"{bundle}:/etc/ssl/certs/ca-certificates.crt:ro"]
        for arg in ("SSL_CERT_FILE", "PIP_CERT"):
            cmd += ["--build-arg", f"{arg}=/etc/ssl/certs/ca-certificates.crt"]
        cmd += ["--build-arg", "UV_NATIVE_TLS=1"]
    before = image_id(IMAGE)
    run([*cmd, str(ROOT)])
    if before and before != image_id(IMAGE):  # the previous build, now untagged
        run(["podman", "rmi", before], check=False)
    size = run(["podman", "image", "inspect", "--format", "{{.Size}}", IMAGE]).stdout.strip()
    mib = f", {int(size) / 2**20:.0f} MiB" if size.isdigit() else ""
    return f"{IMAGE} on {base}{mib}"


def in_image(*args: str, volume: str | None = None, network_host: bool = False,
             env: dict[str, str] | None = None, check: bool = True
             ) -> subprocess.CompletedProcess[str]:
    cmd = podman("run", "--rm", *RUN_OPTIONS)
    if volume:
        cmd += ["-v", f"{volume}:/app/data"]
    if network_host:
        cmd += ["--network", "host"]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    return run([*cmd, IMAGE, *args], check=check)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def pg_admin(url: str, sql: str) -> None:
    """Run one statement on the PostgreSQL server from inside the image (asyncpg is there)."""
    code = ("import asyncio, asyncpg, sys\n"
            "async def main():\n"
            "    conn = await asyncpg.connect(sys.argv[1])\n"
            "    try:\n"
            "        await conn.execute(sys.argv[2])\n"
            "    finally:\n"
            "        await conn.close()\n"
            "asyncio.run(main())\n")
    in_image("python", "-c", code, url, sql, network_host=True)


def check_image(report: Report, pg_url: str | None) -> None:
    with report.step("non-root") as note:
        probe = in_image("id", "-u", check=False)
        if probe.returncode != 0 and "error setting rlimit" in probe.stdout:
            RUN_OPTIONS.extend(FALLBACK_ULIMITS)
            note.append("(podman's default rlimits can't be set here: runs use "
                        + " ".join(FALLBACK_ULIMITS[1::2]) + ")")
        uid = in_image("id", "-u").stdout.strip()
        user = run(["podman", "image", "inspect", "--format", "{{.Config.User}}", IMAGE]
                   ).stdout.strip()
        if uid != UID:
            raise CheckFailed(f"the container runs as uid {uid}, expected {UID}")
        note.insert(0, f"uid {uid} (USER {user})")

    with report.step("steward demo") as note:
        story = in_image("steward", "demo").stdout.rstrip().splitlines()
        if not story or story[-1].strip() != DEMO_LAST_LINE:
            raise CheckFailed(f"the demo ended with {story[-1:]!r}")
        note.append(f"{len(story)} lines, ends {DEMO_LAST_LINE.split('.')[0]!r}")

    volume = f"steward-image-check-{os.getpid()}"
    token = {"DISCORD_TOKEN": "image-check-placeholder"}
    run(["podman", "volume", "create", volume])
    try:
        with report.step("steward check (SQLite)") as note:
            # One server's setting changed first, so the volume holds rows for migrate-db.
            in_image("sh", "-c", f"printf '{SEED_TOML}' | steward config import --guild "
                     f"{SEED_GUILD} -", volume=volume)
            out = in_image("steward", "check", volume=volume, env=token).stdout
            note.append(_line(out, "database:"))

        with report.step("data file modes") as note:
            listing = in_image("sh", "-c", "stat -c '%a %u %n' /app/data /app/data/*",
                               volume=volume).stdout.split("\n")
            modes = [line.split(" ", 2) for line in listing if line.strip()]
            wrong = [f"{name} {mode}" for mode, owner, name in modes
                     if (mode != ("700" if name == "/app/data" else "600")) or owner != UID]
            if wrong or len(modes) < 2:
                raise CheckFailed("expected /app/data 0700 and its files 0600, owned by "
                                  f"{UID}; got: " + "; ".join(listing))
            note.append(", ".join(f"{Path(name).name} {mode}" for mode, _owner, name in modes))

        if pg_url is None:
            report.add("PostgreSQL", "skipped (--no-postgres)", 0.0)
            return
        with report.step("PostgreSQL (host net)") as note:
            note.append(_postgres(pg_url, volume, token))
    finally:
        run(["podman", "volume", "rm", "-f", volume], check=False)


def _postgres(pg_url: str, volume: str, token: dict[str, str]) -> str:
    names = [f"steward_image_check_{os.getpid()}", f"steward_image_check_{os.getpid()}_copy"]
    created: list[str] = []
    try:
        for name in names:
            pg_admin(pg_url, f'CREATE DATABASE "{name}"')
            created.append(name)
        target = with_database(pg_url, names[0])
        env = {**token, "STEWARD_DATABASE": target}
        migrated = in_image("steward", "migrate", network_host=True, env=env).stdout
        checked = in_image("steward", "check", network_host=True, env=env).stdout
        copy = in_image("steward", "migrate-db", "--from", "/app/data/steward.sqlite3",
                        "--to", with_database(pg_url, names[1]), volume=volume,
                        network_host=True, env=token).stdout
        _line(migrated, "Migrated ")
        schema = _line(checked, "database:").split(", ", 1)[1]
        copied = _line(copy, "All ").split(". Point")[0]
        return f"migrate ok, check: {schema}; migrate-db of the SQLite volume: {copied}"
    finally:
        for name in created:
            with contextlib.suppress(CheckFailed):
                pg_admin(pg_url, f'DROP DATABASE IF EXISTS "{name}"')


def _line(output: str, prefix: str) -> str:
    for line in output.splitlines():
        if line.startswith(prefix):
            return line.strip()
    raise CheckFailed(f"no line starting {prefix!r} in:\n{output.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev image-check", description=__doc__.split("\n")[0])
    parser.add_argument("--base", help="base image to build on instead of the Debian stand-in "
                        "(e.g. python:3.11-slim where a registry is reachable)")
    parser.add_argument("--mirror", help="Debian mirror for the stand-in (default: the one in "
                        "/etc/apt)")
    parser.add_argument("--rebuild-base", action="store_true",
                        help="make the stand-in again even if podman has it")
    parser.add_argument("--no-cache", action="store_true",
                        help="build every layer again (a cold build, downloads included)")
    parser.add_argument("--pg-url", default=os.environ.get("STEWARD_IMAGE_CHECK_PG", DEFAULT_PG),
                        help=f"PostgreSQL admin URL reachable from the host network "
                        f"(default {DEFAULT_PG})")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL step")
    args = parser.parse_args(argv)

    report = Report()
    ok = False
    try:
        with report.step("tools") as note:
            ensure_tools()
            note.append(run(["podman", "--version"]).stdout.strip())
        with report.step("base image") as note:
            note.append(f"using {args.base}" if args.base
                        else build_standin(args.mirror, args.rebuild_base))
        with report.step("build") as note:
            note.append(build_image(args.base or STANDIN, args.no_cache))
        check_image(report, None if args.no_postgres else args.pg_url)
        ok = True
    except CheckFailed as exc:
        print(f"\nimage-check: {exc}", file=sys.stderr)
    report.print_summary(ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
