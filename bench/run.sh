#!/usr/bin/env bash
# certledger file-discovery benchmark: certledger vs peer tools, same run,
# same warm page cache.  Markdown report on stdout, progress on stderr.
#
#   bench/run.sh [--files N] [--inventory M] [--runs R] [--seed S]
#                [--sample K] [--bundle-size B] [--no-rss] [--net]
#   bench/run.sh --net-only [bench/net/run.sh options]
#
# Quick run:  bench/run.sh --files 2000 --inventory 20000
# certledger: $CERTLEDGER (default build/certledger, relative to the repo).
# See docs/BENCHMARKS.md ("Method") for what each part measures.
set -euo pipefail

FILES=50000
INVENTORY=1000000
RUNS=3
SEED=1
SAMPLE=500
BUNDLE=1000
RSS=1
NET=0
MAX_CACHE_AGE=$((2 * 86400)) # the "expiring in 30 days" window drifts

usage() {
	sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
	cat <<'EOF'
Options:
  --files N        files in the discovery tree (default 50000; ~1.375 certs/file)
  --inventory M    certificates in the inventory part (default 1000000; 0 = skip)
  --runs R         timed runs per tool for the discovery part (default 3)
  --seed S         generator seed (default 1)
  --sample K       files for the `openssl x509` per-file sample (default 500)
  --bundle-size B  certificates per PEM file in the inventory (default 1000)
  --no-rss         skip the peak-RSS runs (discover on N and 4N files)
  --net            also run the network-discovery benchmark (bench/net/run.sh,
                   loopback TLS farm) after the file parts
  --net-only ...   run only bench/net/run.sh, with the options that follow
EOF
}

die() {
	printf '[bench] ERROR: %s\n' "$*" >&2
	exit 1
}
log() { printf '[bench] %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
posint() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a non-negative integer, got '$2'"; }

while (($#)); do
	case $1 in
	--files) posint "$1" "${2-}" && FILES=$2 && shift 2 ;;
	--inventory) posint "$1" "${2-}" && INVENTORY=$2 && shift 2 ;;
	--runs) posint "$1" "${2-}" && RUNS=$2 && shift 2 ;;
	--seed) posint "$1" "${2-}" && SEED=$2 && shift 2 ;;
	--sample) posint "$1" "${2-}" && SAMPLE=$2 && shift 2 ;;
	--bundle-size) posint "$1" "${2-}" && BUNDLE=$2 && shift 2 ;;
	--no-rss) RSS=0 && shift ;;
	--net) NET=1 && shift ;;
	--net-only) shift && exec "$(dirname -- "${BASH_SOURCE[0]}")/net/run.sh" "$@" ;;
	-h | --help) usage && exit 0 ;;
	*) usage >&2 && die "unknown argument '$1'" ;;
	esac
