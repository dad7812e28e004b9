#!/usr/bin/env bash
# Shadowserver CSV → harmonized events: IntelMQ 3.5 and Firewatch side by side, same run, same file.
# Usage: bench/feeds.sh [ROWS]   (default 100000; needs target/py-venv with intelmq, see test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-100000}
SHARED=${FIREWATCH_SHARED:-../shared}
SCHEMA=$SHARED/data/shadowserver/intelmq.json
PY=${FIREWATCH_PYTHON:-target/py-venv/bin/python}
OUT=bench/out
CSV=$OUT/2026-01-01-scan_dns-test-geo.csv
mkdir -p "$OUT"
python3 "$SHARED/bench/make_shadowserver_csv.py" scan_dns "$ROWS" "$CSV"
cargo build --release -q -p firewatch-feeds --example parse_shadowserver
cargo build --release -q -p firewatch
intelmq=$("$PY" "$SHARED/bench/intelmq_shadowserver.py" "$CSV" --repeat 1)
firewatch=$(target/release/examples/parse_shadowserver "$SCHEMA" "$CSV" --repeat 3)
echo "$intelmq"
echo "$firewatch"
python3 - "$intelmq" "$firewatch" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"ratio_events_per_s": round(b["events_per_s"] / a["events_per_s"], 1),
                  "floor": 100, "rows": b["rows"]}))
PY

# The whole command a user runs, on the same file: parse + experts (--dry-run), then parse +
# experts + attribution + deduplication + the store (a fresh store each run). Medians of 3.
FW=target/release/firewatch
cli() { # LABEL ARGS… → one JSON line with the median wall time and peak RSS
    local label=$1; shift
    local times=() rss=0
    for _ in 1 2 3; do
        rm -f "$OUT"/feeds-bench.db*
        /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$FW" --db "$OUT/feeds-bench.db" "$@" >/dev/null
        read -r t m < "$OUT/time.txt"
        times+=("$t"); [ "$m" -gt "$rss" ] && rss=$m
    done
    python3 - "$label" "$ROWS" "$rss" "${times[@]}" <<'PY'
import json, statistics, sys
label, rows, rss, times = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [float(t) for t in sys.argv[4:]]
med = statistics.median(times)
print(json.dumps({"tool": label, "rows": rows, "seconds_median": med,
                  "events_per_s": round(rows / med), "peak_rss_mb": round(rss / 1024, 1)}))
PY
}
cli "firewatch feeds ingest --dry-run" feeds ingest "$CSV" --schema "$SCHEMA" --dry-run
cli "firewatch feeds ingest (into the store)" feeds ingest "$CSV" --schema "$SCHEMA"
rm -f "$OUT"/feeds-bench.db* "$OUT/time.txt"
