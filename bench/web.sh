#!/usr/bin/env bash
# The JSON API under load, on loopback, with ONE MILLION feed events in the store (issue 6).
#
#  1. builds the release binary;
#  2. creates (once; kept in $OUT) a store with 1,000,000 Shadowserver scan_dns events (one
#     generated report, ingested with the real CLI) plus a synthetic telescope capture (so the
#     alerts listing has alerts), a user of team `bench` and a token;
#  3. starts `firewatch serve` and, per endpoint, runs
#       wrk -t2 -c16 -d15s --latency   (throughput, closed loop)
#       oha -q 1000 -z 15s --latency-correction   (fixed rate of 1,000 requests/s: the p99 floor)
#  4. prints a Markdown table for BENCHMARKS.md, and the server's peak RSS.
#
#   EVENTS=1000000 DURATION=15s bench/web.sh
# Needs: wrk (apt-get install wrk), oha (cargo install oha --locked --root target/tools),
# python3, /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
DURATION=${DURATION:-15s}
RATE=${RATE:-1000}
SHARED=${FIREWATCH_SHARED:-../shared}
OUT=${OUT:-bench/out/web}
OHA=${OHA:-$(command -v oha || echo target/tools/bin/oha)}
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
[ "${DATA_ONLY:-0}" = 1 ] || [ -x "$OHA" ] || { echo "oha is needed (cargo install oha --locked --root target/tools)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (apt-get install time)" >&2; exit 1; }
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -q -p firewatch
FW=target/release/firewatch
DB=$OUT/web-$EVENTS.db
CONF=$OUT/firewatch.toml
# Shadowserver events are AMBER by default (visible to their owner and routed team only); the
# benchmark reads them as a community member, so the feed is released as GREEN here.
cat > "$CONF" <<'TOML'
[feeds.tlp]
default = "GREEN"
TOML

if [ ! -f "$DB.ready" ]; then
    rm -f "$DB" "$DB"-*
    csv=$OUT/2026-01-01-scan_dns-bench-geo.csv
    [ -f "$csv" ] || python3 "$SHARED/bench/make_shadowserver_csv.py" scan_dns "$EVENTS" "$csv"
    /usr/bin/time -f "ingest of $EVENTS events: %e s, peak RSS %M KiB" \
        "$FW" --config "$CONF" --db "$DB" feeds ingest "$csv" \
        --schema "$SHARED/data/shadowserver/intelmq.json" > /dev/null
    cap=$OUT/telescope.pcap
    [ -f "$cap" ] || "$FW" synth --packets 1500000 --out "$cap" > /dev/null
    "$FW" --config "$CONF" --db "$DB" ingest pcap "$cap" > /dev/null
    "$FW" --config "$CONF" --db "$DB" users add bench --team bench --role member > /dev/null
    "$FW" --config "$CONF" --db "$DB" tokens create --user bench | grep -o 'fw_[A-Za-z0-9_.-]*' | head -n 1 > "$DB.token"
    touch "$DB.ready"
fi
TOKEN=$(cat "$DB.token")
stored=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM events").fetchone()[0])' "$DB")
echo "store: $DB ($(du -h "$DB" | cut -f1)), $stored events" >&2
[ "${DATA_ONLY:-0}" = 1 ] && exit 0

PORT=${PORT:-18086}
/usr/bin/time -f "%M" -o "$OUT/serve-rss.txt" \
    "$FW" --config "$CONF" --db "$DB" serve --listen "127.0.0.1:$PORT" > "$OUT/serve.log" 2>&1 &
SERVER=$! # /usr/bin/time, which ignores SIGINT: signals go to its child, the server
stop_server() { kill -INT $(pgrep -P "$SERVER") 2>/dev/null || true; wait "$SERVER" || true; }
trap stop_server EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null && break
    sleep 0.1
done
BASE=http://127.0.0.1:$PORT

ENDPOINTS=(
    "/api/v1/events?limit=100"
    "/api/v1/events?where=source.geolocation.cc%20%3D%20JP&limit=100"
    "/api/v1/alerts"
)
results=$OUT/results.jsonl
: > "$results"
for path in "${ENDPOINTS[@]}"; do
    # Sanity: the answer is a 200 with items.
    n=$(curl -fs -H "Authorization: Bearer $TOKEN" "$BASE$path" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
    echo "$path: $n items" >&2
    wrk -t2 -c16 -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$BASE$path" > "$OUT/wrk.txt"
    cat "$OUT/wrk.txt" >&2
    "$OHA" -q "$RATE" -z "$DURATION" --latency-correction --no-tui --output-format json \
        -H "Authorization: Bearer $TOKEN" "$BASE$path" > "$OUT/oha.json"
    python3 - "$path" "$n" "$OUT/wrk.txt" "$OUT/oha.json" >> "$results" <<'PY'
import json, re, sys
path, n, wrk_txt, oha_json = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read(), json.load(open(sys.argv[4]))
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
lat = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", wrk_txt, re.M)}
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk_txt).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk_txt)
pct = oha_json["latencyPercentiles"]
codes = oha_json.get("statusCodeDistribution", {})
print(json.dumps({
    "path": path, "items": n,
    "wrk_rps": rps, "wrk_p50_ms": lat.get("50"), "wrk_p99_ms": lat.get("99"),
    "wrk_non2xx": int(non2xx.group(1)) if non2xx else 0,
    "oha_rps": oha_json["summary"]["requestsPerSec"],
    "oha_p50_ms": pct["p50"] * 1000, "oha_p99_ms": pct["p99"] * 1000,
    "oha_codes": codes, "oha_success": oha_json["summary"]["successRate"],
}))
PY
done
stop_server
trap - EXIT
rss_kib=$(tail -n 1 "$OUT/serve-rss.txt")
python3 - "$results" "$rss_kib" "$RATE" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rate = sys.argv[3]
print(f"| endpoint | items | wrk req/s | wrk p50 ms | wrk p99 ms | {rate}/s: p50 ms | {rate}/s: p99 ms | {rate}/s: achieved req/s, success |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| `{r['path']}` | {r['items']} | {r['wrk_rps']:.0f} | {r['wrk_p50_ms']:.2f} | {r['wrk_p99_ms']:.2f} "
          f"| {r['oha_p50_ms']:.2f} | {r['oha_p99_ms']:.2f} | {r['oha_rps']:.0f}, {r['oha_success']*100:.1f}% |")
print(f"\nserver peak RSS: {int(sys.argv[2]) / 1024:.0f} MiB")
floor = all(r["oha_p99_ms"] <= 10.0 for r in rows)
print(f"floor (p99 <= 10 ms at {rate} requests/s): {'met' if floor else 'MISSED'}")
PY
