#!/usr/bin/env bash
# One build against another on what a user waits for: the full, durable ingest of a telescope
# capture (`ingest pcap`, into a fresh store) and of a Shadowserver report (`feeds ingest`, into
# a fresh store). Rounds are paired and interleaved (the order alternates), so machine noise
# hits both builds alike; prints each build's median and the median of the per-round ratios.
#
#   bench/compare-builds.sh OLD_BINARY [NEW_BINARY]      RUNS=7 PACKETS=5000000 ROWS=100000
#
# OLD_BINARY is a release build of the other commit, e.g. from a worktree:
#   git worktree add /tmp/old e04fa5d && (cd /tmp/old && cargo build --release -p firewatch)
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?usage: bench/compare-builds.sh OLD_BINARY [NEW_BINARY]}
NEW=${2:-target/release/firewatch}
RUNS=${RUNS:-7}
PACKETS=${PACKETS:-5000000}
ROWS=${ROWS:-100000}
THREADS=${THREADS:-2}
SHARED=${FIREWATCH_SHARED:-../shared}
SCHEMA=$SHARED/data/shadowserver/intelmq.json
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (apt-get install time)" >&2; exit 1; }
[ -x "$NEW" ] || cargo build --release -q -p firewatch
cap="$OUT/compare-$PACKETS.pcap"
[ -f "$cap" ] || "$NEW" synth --packets "$PACKETS" --out "$cap" >/dev/null
csv="$OUT/2026-01-01-scan_dns-compare-geo.csv"
[ -f "$csv" ] || python3 "$SHARED/bench/make_shadowserver_csv.py" scan_dns "$ROWS" "$csv"
cat "$cap" "$csv" > /dev/null # into the page cache before the first timed run

results="$OUT/compare.tsv"
: > "$results"
run() { # build-label, binary, job → one line: job build seconds
    local label=$1 bin=$2 job=$3 db="$OUT/compare.db"
    rm -f "$db" "$db"-*
    case $job in
        pcap) set -- ingest pcap "$cap" --threads "$THREADS" --json ;;
        feeds) set -- feeds ingest "$csv" --schema "$SCHEMA" --json ;;
    esac
    /usr/bin/time -o "$OUT/time.txt" -f "%e" "$bin" --db "$db" "$@" > /dev/null
    echo -e "$job\t$label\t$(tail -n 1 "$OUT/time.txt")" >> "$results"
}
for round in $(seq "$RUNS"); do
    for job in pcap feeds; do
        if [ $((round % 2)) -eq 1 ]; then
            run old "$OLD" $job; run new "$NEW" $job
        else
            run new "$NEW" $job; run old "$OLD" $job
        fi
    done
    echo "round $round done" >&2
done
rm -f "$OUT/compare.db" "$OUT"/compare.db-* "$OUT/time.txt"

python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for job, build, secs in rows:
    by.setdefault((job, build), []).append(float(secs))
print("| ingest (full, durable) | runs | old median s | new median s | paired median new/old |")
print("|---|---|---|---|---|")
for job in ["pcap", "feeds"]:
    old, new = by[(job, "old")], by[(job, "new")]
    ratio = statistics.median(n / o for n, o in zip(new, old))
    print(f"| {job} | {len(old)} | {statistics.median(old):.2f} | {statistics.median(new):.2f} | {ratio:.3f} |")
PY
