# shellcheck shell=bash disable=SC2034,SC2317
# Shared helpers for the end-to-end tests (sourced, never run by ctest).
#
#   source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
#
# Environment (set by tests/CMakeLists.txt): CERTLEDGER (binary), CL_SRC (repo
# root), CL_TEST_TMP (scratch). Gives each test:
#   $T          a private temp dir (mode 0755, removed on exit)
#   $DB         a fresh inventory path ($T/db/inventory.db); `cl ARGS` runs
#               certledger --db "$DB" ARGS
#   run CMD...  runs CMD capturing $OUT, $ERR, $RC (never aborts the test)
#   fail / assert_eq / assert_rc / assert_contains / assert_not_contains
#   soft ASSERTION...  a check whose failure is reported but does not stop
#               the test; end the test with `finish`
#   pyjson CODE / pyassert CODE  JSON checks with stdlib python ($OUT is the
#               input unless a file is given with -f FILE)
#   make_fixtures   generates the fixture tree in $FX (skips with 77 when
#               openssl/keytool are missing)
#   as_nobody CMD...  runs CMD as uid/gid 65534 when root, else as is
#   now_plus SPEC    RFC 3339 UTC time (date -d SPEC), e.g. now_plus '+1 hour'
set -euo pipefail
export LC_ALL=C TZ=UTC

: "${CERTLEDGER:?CERTLEDGER must name the certledger binary}"
: "${CL_SRC:?CL_SRC must name the repository root}"
: "${CL_TEST_TMP:?CL_TEST_TMP must name a scratch directory}"
[[ -x $CERTLEDGER ]] || { echo "certledger binary $CERTLEDGER is not executable" >&2; exit 1; }

PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
TEST_NAME=$(basename -- "$0" .sh)

mkdir -p -- "$CL_TEST_TMP"
T=$(mktemp -d "$CL_TEST_TMP/$TEST_NAME.XXXXXX")
T=$(realpath -- "$T")   # the scanner records real paths
chmod 0755 "$T"   # traversable by nobody for the as_nobody cases
_cl_cleanup() {
    local rc=$?
    # background helpers (lock holders) started by the test
    local p
    for p in "${CL_BG_PIDS[@]:-}"; do
        if [[ -n $p ]]; then kill "$p" 2>/dev/null || true; fi
    done
    if [[ -n ${CL_KEEP_TMP:-} && $rc -ne 0 ]]; then
        echo "($TEST_NAME: kept $T)" >&2
    else
        chmod -R u+rwX -- "$T" 2>/dev/null || true
        rm -rf -- "$T"
    fi
    return "$rc"
}
CL_BG_PIDS=()
trap _cl_cleanup EXIT

# Never touch the user's real inventory.
unset CERTLEDGER_DB CERTLEDGER_P12_PASSWORD CERTLEDGER_BUSY_TIMEOUT_MS CL_NOW CERTLEDGER_ACTOR
export HOME=$T/home XDG_DATA_HOME=$T/xdg
mkdir -p "$HOME" "$T/db"
DB=$T/db/inventory.db

cl() { "$CERTLEDGER" --db "$DB" "$@"; }

# ------------------------------------------------------------- assertions ---

fail() {
    {
        echo "FAIL [$TEST_NAME] $*"
        if [[ -n ${CL_LAST_CMD:-} ]]; then
            echo "  last command: $CL_LAST_CMD (exit ${RC:-?})"
        fi
    } >&2
    exit 1
}

