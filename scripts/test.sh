#!/usr/bin/env bash
# Runs every Firewatch test on a fresh machine. Installs what the tests need first
# (tcpdump, to cross-check packet counts), then formatting, lints and the whole suite.
# With CI=true a missing tool is a failure, never a silent skip.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v tcpdump >/dev/null 2>&1 || missing+=(tcpdump)
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]} (apt-get)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
