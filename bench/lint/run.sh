#!/usr/bin/env bash
# certledger lint benchmark: `certledger lint` over N certificate files vs
# `openssl x509 -text -noout` run on each file (what CI scripts do today).
# Markdown on stdout, progress on stderr.
#
#   bench/lint/run.sh [--files N] [--sample K] [--runs R]
#
# certledger: $CERTLEDGER (default build/certledger, relative to the repo).
# The files are single-certificate PEM files made by bench/gencerts.c
# (cached in bench/.cache/lint-N-s1). The openssl loop runs on a sample of
# K files and is extrapolated to N (it is one process per file, so linear).
set -euo pipefail

FILES=10000
SAMPLE=500
RUNS=3
while (($#)); do
	case $1 in
	--files) FILES=$2 && shift 2 ;;
	--sample) SAMPLE=$2 && shift 2 ;;
	--runs) RUNS=$2 && shift 2 ;;
	-h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
	*) echo "unknown argument '$1'" >&2 && exit 2 ;;
	esac
done
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
CACHE=$REPO/bench/.cache
CL=${CERTLEDGER:-build/certledger}
[[ $CL == /* ]] || CL=$REPO/$CL
[[ -x $CL ]] || { echo "certledger binary $CL not found (build first)" >&2; exit 1; }
log() { printf '[lint] %s\n' "$*" >&2; }
now_ns() { date +%s%N; }

make -s -C "$REPO/bench" >/dev/null
TREE=$CACHE/lint-$FILES-s1
if [[ ! -d $TREE/tree ]]; then
	log "generating $FILES certificate files"
	rm -rf "$TREE" && mkdir -p "$TREE"
	"$CACHE/bin/gencerts" --seed 1 --count "$FILES" --bundle-size 1 "$TREE/tree" >"$TREE/manifest.txt"
fi
mapfile -t ALL < <(find "$TREE/tree" -type f | sort)
((${#ALL[@]} == FILES)) || { echo "expected $FILES files, found ${#ALL[@]}" >&2; exit 1; }
cat "${ALL[@]}" >/dev/null  # warm page cache for both tools

best=
for ((i = 0; i < RUNS; i++)); do
	t0=$(now_ns)
	"$CL" lint --format json --fail-on critical "${ALL[@]}" >"$TREE/lint.json" || [[ $? == 1 ]]
	t1=$(now_ns)
	t=$(((t1 - t0) / 1000))
	[[ -z $best || $t -lt $best ]] && best=$t
done
CL_S=$(awk -v u="$best" 'BEGIN { printf "%.3f", u / 1e6 }')
NF=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["certificates"]), len(d["findings"]))' "$TREE/lint.json")
log "certledger lint: $CL_S s"

t0=$(now_ns)
for f in "${ALL[@]:0:$SAMPLE}"; do
	openssl x509 -in "$f" -text -noout >/dev/null
done
t1=$(now_ns)
OS_SAMPLE=$(awk -v u="$(((t1 - t0) / 1000))" 'BEGIN { printf "%.3f", u / 1e6 }')
OS_S=$(awk -v s="$OS_SAMPLE" -v n="$FILES" -v k="$SAMPLE" 'BEGIN { printf "%.2f", s * n / k }')
log "openssl x509 -text: $OS_SAMPLE s for $SAMPLE files, $OS_S s extrapolated"

read -r NCERTS NFINDINGS <<<"$NF"
echo "| Tool | Work | Time (s) | openssl ÷ certledger |"
echo "|---|---|---:|---:|"
echo "| \`certledger lint --format json\` (built-in policy, best of $RUNS) | $FILES files, $NCERTS certificates, $NFINDINGS findings | $CL_S | $(awk -v a="$OS_S" -v b="$CL_S" 'BEGIN { printf "%.0f×", a / b }') |"
echo "| \`openssl x509 -text -noout\` per file ($SAMPLE-file sample, extrapolated) | $FILES files, printing only | $OS_S | — |"
