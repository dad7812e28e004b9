#!/usr/bin/env bash
# Durable telescope ingest (issue 17): a full `firewatch ingest pcap` into a fresh store,
# side by side in the same run with the tools that read the same pcap:
#   tcpdump -n -r FILE -w /dev/null      (libpcap read + write: the floor of any libpcap tool)
#   nfpcapd -r FILE -w DIR               (nfdump: pcap to NetFlow records on disk)
#   argus -r FILE -w FILE.argus          (argus: pcap to flow records on disk)
#   firewatch --db STORE ingest pcap FILE (decode, label, aggregate, durable commit, alerts,
#                                         findings as events)
# firewatch on one core (`taskset -c 0`) and on two, the single-threaded tools on CPU 0, on two
# generated captures: about
# 3.9 M packets and about 20 M packets (1 M sources). Rounds interleave the tools so machine
# noise hits all of them; medians and ratios are printed as Markdown tables for BENCHMARKS.md.
#
#   RUNS=3 bench/ingest.sh
#   SIZES="3927000" RUNS=5 bench/ingest.sh       # only the smaller capture
#   FW_BIN=/tmp/old/firewatch bench/ingest.sh    # another build instead of this tree's
#   BEFORE_BIN=/tmp/old/firewatch bench/ingest.sh # and an earlier build in the same rounds,
#                                                 # as firewatch-LABEL-before (SQLite only)
#
# STORES names the store backends to measure, each as LABEL=SPEC, where SPEC is given to
# `firewatch --db`; `@` in it is replaced by a fresh name per run (a new file for SQLite).
# Default: STORES="sqlite=@.db". PostgreSQL goes here once `--db postgres://…` is wired:
#   STORES="sqlite=@.db postgres=postgres://127.0.0.1:5432/test?options=-csearch_path%3D@"
# (the PostgreSQL column: each run needs an empty schema or database; FRESH_POSTGRES below
# is the hook that creates it, left to the PostgreSQL backend's author).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
OUT=${OUT:-bench/out}
SIZES=${SIZES:-"3927000 20200000"}
STORES=${STORES:-"sqlite=@.db"}
FRESH_POSTGRES=${FRESH_POSTGRES:-} # a command given the fresh name, run before each PostgreSQL run
mkdir -p "$OUT"

need() { # command, Debian package
    command -v "$1" >/dev/null && return 0
    echo "installing $2 (for $1)" >&2
    if [ -z "${APT_UPDATED:-}" ]; then apt-get update -q >/dev/null; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
}
need tcpdump tcpdump
need nfpcapd nfdump
need argus argus-server
need taskset util-linux
[ -x /usr/bin/time ] || need /usr/bin/time time

if [ -n "${FW_BIN:-}" ]; then
    fw=$FW_BIN
else
    cargo build --release -q -p firewatch
    fw=target/release/firewatch
fi
work="$OUT/ingest-work"
rm -rf "$work"
mkdir -p "$work"

results="$OUT/ingest-results.tsv"
: > "$results"
measure() { # capture label, tool label, command…
    local cap=$1 name=$2; shift 2
    if /usr/bin/time -o "$work/time.txt" -f "%e %M" "$@" > "$work/out.txt" 2> "$work/err.txt"; then
        echo -e "$cap\t$name\t$(tail -n 1 "$work/time.txt")" >> "$results"
    else
        echo "$name on $cap failed:" >&2
        tail -n 5 "$work/err.txt" >&2
        exit 1
    fi
}
fresh() { # store spec with @ -> spec of a fresh store (removing an old SQLite file)
    local name="$work/store-$RANDOM$RANDOM"
    rm -f "$name".db "$name".db-wal "$name".db-shm
    echo "${1//@/$name}"
}

declare -A frames sources
for n in $SIZES; do
    cap="$OUT/bench-$n.pcap"
    if [ ! -f "$cap" ]; then
        "$fw" synth --packets "$n" --out "$cap" --truth "$cap.truth.json" >&2
    fi
    cat "$cap" > /dev/null # into the page cache before the first timed run
    read -r f s < <("$fw" ingest pcap "$cap" --dry-run --threads 1 --json \
        | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["frames"], r["sources"])')
    frames[$n]=$f
    sources[$n]=$s
    echo "capture $cap: $f frames, $s sources, $(du -h "$cap" | cut -f1)" >&2
done

for round in $(seq "$RUNS"); do
    for n in $SIZES; do
        cap="$OUT/bench-$n.pcap"
        # tcpdump, nfpcapd and argus are single-threaded: measured once a round, on CPU 0,
        # and compared with firewatch on one core and on two.
        measure "$n" tcpdump taskset -c 0 tcpdump -n -r "$cap" -w /dev/null
        rm -rf "$work/nf" && mkdir -p "$work/nf"
        measure "$n" nfpcapd taskset -c 0 nfpcapd -r "$cap" -w "$work/nf"
        rm -f "$work/argus.out"
        measure "$n" argus taskset -c 0 argus -r "$cap" -w "$work/argus.out"
        rm -rf "$work/nf" "$work/argus.out"
        for cores in 1 2; do
            pin=()
            [ "$cores" = 1 ] && pin=(taskset -c 0)
            for store in $STORES; do
                label=${store%%=*}
                spec=$(fresh "${store#*=}")
                if [ "$label" != sqlite ] && [ -n "$FRESH_POSTGRES" ]; then
                    $FRESH_POSTGRES "$spec"
                fi
                measure "$n" "firewatch-$label-$cores" "${pin[@]}" "$fw" --db "$spec" ingest pcap "$cap" --json
                rm -f "$work"/store-*
                if [ -n "${BEFORE_BIN:-}" ] && [ "$label" = sqlite ]; then
                    spec=$(fresh "${store#*=}")
                    measure "$n" "firewatch-$label-before-$cores" "${pin[@]}" "$BEFORE_BIN" --db "$spec" ingest pcap "$cap" --json
                    rm -f "$work"/store-*
                fi
            done
        done
    done
    echo "round $round done" >&2
done
rm -rf "$work"

ordered=()
for n in $SIZES; do ordered+=("${frames[$n]}"); done
python3 - "$results" "$STORES" "$SIZES" "${ordered[@]}" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
stores = [s.split("=")[0] for s in sys.argv[2].split()]
sizes = sys.argv[3].split()
frames = dict(zip(sizes, map(int, sys.argv[4:])))
by = {}
for cap, name, rest in rows:
    secs, rss = rest.split()
    by.setdefault((cap, name), []).append((float(secs), int(rss)))
med = {k: statistics.median(s for s, _ in v) for k, v in by.items()}
for cap in sizes:
    print(f"\n{frames[cap]:,} packets (`--packets {cap}`):\n")
    print("| tool | cores | runs | median s | packets/s | × tcpdump | × faster of nfpcapd, argus | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    tcp = med[(cap, "tcpdump")]
    peer = min(med[(cap, "nfpcapd")], med[(cap, "argus")])
    def row(name, key, cores):
        m = med[key]
        rss = max(r for _, r in by[key]) / 1024
        print(f"| {name} | {cores} | {len(by[key])} | {m:.2f} | {frames[cap]/m/1e6:.2f} M | {tcp/m:.2f}× | {peer/m:.2f}× | {rss:.0f} |")
    for name in ["tcpdump", "nfpcapd", "argus"]:
        row(name, (cap, name), "1")
    for cores in ("1", "2"):
        for s in stores:
            for b in ("-before", ""):
                k = (cap, f"firewatch-{s}{b}-{cores}")
                if k in by:
                    row(f"firewatch {s}{b.replace('-', ', ')}", k, cores)
PY
