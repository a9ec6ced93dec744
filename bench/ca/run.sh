#!/usr/bin/env bash
# Internal CA benchmark: bulk issue of N ECDSA P-256 certificates with
# generated keys, each deployed as files (leaf, chain, fullchain, key: written
# to temporary files, fsync'd, renamed), by `certledger ca issue --batch`,
# against a loop of `openssl req -new` + `openssl x509 -req` per certificate
# (what scripts do today; no fsync at all) on a sample, scaled to N.
# Markdown on stdout, progress on stderr.
#
#   bench/ca/run.sh [--certs N] [--sample K] [--runs R] [--workers LIST]
#
# certledger: $CERTLEDGER (default build/certledger, relative to the repo).
# The CA (encrypted keys) and the output live under $BENCH_DIR (default a new
# directory in bench/.cache, on the repository's file system: the fsyncs are
# what is measured). With /dev/shm present, one more run puts both there to
# show the cost without durable storage. Wall time is measured around the
# command, CPU (user + system) with /usr/bin/time; the best of R runs is kept.
set -euo pipefail

CERTS=1000
SAMPLE=100
RUNS=3
WORKERS="1 default 16"
while (($#)); do
	case $1 in
	--certs) CERTS=$2 && shift 2 ;;
	--sample) SAMPLE=$2 && shift 2 ;;
	--runs) RUNS=$2 && shift 2 ;;
	--workers) WORKERS=$2 && shift 2 ;;
	-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
	*) echo "unknown argument '$1'" >&2 && exit 2 ;;
	esac
