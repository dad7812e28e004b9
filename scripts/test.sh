#!/usr/bin/env bash
# Runs every Firewatch test on a fresh machine. Installs what the tests need first
# (tcpdump, to cross-check packet counts; IntelMQ in a Python venv, to
# compare feed parsing field by field), then formatting, lints and the whole suite.
# With CI=true a missing tool is a failure, never a silent skip.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v tcpdump >/dev/null 2>&1 || missing+=(tcpdump)
# Headless Chromium and its WebDriver, for the dashboard's browser test.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
# gpg verifies and decrypts the PGP/MIME notices.
command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
# openssl makes the test CA and certificate of the STARTTLS test.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]} (apt-get)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# PostgreSQL 15 for the PostgreSQL backend (its conformance suite and the CLI on it): the
# server the tests use is FIREWATCH_TEST_POSTGRES, else the machine's own at 127.0.0.1:5432,
# database `test`. When it does not answer, install and start Debian's and let the tests in
# over loopback; a test that cannot reach it fails, it never skips.
if [ -z "${FIREWATCH_TEST_POSTGRES:-}" ]; then
    if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'SELECT 1' >/dev/null 2>&1; then
        echo "test.sh: PostgreSQL at 127.0.0.1:5432 (database test) does not answer; setting it up"
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        if ! command -v pg_ctlcluster >/dev/null 2>&1; then
            export DEBIAN_FRONTEND=noninteractive
            $sudo apt-get update -qq
            $sudo apt-get install -y -qq --no-install-recommends postgresql
        fi
        cluster=$(pg_lsclusters -h | awk 'NR == 1 {print $1 " " $2}')
        hba=$(pg_lsclusters -h | awk 'NR == 1 {print "/etc/postgresql/" $1 "/" $2 "/pg_hba.conf"}')
        if ! $sudo grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
            $sudo sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
        fi
        # shellcheck disable=SC2086
        $sudo pg_ctlcluster $cluster start 2>/dev/null || $sudo pg_ctlcluster $cluster reload
        for _ in $(seq 30); do
            pg_isready -q -h 127.0.0.1 -p 5432 && break
            sleep 1
        done
        psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
            || psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE test'
        psql -h 127.0.0.1 -U postgres -d test -Atc 'SELECT 1' >/dev/null
    fi
fi

# Python tools the tests run as the ecosystem's own reference implementations: IntelMQ's
# Shadowserver parser for field-by-field comparison; schemathesis against the served OpenAPI
# document; aiosmtpd, a real SMTP server for the notices; stix2-validator, stix2, taxii2-client
# and PyMISP for what we share with partners. One venv under target/, reused.
venv="${FIREWATCH_PY_VENV:-$PWD/target/py-venv}"
python_pkgs=(intelmq==3.5.0 schemathesis==4.32.5 aiosmtpd==1.4.6 stix2==3.0.2
    stix2-validator==3.3.2 taxii2-client==2.3.0 pymisp==2.5.34.4)
if ! "$venv/bin/python" -c 'import intelmq, schemathesis, aiosmtpd, stix2, stix2validator, taxii2client, pymisp' >/dev/null 2>&1; then
    echo "test.sh: installing ${python_pkgs[*]} into $venv (pip)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${python_pkgs[@]}"
fi
export FIREWATCH_PYTHON="$venv/bin/python"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
