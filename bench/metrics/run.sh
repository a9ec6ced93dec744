#!/usr/bin/env bash
# certledger /metrics benchmark: cl_metrics_render (the text `certledger serve`
# answers on /metrics) over an inventory of N certificate-location series,
# written to /dev/null. Markdown on stdout, progress on stderr.
#
#   bench/metrics/run.sh [--series N] [--runs R] [--seed S]
#
# certledger: $CERTLEDGER (default build/certledger, relative to the repo).
# bench/metrics/render.c is compiled with cc against the libcertledger.a of
# the same build ($CL_LIB to name another). The inventory: N PEM files of one
# certificate each (bench/gencerts.c), discovered by certledger, those of
# every third directory group tagged with an owner and an environment;
# cached in bench/.cache/metrics-N-sS. Target: 100,000 series in under 1 s.
set -euo pipefail

SERIES=100000
RUNS=5
SEED=1
while (($#)); do
	case $1 in
	--series) SERIES=$2 && shift 2 ;;
	--runs) RUNS=$2 && shift 2 ;;
	--seed) SEED=$2 && shift 2 ;;
	-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
	*) echo "unknown argument '$1'" >&2 && exit 2 ;;
	esac
done
[[ $SERIES =~ ^[1-9][0-9]*$ && $RUNS =~ ^[1-9][0-9]*$ && $SEED =~ ^[0-9]+$ ]] ||
	{ echo "--series, --runs and --seed take positive integers" >&2 && exit 2; }

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
CACHE=$REPO/bench/.cache
CL=${CERTLEDGER:-build/certledger}
[[ $CL == /* ]] || CL=$REPO/$CL
[[ -x $CL ]] || { echo "certledger binary $CL not found (build first)" >&2; exit 1; }
LIB=${CL_LIB:-$(dirname -- "$CL")/libcertledger.a}
[[ -f $LIB ]] || { echo "$LIB not found (set CL_LIB)" >&2; exit 1; }
log() { printf '[metrics] %s\n' "$*" >&2; }
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2; exit }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

for t in cc make pkg-config sqlite3; do
	command -v "$t" >/dev/null || { echo "'$t' is required" >&2; exit 1; }
done
make -s -C "$REPO/bench" >/dev/null
RENDER=$CACHE/bin/metrics_render
# shellcheck disable=SC2046  # pkg-config prints one flag per word
cc -std=c17 -O2 -g -D_GNU_SOURCE -Wall -Wextra -I"$REPO/src" -o "$RENDER" \
	"$REPO/bench/metrics/render.c" "$LIB" \
	$(pkg-config --libs openssl sqlite3 jansson yaml-0.1 libcurl libevent libevent_pthreads) \
	-lpthread -lm

DIR=$CACHE/metrics-$SERIES-s$SEED
DB=$DIR/inventory.db
if [[ ! -f $DB ]]; then
	log "generating $SERIES certificate files"
	rm -rf "$DIR" && mkdir -p "$DIR"
	"$CACHE/bin/gencerts" --seed "$SEED" --count "$SERIES" --bundle-size 1 "$DIR/tree" \
		>"$DIR/manifest.txt"
	log "discovering them"
	"$CL" --db "$DB.tmp" discover files "$DIR/tree" >/dev/null
	mv "$DB.tmp" "$DB"
fi
# owners and environments (also brings an older cached inventory to the
# current schema: tag writes)
GROUPS_=("$DIR"/tree/g*)
for ((i = 0; i < ${#GROUPS_[@]}; i += 3)); do
	"$CL" --db "$DB" tag --location "file:${GROUPS_[i]}/*" --owner "team-$((i / 3))" \
		--env production >/dev/null
done
SEEN=$(sqlite3 "$DB" "SELECT count(*) FROM sightings WHERE state='present'")
((SEEN == SERIES)) || { echo "expected $SERIES series, the inventory has $SEEN" >&2; exit 1; }

log "warming up"
"$RENDER" --db "$DB" --runs 1 >/dev/null 2>&1
row() { # LABEL [VAR=VALUE...] -- RENDER-ARGS...
	local label=$1 envs=() all first last mem
	shift
	while [[ $1 != -- ]]; do envs+=("$1") && shift; done
	shift
	log "$label"
	all=$(env "${envs[@]}" "$RENDER" --db "$DB" --runs "$RUNS" "$@" 2>&1 >/dev/null)
	first=$(sed -n 1p <<<"$all")
	last=$(tail -n 1 <<<"$all")
	mem=$(env "${envs[@]}" "$RENDER" --db "$DB" --runs 1 --mem "$@" 2>&1 >/dev/null | tail -n 1)
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" \
		"$(kv "$first" lines)" "$(kv "$first" bytes)" "$(kv "$first" emit_calls)" \
		"$(kv "$last" best_seconds)" "$(kv "$last" mean_seconds)" \
		"$(kv "$last" best_cpu_seconds)" \
		"$(mib "$(kv "$last" peak_rss_kib)")" "$(mib "$(kv "$mem" peak_anon_kib)")"
}

echo "## /metrics: $SERIES certificate-location series"
echo
echo "$(nproc) CPUs, $(uname -sr), SQLite $(sqlite3 --version | cut -d' ' -f1); best and mean of $RUNS runs"
echo "after a warm-up; output to /dev/null. Peak RSS counts the database pages SQLite maps"
echo "($(du -m "$DB" | cut -f1) MiB file); heap is the largest RssAnon sampled during a render."
echo
echo "| Render | Lines | Bytes | emit calls | Best s | Mean s | Best CPU s | Peak RSS MiB | Heap MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
row "all series (default bound 200,000)" -- --max-series 0
row "bound $((SERIES / 2)) (the rest counted as dropped)" -- --max-series $((SERIES / 2))
row "all series, renderer cache off (the store read 3 times)" CL_METRICS_CACHE=0 -- \
	--max-series 0