done
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
CL=${CERTLEDGER:-build/certledger}
[[ $CL == /* ]] || CL=$REPO/$CL
[[ -x $CL ]] || { echo "certledger binary $CL not found (build first)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "needs openssl" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (GNU time)" >&2; exit 1; }
mkdir -p "$REPO/bench/.cache"
W=${BENCH_DIR:-$(mktemp -d "$REPO/bench/.cache/ca.XXXXXX")}
SHM=
cleanup() { rm -rf -- "$W" ${SHM:+"$SHM"}; }
trap cleanup EXIT
log() { printf '[ca] %s\n' "$*" >&2; }
now_ns() { date +%s%N; }
export CERTLEDGER_CA_PASSPHRASE="bench passphrase $$"

# make_ca DIR: a CA for *.bench.internal and 10.0.0.0/8
make_ca() {
	"$CL" -q ca init "$1" --org Bench --permit-dns bench.internal --permit-ip 10.0.0.0/8 \
		--crl-url http://10.0.0.1/ca.crl
}

# batch_file DIR N: N lines "DIR/svcI svcI.bench.internal 10.x.y.z"
batch_file() {
	local i
	for ((i = 1; i <= $2; i++)); do
		printf '%s/svc%d svc%d.bench.internal 10.%d.%d.%d\n' "$1" "$i" "$i" \
			$((i / 65536 % 256)) $((i / 256 % 256)) $((i % 256))
	done
}

# run_batch ROOT WORKERS -> "wall cpu" (seconds), best wall of RUNS; fresh CA
# and output directory each run
run_batch() {
	local root=$1 workers=$2 r n best= bestcpu= t0 t1 wall cpu args=()
	[[ $workers == default ]] || args=(--workers "$workers")
	for ((r = 0; r < RUNS; r++)); do
		rm -rf -- "$root/ca" "$root/out"
		mkdir -p "$root/out"
		make_ca "$root/ca"
		batch_file "$root/out" "$CERTS" >"$root/batch.txt"
		sync
		t0=$(now_ns)
		/usr/bin/time -f '%U %S' -o "$root/time.txt" "$CL" -q ca issue "$root/ca" \
			--batch "$root/batch.txt" "${args[@]}"
		t1=$(now_ns)
		wall=$(awk -v n=$((t1 - t0)) 'BEGIN { printf "%.2f", n / 1e9 }')
		cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$root/time.txt")
		n=$(find "$root/out" -name '*.key' | wc -l)
		((n == CERTS)) || { echo "expected $CERTS keys, found $n" >&2; exit 1; }
		log "certledger --batch, workers $workers: ${wall} s wall, ${cpu} s CPU"
		if [[ -z $best ]] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$wall
			bestcpu=$cpu
		fi
	done
	echo "$best $bestcpu"
}

# spot check: one certificate of the batch verifies against the root
verify_one() {
	openssl verify -CAfile "$1/ca/root.pem" -untrusted "$1/out/svc1.chain.pem" \
		-verify_hostname svc1.bench.internal "$1/out/svc1.pem" >/dev/null ||
		{ echo "svc1 does not verify" >&2; exit 1; }
}

declare -A RES
for w in $WORKERS; do
	RES[$w]=$(run_batch "$W" "$w")
	verify_one "$W"
done
DEFW=$(nproc)   # what ca issue --batch picks: twice the CPUs, 8 to 64
DEFW=$((DEFW * 2 < 8 ? 8 : DEFW * 2 > 64 ? 64 : DEFW * 2))
if [[ -d /dev/shm ]]; then
	SHM=$(mktemp -d /dev/shm/certledger-ca-bench.XXXXXX)
	RES[shm]=$(run_batch "$SHM" default)
	verify_one "$SHM"
fi

# the openssl loop: one key + CSR + signature per certificate, files written
# without fsync, on a sample; the CA key decrypted once beforehand (an
# encrypted key would cost a key derivation per certificate)
rm -rf -- "$W/ossl" && mkdir -p "$W/ossl/out"
make_ca "$W/ossl/ca"
openssl pkey -in "$W/ossl/ca/intermediate.key" -passin env:CERTLEDGER_CA_PASSPHRASE \
	-out "$W/ossl/int.key"
cat >"$W/ossl/ext.cnf" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $ENV::SAN
crlDistributionPoints = URI:http://10.0.0.1/ca.crl
EOF
t0=$(now_ns)
/usr/bin/time -f '%U %S' -o "$W/ossl/time.txt" bash -c '
	set -e
	d=$1; n=$2
	for ((i = 1; i <= n; i++)); do
		o=$d/out/svc$i
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$o.key" \
			-subj "/CN=svc$i.bench.internal" -out "$o.csr" 2>/dev/null
		SAN="DNS:svc$i.bench.internal,IP:10.0.$((i / 256 % 256)).$((i % 256))" \
			openssl x509 -req -in "$o.csr" -CA "$d/ca/intermediate.pem" -CAkey "$d/int.key" \
			-set_serial "0x$(openssl rand -hex 16)" -days 90 -extfile "$d/ext.cnf" -out "$o.pem" \
			2>/dev/null
		cp "$d/ca/intermediate.pem" "$o.chain.pem"
		cat "$o.pem" "$o.chain.pem" >"$o.fullchain.pem"
	done' _ "$W/ossl" "$SAMPLE"
t1=$(now_ns)
openssl verify -CAfile "$W/ossl/ca/root.pem" -untrusted "$W/ossl/out/svc1.chain.pem" \
	"$W/ossl/out/svc1.pem" >/dev/null || { echo "openssl loop: svc1 does not verify" >&2; exit 1; }
OS_WALL=$(awk -v n=$((t1 - t0)) -v s="$SAMPLE" -v c="$CERTS" 'BEGIN { printf "%.2f", n / 1e9 * c / s }')
OS_CPU=$(awk -v s="$SAMPLE" -v c="$CERTS" '{ printf "%.2f", ($1 + $2) * c / s }' "$W/ossl/time.txt")
log "openssl loop: $SAMPLE certificates, scaled to $CERTS: ${OS_WALL} s wall, ${OS_CPU} s CPU"

read -r DWALL DCPU <<<"${RES[default]:-0 0}"
echo "Bulk issue of $CERTS ECDSA P-256 certificates with generated keys, each deployed as 4 files"
echo "($(nproc) CPUs; best of $RUNS runs; file system of $W: $(df -T "$W" | awk 'NR==2 { print $2 }'))."
echo
echo "| Method | Wall (s) | CPU (s) | Certificates/s |"
echo "|---|---:|---:|---:|"
for w in $WORKERS; do
	read -r wall cpu <<<"${RES[$w]}"
	label="\`certledger ca issue --batch\`, $([[ $w == default ]] && echo "default workers ($DEFW)" || echo "--workers $w")"
	echo "| $label | $wall | $cpu | $(awk -v w="$wall" -v c="$CERTS" 'BEGIN { printf "%.0f", c / w }') |"
done
if [[ -n ${RES[shm]:-} ]]; then
	read -r wall cpu <<<"${RES[shm]}"
	echo "| same, default workers, CA and files on tmpfs (/dev/shm: fsync is free) | $wall | $cpu | $(awk -v w="$wall" -v c="$CERTS" 'BEGIN { printf "%.0f", c / w }') |"
fi
echo "| \`openssl req -new\` + \`openssl x509 -req\` per certificate, no fsync ($SAMPLE-certificate sample, scaled) | $OS_WALL | $OS_CPU | $(awk -v w="$OS_WALL" -v c="$CERTS" 'BEGIN { printf "%.0f", c / w }') |"
echo
echo "Target: $CERTS in under 10 s: $(awk -v w="$DWALL" 'BEGIN { print (w < 10 ? "met" : "NOT met") }') (${DWALL} s with the default workers)."
