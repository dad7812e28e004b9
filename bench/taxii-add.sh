#!/usr/bin/env bash
# TAXII 2.1 "add objects" as a partner's client sees it: one build against another, each serving
# a fresh store, timing the POST of an envelope (answered once the objects are committed) and
# reading the service's peak resident memory afterwards (VmHWM). Two envelopes: an 8 MiB one of
# real-shaped indicators (the advertised max_content_length), and 100,000 tiny objects (the shape
# that made line counting quadratic). Rounds alternate which build goes first.
#
#   bench/taxii-add.sh OLD_BINARY [NEW_BINARY]      RUNS=5
#
# OLD_BINARY is a release build of the other commit, e.g. from a worktree:
#   git worktree add /tmp/old 189b17d && (cd /tmp/old && cargo build --release -p firewatch)
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?usage: bench/taxii-add.sh OLD_BINARY [NEW_BINARY]}
NEW=${2:-target/release/firewatch}
RUNS=${RUNS:-5}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }
[ -x "$NEW" ] || cargo build --release -q -p firewatch

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def indicator(i):
    return {"type": "indicator", "spec_version": "2.1",
            "id": "indicator--00000000-0000-4000-8000-%012x" % i,
            "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
            "pattern": "[ipv4-addr:value = '10.%d.%d.%d']" % (i >> 16 & 255, i >> 8 & 255, i & 255),
            "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z"}
objects, size, i = [], 0, 0
while True:
    text = json.dumps(indicator(i))
    if size + len(text) + 2 > 8 * 1024 * 1024 - 64:
        break
    objects.append(text); size += len(text) + 2; i += 1
open(f"{out}/taxii-8mib.json", "w").write('{"objects": [' + ",\n".join(objects) + "]}")
open(f"{out}/taxii-tiny.json", "w").write('{"objects": [' + ",\n".join(["{}"] * 100000) + "]}")
print(f"8 MiB envelope: {i} indicators", file=sys.stderr)
PY

results="$OUT/taxii-add.tsv"
: > "$results"
run() { # label binary envelope → one line: envelope build seconds peak_kib http_status
    local label=$1 bin=$2 envelope=$3 db="$OUT/taxii-add.db" log="$OUT/taxii-serve.log"
    rm -f "$db" "$db"-*
    "$bin" --db "$db" users add bench --team bench-team --role member > /dev/null
    local token
    token=$("$bin" --db "$db" tokens create --user bench | tr -d '[:space:]')
    FIREWATCH__WEB__LISTEN=127.0.0.1:0 FIREWATCH__WEB__LOG_FORMAT=json \
        "$bin" --db "$db" serve 2> "$log" &
    local pid=$! addr="" tries=0
    while [ -z "$addr" ] && [ $tries -lt 200 ]; do
        addr=$(grep -o '"addr":"[^"]*"' "$log" 2>/dev/null | head -n1 | cut -d'"' -f4 || true)
        [ -n "$addr" ] || { sleep 0.05; tries=$((tries + 1)); }
    done
    [ -n "$addr" ] || { echo "serve did not start" >&2; kill $pid; exit 1; }
    local media="application/taxii+json;version=2.1"
    local collection result
    collection=$(curl -s -H "Authorization: Bearer $token" -H "Accept: $media" \
        "http://$addr/taxii2/firewatch/collections/" | python3 -c '
import json, sys
print(next(c["id"] for c in json.load(sys.stdin)["collections"] if "GREEN" in c["title"].upper()))')
    result=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST \
        -H "Authorization: Bearer $token" -H "Content-Type: $media" -H "Accept: $media" \
        --data-binary "@$OUT/$envelope" \
        "http://$addr/taxii2/firewatch/collections/$collection/objects/" || true)
    local hwm
    hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
    kill $pid; wait $pid 2>/dev/null || true
    echo -e "$envelope\t$label\t${result#* }\t$hwm\t${result%% *}" >> "$results"
}
for round in $(seq "$RUNS"); do
    for envelope in taxii-8mib.json taxii-tiny.json; do
        if [ $((round % 2)) -eq 1 ]; then
            run old "$OLD" $envelope; run new "$NEW" $envelope
        else
            run new "$NEW" $envelope; run old "$OLD" $envelope
        fi
    done
    echo "round $round done" >&2
done
rm -f "$OUT/taxii-add.db" "$OUT"/taxii-add.db-*

python3 - "$results" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print("| envelope | build | HTTP | median s | median peak RSS MiB |")
print("|---|---|---|---:|---:|")
for envelope in sorted({r[0] for r in rows}):
    for build in ("old", "new"):
        rs = [r for r in rows if r[0] == envelope and r[1] == build]
        codes = ",".join(sorted({r[4] for r in rs}))
        secs = statistics.median(float(r[2]) for r in rs)
        rss = statistics.median(int(r[3]) for r in rs) / 1024
        print(f"| {envelope} | {build} | {codes} | {secs:.2f} | {rss:.0f} |")
PY