# Prints a value for a failure message, shortened when huge.
_show() {
    local s=$1
    if ((${#s} > 3000)); then s="${s:0:3000}... [${#s} bytes]"; fi
    printf '%s' "$s"
}

assert_eq() { # EXPECTED ACTUAL [WHAT]
    if [[ "$1" != "$2" ]]; then
        fail "${3:-value}: expected [$(_show "$1")] got [$(_show "$2")]"
    fi
}

assert_contains() { # HAYSTACK NEEDLE [WHAT]
    if [[ "$1" != *"$2"* ]]; then
        fail "${3:-output}: expected to contain [$2] got:
$(_show "$1")"
    fi
}

assert_not_contains() { # HAYSTACK NEEDLE [WHAT]
    if [[ "$1" == *"$2"* ]]; then
        fail "${3:-output}: must not contain [$2] got:
$(_show "$1")"
    fi
}

# run CMD...: captures stdout/stderr/exit status in OUT/ERR/RC.
run() {
    CL_LAST_CMD="$*"
    local o=$T/.run.out e=$T/.run.err
    set +e
    "$@" >"$o" 2>"$e"
    RC=$?
    set -e
    OUT=$(cat -- "$o")
    ERR=$(cat -- "$e")
}

# assert_rc N CMD...: runs CMD (via run) and checks its exit status.
assert_rc() {
    local want=$1; shift
    run "$@"
    if [[ $RC != "$want" ]]; then
        fail "exit status of [$*]: expected $want got $RC
stdout: $(_show "$OUT")
stderr: $(_show "$ERR")"
    fi
}

# soft CMD...: runs an assertion (in a subshell); a failure is reported at
# once but the test goes on, and `finish` then exits 1. For checks that
# expose product bugs, so that one bug does not hide the others.
CL_SOFT_FAILS=()
soft() {
    if ! ("$@"); then
        CL_SOFT_FAILS+=("$*")
    fi
}

# finish: ends the test (exit 1 when a soft check failed).
finish() {
    if ((${#CL_SOFT_FAILS[@]})); then
        echo "FAIL [$TEST_NAME] ${#CL_SOFT_FAILS[@]} check(s) failed (see above)" >&2
        exit 1
    fi
    exit 0
}

# ------------------------------------------------------------------ JSON ---
# pyjson [-f FILE] CODE: parses JSON ($OUT, or FILE) into `d` and runs CODE
# (python, stdlib only); CODE prints what the caller wants.
pyjson() {
    local src=$T/.json
    if [[ $1 == -f ]]; then src=$2; shift 2; else printf '%s' "$OUT" >"$src"; fi
    "$PY" -c '
import json, sys
args = sys.argv[3:]
with open(sys.argv[1], "rb") as f:
    raw = f.read()
try:
    d = json.loads(raw)
except ValueError as e:
    sys.exit("not valid JSON (%s): %r" % (e, raw[:500]))
exec(sys.argv[2])
' "$src" "$1" "${@:2}"
}

# pyassert [-f FILE] CODE [ARGS...]: like pyjson; CODE uses `check(cond, msg)`
# or assert; a failure fails the test with the message.
pyassert() {
    local src=$T/.json msg
    if [[ $1 == -f ]]; then src=$2; shift 2; else printf '%s' "$OUT" >"$src"; fi
    if ! msg=$("$PY" -c '
import json, sys
args = sys.argv[3:]
def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
with open(sys.argv[1], "rb") as f:
    raw = f.read()
try:
    d = json.loads(raw)
except ValueError as e:
    print("not valid JSON (%s): %r" % (e, raw[:500])); sys.exit(1)
try:
    exec(sys.argv[2])
except AssertionError as e:
    print(e); sys.exit(1)
' "$src" "$@" 2>&1); then
        fail "JSON check: $msg"
    fi
}

# ------------------------------------------------------------- fixtures ---
need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || { echo "SKIP [$TEST_NAME]: needs $c" >&2; exit 77; }
    done
}

# _gen_fixtures DIR: runs the generator.
_gen_fixtures() {
    local log=$T/.mkfixtures.log
    if ! bash "$CL_SRC/tests/data/mkfixtures.sh" "$1" >"$log" 2>&1; then
        cat "$log" >&2
        fail "tests/data/mkfixtures.sh failed"
    fi
}

# make_fixtures: gives the test its own copy of tests/data/mkfixtures.sh's
# tree in $FX, with manifests naming paths under $FX, and sets FX_MANIFEST,
# FX_BAD, FX_KEYS, PWFILE (a file containing "changeit").
#
# Generating takes ~10 s, so (when root, which can copy the mode-000 file)
# one generated tree per day and generator version is kept under
# $CL_TEST_TMP/fixture-cache (made under a lock, renamed into place when
# complete) and each test gets a private copy. CL_E2E_FRESH_FIXTURES=1
# generates afresh for every test.
make_fixtures() {
    need openssl keytool
    FX=$T/fx
    if [[ -n ${CL_E2E_FRESH_FIXTURES:-} ]] || ! is_root || ! command -v flock >/dev/null; then
        _gen_fixtures "$FX"
    else
        local key cache base=$CL_TEST_TMP/fixture-cache
        key=$(cat "$CL_SRC/tests/data/mkfixtures.sh" "$CL_SRC/tests/data/openssl-ca.cnf" \
                  "$CL_SRC/tests/data/mldsa.asn1.in" | sha256sum | cut -c1-16)-$(date -u +%Y%m%d)
        cache=$base/$key
        mkdir -p "$base"
        (
            flock 9
            if [[ ! -f $cache/.complete ]]; then
                local gen
                gen=$base/.gen.$$
                # older versions of the tree and leftovers are of no further use
                find "$base" -mindepth 1 -maxdepth 1 -not -name '.lock' \
                    -exec rm -rf {} + 2>/dev/null || true
                _gen_fixtures "$gen"
                realpath -- "$gen" | tr -d '\n' >"$gen/.origin"
                : >"$gen/.complete"
                mv -- "$gen" "$cache"
            fi
        ) 9>"$base/.lock" || fail "could not prepare the fixture cache in $base"
        cp -a -- "$cache" "$FX"
        rm -f -- "$FX/.complete"
        # the manifests name the paths of the generated tree: rename them
        "$PY" -c '
import sys
fx = sys.argv[1].encode()
with open(fx + b"/.origin", "rb") as f:
    origin = f.read()
for m in (b"manifest.tsv", b"manifest-bad.tsv", b"manifest-keys.tsv"):
    p = fx + b"/" + m
    with open(p, "rb") as f:
        s = f.read()
    with open(p, "wb") as f:
        f.write(s.replace(origin + b"/", fx + b"/"))
' "$FX" || fail "could not rename the manifest paths"
        rm -f -- "$FX/.origin"
        [[ -p $FX/srv/bad/pipe.pem && -L $FX/srv/bad/loop/back ]] ||
            fail "fixture copy lost the FIFO or the symlink"
    fi
    FX_MANIFEST=$FX/manifest.tsv
    FX_BAD=$FX/manifest-bad.tsv
    FX_KEYS=$FX/manifest-keys.tsv
    printf 'changeit\n' >"$T/passwords"
    chmod 0644 "$T/passwords"
    PWFILE=$T/passwords
}

# fp_of CN_OR_PATH_SUFFIX: the fingerprint of the first manifest row whose cn
# equals $1 or whose path ends with $1.
fp_of() {
    awk -F'\t' -v k="$1" 'NR > 1 && ($4 == k || substr($2, length($2) - length(k) + 1) == k) \
        { print $1; exit }' "$FX_MANIFEST"
}

# A throw-away self-signed end-entity certificate (EC P-256, CA:FALSE):
# mkcert NAME SUBJ [DAYS [OPENSSL-REQ-ARGS...]] -> $T/certs/NAME.pem, .key
mkcert() {
    local name=$1 subj=$2 days=${3:-90}
    shift $(($# < 3 ? $# : 3))
    mkdir -p "$T/certs"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$T/certs/$name.key" -subj "$subj" -days "$days" \
        -addext basicConstraints=critical,CA:FALSE "$@" \
        -out "$T/certs/$name.pem" >/dev/null 2>&1 || fail "openssl could not make $name"
}

# fingerprint FILE: lowercase hex SHA-256 of a PEM certificate.
fingerprint() {
    openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}

# ----------------------------------------------------------- privileges ---
NOBODY=65534
is_root() { [[ $(id -u) == 0 ]]; }

as_nobody() {
    if is_root; then
        need setpriv
        setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups "$@"
    else
        "$@"
    fi
}

# give_to_nobody PATH...: lets as_nobody write there (no-op unless root).
give_to_nobody() {
    if is_root; then chown -R "$NOBODY:$NOBODY" -- "$@"; fi
}

now_plus() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

# http_get URL FILE [gzip]: GETs URL, writes the body (gunzipped when the
# server compressed it) to FILE and the status to HTTP_STATUS, error
# statuses included; with gzip, asks for it and fails when it is not used.
http_get() {
    HTTP_STATUS=$("$PY" - "$1" "$2" "${3:-}" <<'EOF'
import gzip, sys, urllib.error, urllib.request
req = urllib.request.Request(sys.argv[1])
if sys.argv[3]:
    req.add_header("Accept-Encoding", "gzip")
try:
    r = urllib.request.urlopen(req, timeout=20)
    code, body, enc = r.status, r.read(), r.headers.get("Content-Encoding")
except urllib.error.HTTPError as e:
    code, body, enc = e.code, e.read(), e.headers.get("Content-Encoding")
if enc == "gzip":
    body = gzip.decompress(body)
elif sys.argv[3]:
    sys.exit("asked for gzip, got %r" % enc)
open(sys.argv[2], "wb").write(body)
print(code)
EOF
) || fail "GET $1"
}
