#!/usr/bin/env bash
# certledger serve benchmark: alert evaluation over a large inventory, and a
# running daemon's /metrics, idle CPU and memory. Markdown on stdout,
# progress on stderr.
#
#   bench/serve/run.sh [--inventory N] [--runs R] [--series M] [--idle S]
#
#   --inventory N  certificates for the evaluation part (default 1000000;
#                  the tree bench/run.sh generates, bundles of 1000)
#   --runs R       evaluations of the quiet inventory (default 5)
#   --series M     certificate-location series of the daemon part (default
#                  100000: the inventory bench/metrics/run.sh builds)
#   --idle S       seconds the daemon is watched idle (default 60)
#
# certledger: $CERTLEDGER (default build/certledger). Targets: evaluating
# the alerts of 1,000,000 certificates under 5 s; /metrics for 100,000
# series under 1 s; idle CPU near zero and RSS under 50 MB at 100,000.
set -euo pipefail

INVENTORY=1000000
RUNS=5
SERIES=100000
IDLE=60
while (($#)); do
	case $1 in
	--inventory) INVENTORY=$2 && shift 2 ;;
	--runs) RUNS=$2 && shift 2 ;;
	--series) SERIES=$2 && shift 2 ;;
	--idle) IDLE=$2 && shift 2 ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
	*) echo "unknown argument '$1'" >&2 && exit 2 ;;
	esac
