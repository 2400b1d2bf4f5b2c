#!/usr/bin/env bash
# Install the local AWS emulator (LocalStack, run on the host, no Docker) into
# its OWN venv, away from the project venv (it is a server with pinned deps).
#
#   venv:   ${BUILDER_EMULATOR_VENV:-$HOME/.cache/builder/localstack-venv}
#   base:   ${BUILDER_EMULATOR_BASE_PYTHON:-first Python >= 3.12 found}
#   stdout: the venv's python path, on the last (only) line; progress -> stderr
#
# Idempotent: a stamp in the venv records a hash of the requirements,
# constraints and plugin source; when it matches and the venv imports,
# nothing is installed (takes well under a second).
#
# Exit 2: no Python >= 3.12 to build the venv from; exit 1: the install failed.
# Called by builder.emulator.install() (`python -m builder.emulator --install`) and by
# .ci/install-emulator; it ships inside the package beside the files it installs.
set -euo pipefail

emu_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
plugin_dir="$emu_dir/localstack_dynamodb_moto"
venv="${BUILDER_EMULATOR_VENV:-$HOME/.cache/builder/localstack-venv}"
py="$venv/bin/python"

log() { printf 'install-emulator: %s\n' "$*" >&2; }

# Is "$1" a runnable Python >= 3.12?
usable() {
    [ -n "$1" ] && "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1
}

find_base_python() {
    local c v
    if [ -n "${BUILDER_EMULATOR_BASE_PYTHON:-}" ]; then
        usable "$BUILDER_EMULATOR_BASE_PYTHON" && { echo "$BUILDER_EMULATOR_BASE_PYTHON"; return 0; }
        log "BUILDER_EMULATOR_BASE_PYTHON=$BUILDER_EMULATOR_BASE_PYTHON is not a Python >= 3.12"
        return 1
    fi
    # pyenv versions not active by default (the shims fail unless selected)
    if command -v pyenv >/dev/null 2>&1; then
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[23]\.[0-9]+$' | sort -t. -k2,2nr -k3,3nr); do
            for c in python3.13 python3.12; do
                c="$(PYENV_VERSION="$v" pyenv which "$c" 2>/dev/null || true)"
                usable "$c" && { echo "$c"; return 0; }
            done
        done
    fi
    for c in python3.13 python3.12 python3; do
        c="$(command -v "$c" 2>/dev/null || true)"
        usable "$c" && { echo "$c"; return 0; }
    done
    return 1
}

stamp_file="$venv/.builder-emulator-stamp"
stamp_want="$(
    cd "$emu_dir"
    cat requirements.txt constraints.txt \
        "$plugin_dir/pyproject.toml" "$plugin_dir/localstack_dynamodb_moto.py" | sha256sum | cut -d' ' -f1
)"

is_installed() {
    # find_spec, not import: importing LocalStack costs ~1 s
    [ -x "$py" ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp_want" ] &&
        "$py" -c 'import sys; from importlib.util import find_spec as f
sys.exit(not (f("localstack.runtime.main") and f("localstack_dynamodb_moto")))' >/dev/null 2>&1
}

if is_installed; then
    log "already installed in $venv"
    echo "$py"
    exit 0
fi

mkdir -p "$(dirname "$venv")"
# Serialise concurrent installs into the same venv.
exec 9>"$venv.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if is_installed; then
    log "already installed in $venv (by a concurrent run)"
    echo "$py"
    exit 0
fi

start=$SECONDS
base="$(find_base_python)" || {
    log "no Python >= 3.12 found (localstack-core 2026.3.0 needs it)."
    log "install one (e.g. 'pyenv install 3.13') or set BUILDER_EMULATOR_BASE_PYTHON."
    exit 2
}
log "base python: $base ($("$base" -V 2>&1))"

if ! { [ -x "$py" ] && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }; then
    log "creating venv $venv"
    rm -rf "$venv"
    "$base" -m venv "$venv"
fi
rm -f "$stamp_file"

# Build the plugin from a scratch copy so no build/ or *.egg-info lands in the repo.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$plugin_dir/pyproject.toml" "$plugin_dir/localstack_dynamodb_moto.py" "$tmp/"

log "installing LocalStack + dynamodb:moto plugin (a fresh install takes ~1-2 min)"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$py" -m pip install --quiet \
    -r "$emu_dir/requirements.txt" \
    -c "$emu_dir/constraints.txt" \
    "$tmp" >&2

"$py" -c 'import localstack.runtime.main, localstack_dynamodb_moto' >&2
echo "$stamp_want" >"$stamp_file"
log "installed in $((SECONDS - start)) s"
echo "$py"
