#!/usr/bin/env bash
# ACME issuance-rate benchmark: N certificates of one name each
# (host1.bench.test ... hostN.bench.test) from one Pebble on 127.0.0.1,
# validated for real through HTTP-01, issued in the same run by
#   - certledger: one spec of N Certificates, `certledger apply` (its default
#     workers, and --workers 1 for a sequential figure),
#   - certbot: `certbot certonly --standalone`, one name per run, sequentially
#     (how it is scripted), and in parallel (xargs -P, --webroot),
#   - lego: `lego --http run`, one name per run, sequentially, and in
#     parallel (xargs -P, --http.webroot).
# Every certificate is checked with openssl verify against the root and
# intermediate Pebble's management API returns. Markdown on stdout, progress
# on stderr.
#
#   bench/acme/run.sh [-n N] [-P JOBS] [--only LIST]
#
# -n N         certificates per tool and mode (default 100)
# -P JOBS      parallel processes of the certbot/lego parallel modes (default 16,
#              certledger's default worker count)
# --only LIST  modes to run, comma-separated, of: cl,cl1,certbot,certbot-p,lego,lego-p
#
# certledger: $CERTLEDGER (default build/certledger, relative to the repo).
# Needs pebble, pebble-challtestsrv, certbot, lego, openssl, curl, python3
# (`scripts/deps.sh bench` installs them; `scripts/deps.sh --list bench`
# names them). Every server listens on 127.0.0.1; no client is given any
# other ACME server. Work files live under $BENCH_DIR (default a new
# directory in bench/.cache), removed at exit with every process started.
set -euo pipefail

N=100
JOBS=16
ONLY=cl,cl1,certbot,certbot-p,lego,lego-p
while (($#)); do
	case $1 in
	-n) N=$2 && shift 2 ;;
	-P) JOBS=$2 && shift 2 ;;
	--only) ONLY=$2 && shift 2 ;;
	-h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
	*) echo "unknown argument '$1'" >&2 && exit 2 ;;
	esac
