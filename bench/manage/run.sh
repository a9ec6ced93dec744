#!/usr/bin/env bash
# Managed certificates benchmark: N Certificate specs on the internal CA
# (ECDSA P-256, generated keys), `certledger apply` issuing and deploying
# them all (each version written in full and fsync'd, the current symlink
# switched, the configured names as symlinks, the inventory recorded), a
# re-apply that finds nothing to do, and `certledger renew --force`
# re-issuing every one. Markdown on stdout, progress on stderr.
#
#   bench/manage/run.sh [--certs N] [--workers LIST] [--runs R]
#
# certledger: $CERTLEDGER (default build/certledger, relative to the repo).
# Everything lives under $BENCH_DIR (default a new directory in bench/.cache,
# on the repository's file system: the fsyncs are part of what is measured).
# The best of R runs of each step is kept (each run starts from scratch).
set -euo pipefail

CERTS=1000
RUNS=1
WORKERS="1 4 16 32"
while (($#)); do
	case $1 in
	--certs) CERTS=$2 && shift 2 ;;
	--workers) WORKERS=$2 && shift 2 ;;
	--runs) RUNS=$2 && shift 2 ;;
	-h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
	*) echo "unknown argument '$1'" >&2 && exit 2 ;;
	esac
done
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
CL=${CERTLEDGER:-build/certledger}
[[ $CL == /* ]] || CL=$REPO/$CL
[[ -x $CL ]] || { echo "certledger binary $CL not found (build first)" >&2; exit 1; }
mkdir -p "$REPO/bench/.cache"
W=${BENCH_DIR:-$(mktemp -d "$REPO/bench/.cache/manage.XXXXXX")}
trap 'rm -rf -- "$W"' EXIT
log() { printf '[manage] %s\n' "$*" >&2; }
now_ns() { date +%s%N; }
export BENCH_CA_PASS="bench passphrase $$"

# spec FILE OUT N: one Issuer and N Certificates, output in OUT/gNN (100 per directory)
spec() {
	local i
	{
		printf 'kind: Issuer\nmetadata: {name: ca}\nspec:\n  ca: {dir: %s/ca, passphrase: {env: BENCH_CA_PASS}}\n' "$W"
		for ((i = 1; i <= $3; i++)); do
			printf -- '---\nkind: Certificate\nmetadata: {name: svc%d}\nspec:\n' "$i"
			printf '  dnsNames: [svc%d.bench.internal]\n  ipAddresses: [10.%d.%d.%d]\n' "$i" \
				$((i / 65536 % 256)) $((i / 256 % 256)) $((i % 256))
			printf '  issuerRef: {name: ca}\n  duration: 30d\n  output: {dir: %s/g%02d}\n' "$2" $((i / 100))
		done
	} >"$1"
}

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

"$CL" -q --db "$W/setup.db" ca init "$W/ca" --org Bench --permit-dns bench.internal \
	--permit-ip 10.0.0.0/8 --passphrase-env BENCH_CA_PASS
log "$CERTS certificates, workers: $WORKERS, runs: $RUNS, in $W"
echo "| workers | apply: issue + deploy | re-apply (nothing due) | renew --force |"
echo "|--------:|----------------------:|-----------------------:|--------------:|"
for w in $WORKERS; do
	best_a='' best_n='' best_r=''
	for ((r = 1; r <= RUNS; r++)); do
		rm -rf "$W/out" "$W/db"
		mkdir -p "$W/db"
		spec "$W/certs.yaml" "$W/out" "$CERTS"
		sync
		t0=$(now_ns)
		"$CL" -q --db "$W/db/inv.db" apply --workers "$w" "$W/certs.yaml"
		t1=$(now_ns)
		"$CL" -q --db "$W/db/inv.db" apply --workers "$w" "$W/certs.yaml"
		t2=$(now_ns)
		"$CL" -q --db "$W/db/inv.db" renew --force --workers "$w"
		t3=$(now_ns)
		a=$(secs "$t0" "$t1") n=$(secs "$t1" "$t2") re=$(secs "$t2" "$t3")
		log "workers $w run $r: apply ${a}s, re-apply ${n}s, renew --force ${re}s"
		[[ -z $best_a ]] || (($(awk -v x="$a" -v y="$best_a" 'BEGIN{print (x<y)}'))) && best_a=$a
		[[ -z $best_n ]] || (($(awk -v x="$n" -v y="$best_n" 'BEGIN{print (x<y)}'))) && best_n=$n
		[[ -z $best_r ]] || (($(awk -v x="$re" -v y="$best_r" 'BEGIN{print (x<y)}'))) && best_r=$re
	done
	# every certificate was deployed: the names resolve, two versions each
	n=$(find "$W/out" -maxdepth 2 -name '*.key' | wc -l)
	[[ $n == "$CERTS" ]] || { echo "only $n of $CERTS keys deployed" >&2; exit 1; }
	echo "| $w | ${best_a} s | ${best_n} s | ${best_r} s |"
done
echo
echo "$CERTS certificates (ECDSA P-256, generated keys, internal CA with an encrypted"
echo "key), 100 per output directory; $(nproc) CPUs; $(uname -sr); $(df -T "$W" | awk 'NR==2{print $2}')."
