#!/usr/bin/env bash
# certledger network-discovery benchmark: `certledger discover net` vs peer
# scanners against a loopback TLS farm (nginx, one certificate per port),
# same run, same farm.  Markdown report on stdout, progress on stderr.
#
#   bench/net/run.sh [--endpoints N] [--runs R] [--inflight K]
#                    [--no-peers] [--no-memory] [--no-engines]
#
# Quick run:  bench/net/run.sh --endpoints 200 --runs 3 --inflight 2000
# certledger: $CERTLEDGER (default build/certledger, relative to the repo).
# Only 127.0.0.1 is ever contacted.  See docs/BENCHMARKS.md ("Network discovery").
set -euo pipefail

ENDPOINTS=1000
RUNS=5
INFLIGHT=10000
PEERS=1 MEMORY=1 ENGINES=1
BASE_PORT=20000 # farm: BASE_PORT .. BASE_PORT+N-1
BH_PORT=21000   # blackhole: BH_PORT .. BH_PORT+K-1 (must stay below the ephemeral range)
SAMPLE=100      # endpoints for the one-process-per-endpoint openssl s_client row
MAX_CACHE_AGE=$((30 * 86400)) # leaves are valid for 90 days

usage() {
	sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
	cat <<'EOF'
Options:
  --endpoints N  TLS endpoints in the farm, ports 20000.. (default 1000)
  --runs R       timed runs per tool; the report gives the median (default 5)
  --inflight K   handshakes in flight for the memory part (default 10000)
  --no-peers     skip the peer scanners (nmap, sslscan, curl, openssl s_client)
  --no-memory    skip the memory part (blackhole listeners)
  --no-engines   skip the libevent-vs-epoll client comparison
EOF
}
die() {
	printf '[net] ERROR: %s\n' "$*" >&2
	exit 1
}
log() { printf '[net] %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive integer, got '$2'"; }

while (($#)); do
	case $1 in
	--endpoints) posint "$1" "${2-}" && ENDPOINTS=$2 && shift 2 ;;
	--runs) posint "$1" "${2-}" && RUNS=$2 && shift 2 ;;
	--inflight) posint "$1" "${2-}" && INFLIGHT=$2 && shift 2 ;;
	--no-peers) PEERS=0 && shift ;;
	--no-memory) MEMORY=0 && shift ;;
	--no-engines) ENGINES=0 && shift ;;
	-h | --help) usage && exit 0 ;;
	*) usage >&2 && die "unknown argument '$1'" ;;
	esac
done
LAST_PORT=$((BASE_PORT + ENDPOINTS - 1))
((LAST_PORT < BH_PORT)) || die "--endpoints must be <= $((BH_PORT - BASE_PORT))"
read -r EPH_LO _ </proc/sys/net/ipv4/ip_local_port_range
BH_LAST=$((BH_PORT + INFLIGHT - 1))
((BH_LAST < EPH_LO)) || die "--inflight $INFLIGHT needs ports $BH_PORT-$BH_LAST, which reach the ephemeral range ($EPH_LO..); use at most $((EPH_LO - BH_PORT))"

NETDIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd -- "$NETDIR/../.." && pwd -P)
CACHE=$REPO/bench/.cache
BIN=$CACHE/bin
CL=${CERTLEDGER:-build/certledger}
[[ $CL == /* ]] || CL=$REPO/$CL
NCPU=$(nproc)

for t in make cc python3 openssl nginx ss awk hyperfine; do
	have "$t" || die "'$t' is required"
done
/usr/bin/time -f %M true >/dev/null 2>&1 || die "GNU time is required (apt-get install -y time)"

# file descriptors: the farm's 1000 listeners + connections, K blackhole
# listeners, K in-flight probes
HARD_NOFILE=$(ulimit -Hn)
[[ $HARD_NOFILE == unlimited ]] && HARD_NOFILE=1048576
ulimit -n "$HARD_NOFILE" || die "cannot raise the open-files limit to $HARD_NOFILE"
if ((MEMORY && HARD_NOFILE < INFLIGHT + 1024)); then
	die "open-files hard limit $HARD_NOFILE is too low for --inflight $INFLIGHT (needs $((INFLIGHT + 1024)); raise it or lower --inflight)"
fi

mkdir -p -- "$CACHE"
WORK=$(mktemp -d "$CACHE/net.XXXXXX")
NGINX_PID="" BH_PID=""
cleanup() {
	local p
	for p in "$BH_PID" "$NGINX_PID"; do
		[[ -n $p ]] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers
num() { awk -v v="$2" "BEGIN { printf \"$1\", v }"; }
# integer with thousands separators: 6446267 -> 6,446,267
grp() { awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v < 0 ? -v : v); o = ""
	while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
	print (v < 0 ? "-" : "") s o }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f×", a / b; else printf "n/a" }'; }
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print substr($0, length(k) + 2); exit }'; }
mf() { awk -F= -v k="$2" '$1 == k { print substr($0, length(k) + 2); exit }' "$1"; }
now_ns() { date +%s%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rm_db() { rm -f -- "$1" "$1-wal" "$1-shm" "$1-journal"; }
rm_db_cmd() { printf 'rm -f -- %q %q %q %q' "$1" "$1-wal" "$1-shm" "$1-journal"; }

# CPU seconds used so far by the farm's nginx processes (master + workers)
farm_cpu() {
	local p t=0
	for p in "$NGINX_PID" $(pgrep -P "$NGINX_PID" 2>/dev/null); do
		[[ -r /proc/$p/stat ]] || continue
		t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat")))
	done
	awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }'
}

# timeit PREPARE CMD... -> T_MED T_SD CPU (median and sd of wall, mean
# user+sys, seconds) and FARM_CPU (nginx CPU seconds per run); hyperfine,
# process start-up included
timeit() {
	local prep=$1 cmd args f0
	shift
	f0=$(farm_cpu)
	cmd=$(printf '%q ' "$@")
	args=(--shell bash --style none --runs "$RUNS" --export-json "$WORK/hf.json")
	[[ -n $prep ]] && args+=(--prepare "$prep")
	if ! hyperfine "${args[@]}" "$cmd" >"$WORK/hf.out" 2>&1; then
		cat "$WORK/hf.out" >&2
		die "timed command failed: $*"
	fi
	read -r T_MED T_SD CPU < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(r["median"], r.get("stddev") or 0.0, r["user"] + r["system"])' "$WORK/hf.json")
	FARM_CPU=$(awk -v a="$f0" -v b="$(farm_cpu)" -v n="$RUNS" 'BEGIN { print (b - a) / n }')
}

# ---------------------------------------------------------------- build + PKI
log "building helpers into ${BIN#"$REPO"/}"
make -s -C "$NETDIR" O="$BIN" >&2 || die "building bench/net helpers failed"

FARM=$CACHE/netfarm-$ENDPOINTS-p$BASE_PORT
if [[ -f $FARM/manifest.txt && ! $BIN/genfarm -nt $FARM/manifest.txt ]] &&
	(($(date +%s) - $(mf "$FARM/manifest.txt" now) < MAX_CACHE_AGE)); then
	PKI_NOTE="cached (generated in $(mf "$FARM/manifest.txt" seconds) s)"
	log "using cached PKI ${FARM#"$REPO"/}"
else
	log "generating the farm PKI ($ENDPOINTS leaves)"
	rm -rf -- "$FARM" "$FARM.tmp"
	"$BIN/genfarm" --count "$ENDPOINTS" --base-port "$BASE_PORT" "$FARM.tmp" >"$WORK/manifest.txt" ||
		die "genfarm failed"
	mv -- "$WORK/manifest.txt" "$FARM.tmp/manifest.txt"
	mv -- "$FARM.tmp" "$FARM"
	PKI_NOTE="generated now in $(mf "$FARM/manifest.txt" seconds) s"
fi

# ---------------------------------------------------------------- the farm
start_farm() {
	local d=$WORK/nginx p i
	mkdir -p -- "$d"
	{
		cat <<EOF
worker_processes $NCPU;
worker_rlimit_nofile $HARD_NOFILE;
pid $d/nginx.pid;
error_log $d/error.log warn;
daemon off;
events {
    worker_connections $((HARD_NOFILE / 2 > 16384 ? 16384 : HARD_NOFILE / 2));
    use epoll;
    multi_accept on;
}
http {
    access_log off;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
EOF
		for ((p = BASE_PORT; p <= LAST_PORT; p++)); do
			printf '    server { listen 127.0.0.1:%d ssl; ssl_certificate %s/leaf/%d.pem; ssl_certificate_key %s/leaf/%d.key; return 204; }\n' \
				"$p" "$FARM" "$p" "$FARM" "$p"
		done
		echo "}"
	} >"$d/nginx.conf"
	if ss -Hltn "( sport >= :$BASE_PORT and sport <= :$LAST_PORT )" | grep -q .; then
		die "ports $BASE_PORT-$LAST_PORT are partly in use: $(ss -Hltn "( sport >= :$BASE_PORT and sport <= :$LAST_PORT )" | head -3 | tr '\n' ' ')"
	fi
	nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" >"$d/stdout" 2>&1 &
	NGINX_PID=$!
	for ((i = 0; i < 200; i++)); do
		[[ $(ss -Hltn "( sport >= :$BASE_PORT and sport <= :$LAST_PORT )" | wc -l) == "$ENDPOINTS" ]] && return 0
		kill -0 "$NGINX_PID" 2>/dev/null || { cat "$d/stdout" "$d/error.log" >&2; die "nginx exited"; }
		sleep 0.1
	done
	die "nginx did not listen on $ENDPOINTS ports within 20 s"
}
log "starting nginx: $ENDPOINTS server blocks, $NCPU workers"
start_farm

# check run (and warm-up): every endpoint presents leaf + intermediate
out=$("$BIN/hs_epoll" --ports "$BASE_PORT-$LAST_PORT" --concurrency 100) || die "farm check failed: $out"
[[ $(kv "$out" handshakes) == "$ENDPOINTS" && $(kv "$out" certs) == $((2 * ENDPOINTS)) ]] ||
	die "farm check: $out"
log "farm ready: $out"
NEGOTIATED=$(openssl s_client -connect "127.0.0.1:$BASE_PORT" </dev/null 2>/dev/null |
	awk '/^New, / { v = $2 " " $5 } /^Server Temp Key:/ { sub(/^Server Temp Key: /, ""); k = $0 } END { print v ", " k }' | tr -d ',' | sed 's/ / \/ /2')

# ---------------------------------------------------------------- certledger probe
CL_OK=0 CL_NOTE=""
# endpoints of a DB with status ok (certledger endpoints --format json)
cl_ok_endpoints() {
	"$CL" --db "$1" endpoints --format json 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print("?"); sys.exit(0)
if isinstance(d, dict):
    d = next((v for v in d.values() if isinstance(v, list)), [])
print(sum(1 for r in d if isinstance(r, dict) and r.get("status") == "ok"))' 2>/dev/null || echo "?"
}
probe_certledger() {
	local db=$WORK/probe.db rc=0 n
	if [[ ! -x $CL ]]; then
		CL_NOTE="not found at $CL (build it, or set CERTLEDGER=/path/to/certledger)"
		return
	fi
	"$CL" --db "$db" discover net "127.0.0.1:$BASE_PORT" --no-progress >"$WORK/probe.out" 2>&1 || rc=$?
	if ((rc != 0)); then
		CL_NOTE="'discover net' failed (exit $rc): $(head -c 200 "$WORK/probe.out" | tr '\n' ' ')"
		return
	fi
	n=$(cl_ok_endpoints "$db")
	if [[ $n != 1 ]]; then
		CL_NOTE="'discover net 127.0.0.1:$BASE_PORT' exited 0 but 'endpoints --format json' shows $n ok endpoints (expected 1)"
		return
	fi
	CL_OK=1
	CL_NOTE="discover net works"
}
probe_certledger
if ((CL_OK)); then log "certledger: $CL ($CL_NOTE)"; else log "certledger parts SKIPPED: $CL_NOTE"; fi

# ---------------------------------------------------------------- header
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)
echo "# certledger network-discovery benchmark"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); host: $NCPU cores ${cpu:+($cpu)}, ${mem:-? RAM}, $(uname -sr); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- Farm: $ENDPOINTS TLS endpoints 127.0.0.1:$BASE_PORT-$LAST_PORT, $(nginx -v 2>&1 | sed 's/^nginx version: //'), $NCPU workers, one \`server\` per port;" \
	"each presents its own EC P-256 leaf + a shared intermediate (root not sent); session cache and tickets off; negotiated: $NEGOTIATED"
echo "- PKI: $PKI_NOTE (\`bench/net/genfarm.c\`)"
echo "- Tools: $(openssl version | cut -d' ' -f1-2), $(nmap --version 2>/dev/null | awk 'NR == 1 { print "nmap " $3 }'), sslscan $(sslscan --version 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | awk 'NF { print $1; exit }'), $(curl --version | awk 'NR == 1 { print $1 " " $2 }'), $(hyperfine --version)"
if ((CL_OK)); then
	echo "- certledger: \`${CL#"$REPO"/}\` ($CL_NOTE)"
else
	echo "- certledger: **skipped** — $CL_NOTE"
fi
echo "- Each tool: one untimed check run (counts the certificates it reports), then $RUNS timed runs (hyperfine); wall = median, CPU = mean user+sys of the process and its children. The farm (nginx) runs on the same $NCPU cores: its CPU is not in the tool's CPU but is shown per run (Farm CPU s, from /proc)."
echo

# ================================================================ part 1: scanners
CLF_MED="" CLR_MED=""
declare -a ROWS=()
addrow() { # name, what, certs, med, sd, cpu [farm cpu]
	ROWS+=("$(printf '| %s | %s | %s | %s | ± %s | %s | %s | %s |' "$1" "$2" "$3" "$(num '%.3f' "$4")" \
		"$(num '%.3f' "$5")" "$(num '%.2f' "$6")" "$(awk -v c="$6" -v n="$ENDPOINTS" 'BEGIN { printf "%.0f", c * 1e6 / n }')" \
		"$(num '%.2f' "${7-$FARM_CPU}")")")
}
declare -A PEER_MED PEER_CPU

if ((CL_OK)); then
	DB=$WORK/net.db
	CLARGS=(discover net 127.0.0.1 --ports "$BASE_PORT-$LAST_PORT" --no-progress --ca-bundle "$FARM/root.pem")
	log "certledger discover net: check run"
	rm_db "$DB"
	rc=0
	"$CL" --db "$DB" "${CLARGS[@]}" >"$WORK/cl.out" 2>&1 || rc=$?
	((rc == 0)) || { cat "$WORK/cl.out" >&2; die "certledger discover net failed (exit $rc)"; }
	CL_FOUND=$(cl_ok_endpoints "$DB")
	CL_SUMMARY=$(tail -n 1 "$WORK/cl.out")
	[[ $CL_FOUND == "$ENDPOINTS" ]] || log "WARNING: certledger recorded $CL_FOUND ok endpoints, expected $ENDPOINTS"
	log "certledger discover net (fresh DB): $RUNS runs"
	timeit "$(rm_db_cmd "$DB")" "$CL" --db "$DB" "${CLARGS[@]}"
	CLF_MED=$T_MED CLF_CPU=$CPU
	addrow "certledger discover net (fresh DB)" "$NCPU event-loop threads, concurrency 1000 (default); stores every cert" "$CL_FOUND" "$T_MED" "$T_SD" "$CPU"
	log "certledger discover net (re-scan, same DB): $RUNS runs"
	timeit "" "$CL" --db "$DB" "${CLARGS[@]}"
	CLR_MED=$T_MED
	addrow "certledger discover net (re-scan)" "same farm, same DB: nothing changed" "$(cl_ok_endpoints "$DB")" "$T_MED" "$T_SD" "$CPU"
fi

if ((PEERS)); then
	# nmap: port scan (SYN scan as root, connect scan otherwise) + NSE ssl-cert
	if have nmap; then
		log "nmap --script ssl-cert: check run"
		nmap -n -Pn -p "$BASE_PORT-$LAST_PORT" --script ssl-cert 127.0.0.1 >"$WORK/nmap.txt" 2>&1 || die "nmap failed"
		n=$(grep -c '^| ssl-cert: Subject: commonName=svc-' "$WORK/nmap.txt" || true)
		((n == ENDPOINTS)) || log "WARNING: nmap reported $n certificates, expected $ENDPOINTS"
		log "nmap: $RUNS runs"
		timeit "" nmap -n -Pn -p "$BASE_PORT-$LAST_PORT" --script ssl-cert 127.0.0.1
		PEER_MED[nmap]=$T_MED PEER_CPU[nmap]=$CPU
		addrow "\`nmap -n -Pn -p $BASE_PORT-$LAST_PORT --script ssl-cert 127.0.0.1\`" "$( ((EUID == 0)) && echo "SYN scan" || echo "connect scan") + one TLS handshake per open port (NSE, Lua), prints leaf" "$n" "$T_MED" "$T_SD" "$CPU"
	else
		ROWS+=("| nmap | not installed | | | | | | |")
	fi

	# sslscan: sequential, least work that still fetches the certificate
	if have sslscan; then
		for ((p = BASE_PORT; p <= LAST_PORT; p++)); do echo "127.0.0.1:$p"; done >"$WORK/targets.txt"
		SSLSCAN=(sslscan --no-colour --no-ciphersuites --no-fallback --no-renegotiation --no-compression
			--no-heartbleed --no-groups --no-check-certificate --show-certificate "--targets=$WORK/targets.txt")
		log "sslscan: check run"
		"${SSLSCAN[@]}" >"$WORK/sslscan.txt" 2>&1 || die "sslscan failed"
		n=$(grep -c '^    Subject: .*CN=svc-' "$WORK/sslscan.txt" || true)
		((n == ENDPOINTS)) || log "WARNING: sslscan reported $n certificates, expected $ENDPOINTS"
		log "sslscan: $RUNS runs"
		timeit "" "${SSLSCAN[@]}"
		PEER_MED[sslscan]=$T_MED PEER_CPU[sslscan]=$CPU
		addrow "\`sslscan --no-ciphersuites ... --show-certificate --targets=FILE\`" "one target at a time; 8 connections per target (SSLv2/SSLv3/TLS 1.0–1.3 support + certificate)" "$n" "$T_MED" "$T_SD" "$CPU"
	else
		ROWS+=("| sslscan | not installed | | | | | | |")
	fi

	# curl: 100 parallel transfers, prints each chain (%{certs}, curl >= 7.88)
	if have curl; then
		CURL=(curl --parallel --parallel-max 100 -k -s -w '%{certs}' "https://127.0.0.1:[$BASE_PORT-$LAST_PORT]/")
		log "curl --parallel: check run"
		"${CURL[@]}" >"$WORK/curl.txt" 2>/dev/null || die "curl failed"
		n=$(grep -c '^Subject:.*CN = svc-' "$WORK/curl.txt" || true)
		((n == ENDPOINTS)) || log "WARNING: curl printed $n leaf certificates, expected $ENDPOINTS (needs curl >= 7.88 for %{certs})"
		log "curl: $RUNS runs"
		timeit "" "${CURL[@]}"
		PEER_MED[curl]=$T_MED PEER_CPU[curl]=$CPU
		addrow "\`curl --parallel --parallel-max 100 -k -w '%{certs}' URL-glob\`" "handshake + HTTP GET (nginx answers 204), prints the chain as text" "$n" "$T_MED" "$T_SD" "$CPU"
	else
		ROWS+=("| curl | not installed | | | | | | |")
	fi

	# openssl s_client, one process per endpoint, on a sample
	ns=$((SAMPLE < ENDPOINTS ? SAMPLE : ENDPOINTS))
	step=$((ENDPOINTS / ns))
	cat >"$WORK/sclient.sh" <<EOF
for ((i = 0; i < $ns; i++)); do
	openssl s_client -connect 127.0.0.1:\$(($BASE_PORT + i * $step)) -showcerts </dev/null 2>/dev/null
done
EOF
	log "openssl s_client loop: check run ($ns endpoints)"
	n=$(bash "$WORK/sclient.sh" | grep -c -- '-----BEGIN CERTIFICATE-----' || true)
	((n == 2 * ns)) || log "WARNING: openssl s_client printed $n certificates, expected $((2 * ns))"
	timeit "" bash "$WORK/sclient.sh"
	SC_MED=$(awk -v t="$T_MED" -v n="$ns" -v N="$ENDPOINTS" 'BEGIN { print t * N / n }')
	SC_CPU=$(awk -v t="$CPU" -v n="$ns" -v N="$ENDPOINTS" 'BEGIN { print t * N / n }')
	SC_SD=$(awk -v t="$T_SD" -v n="$ns" -v N="$ENDPOINTS" 'BEGIN { print t * N / n }')
	FARM_CPU=$(awk -v t="$FARM_CPU" -v n="$ns" -v N="$ENDPOINTS" 'BEGIN { print t * N / n }')
	PEER_MED[sclient]=$SC_MED PEER_CPU[sclient]=$SC_CPU
	addrow "\`openssl s_client -showcerts\` per endpoint" "one process per endpoint, sequential; $ns-endpoint sample ($(num '%.1f' "$(awk -v t="$T_MED" -v n="$ns" 'BEGIN { print t * 1000 / n }')") ms each), extrapolated" "$((n / 2)) of $ns" "$SC_MED" "$SC_SD" "$SC_CPU"
fi

# the floor: minimal single-threaded clients (same work, nothing stored)
for eng in epoll libevent; do
	log "hs_$eng (reference client): $RUNS runs"
	out=$("$BIN/hs_$eng" --ports "$BASE_PORT-$LAST_PORT" --concurrency 1000) || die "hs_$eng: $out"
	timeit "" "$BIN/hs_$eng" --ports "$BASE_PORT-$LAST_PORT" --concurrency 1000
	PEER_MED[$eng]=$T_MED PEER_CPU[$eng]=$CPU
	addrow "\`hs_$eng --concurrency 1000\` (bench/net)" "minimal client, 1 thread: handshake + i2d of the chain, nothing stored" "$(kv "$out" handshakes)" "$T_MED" "$T_SD" "$CPU"
done

echo "## Scanning $ENDPOINTS TLS endpoints on 127.0.0.1"
echo
echo "| Tool | What it does | Certs found | Wall s (median) | sd | CPU s (user+sys) | CPU µs/endpoint | Farm CPU s |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
if ((CL_OK)); then
	echo "certledger: \`certledger --db DB discover net 127.0.0.1 --ports $BASE_PORT-$LAST_PORT --no-progress --ca-bundle root.pem\`; last line of its output: \`$CL_SUMMARY\`."
	echo
	echo "### Ratios (peer ÷ certledger; > 1 means certledger is faster / cheaper)"
	echo
	echo "| Peer | wall vs fresh DB | wall vs re-scan | CPU vs fresh DB |"
	echo "|---|---:|---:|---:|"
	for k in nmap sslscan curl sclient epoll libevent; do
		[[ -n ${PEER_MED[$k]-} ]] || continue
		case $k in
		sclient) name="openssl s_client per endpoint (extrapolated)" ;;
		epoll | libevent) name="hs_$k (1 thread, no storage)" ;;
		*) name=$k ;;
		esac
		echo "| $name | $(ratio "${PEER_MED[$k]}" "$CLF_MED") | $(ratio "${PEER_MED[$k]}" "$CLR_MED") | $(ratio "${PEER_CPU[$k]}" "$CLF_CPU") |"
	done
	echo
fi

# ================================================================ part 2: memory
if ((MEMORY)); then
	log "memory: $INFLIGHT blackhole listeners on 127.0.0.1:$BH_PORT-$BH_LAST"
	if ss -Hltn "( sport >= :$BH_PORT and sport <= :$BH_LAST )" | grep -q .; then
		die "ports $BH_PORT-$BH_LAST are partly in use"
	fi
: >"$WORK/bh.out"
	"$BIN/blackhole" "$BH_PORT-$BH_LAST" >"$WORK/bh.out" 2>&1 &
	BH_PID=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready' "$WORK/bh.out" && break
		kill -0 "$BH_PID" 2>/dev/null || { cat "$WORK/bh.out" >&2; die "blackhole exited"; }
		sleep 0.1
	done
	grep -q '^ready' "$WORK/bh.out" || die "blackhole not ready"
	SOMAXCONN=$(cat /proc/sys/net/core/somaxconn)

	# mem_run NAME CMD...: runs CMD under GNU time while sampling, every
	# 0.5 s, the established client connections to the blackhole ports
	# -> M_RSS (KiB), M_WALL, M_CPU, M_PEAK (peak connections in flight)
	mem_run() {
		local name=$1 max=0 n
		shift
		/usr/bin/time -f '%M %e %U %S' -o "$WORK/mem.time" "$@" >"$WORK/mem.$name.out" 2>&1 &
		local tp=$!
		while kill -0 "$tp" 2>/dev/null; do
			n=$(ss -Htn state established "( dport >= :$BH_PORT and dport <= :$BH_LAST )" 2>/dev/null | wc -l)
			((n > max)) && max=$n
			sleep 0.5
		done
		wait "$tp" || { tail -n 5 "$WORK/mem.$name.out" >&2; log "WARNING: $name exited non-zero under the memory run"; }
		read -r M_RSS M_WALL M_U M_S < <(tail -n 1 "$WORK/mem.time") # after "Command exited with ..."
		M_CPU=$(awk -v u="$M_U" -v s="$M_S" 'BEGIN { print u + s }')
		M_PEAK=$max
	}
	declare -a MROWS=()
	mrow() { # name, note
		MROWS+=("| $1 | $M_PEAK | $(num '%.1f' "$((M_RSS * 10 / 1024))e-1") | $(awk -v r="$M_RSS" -v n="$M_PEAK" 'BEGIN { if (n > 0) printf "%.1f", r / n; else printf "n/a" }') | $M_WALL | $(num '%.2f' "$M_CPU") | $2 |")
	}
	if ((CL_OK)); then
		log "memory: certledger --concurrency $INFLIGHT --handshake-timeout 20s (takes 40+ s: one retry)"
		rm_db "$WORK/mem.db"
		mem_run certledger "$CL" --db "$WORK/mem.db" discover net 127.0.0.1 --ports "$BH_PORT-$BH_LAST" \
			--concurrency "$INFLIGHT" --handshake-timeout 20s --no-progress
		CL_RSS=$M_RSS
		mrow "certledger discover net --concurrency $INFLIGHT" "$NCPU workers; every probe times out twice (20 s + retry)"
	fi
	for eng in epoll libevent; do
		log "memory: hs_$eng, $INFLIGHT in flight for 5 s"
		mem_run "$eng" "$BIN/hs_$eng" --ports "$BH_PORT-$BH_LAST" --concurrency "$INFLIGHT" --deadline 5
		mrow "hs_$eng --concurrency $INFLIGHT --deadline 5" "reference: OpenSSL's own cost per pending handshake"
	done
	kill -TERM "$BH_PID" && wait "$BH_PID" 2>/dev/null || true
	BH_PID=""

	echo "## Memory: $INFLIGHT handshakes in flight"
	echo
	echo "$INFLIGHT listeners on 127.0.0.1:$BH_PORT-$BH_LAST (\`bench/net/blackhole.c\`) complete the TCP handshake (kernel) and never accept or answer, so every probe waits for its ServerHello until the timeout. One port per probe (backlog $SOMAXCONN = net.core.somaxconn is far more than needed). In flight = peak of established client connections to those ports (\`ss\`, sampled every 0.5 s). Peak RSS from GNU time."
	echo
	echo "| Client | In flight (peak) | Peak RSS MiB | KiB per connection | Wall s | CPU s | Note |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	printf '%s\n' "${MROWS[@]}"
	echo
	if ((CL_OK && INFLIGHT >= 10000)); then
		echo "Target < 200 MiB at $INFLIGHT in flight: $(awk -v r="$CL_RSS" 'BEGIN { if (r / 1024 < 200) print "met"; else print "**not met**" }')."
		echo
	fi
fi

# ================================================================ part 3: engines
if ((ENGINES)); then
	ROUNDS=5
	VARIANTS=(epoll libevent epoll-ra)
	declare -A VBIN=([epoll]=hs_epoll [libevent]=hs_libevent [epoll-ra]=hs_epoll)
	declare -A VARGS=([epoll]="" [libevent]="" [epoll-ra]="--read-ahead")
	declare -A VNAME=([epoll]="hs_epoll" [libevent]="hs_libevent" [epoll-ra]="hs_epoll --read-ahead")
	# vrun VARIANT ARGS... : run one variant's client
	vrun() {
		local v=$1
		shift
		# shellcheck disable=SC2086 # VARGS holds zero or one word
		"$BIN/${VBIN[$v]}" ${VARGS[$v]} "$@"
	}
	log "engines: ${VARIANTS[*]}, $RUNS runs each, $ROUNDS × $ENDPOINTS handshakes, concurrency 100"
	declare -A ECPU EWALL
	for ((r = 0; r < RUNS; r++)); do
		for v in "${VARIANTS[@]}"; do # interleaved, so that all see the same noise
			out=$(vrun "$v" --ports "$BASE_PORT-$LAST_PORT" --concurrency 100 --rounds "$ROUNDS") || die "${VNAME[$v]}: $out"
			ECPU[$v]+="$(kv "$out" cpu_us_per_hs) "
			EWALL[$v]+="$(kv "$out" wall_s) "
		done
	done
	CG_N=$((ENDPOINTS < 200 ? ENDPOINTS : 200))
	CG_PORTS="$BASE_PORT-$((BASE_PORT + CG_N - 1))"
	# the callgrind/strace runs: the three clients and, for comparison,
	# certledger (fresh DB, same endpoints, concurrency 100, generous
	# timeouts because valgrind is ~50 times slower)
	MVARIANTS=("${VARIANTS[@]}")
	((CL_OK)) && MVARIANTS+=(certledger)
	VNAME[certledger]="certledger discover net (fresh DB)"
	mrun() { # VARIANT TOOL... : run the variant's client under TOOL
		local v=$1
		shift
		if [[ $v == certledger ]]; then
			rm_db "$WORK/m.db"
			"$@" "$CL" --db "$WORK/m.db" discover net 127.0.0.1 --ports "$CG_PORTS" --no-progress \
				--ca-bundle "$FARM/root.pem" --concurrency 100 --connect-timeout 60s --handshake-timeout 60s
		else
			# shellcheck disable=SC2086 # VARGS holds zero or one word
			"$@" "$BIN/${VBIN[$v]}" ${VARGS[$v]} --ports "$CG_PORTS" --concurrency 100
		fi
	}
	declare -A CG_TOTAL CG_SSL CG_CRYPTO CG_LIBC CG_EVENT CG_SQL CG_SELF
	if have valgrind && have callgrind_annotate; then
		for v in "${MVARIANTS[@]}"; do
			log "engines: callgrind, ${VNAME[$v]}, $CG_N handshakes"
			mrun "$v" valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$v" >"$WORK/cg.$v.out" 2>&1 ||
				die "callgrind run of ${VNAME[$v]} failed: $(tail -n 3 "$WORK/cg.$v.out")"
			# exclusive instructions per shared object
			callgrind_annotate --threshold=100 --auto=no "$WORK/cg.$v" 2>/dev/null | awk -v n="$CG_N" '
				/PROGRAM TOTALS/ { x = $1; gsub(",", "", x); total = x; next }
				/^ *[0-9][0-9,]* \(/ { x = $1; gsub(",", "", x)
					o = "other"
					if ($0 ~ /\/libssl[.]so/) o = "ssl"; else if ($0 ~ /\/libcrypto[.]so/) o = "crypto"
					else if ($0 ~ /\/(libc[.]so|ld-linux)/) o = "libc"; else if ($0 ~ /\/libevent/) o = "event"
					else if ($0 !~ /\[.*\] *$/) o = "libc" # no object shown: glibc functions named by their source file
					else if ($0 ~ /\/libsqlite3/) o = "sql"
					s[o] += x }
				END { printf "%d %d %d %d %d %d %d\n", total / n, s["ssl"] / n, s["crypto"] / n, s["libc"] / n, s["event"] / n, s["sql"] / n, s["other"] / n }' >"$WORK/cg.$v.sum"
			read -r CG_TOTAL[$v] CG_SSL[$v] CG_CRYPTO[$v] CG_LIBC[$v] CG_EVENT[$v] CG_SQL[$v] CG_SELF[$v] <"$WORK/cg.$v.sum"
		done
	fi
	declare -A SC_TOTAL SC_TOP
	if have strace; then
		for v in "${MVARIANTS[@]}"; do
			log "engines: strace -c, ${VNAME[$v]}, $CG_N handshakes"
			mrun "$v" strace -f -c -o "$WORK/st.$v" >/dev/null 2>&1 || die "strace run of ${VNAME[$v]} failed"
			SC_TOTAL[$v]=$(awk -v n="$CG_N" '$NF == "total" { printf "%.1f", $4 / n }' "$WORK/st.$v")
			# per handshake, the system calls made at least 0.5 times per handshake
			SC_TOP[$v]=$(awk -v n="$CG_N" '$1 ~ /^[0-9.]+$/ && $NF != "total" { c = $4 / n; if (c >= 0.5) printf "%s %.1f, ", $NF, c }' \
				"$WORK/st.$v" | sed 's/, $//')
		done
	fi
	log "engines: openssl s_time -new, 5 s"
	STIME=$(openssl s_time -new -connect "127.0.0.1:$BASE_PORT" -time 5 2>/dev/null |
		awk '/connections\/user sec/ { printf "%s %s", $1, $5 }') || true
	read -r _ ST_RATE <<<"${STIME:-0 0}"

	echo "## Engine: libevent bufferevent_openssl vs raw epoll"
	echo
	echo "Same work (\`bench/net/hs_epoll.c\`, \`bench/net/hs_libevent.c\`, shared part \`hs_common.h\`): one thread, one SSL_CTX (TLS 1.0–1.3, SSL_VERIFY_NONE, SSL_MODE_RELEASE_BUFFERS, no session cache), connect to each farm endpoint, full handshake, i2d of every certificate of SSL_get_peer_cert_chain, close without close_notify. $RUNS runs of each, interleaved, of $ROUNDS × $ENDPOINTS handshakes at concurrency 100; CPU = the client's user+sys (getrusage) per completed handshake, median. Instructions (callgrind) and system calls (strace -c) over $CG_N handshakes."
	echo
	echo "| Client | CPU µs/handshake (median) | min–max | Wall s (median) | Instructions/handshake | System calls/handshake |"
	echo "|---|---:|---:|---:|---:|---:|"
	declare -A MED
	for v in "${VARIANTS[@]}"; do
		MED[$v]=$(tr ' ' '\n' <<<"${ECPU[$v]}" | grep . | median)
		w=$(tr ' ' '\n' <<<"${EWALL[$v]}" | grep . | median)
		mm=$(tr ' ' '\n' <<<"${ECPU[$v]}" | grep . | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.0f–%.0f", a, b }')
		echo "| \`${VNAME[$v]}\` | $(num '%.0f' "${MED[$v]}") | $mm | $(num '%.3f' "$w") | $(grp "${CG_TOTAL[$v]-0}") | ${SC_TOTAL[$v]-n/a} |"
	done
	if [[ $ST_RATE != 0 ]]; then
		echo "| \`openssl s_time -new -connect 127.0.0.1:$BASE_PORT -time 5\` (blocking, one connection at a time; user time only) | $(awk -v r="$ST_RATE" 'BEGIN { printf "%.0f", 1e6 / r }') | | | | |"
	fi
	echo
	if [[ -n ${CG_TOTAL[epoll]-} ]]; then
		echo "Instructions per handshake by library (callgrind, exclusive cost; certledger: per endpoint, all threads, verification and inventory writes included):"
		echo
		echo "| Client | total | libssl | libcrypto | libc + ld.so | libevent | SQLite | client + other |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|"
		for v in "${MVARIANTS[@]}"; do
			echo "| \`${VNAME[$v]}\` | $(grp "${CG_TOTAL[$v]}") | $(grp "${CG_SSL[$v]}") | $(grp "${CG_CRYPTO[$v]}") | $(grp "${CG_LIBC[$v]}") | $(grp "${CG_EVENT[$v]}") | $(grp "${CG_SQL[$v]}") | $(grp "${CG_SELF[$v]}") |"
		done
		echo
	fi
	if [[ -n ${SC_TOTAL[epoll]-} ]]; then
		echo "System calls per handshake (at least 0.5 per handshake):"
		echo
		for v in "${MVARIANTS[@]}"; do
			echo "- \`${VNAME[$v]}\`: ${SC_TOTAL[$v]} — ${SC_TOP[$v]}"
		done
		echo
	fi
	printf 'libevent − epoll: %s CPU per handshake (medians)' "$(awk -v a="${MED[libevent]}" -v b="${MED[epoll]}" 'BEGIN { printf "%+.0f µs", a - b }')"
	if [[ -n ${CG_TOTAL[epoll]-} ]]; then
		printf ', %s instructions (%s)' "$(grp "$((CG_TOTAL[libevent] - CG_TOTAL[epoll]))")" \
			"$(awk -v a="${CG_TOTAL[libevent]}" -v b="${CG_TOTAL[epoll]}" 'BEGIN { printf "%+.2f %%", (a - b) * 100 / b }')"
	fi
	[[ -n ${SC_TOTAL[epoll]-} ]] && printf ', %s system calls' "$(awk -v a="${SC_TOTAL[libevent]}" -v b="${SC_TOTAL[epoll]}" 'BEGIN { printf "%+.1f", a - b }')"
	echo "."
	printf 'read-ahead − plain (epoll): %s CPU per handshake' "$(awk -v a="${MED[epoll-ra]}" -v b="${MED[epoll]}" 'BEGIN { printf "%+.0f µs", a - b }')"
	[[ -n ${SC_TOTAL[epoll]-} ]] && printf ', %s system calls' "$(awk -v a="${SC_TOTAL[epoll-ra]}" -v b="${SC_TOTAL[epoll]}" 'BEGIN { printf "%+.1f", a - b }')"
	echo "."
	echo
fi
log "done"
