#!/usr/bin/env bash
# CI smoke test: every fuzz target for a short while (default 10 s each). Installs
# cargo-fuzz if missing. Fails when a target crashes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
exec "$here/run_all.sh" "${1:-10}"
