#!/usr/bin/env bash
# ./dev image-check: build the container image for real and check what it promises.
#
# Needs Debian's podman, runc and debootstrap (apt-get install podman runc debootstrap) and
# root. podman runs with runc (its default runtime can't set rlimits on some machines). The
# base is a stand-in for python:3.11-slim made from Debian packages (debootstrap, then
# `podman import`), so no container registry is needed; the host's CA bundle is mounted into
# the build for TLS. Then: the image builds, runs as uid 10001, `steward demo` and
# `steward check` work, data files are 0600, and `steward migrate` reaches a PostgreSQL on
# the host (host network; STEWARD_IMAGE_CHECK_POSTGRES, default postgresql://root@127.0.0.1/test)
# from inside the container.
set -euo pipefail
cd "$(dirname "$0")/.."

PODMAN=(podman --runtime runc)
BASE=localhost/steward-base:bookworm
IMAGE=localhost/steward-bot:check
CA=/etc/ssl/certs/ca-certificates.crt
PG=${STEWARD_IMAGE_CHECK_POSTGRES:-postgresql://root@127.0.0.1:5432/test}
step() { echo; echo "== $*"; }
fail() { echo "image-check: FAILED: $*"; exit 1; }
for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "image-check: $tool is not installed (apt-get install podman runc debootstrap)"
        exit 2
    }
done

step "stand-in base image $BASE (Debian bookworm: python3, venv, pip, CA certificates)"
if "${PODMAN[@]}" image exists "$BASE"; then
    echo "already built"
else
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    started=$(date +%s)
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$root" >"$root.log" 2>&1 || { tail -n 20 "$root.log"; fail "debootstrap"; }
    tar -C "$root" -c . | "${PODMAN[@]}" import --change 'CMD ["python3"]' - "$BASE" >/dev/null
    echo "built in $(( $(date +%s) - started )) s"
fi

step "build $IMAGE (BASE_IMAGE=$BASE)"
started=$(date +%s)
"${PODMAN[@]}" build --quiet --network host --build-arg "BASE_IMAGE=$BASE" \
    -v "$CA:/etc/ssl/certs/host-ca.crt:ro" \
    --build-arg SSL_CERT_FILE=/etc/ssl/certs/host-ca.crt \
    --build-arg PIP_CERT=/etc/ssl/certs/host-ca.crt \
    --build-arg UV_NATIVE_TLS=1 --build-arg PIP_BREAK_SYSTEM_PACKAGES=1 \
    -t "$IMAGE" . >/dev/null || fail "the image did not build"
echo "built in $(( $(date +%s) - started )) s"

volume="steward-image-check-$$"
schema="steward_image_check_$$"
cleanup() {
    "${PODMAN[@]}" volume rm -f "$volume" >/dev/null 2>&1 || true
    psql "${PG%%\?*}" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
"${PODMAN[@]}" volume create "$volume" >/dev/null
# Limits below the host's: some machines refuse a container the host's own limits
# ("error setting rlimit ... operation not permitted"), lowering them is always allowed.
run() { "${PODMAN[@]}" run --rm --network host --ulimit nofile=8192:8192 \
    --ulimit nproc=4096:4096 -v "$volume:/app/data" "$@"; }

step "runs as a non-root user"
uid=$(run "$IMAGE" id -u)
echo "uid $uid"
[ "$uid" = 10001 ] || fail "the image runs as uid $uid, not 10001"

step "steward demo"
run "$IMAGE" steward demo --quiet >"/tmp/steward-image-demo.$$" || {
    tail -n 20 "/tmp/steward-image-demo.$$"; fail "steward demo"; }
echo "$(wc -l <"/tmp/steward-image-demo.$$") lines of transcript; last:"
tail -n 3 "/tmp/steward-image-demo.$$"
rm -f "/tmp/steward-image-demo.$$"

step "steward check (SQLite on the data volume)"
run -e DISCORD_TOKEN=image-check-placeholder "$IMAGE" steward check || fail "steward check"

step "data files are private (0600, owned by steward)"
listing=$(run "$IMAGE" sh -c 'stat -c "%a %U %n" /app/data/*')
echo "$listing"
echo "$listing" | awk '$1 != "600" || $2 != "steward" { bad = 1 } END { exit bad }' \
    || fail "a data file is not 0600 steward"

step "steward migrate on PostgreSQL from inside the container"
psql "${PG%%\?*}" -qc "CREATE SCHEMA $schema" || fail "cannot reach PostgreSQL at $PG"
separator="?"; case "$PG" in *\?*) separator="&";; esac
target="$PG${separator}search_path=$schema"
run -e "STEWARD_DATABASE=$target" "$IMAGE" steward migrate || fail "steward migrate"
run -e "STEWARD_DATABASE=$target" "$IMAGE" steward migrate || fail "steward migrate (again)"
tables=$(psql "${PG%%\?*}" -Atc \
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$schema'")
echo "$tables tables in schema $schema"
[ "$tables" -gt 10 ] || fail "the migration created $tables tables"

echo
echo "image-check: all good"