done
((FILES > 0)) || die "--files must be > 0"
((RUNS > 0)) || die "--runs must be > 0"
((SAMPLE > 0)) || die "--sample must be > 0"
((BUNDLE > 0)) || die "--bundle-size must be > 0"

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH=$REPO/bench
CACHE=$BENCH/.cache
BIN=$CACHE/bin
CL=${CERTLEDGER:-build/certledger}
[[ $CL == /* ]] || CL=$REPO/$CL

for t in make cc python3 openssl find sort awk; do
	have "$t" || die "'$t' is required"
done
HYPERFINE=0
have hyperfine && HYPERFINE=1
GNUTIME=0
/usr/bin/time -v true >/dev/null 2>&1 && GNUTIME=1

mkdir -p -- "$CACHE"
WORK=$(mktemp -d "$CACHE/run.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT

# ---------------------------------------------------------------- helpers

# value of KEY in a key=value file (manifest)
mf() { awk -F= -v k="$2" '$1 == k { print substr($0, length(k) + 2); exit }' "$1"; }
# value of KEY in a single "k=v k=v" line
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2; exit }'; }
# printf a number with awk (no bash floats)
num() { awk -v v="$2" "BEGIN { printf \"$1\", v }"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f×", a / b; else printf "n/a" }'; }
persec() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else printf "n/a" }'; }
now_ns() { date +%s%N; }

# timeit RUNS PREPARE CMD... -> T_MIN T_MEAN T_SD (seconds).  Uses hyperfine
# (process start-up included, shell spawn subtracted) or a plain loop.
# With ALLOW_RC1=1, exit status 1 ("nothing matched" for ls) is accepted; the
# caller checks the real exit status in an untimed run first.
ALLOW_RC1=0
timeit() {
	local runs=$1 prep=$2
	shift 2
	if ((HYPERFINE)); then
		local cmd args
		cmd=$(printf '%q ' "$@")
		args=(--shell bash --style none --runs "$runs" --export-json "$WORK/hf.json")
		[[ -n $prep ]] && args+=(--prepare "$prep")
		((ALLOW_RC1)) && args+=(--ignore-failure)
		if ! hyperfine "${args[@]}" "$cmd" >"$WORK/hf.out" 2>&1; then
			cat "$WORK/hf.out" >&2
			die "timed command failed: $*"
		fi
		read -r T_MIN T_MEAN T_SD < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(r["min"], r["mean"], r.get("stddev") or 0.0)' "$WORK/hf.json")
	else
		local i t0 t1 rc ts=()
		for ((i = 0; i < runs; i++)); do
			[[ -n $prep ]] && bash -c "$prep"
			t0=$(now_ns)
			rc=0
			"$@" >/dev/null 2>&1 || rc=$?
			t1=$(now_ns)
			((rc == 0 || (ALLOW_RC1 && rc == 1))) || die "timed command failed (exit $rc): $*"
			ts+=("$(((t1 - t0) / 1000))")
		done
		read -r T_MIN T_MEAN T_SD < <(printf '%s\n' "${ts[@]}" | awk '
			{ v = $1 / 1e6; s += v; q += v * v; if (NR == 1 || v < m) m = v }
			END { mu = s / NR; sd = NR > 1 ? sqrt((q - NR * mu * mu) / (NR - 1)) : 0; print m, mu, sd }')
	fi
}

# peak RSS (KiB) and wall seconds of one command, via GNU time -v
rss_run() {
	/usr/bin/time -v -o "$WORK/time.txt" "$@" >"$WORK/rss.out" 2>&1 ||
		{ tail -n 20 "$WORK/rss.out" >&2; return 1; }
	RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time.txt")
	RSS_WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0
		for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$WORK/time.txt")
}

# ensure_tree NAME GENCERTS-ARGS... -> TREE, MANIFEST, GEN_NOTE (cached)
ensure_tree() {
	local name=$1 dir=$CACHE/$1 age
	shift
	MANIFEST=$dir/manifest.txt
	TREE=$dir/tree
	if [[ -f $MANIFEST && ! $BIN/gencerts -nt $MANIFEST && -d $TREE ]]; then
		age=$(($(date +%s) - $(mf "$MANIFEST" now)))
		if ((age >= 0 && age < MAX_CACHE_AGE)); then
			GEN_NOTE="cached (generated $(awk -v a="$age" 'BEGIN { printf "%.1f", a / 3600 }') h ago in $(mf "$MANIFEST" seconds) s, $(mf "$MANIFEST" certs_per_s) certs/s)"
			log "using cached $name"
			return 0
		fi
		log "cached $name is older than $((MAX_CACHE_AGE / 3600)) h: regenerating"
	fi
	rm -rf -- "$dir" "$dir.tmp"
	mkdir -p -- "$dir.tmp"
	log "generating $name ..."
	"$BIN/gencerts" --seed "$SEED" "$@" "$dir.tmp/tree" >"$dir.tmp/manifest.txt" ||
		die "gencerts failed for $name"
	printf 'bytes=%s\n' "$(du -sb -- "$dir.tmp/tree" | cut -f1)" >>"$dir.tmp/manifest.txt"
	mv -- "$dir.tmp" "$dir"
	GEN_NOTE="generated now: $(mf "$MANIFEST" seconds) s, $(mf "$MANIFEST" certs_per_s) certs/s ($(mf "$MANIFEST" jobs) processes)"
	log "$GEN_NOTE"
}

warm() { # read every file once so that all tools see a warm page cache
	local t0 t1
	t0=$(now_ns)
	find "$1" -type f -exec cat -- {} + >/dev/null
	t1=$(now_ns)
	WARM_S=$(num '%.2f' "$(((t1 - t0) / 1000))e-6")
}

rm_db() { rm -f -- "$1" "$1-wal" "$1-shm" "$1-journal"; }
rm_db_cmd() { printf 'rm -f -- %q %q %q %q' "$1" "$1-wal" "$1-shm" "$1-journal"; }

# rows in certledger's JSON output (array, object holding an array, or NDJSON)
json_rows() {
	python3 - "$1" <<'EOF'
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
def rows(d):
    if isinstance(d, list):
        return len(d)
    if isinstance(d, dict):
        for k in ("certificates", "certs", "items", "rows", "results", "data"):
            if isinstance(d.get(k), list):
                return len(d[k])
        for v in d.values():
            if isinstance(v, list):
                return len(v)
    return None
try:
    n = rows(json.loads(text))
except ValueError:
    lines = [l for l in text.splitlines() if l.strip()]
    try:
        n = len([json.loads(l) for l in lines])
    except ValueError:
        print("not-json"); sys.exit(0)
print("?" if n is None else n)
EOF
}

# certificates in a certledger DB (schema: table certs); "?" if unreadable
db_certs() {
	python3 - "$1" <<'EOF' 2>/dev/null || echo "?"
import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute("SELECT count(*) FROM certs").fetchone()[0])
EOF
}

# network-discovery part (bench/net/run.sh), appended to the report
run_net() {
	((NET)) || return 0
	log "network-discovery part: bench/net/run.sh"
	echo
	"$BENCH/net/run.sh" || die "bench/net/run.sh failed"
}

# ---------------------------------------------------------------- build
log "building helpers into ${BIN#"$REPO"/}"
make -s -C "$BENCH" O="$BIN" >&2 || die "building bench helpers failed"

# ---------------------------------------------------------------- certledger probe
CL_DISCOVER=0 CL_LS=0 CL_SUMMARY=0 CL_NOTE=""
probe_certledger() {
	local p=$WORK/probe rc
	if [[ ! -x $CL ]]; then
		CL_NOTE="not found at $CL (build it, or set CERTLEDGER=/path/to/certledger)"
		return
	fi
	mkdir -p -- "$p"
	"$BIN/gencerts" --count 20 --seed 7 "$p/tree" >"$p/manifest.txt" || die "gencerts probe failed"
	rc=0
	"$CL" --db "$p/db" discover files "$p/tree" >"$p/out" 2>&1 || rc=$?
	if ((rc != 0)); then
		CL_NOTE="'discover files' failed (exit $rc): $(head -c 200 "$p/out" | tr '\n' ' ')"
		return
	fi
	if [[ ! -s $p/db ]]; then
		CL_NOTE="'discover files' exited 0 but wrote no database at --db (CLI not implemented yet?)"
		return
	fi
	CL_DISCOVER=1
	CL_NOTE="discover works"
	rc=0
	"$CL" --db "$p/db" ls --expiring 30d --format json >"$p/ls.json" 2>"$p/ls.err" || rc=$?
	# exit 1 = nothing matched
	if ((rc != 0 && rc != 1)); then
		CL_NOTE+="; 'ls --expiring 30d --format json' failed (exit $rc): $(head -c 200 "$p/ls.err" | tr '\n' ' ')"
	elif ((rc == 0)) && [[ $(json_rows "$p/ls.json") == not-json ]]; then
		CL_NOTE+="; 'ls --format json' does not print JSON"
	else
		CL_LS=1
		CL_NOTE+="; ls works"
	fi
	rc=0
	"$CL" --db "$p/db" summary >"$p/summary" 2>&1 || rc=$?
	if ((rc != 0)); then
		CL_NOTE+="; 'summary' failed (exit $rc)"
	else
		CL_SUMMARY=1
		CL_NOTE+="; summary works"
	fi
}
probe_certledger
if ((CL_DISCOVER)); then log "certledger: $CL ($CL_NOTE)"; else log "certledger parts SKIPPED: $CL_NOTE"; fi

# ---------------------------------------------------------------- header
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)
echo "# certledger discovery benchmark"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); host: $(nproc) cores ${cpu:+($cpu)}, ${mem:-? RAM}, $(uname -sr)"
echo "- Tools: $(openssl version | cut -d' ' -f1-2), mbedTLS $("$BIN/peer_mbedtls_loop" --version)," \
	"$(if ((HYPERFINE)); then hyperfine --version; else echo "hyperfine not installed (plain timing loop)"; fi)"
if ((CL_DISCOVER)); then
	echo "- certledger: \`${CL#"$REPO"/}\` ($CL_NOTE)"
else
	echo "- certledger: **skipped** — $CL_NOTE"
fi
echo "- Page cache: not dropped (that needs root); one warm-up pass (\`cat\` of every file) before timing, so every tool sees a warm page cache."
echo "- Wall time = best of the timed runs, process start-up included."
echo

# ================================================================ part 1: discovery
ensure_tree "files-$FILES-s$SEED" --count "$FILES"
T1=$TREE M1=$MANIFEST
CERTS=$(mf "$M1" certs)
log "tree: $FILES files, $CERTS certificates"
warm "$T1"
log "warm-up pass: $WARM_S s"

echo "## Discovery: $FILES files"
echo
echo "- Tree: $FILES files holding **$CERTS certificates** — $(mf "$M1" pem_single_files) single PEM," \
	"$(mf "$M1" der_files) DER, $(mf "$M1" bundle_files) PEM bundles of 2–5; $(mf "$M1" dirs) directories;" \
	"$(num '%.1f' "$(mf "$M1" bytes)e-6") MB"
echo "- Keys: $(mf "$M1" key_ec_p256) EC P-256, $(mf "$M1" key_rsa2048) RSA-2048, $(mf "$M1" key_ed25519) Ed25519;" \
	"$(mf "$M1" expiring_30d) expire within 30 days, $(mf "$M1" expired) expired"
echo "- Generator: $GEN_NOTE"
echo "- Warm-up pass: $WARM_S s; $RUNS timed runs per tool"
echo

# (a) OpenSSL loop
log "OpenSSL loop: check run"
out=$("$BIN/peer_openssl_loop" "$T1") || die "peer_openssl_loop reported errors: $out"
[[ $(kv "$out" certs) == "$CERTS" ]] || die "peer_openssl_loop parsed $(kv "$out" certs) certs, expected $CERTS"
[[ $(kv "$out" expiring_30d) == "$(mf "$M1" expiring_30d)" ]] ||
	log "note: OpenSSL loop sees $(kv "$out" expiring_30d) expiring, generator planned $(mf "$M1" expiring_30d)"
log "OpenSSL loop: timing ($RUNS runs)"
timeit "$RUNS" "" "$BIN/peer_openssl_loop" "$T1"
OSSL_MIN=$T_MIN OSSL_MEAN=$T_MEAN OSSL_SD=$T_SD

# (b) mbedTLS loop
log "mbedTLS loop: check run"
out=$("$BIN/peer_mbedtls_loop" "$T1") || die "peer_mbedtls_loop failed: $out"
MBED_CERTS=$(kv "$out" certs)
MBED_FAILED=$(kv "$out" failed)
((MBED_CERTS + MBED_FAILED == CERTS)) ||
	die "peer_mbedtls_loop: $MBED_CERTS parsed + $MBED_FAILED failed != $CERTS certificates"
((MBED_FAILED == $(mf "$M1" key_ed25519))) ||
	die "peer_mbedtls_loop: $MBED_FAILED failures, expected exactly the $(mf "$M1" key_ed25519) Ed25519 certs ($(kv "$out" first_error))"
log "mbedTLS loop: timing ($RUNS runs)"
timeit "$RUNS" "" "$BIN/peer_mbedtls_loop" "$T1"
MBED_MIN=$T_MIN MBED_MEAN=$T_MEAN MBED_SD=$T_SD

# (c) openssl x509 per file, on a sample
find "$T1" -type f | LC_ALL=C sort >"$WORK/all_files.txt"
awk -v n="$FILES" -v k="$SAMPLE" 'BEGIN { s = int(n / k); if (s < 1) s = 1 }
	(NR - 1) % s == 0 && c < k { print; c++ }' "$WORK/all_files.txt" >"$WORK/sample.txt"
NSAMPLE=$(wc -l <"$WORK/sample.txt")
log "openssl x509 CLI: $NSAMPLE files, one process each"
t0=$(now_ns)
while IFS= read -r f; do
	case $f in
	*.der | *.cer) openssl x509 -inform DER -noout -enddate -in "$f" ;;
	*) openssl x509 -noout -enddate -in "$f" ;;
	esac
done <"$WORK/sample.txt" >"$WORK/cli.out" || die "openssl x509 failed on a sample file"
t1=$(now_ns)
[[ $(grep -c '^notAfter=' "$WORK/cli.out") == "$NSAMPLE" ]] || die "openssl x509 printed too few dates"
CLI_MS=$(awk -v ns="$((t1 - t0))" -v n="$NSAMPLE" 'BEGIN { printf "%.2f", ns / 1e6 / n }')
CLI_TOTAL=$(awk -v ms="$CLI_MS" -v n="$FILES" 'BEGIN { printf "%.1f", ms * n / 1000 }')

# (d) certledger discover (fresh DB) and re-scan
CLF_MIN="" CLR_MIN="" CL_ROWS="?" RSS1="" RSS4="" WALL4=""
DB1=$WORK/discover.db
if ((CL_DISCOVER)); then
	log "certledger discover (fresh DB): $RUNS runs"
	timeit "$RUNS" "$(rm_db_cmd "$DB1")" "$CL" --db "$DB1" discover files "$T1"
	CLF_MIN=$T_MIN CLF_MEAN=$T_MEAN CLF_SD=$T_SD
	CL_ROWS=$(db_certs "$DB1")
	log "certledger re-scan (same DB): $RUNS runs"
	timeit "$RUNS" "" "$CL" --db "$DB1" discover files "$T1"
	CLR_MIN=$T_MIN CLR_MEAN=$T_MEAN CLR_SD=$T_SD
fi

row() { # name what certs min mean sd
	printf '| %s | %s | %s | %s | %s ± %s | %s |\n' "$1" "$2" "$3" "$(num '%.3f' "$4")" \
		"$(num '%.3f' "$5")" "$(num '%.3f' "$6")" "$(persec "$3" "$4")"
}
echo "| Tool | What it does | Certs | Wall s (best) | Mean ± sd s | Certs/s |"
echo "|---|---|---:|---:|---:|---:|"
if ((CL_DISCOVER)); then
	row "certledger discover (fresh DB)" "walk, parse, store in SQLite" "$CERTS" "$CLF_MIN" "$CLF_MEAN" "$CLF_SD"
	row "certledger discover (re-scan)" "same tree, same DB" "$CERTS" "$CLR_MIN" "$CLR_MEAN" "$CLR_SD"
else
	echo "| certledger discover | skipped: $CL_NOTE | | | | |"
fi
row "OpenSSL loop" "nftw + PEM_read_bio_X509/d2i_X509 + SHA-256, 1 thread" "$CERTS" "$OSSL_MIN" "$OSSL_MEAN" "$OSSL_SD"
row "mbedTLS loop" "nftw + mbedtls_x509_crt_parse_file + SHA-256, 1 thread" "$MBED_CERTS" "$MBED_MIN" "$MBED_MEAN" "$MBED_SD"
printf '| openssl x509 CLI | one process per file, %s-file sample: %s ms/file, extrapolated | %s files | %s | — | %s |\n' \
	"$NSAMPLE" "$CLI_MS" "$FILES" "$CLI_TOTAL" "$(persec "$FILES" "$CLI_TOTAL")"
echo
echo "mbedTLS 2.28 cannot parse Ed25519 keys: it rejects $MBED_FAILED certificates (MBEDTLS_ERR_PK_UNKNOWN_PK_ALG); they are left out of its Certs and Certs/s, but its time includes the failed attempts."
echo "The CLI row reads only the first certificate of each bundle, so its per-second figure counts files."
if ((CL_DISCOVER)); then
	echo "certledger's DB holds $CL_ROWS certificates after discovery (expected $CERTS)."
fi
echo
echo "### Ratios (peer wall time ÷ certledger wall time; > 1 means certledger is faster)"
echo
if ((CL_DISCOVER)); then
	echo "| Peer | vs discover (fresh DB) | vs re-scan |"
	echo "|---|---:|---:|"
	echo "| OpenSSL loop | $(ratio "$OSSL_MIN" "$CLF_MIN") | $(ratio "$OSSL_MIN" "$CLR_MIN") |"
	echo "| mbedTLS loop | $(ratio "$MBED_MIN" "$CLF_MIN") | $(ratio "$MBED_MIN" "$CLR_MIN") |"
	echo "| openssl x509 CLI (extrapolated) | $(ratio "$CLI_TOTAL" "$CLF_MIN") | $(ratio "$CLI_TOTAL" "$CLR_MIN") |"
else
	echo "Skipped: certledger is not available ($CL_NOTE)."
	echo "Peers relative to the OpenSSL loop: mbedTLS loop $(ratio "$MBED_MIN" "$OSSL_MIN") of its time, openssl x509 CLI $(ratio "$CLI_TOTAL" "$OSSL_MIN")."
fi
echo

# ---------------------------------------------------------------- memory
if ((CL_DISCOVER && RSS)); then
	if ((GNUTIME)); then
		FILES4=$((FILES * 4))
		log "peak RSS: discover on $FILES files"
		rm_db "$WORK/rss1.db"
		rss_run "$CL" --db "$WORK/rss1.db" discover files "$T1" || die "certledger discover failed under /usr/bin/time"
		RSS1=$RSS_KB WALL1=$RSS_WALL
		ensure_tree "files-$FILES4-s$SEED" --count "$FILES4"
		T4=$TREE M4=$MANIFEST
		warm "$T4"
		log "peak RSS: discover on $FILES4 files"
		rm_db "$WORK/rss4.db"
		rss_run "$CL" --db "$WORK/rss4.db" discover files "$T4" || die "certledger discover failed under /usr/bin/time"
		RSS4=$RSS_KB WALL4=$RSS_WALL
		rm_db "$WORK/rss1.db"
		rm_db "$WORK/rss4.db"
		echo "### certledger peak memory (GNU time, fresh DB)"
		echo
		echo "| Files | Certs | Max RSS MiB | Wall s |"
		echo "|---:|---:|---:|---:|"
		echo "| $FILES | $CERTS | $(num '%.1f' "$((RSS1 * 10 / 1024))e-1") | $WALL1 |"
		echo "| $FILES4 | $(mf "$M4" certs) | $(num '%.1f' "$((RSS4 * 10 / 1024))e-1") | $WALL4 |"
		echo
		echo "Max RSS ratio 4N ÷ N: $(ratio "$RSS4" "$RSS1") (stays near 1× if memory does not grow with the tree)."
		echo
	else
		echo "Peak RSS skipped: GNU time not installed (\`apt-get install time\`)."
		echo
	fi
fi

# ================================================================ part 2: inventory
if ((INVENTORY == 0)); then
	log "inventory part skipped (--inventory 0)"
	run_net
	exit 0
fi
ensure_tree "inv-$INVENTORY-b$BUNDLE-s$SEED" --bundle-size "$BUNDLE" --count "$INVENTORY"
TI=$TREE MI=$MANIFEST
warm "$TI"
log "inventory warm-up: $WARM_S s"

echo "## Inventory: $INVENTORY certificates"
echo
echo "- $(mf "$MI" files) PEM files of up to $BUNDLE certificates; $(num '%.1f' "$(mf "$MI" bytes)e-6") MB;" \
	"$(mf "$MI" expiring_30d) expire within 30 days, $(mf "$MI" expired) expired"
echo "- Generator: $GEN_NOTE"
echo

log "inventory: OpenSSL loop (reference, 1 run)"
out=$("$BIN/peer_openssl_loop" "$TI") || die "peer_openssl_loop reported errors on the inventory: $out"
[[ $(kv "$out" certs) == "$INVENTORY" ]] || die "peer_openssl_loop parsed $(kv "$out" certs) of $INVENTORY"
INV_OSSL=$(kv "$out" seconds)
log "inventory: mbedTLS loop (reference, 1 run)"
out=$("$BIN/peer_mbedtls_loop" "$TI") || die "peer_mbedtls_loop failed on the inventory: $out"
INV_MBED=$(kv "$out" seconds) INV_MBED_CERTS=$(kv "$out" certs)
((INV_MBED_CERTS + $(kv "$out" failed) == INVENTORY)) ||
	die "peer_mbedtls_loop: $INV_MBED_CERTS parsed + $(kv "$out" failed) failed != $INVENTORY"

echo "| Step | Result | Time |"
echo "|---|---|---:|"
echo "| OpenSSL loop over the inventory (reference) | $INVENTORY certs | $INV_OSSL s |"
echo "| mbedTLS loop over the inventory (reference) | $INV_MBED_CERTS certs (Ed25519 skipped) | $INV_MBED s |"
if ((!CL_DISCOVER)); then
	echo "| certledger | skipped: $CL_NOTE | |"
	echo
	run_net
	exit 0
fi

DBI=$WORK/inventory.db
rm_db "$DBI"
log "inventory: certledger discover (1 run)"
if ((GNUTIME)); then
	rss_run "$CL" --db "$DBI" discover files "$TI" || die "certledger discover failed on the inventory"
	INV_DISC=$RSS_WALL INV_RSS="$(num '%.1f' "$((RSS_KB * 10 / 1024))e-1") MiB max RSS"
else
	t0=$(now_ns)
	"$CL" --db "$DBI" discover files "$TI" >/dev/null 2>&1 || die "certledger discover failed on the inventory"
	t1=$(now_ns)
	INV_DISC=$(num '%.3f' "$(((t1 - t0) / 1000))e-6") INV_RSS="RSS not measured"
fi
echo "| certledger discover (fresh DB) | $(db_certs "$DBI") certs in DB; $INV_RSS; $(persec "$INVENTORY" "$INV_DISC") certs/s; OpenSSL loop ÷ certledger $(ratio "$INV_OSSL" "$INV_DISC") | $INV_DISC s |"

if ((CL_LS)); then
	ls_rows() { # untimed check run; exit 1 means "nothing matched"
		local rc=0
		"$CL" --db "$DBI" "$@" >"$WORK/ls.json" 2>"$WORK/ls.err" || rc=$?
		case $rc in
		0) ROWS=$(json_rows "$WORK/ls.json") ;;
		1) ROWS=0 ;;
		*) cat "$WORK/ls.err" >&2 && die "certledger $* failed (exit $rc)" ;;
		esac
		LS_MB=$(num '%.2f' "$(wc -c <"$WORK/ls.json")e-6")
	}
	ALLOW_RC1=1
	ls_rows ls --expiring 30d --format json
	log "inventory: ls --expiring 30d --format json (best of 5)"
	timeit 5 "" "$CL" --db "$DBI" ls --expiring 30d --format json
	echo "| \`ls --expiring 30d --format json\` | $ROWS rows (generator: $(mf "$MI" expiring_30d) expire within 30 days); $LS_MB MB of JSON | $(num '%.1f' "${T_MIN}e3") ms |"
	ls_rows ls --expiring 30d --format json --limit 100
	timeit 5 "" "$CL" --db "$DBI" ls --expiring 30d --format json --limit 100
	echo "| \`ls --expiring 30d --format json --limit 100\` | $ROWS rows; $LS_MB MB of JSON | $(num '%.1f' "${T_MIN}e3") ms |"
	ALLOW_RC1=0
else
	echo "| \`ls --expiring 30d --format json\` | skipped: ls not available | |"
fi
if ((CL_SUMMARY)); then
	"$CL" --db "$DBI" summary >"$WORK/summary.txt" 2>&1 || die "certledger summary failed"
	log "inventory: summary (best of 5)"
	timeit 5 "" "$CL" --db "$DBI" summary
	echo "| \`summary\` | $(wc -l <"$WORK/summary.txt") lines | $(num '%.1f' "${T_MIN}e3") ms |"
	echo
	echo "<details><summary>summary output</summary>"
	echo
	echo '```'
	head -n 40 "$WORK/summary.txt"
	echo '```'
	echo "</details>"
else
	echo "| \`summary\` | skipped: summary not available | |"
fi
if "$CL" help check >/dev/null 2>&1; then
	# the built-in policy over every certificate: the first run opens the
	# findings, re-checks only write what changed
	ALLOW_RC1=1
	log "inventory: check (first run, then best of 3 re-checks)"
	t0=$(now_ns)
	"$CL" --db "$DBI" check --examples 1 >"$WORK/check.txt" 2>&1 || [[ $? == 1 ]] ||
		die "certledger check failed: $(tail -3 "$WORK/check.txt")"
	t1=$(now_ns)
	CHECK_FIRST=$(num '%.2f' "$(((t1 - t0) / 1000))e-6")
	echo "| \`check\` (built-in policy, first run) | $(tail -n 1 "$WORK/check.txt") | $CHECK_FIRST s |"
	timeit 3 "" "$CL" --db "$DBI" check --examples 1
	"$CL" --db "$DBI" check --examples 1 >"$WORK/check.txt" 2>&1 || true
	echo "| \`check\` (re-check, best of 3) | $(tail -n 1 "$WORK/check.txt") | $(num '%.2f' "$T_MIN") s |"
	ALLOW_RC1=0
fi
echo
echo "ls/summary: best of 5 (hyperfine, 0 warm-up runs; the DB was just written, so it is in the page cache)."
run_net