done
[[ $N =~ ^[1-9][0-9]*$ && $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "-n and -P take positive numbers" >&2; exit 2; }
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
CL=${CERTLEDGER:-build/certledger}
[[ $CL == /* ]] || CL=$REPO/$CL
for t in pebble pebble-challtestsrv certbot lego openssl curl python3; do
	command -v "$t" >/dev/null || { echo "needs $t (scripts/deps.sh bench)" >&2; exit 1; }
done
want() { [[ ,$ONLY, == *,$1,* ]]; }
if want cl || want cl1; then
	[[ -x $CL ]] || { echo "certledger binary $CL not found (build first)" >&2; exit 1; }
fi
mkdir -p "$REPO/bench/.cache"
W=${BENCH_DIR:-$(mktemp -d "$REPO/bench/.cache/acme.XXXXXX")}
W=$(cd -- "$W" && pwd -P)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf -- "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '[acme] %s\n' "$*" >&2; }
now_ns() { date +%s%N; }

# six free TCP ports on 127.0.0.1 (UDP too for the DNS one)
read -r DNS_PORT CTS_PORT PB_PORT PB_MGMT HTTP_PORT TLS_PORT < <(python3 -c '
import socket
socks = []
for i in range(6):
    while True:
        s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
        u = socket.socket(type=socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", p))
        except OSError:
            s.close(); continue
        socks += [s, u]; break
print(" ".join(str(x.getsockname()[1]) for x in socks[::2]))')

# bg NAME CMD...: start CMD in the background, log in $W/NAME.log
bg() {
	local name=$1
	shift
	"$@" </dev/null >"$W/$name.log" 2>&1 &
	PIDS+=($!)
}
wait_port() { # NAME PORT
	local i
	for ((i = 0; i < 300; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "$1 did not start on 127.0.0.1:$2:" >&2
	tail -n 20 "$W/$1.log" >&2
	exit 1
}

# Pebble's own TLS certificate, under a root of our own (the clients' CA bundle)
P=$W/pki
mkdir -p "$P"
q() { "$@" >>"$P/openssl.log" 2>&1 || { cat "$P/openssl.log" >&2; exit 1; }; }
q openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/root.key" \
	-subj "/CN=certledger ACME bench TLS root" -days 30 -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign -out "$P/root.pem"
q openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/pebble.key" \
	-subj "/CN=localhost" -out "$P/pebble.csr"
printf 'subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth\n' >"$P/ext.cnf"
q openssl x509 -req -in "$P/pebble.csr" -CA "$P/root.pem" -CAkey "$P/root.key" -CAcreateserial \
	-days 30 -extfile "$P/ext.cnf" -out "$P/pebble.pem"
TLS_CA=$P/root.pem

# challtestsrv: a mock DNS answering every A query with 127.0.0.1 (no AAAA);
# its own challenge servers off
bg challtestsrv pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
	-dns01 "127.0.0.1:$DNS_PORT" -http01 "" -https01 "" -tlsalpn01 "" -management "127.0.0.1:$CTS_PORT"
wait_port challtestsrv "$CTS_PORT"
# Pebble: validations for real, without the random 0-15 s sleep before each
# (VA_NOSLEEP), no nonces rejected on purpose (NONCEREJECT=0), no reuse of
# earlier authorizations (AUTHZREUSE=0: every tool validates every name, even
# though a tool before it validated the same names with the same Pebble)
cat >"$W/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$PB_PORT", "managementListenAddress": "127.0.0.1:$PB_MGMT",
 "certificate": "$P/pebble.pem", "privateKey": "$P/pebble.key",
 "httpPort": $HTTP_PORT, "tlsPort": $TLS_PORT, "ocspResponderURL": "",
 "externalAccountBindingRequired": false}}
EOF
bg pebble env -u PEBBLE_VA_ALWAYS_VALID PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
	PEBBLE_AUTHZREUSE=0 pebble -config "$W/pebble.json" -dnsserver "127.0.0.1:$DNS_PORT"
PEBBLE_PID=${PIDS[-1]}
wait_port pebble "$PB_PORT"
wait_port pebble "$PB_MGMT"
DIR=https://127.0.0.1:$PB_PORT/dir
curl -sSf --cacert "$TLS_CA" "https://127.0.0.1:$PB_MGMT/roots/0" -o "$W/issuer-root.pem"
curl -sSf --cacert "$TLS_CA" "https://127.0.0.1:$PB_MGMT/intermediates/0" -o "$W/issuer-int.pem"
export REQUESTS_CA_BUNDLE=$TLS_CA LEGO_CA_CERTIFICATES=$TLS_CA
log "pebble $DIR (pid $PEBBLE_PID), HTTP-01 on 127.0.0.1:$HTTP_PORT, N=$N, in $W"

names() { local i; for ((i = 1; i <= N; i++)); do echo "host$i.bench.test"; done; }

# a web root served on the HTTP-01 port, for the parallel certbot/lego modes
WEBROOT_PID=
webroot_start() {
	mkdir -p "$W/webroot"
	bg webroot python3 -m http.server --bind 127.0.0.1 --directory "$W/webroot" "$HTTP_PORT"
	WEBROOT_PID=${PIDS[-1]}
	wait_port webroot "$HTTP_PORT"
}
webroot_stop() {
	kill -TERM "$WEBROOT_PID" 2>/dev/null || true
	wait "$WEBROOT_PID" 2>/dev/null || true
	WEBROOT_PID=
}

# count_ok FILE...: how many of the files' first certificates verify against
# Pebble's root and intermediate, each one for its own name (the file's
# directory or base name carries it)
count_ok() {
	local f ok=0 name
	for f in "$@"; do
		name=$(grep -o 'host[0-9]*\.bench\.test' <<<"$f" | tail -n 1)
		[[ -n $name ]] || continue
		openssl verify -CAfile "$W/issuer-root.pem" -untrusted "$W/issuer-int.pem" \
			-verify_hostname "$name" "$f" >/dev/null 2>&1 && ok=$((ok + 1))
	done
	echo "$ok"
}

declare -A WALL OK
order=()
# timed MODE CMD...: wall-clock seconds of CMD into WALL[MODE]
timed() {
	local mode=$1 t0 t1 rc=0
	shift
	log "$mode: start"
	t0=$(now_ns)
	"$@" || rc=$?
	t1=$(now_ns)
	WALL[$mode]=$(awk -v n=$((t1 - t0)) 'BEGIN { printf "%.2f", n / 1e9 }')
	order+=("$mode")
	log "$mode: ${WALL[$mode]} s (exit $rc)"
}

# ---- certledger ------------------------------------------------------------------------------
cl_spec() { # FILE OUT
	local n
	{
		printf 'kind: Issuer\nmetadata: {name: pebble}\nspec:\n  acme:\n    server: %s\n' "$DIR"
		printf '    email: bench@bench.test\n    caBundle: %s\n' "$TLS_CA"
		printf '    solvers:\n      - http01: {standalone: {listen: "127.0.0.1:%s"}}\n' "$HTTP_PORT"
		while read -r n; do
			printf -- '---\nkind: Certificate\nmetadata: {name: %s}\nspec:\n' "$n"
			printf '  dnsNames: [%s]\n  issuerRef: {name: pebble}\n  output: {dir: %s}\n' "$n" "$2"
		done < <(names)
	} >"$1"
}
cl_run() { # MODE [certledger apply args]
	local mode=$1 d=$W/$1
	shift
	mkdir -p "$d/db"
	cl_spec "$d/certs.yaml" "$d/out"
	timed "$mode" "$CL" -q --db "$d/db/inv.db" apply "$@" "$d/certs.yaml"
	OK[$mode]=$(count_ok "$d"/out/host*.bench.test.pem)
}
want cl && cl_run cl
want cl1 && cl_run cl1 --workers 1

# ---- certbot ----------------------------------------------------------------------------------
# ECDSA P-256 keys as certledger and lego make by default; a config, work
# and logs directory of its own; nothing but the local Pebble as server
CB_COMMON=(--non-interactive --agree-tos --register-unsafely-without-email --server "$DIR"
	--key-type ecdsa --elliptic-curve secp256r1 --no-autorenew --quiet)
cb_seq() { # DIR
	local n
	while read -r n; do
		certbot certonly --standalone --http-01-address 127.0.0.1 --http-01-port "$HTTP_PORT" \
			"${CB_COMMON[@]}" --config-dir "$1/config" --work-dir "$1/work" --logs-dir "$1/logs" \
			-d "$n" >>"$1/out.log" 2>&1 || echo "certbot $n failed" >&2
	done < <(names)
}
# parallel: certbot locks its directories, so each process gets its own
# (a copy of one registered account, as a fleet of machines would have)
cb_par() { # DIR
	# shellcheck disable=SC2016 # expanded by the inner bash
	names | xargs -P "$JOBS" -I{} bash -c '
		d=$1/{}; mkdir -p "$d"; cp -a "$1/acct/config" "$d/config"
		certbot certonly --webroot -w "$2" "${@:4}" --config-dir "$d/config" \
			--work-dir "$d/work" --logs-dir "$d/logs" -d {} >"$d/out.log" 2>&1 ||
			echo "certbot {} failed" >&2' _ "$1" "$W/webroot" - "${CB_COMMON[@]}"
}
if want certbot; then
	mkdir -p "$W/certbot"
	timed certbot cb_seq "$W/certbot"
	OK[certbot]=$(count_ok "$W"/certbot/config/live/host*.bench.test/cert.pem)
fi
if want certbot-p; then
	mkdir -p "$W/certbot-p/acct"
	certbot register "${CB_COMMON[@]}" --config-dir "$W/certbot-p/acct/config" \
		--work-dir "$W/certbot-p/acct/work" --logs-dir "$W/certbot-p/acct/logs" >/dev/null 2>&1
	webroot_start
	timed certbot-p cb_par "$W/certbot-p"
	webroot_stop
	OK[certbot-p]=$(count_ok "$W"/certbot-p/host*.bench.test/config/live/host*.bench.test/cert.pem)
fi

# ---- lego ----------------------------------------------------------------------------------------
LEGO_COMMON=(--server "$DIR" --accept-tos --email bench@bench.test --key-type ec256)
lego_seq() { # DIR
	local n
	while read -r n; do
		lego "${LEGO_COMMON[@]}" --path "$1" --http --http.port "127.0.0.1:$HTTP_PORT" \
			--domains "$n" run >>"$1/out.log" 2>&1 || echo "lego $n failed" >&2
	done < <(names)
}
# parallel: one --path per process (lego keeps no lock, but its account and
# certificate files are not written for concurrent use), the account
# registered once and copied
lego_par() { # DIR
	# shellcheck disable=SC2016 # expanded by the inner bash
	names | xargs -P "$JOBS" -I{} bash -c '
		d=$1/{}; cp -a "$1/acct" "$d"
		lego "${@:4}" --path "$d" --http --http.webroot "$2" --domains {} run >"$d.log" 2>&1 ||
			echo "lego {} failed" >&2' _ "$1" "$W/webroot" - "${LEGO_COMMON[@]}"
}
if want lego; then
	mkdir -p "$W/lego"
	timed lego lego_seq "$W/lego"
	OK[lego]=$(count_ok "$W"/lego/certificates/host*.bench.test.crt)
fi
if want lego-p; then
	mkdir -p "$W/lego-p/acct"
	# an account only: a run for a name no one asks for is the only way lego
	# registers; its certificate is not counted
	lego "${LEGO_COMMON[@]}" --path "$W/lego-p/acct" --http --http.port "127.0.0.1:$HTTP_PORT" \
		--domains account.bench.test run >/dev/null 2>&1
	rm -rf "$W/lego-p/acct/certificates"
	webroot_start
	timed lego-p lego_par "$W/lego-p"
	webroot_stop
	OK[lego-p]=$(count_ok "$W"/lego-p/host*.bench.test/certificates/host*.bench.test.crt)
fi

# ---- report ---------------------------------------------------------------------------------------
label() {
	case $1 in
	cl) echo "certledger | \`apply\`, one spec, default workers (16) | HTTP-01 standalone" ;;
	cl1) echo "certledger | \`apply --workers 1\` | HTTP-01 standalone" ;;
	certbot) echo "certbot $(certbot --version 2>&1 | awk '{print $2}') | \`certonly --standalone\` per name, sequential | HTTP-01 standalone" ;;
	certbot-p) echo "certbot | \`certonly --webroot\` per name, \`xargs -P $JOBS\` | HTTP-01 web root (python3 http.server)" ;;
	lego) echo "lego $(dpkg-query -W -f '${Version}' lego 2>/dev/null || echo) | \`run --http\` per name, sequential | HTTP-01 standalone" ;;
	lego-p) echo "lego | \`run --http.webroot\` per name, \`xargs -P $JOBS\` | HTTP-01 web root (python3 http.server)" ;;
	esac
}
base=${WALL[cl]:-}
echo "ACME issuance of $N certificates (one name each, ECDSA P-256 keys) from Pebble"
echo "$(dpkg-query -W -f '${Version}' pebble 2>/dev/null || echo '?') on 127.0.0.1 (PEBBLE_VA_NOSLEEP=1, PEBBLE_AUTHZREUSE=0, every"
echo "validation real); $(nproc) CPUs; $(uname -sr)."
echo
echo "| Tool | Mode | Validation | N | Verified | Wall s | Certs/s | Wall ÷ certledger's |"
echo "|---|---|---|---:|---:|---:|---:|---:|"
fail=0
for m in "${order[@]}"; do
	w=${WALL[$m]} ok=${OK[$m]:-0}
	rate=$(awk -v n="$ok" -v w="$w" 'BEGIN { printf "%.1f", n / w }')
	ratio=$([[ -n $base ]] && awk -v w="$w" -v b="$base" 'BEGIN { printf "%.1f×", w / b }' || echo "-")
	echo "| $(label "$m") | $N | $ok | $w | $rate | $ratio |"
	((ok == N)) || fail=1
done
((fail == 0)) || { echo "some tool did not produce $N verified certificates (logs in $W)" >&2; exit 1; }
