# shellcheck shell=bash disable=SC2034
# Helpers for the ACME end-to-end tests (sourced instead of lib_net.sh, which
# it sources). Pebble, pebble-challtestsrv, named and the stubs listen on
# 127.0.0.1 only and are stopped by PID when the test exits.
#
#   acme_setup             skips (77) without pebble; makes Pebble's own TLS
#                          certificate ($PKI/pebble.full.pem, .key) under a
#                          test root ($ACME_CA, the driver's --ca-bundle)
#   acme_challtestsrv DNSPORT MGMTPORT
#                          pebble-challtestsrv: mock DNS on 127.0.0.1:DNSPORT
#                          (A queries -> 127.0.0.1, no AAAA), its own challenge
#                          servers off; CTS_MGMT is its management URL
#   acme_pebble NAME PORT MGMTPORT DNS EXTRA-JSON [ENV=VALUE...]
#                          a Pebble validating through DNS (HOST:PORT) with
#                          httpPort/tlsPort = $HTTP_PORT/$TLS_PORT (where the
#                          driver's standalone solvers listen) and
#                          PEBBLE_VA_NOSLEEP=1; EXTRA-JSON is added to its
#                          config (", \"key\": value"); sets PB_DIR[NAME],
#                          PB_MGMT[NAME]
#   ac NAME ARGS...        the acme_client driver against Pebble NAME (via run)
#   kv KEY                 the value of the driver's KEY=... line in $OUT
#   pb_get NAME PATH FILE  GET from Pebble NAME's management API into FILE
#   pb_chain NAME N        $ACME/NAME/root-N.pem and int-N.pem
#   verify_chain PEM ROOT  openssl verify of PEM (leaf + intermediates) against ROOT
#   subject_cn PEM / issuer_cn_top PEM   CN of the leaf / issuer CN of the
#                          last certificate in PEM
#   sans PEM               the leaf's subjectAltName entries, sorted, one per line
#   serial_of PEM          the leaf's serial in lowercase hex, no leading zeros
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"

: "${CL_ACME_CLIENT:?CL_ACME_CLIENT must name the acme_client test driver}"
[[ -x $CL_ACME_CLIENT ]] || fail "$CL_ACME_CLIENT is not executable"
ACME=$T/acme
ACME_CA=$PKI/root.pem
declare -A PB_DIR PB_MGMT

acme_setup() {
    if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
        echo "SKIP [$TEST_NAME]: needs pebble and pebble-challtestsrv" >&2
        exit 77
    fi
    mkdir -p "$ACME"
    net_pki
    net_leaf pebble ec DNS:localhost,IP:127.0.0.1
}

acme_challtestsrv() { # DNSPORT MGMTPORT
    net_bg challtestsrv pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
        -dns01 "127.0.0.1:$1" -http01 "" -https01 "" -tlsalpn01 "" -management "127.0.0.1:$2"
    net_wait_port challtestsrv "$NET_PID" "$2"
    CTS_MGMT=http://127.0.0.1:$2
}

acme_pebble() { # NAME PORT MGMTPORT DNS EXTRA-JSON [ENV=VALUE...]
    local name=$1 port=$2 mgmt=$3 dns=$4 extra=$5 d=$ACME/$1
    shift 5
    mkdir -p "$d"
    cat >"$d/config.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$port", "managementListenAddress": "127.0.0.1:$mgmt",
 "certificate": "$PKI/pebble.full.pem", "privateKey": "$PKI/pebble.key",
 "httpPort": $HTTP_PORT, "tlsPort": $TLS_PORT, "ocspResponderURL": ""$extra}}
EOF
    net_bg "pebble-$name" env -u PEBBLE_VA_ALWAYS_VALID PEBBLE_VA_NOSLEEP=1 "$@" \
        pebble -config "$d/config.json" -dnsserver "$dns"
    net_wait_port "pebble-$name" "$NET_PID" "$port"
    net_wait_port "pebble-$name" "$NET_PID" "$mgmt"
    PB_DIR[$name]=https://127.0.0.1:$port/dir
    PB_MGMT[$name]=https://127.0.0.1:$mgmt
}

ac() { # NAME ARGS...
    local name=$1
    shift
    run timeout 120 "$CL_ACME_CLIENT" --dir "${PB_DIR[$name]}" --ca-bundle "$ACME_CA" "$@"
}

# ac_ok NAME ARGS...: ac, which must succeed.
ac_ok() {
    ac "$@"
    if [[ $RC != 0 ]]; then
        fail "acme_client ${*:2} (pebble $1) failed with $RC:
$OUT
$ERR"
    fi
}

# ac_fails NAME ARGS...: ac, which must fail with exit status 1.
ac_fails() {
    ac "$@"
    if [[ $RC != 1 ]]; then
        fail "acme_client ${*:2} (pebble $1): expected exit 1, got $RC:
$OUT
$ERR"
    fi
}

kv() { sed -n "s/^$1=//p" <<<"$OUT" | head -n 1; }

pb_get() { # NAME PATH FILE
    "$PY" - "${PB_MGMT[$1]}$2" "$ACME_CA" "$3" <<'EOF' || fail "GET $2 from pebble $1"
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
with urllib.request.urlopen(sys.argv[1], context=ctx, timeout=10) as r:
    data = r.read()
with open(sys.argv[3], "wb") as f:
    f.write(data)
EOF
}

pb_chain() { # NAME N
    pb_get "$1" "/roots/$2" "$ACME/$1/root-$2.pem"
    pb_get "$1" "/intermediates/$2" "$ACME/$1/int-$2.pem"
}

# split_chain PEM DIR: DIR/leaf.pem and DIR/rest.pem (everything after the leaf)
split_chain() {
    mkdir -p "$2"
    awk -v d="$2" '/-----BEGIN CERTIFICATE-----/ { n++ }
        { print > (n == 1 ? d "/leaf.pem" : d "/rest.pem") }' "$1"
    [[ -s $2/rest.pem ]] || : >"$2/rest.pem"
}

verify_chain() { # PEM ROOT
    local d
    d=$(mktemp -d "$T/verify.XXXXXX")
    split_chain "$1" "$d"
    openssl verify -CAfile "$2" -untrusted "$d/rest.pem" "$d/leaf.pem" >"$d/out" 2>&1
}

subject_cn() { openssl x509 -in "$1" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p'; }

issuer_cn_top() {
    local d n
    d=$(mktemp -d "$T/top.XXXXXX")
    n=$(awk -v d="$d" '/-----BEGIN CERTIFICATE-----/ { n++ } { print > (d "/" n ".pem") }
        END { print n }' "$1")
    openssl x509 -in "$d/$n.pem" -noout -issuer -nameopt multiline |
        sed -n 's/^ *commonName *= //p'
}

sans() {
    openssl x509 -in "$1" -noout -ext subjectAltName | tail -n +2 | tr ',' '\n' |
        sed 's/^ *//; s/ *$//; s/IP Address:/IP:/' | grep . | sort
}

serial_of() {
    openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/^0*//'
}

# expect_problem TYPE STEP...: the last driver run failed with problem
# urn:ietf:params:acme:error:TYPE and its error names each STEP.
expect_problem() {
    local type=$1 s
    shift
    assert_contains "$OUT" "problem=urn:ietf:params:acme:error:$type" "problem type"
    for s in "$@"; do assert_contains "$(kv error)" "$s" "error message"; done
}