done

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
CACHE=$REPO/bench/.cache
CL=${CERTLEDGER:-build/certledger}
[[ $CL == /* ]] || CL=$REPO/$CL
[[ -x $CL ]] || { echo "certledger binary $CL not found (build first)" >&2; exit 1; }
PY=/usr/bin/python3
log() { printf '[serve] %s\n' "$*" >&2; }
WORK=$(mktemp -d "$CACHE/serve.XXXXXX" 2>/dev/null || { mkdir -p "$CACHE" && mktemp -d "$CACHE/serve.XXXXXX"; })
DAEMON=
cleanup() {
	if [[ -n $DAEMON ]]; then kill "$DAEMON" 2>/dev/null || true; wait "$DAEMON" 2>/dev/null || true; fi
	rm -rf -- "$WORK"
}
trap cleanup EXIT
make -s -C "$REPO/bench" >/dev/null

# the figure a `serve --once` log line gives: "alerts: ... in 3.21s"
eval_seconds() { sed -n 's/.*alerts: .* in \([0-9.]*\)s.*/\1/p' "$1" | tail -n 1; }
deliver_line() { sed -n 's/.*alert delivery: \(.*\)/\1/p' "$1" | tail -n 1; }

# ============================================================ evaluation
if ((INVENTORY > 0)); then
	TREE=$CACHE/inv-$INVENTORY-b1000-s1/tree
	if [[ ! -d $TREE ]]; then
		log "generating $INVENTORY certificates (once)"
		rm -rf "$CACHE/inv-$INVENTORY-b1000-s1.tmp"
		mkdir -p "$CACHE/inv-$INVENTORY-b1000-s1.tmp"
		"$CACHE/bin/gencerts" --seed 1 --bundle-size 1000 --count "$INVENTORY" \
			"$CACHE/inv-$INVENTORY-b1000-s1.tmp/tree" >"$CACHE/inv-$INVENTORY-b1000-s1.tmp/manifest.txt"
		mv "$CACHE/inv-$INVENTORY-b1000-s1.tmp" "$CACHE/inv-$INVENTORY-b1000-s1"
	fi
	BASE=$CACHE/serve-inv-$INVENTORY.db
	if [[ ! -f $BASE || $TREE -nt $BASE ]]; then
		log "discovering the $INVENTORY certificates (once)"
		rm -f "$BASE" "$BASE-wal" "$BASE-shm"
		"$CL" --db "$BASE.tmp" discover files "$TREE" >/dev/null
		"$CL" --db "$BASE.tmp" ls --limit 1 >/dev/null   # checkpoint
		mv "$BASE.tmp" "$BASE"
		rm -f "$BASE.tmp-wal" "$BASE.tmp-shm"
	fi
	DB=$WORK/eval.db
	cp "$BASE" "$DB"
	cat >"$WORK/eval.yaml" <<EOF
store: $DB
listen: ""
routes:
  - notify: [file]
notifiers:
  - name: file
    type: jsonl
    path: $WORK/alerts.jsonl
EOF
	log "first evaluation (every condition fires and is queued)"
	t0=$(date +%s%N)
	"$CL" serve --once --skip-jobs --config "$WORK/eval.yaml" --log-format text 2>"$WORK/first.log" || true
	t1=$(date +%s%N)
	FIRST=$(eval_seconds "$WORK/first.log")
	FIRST_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	HOLD=$(sed -n 's/.*alerts: [0-9]* certificates, \([0-9]*\) conditions.*/\1/p' "$WORK/first.log")
	SCANNED=$(sed -n 's/.*alerts: \([0-9]*\) certificates,.*/\1/p' "$WORK/first.log")
	MSGS=$(wc -l <"$WORK/alerts.jsonl")
	log "quiet evaluations x$RUNS"
	best=999999 sum=0
	for ((r = 0; r < RUNS; r++)); do
		"$CL" serve --once --skip-jobs --config "$WORK/eval.yaml" --log-format text \
			2>"$WORK/quiet.log" || true
		s=$(eval_seconds "$WORK/quiet.log")
		best=$(awk -v a="$best" -v b="$s" 'BEGIN { print (b < a) ? b : a }')
		sum=$(awk -v a="$sum" -v b="$s" 'BEGIN { print a + b }')
	done
	MEAN=$(awk -v s="$sum" -v n="$RUNS" 'BEGIN { printf "%.2f", s / n }')
	echo "## Alert evaluation: $INVENTORY certificates"
	echo
	echo "$(nproc) CPUs, $(uname -sr). The generated inventory: validity spread so that"
	echo "$HOLD conditions hold (expiry thresholds and renewal overdue); the scan reads the"
	echo "$SCANNED certificates that can raise one (SQL prefilter), the others never reach C."
	echo
	echo "| Evaluation | Time (s) |"
	echo "|---|---:|"
	echo "| first: $HOLD alerts fired, $MSGS notifications queued and delivered (JSON lines) | $FIRST (evaluation), $FIRST_WALL (whole run) |"
	echo "| quiet inventory, nothing changed: best of $RUNS | $best |"
	echo "| quiet inventory: mean of $RUNS | $MEAN |"
	echo
fi

# ============================================================ the daemon
if ((SERIES > 0)); then
	MDB=$CACHE/metrics-$SERIES-s1/inventory.db
	if [[ ! -f $MDB ]]; then
		log "building the $SERIES-series inventory with bench/metrics/run.sh"
		bash "$REPO/bench/metrics/run.sh" --series "$SERIES" --runs 1 >/dev/null
	fi
	DB=$WORK/daemon.db
	cp "$MDB" "$DB"
	PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$WORK/daemon.yaml" <<EOF
store: $DB
listen: "127.0.0.1:$PORT"
routes:
  - notify: [file]
notifiers:
  - name: file
    type: jsonl
    path: $WORK/daemon-alerts.jsonl
EOF
	"$CL" serve --config "$WORK/daemon.yaml" 2>"$WORK/daemon.log" &
	DAEMON=$!
	for ((i = 0; i < 600; i++)); do
		grep -q 'alert delivery\|alerts: ' "$WORK/daemon.log" 2>/dev/null && break
		sleep 0.1
	done
	rss() { awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON/status"; }
	cpu() { awk '{ print $14 + $15 }' "/proc/$DAEMON/stat"; }
	# settled: the first evaluation's notifications delivered, no CPU used for 3 s
	log "waiting for the start-up work to settle"
	still=0 prev=$(cpu)
	for ((i = 0; i < 600 && still < 3; i++)); do
		sleep 1
		now=$(cpu)
		if ((now == prev)); then still=$((still + 1)); else still=0; fi
		prev=$now
	done
	RSS_START=$(rss)
	log "scraping /metrics"
	SCRAPE=$("$PY" - "http://127.0.0.1:$PORT/metrics" "$RUNS" <<'EOF'
import gzip, sys, time, urllib.request
url, runs = sys.argv[1], int(sys.argv[2])
res = {}
for mode in ("plain", "gzip"):
    best, size = 1e9, 0
    for _ in range(runs):
        req = urllib.request.Request(url)
        if mode == "gzip":
            req.add_header("Accept-Encoding", "gzip")
        t = time.monotonic()
        body = urllib.request.urlopen(req, timeout=120).read()
        best = min(best, time.monotonic() - t)
        size = len(body)
    res[mode] = (best, size)
print("%.3f %d %.3f %d" % (res["plain"][0], res["plain"][1], res["gzip"][0], res["gzip"][1]))
EOF
)
	read -r PLAIN_S PLAIN_B GZ_S GZ_B <<<"$SCRAPE"
	RSS_SCRAPED=$(rss)
	log "idle for $IDLE s"
	c0=$(cpu)
	sleep "$IDLE"
	c1=$(cpu)
	RSS_IDLE=$(rss)
	TICKS=$(getconf CLK_TCK)
	IDLE_CPU=$(awk -v a="$c0" -v b="$c1" -v t="$TICKS" -v s="$IDLE" 'BEGIN { printf "%.3f", (b - a) / t / s * 100 }')
	kill -TERM "$DAEMON"
	wait "$DAEMON" || true
	DAEMON=
	mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
	echo "## The daemon with $SERIES certificate-location series"
	echo
	echo "| Measure | Value |"
	echo "|---|---:|"
	echo "| GET /metrics, plain: best of $RUNS | $PLAIN_S s ($(awk -v b="$PLAIN_B" 'BEGIN { printf "%.1f", b / 1e6 }') MB) |"
	echo "| GET /metrics, gzip (what Prometheus asks for): best of $RUNS | $GZ_S s ($(awk -v b="$GZ_B" 'BEGIN { printf "%.1f", b / 1e6 }') MB) |"
	echo "| RSS once start-up settled (first evaluation, its notifications delivered) | $(mib "$RSS_START") MiB |"
	echo "| RSS after the scrapes | $(mib "$RSS_SCRAPED") MiB |"
	echo "| RSS after $IDLE s idle | $(mib "$RSS_IDLE") MiB |"
	echo "| CPU while idle ($IDLE s) | $IDLE_CPU % of one core |"
	echo
fi
