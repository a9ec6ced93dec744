# shellcheck shell=bash disable=SC2034
# Helpers for the `certledger discover net` end-to-end tests (sourced instead
# of lib.sh, which it sources). Every server is started by the test on
# 127.0.0.1 / ::1 only, and stopped by PID when the test exits.
#
#   net_ports N            N distinct free TCP ports -> array PORTS
#   NET_V6                 1 when ::1 is usable (else the IPv6 cases are skipped)
#   net_pki                root CA, intermediate CA and a second, untrusted
#                          root in $PKI (root.pem, int.pem, xroot.pem + .key)
#   net_leaf NAME KEY SAN [OPENSSL-CA-ARGS...]
#                          a leaf issued by the intermediate: KEY is ec or rsa,
#                          SAN like DNS:a.net.test,IP:127.0.0.1 (the first DNS
#                          name is the CN) -> $PKI/NAME.pem, .key, .full.pem
#                          (leaf + intermediate)
#   net_selfsigned NAME SAN, net_other_leaf NAME SAN (issued by xroot.pem)
#   net_ocsp_response NAME  $PKI/NAME.ocsp.der: a "good" OCSP response for
#                          NAME.pem signed by the intermediate
#   net_nginx_block PORT SERVER_NAME CERT KEY [DIRECTIVE...]
#   net_nginx_start / net_nginx_reload / net_nginx_stop
#   net_s_server NAME PORT LEAF [S_SERVER-ARGS...]  ($PKI/LEAF.pem + intermediate)
#   net_fake PROTO PORT NAME [--refuse]   STARTTLS dialect (net_servers.py)
#   net_silent PORT, net_http PORT, net_marker PORT FILE [HOST]
#   net_smtpd PORT NAME    aiosmtpd, STARTTLS required, cert $PKI/NAME
#   net_postgres PORT NAME PostgreSQL 15 with ssl=on, cert $PKI/NAME
#   net_closed_port        a port nothing listens on -> $CLOSED_PORT
#   net_stop PID           stops one server started here (TERM, then KILL)
#   served_fp PORT [SNI] [STARTTLS-PROTO]  fingerprint s_client sees
#   chain_fps FILE...      the fingerprints of every certificate in the
#                          files, in order, space separated
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

NET_PY=$CL_SRC/tests/e2e/net_servers.py
NET_LOG=$T/log
PKI=$T/pki
mkdir -p "$NET_LOG" "$PKI"
NET_PIDS=()
need openssl
# NET_V6=1 when the loopback has ::1 (the IPv6 cases are skipped otherwise)
NET_V6=0
if "$PY" "$NET_PY" have-v6; then NET_V6=1; fi

# Servers are stopped (and waited for) before lib.sh removes $T.
_net_exit() {
    local rc=$?
    set +e   # a failing test must still be cleaned up
    net_stop_all
    (exit "$rc")
    _cl_cleanup
}
trap _net_exit EXIT

# ----------------------------------------------------------- processes ---
_net_alive() { # PID: running (not a zombie)
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ -n $st && $st != Z* ]]
}

net_stop() { # PID
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        _net_alive "$pid" || break
        sleep 0.1
    done
    if _net_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
    local keep=() p
    for p in "${NET_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    NET_PIDS=("${keep[@]}")
}

net_stop_all() {
    local p
    for p in "${NET_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${NET_PIDS[@]}"; do net_stop "$p"; done
}

# net_bg NAME CMD...: starts CMD in the background (output in $NET_LOG/NAME.log);
# its PID is in NET_PID.
net_bg() {
    local name=$1; shift
    "$@" </dev/null >"$NET_LOG/$name.log" 2>&1 &
    NET_PID=$!
    NET_PIDS+=("$NET_PID")
}

_net_died() { # NAME PID WHAT
    fail "$1 (pid $2) $3; its log:
$(tail -n 30 "$NET_LOG/$1.log" 2>/dev/null)"
}

# net_wait_file NAME PID FILE [SECONDS]: waits for a ready file.
net_wait_file() {
    local name=$1 pid=$2 file=$3 secs=${4:-30} i
    for ((i = 0; i < secs * 10; i++)); do
        [[ -e $file ]] && return 0
        _net_alive "$pid" || _net_died "$name" "$pid" "exited before it was ready"
        sleep 0.1
    done
    _net_died "$name" "$pid" "not ready after ${secs}s"
}

# net_wait_port NAME PID PORT [HOST] [SECONDS]: waits until HOST:PORT accepts.
net_wait_port() {
    local name=$1 pid=$2 port=$3 host=${4:-127.0.0.1} secs=${5:-30} i
    for ((i = 0; i < secs * 10; i++)); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
        _net_alive "$pid" || _net_died "$name" "$pid" "exited before it listened on $host:$port"
        sleep 0.1
    done
    _net_died "$name" "$pid" "not listening on $host:$port after ${secs}s"
}

# ---------------------------------------------------------------- ports ---
net_ports() { # N -> PORTS array
    local out
    out=$("$PY" "$NET_PY" ports "$1") || fail "could not find $1 free ports"
    read -r -a PORTS <<<"$out"
}

net_closed_port() {
    net_ports 1
    CLOSED_PORT=${PORTS[0]}
}

# ------------------------------------------------------------------ PKI ---
_net_q() { # CMD...: quiet; shows the command and its output on failure
    if ! "$@" >"$PKI/.q.out" 2>&1; then
        fail "command failed: $*
$(cat "$PKI/.q.out")"
    fi
}

_net_key() { # ec|rsa FILE
    case $1 in
    ec) _net_q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" ;;
    rsa) _net_q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" ;;
    *) fail "_net_key: key type $1" ;;
    esac
}

net_pki() {
    mkdir -p "$PKI/ca/newcerts"
    : >"$PKI/ca/index.txt"
    cat >"$PKI/ca.cnf" <<EOF
[req]
distinguished_name = dn
prompt             = no
[dn]
CN = placeholder
[ca]
default_ca = int_ca
[int_ca]
dir             = $PKI/ca
database        = \$dir/index.txt
new_certs_dir   = \$dir/newcerts
certificate     = $PKI/int.pem
private_key     = $PKI/int.key
rand_serial     = yes
default_md      = sha256
default_days    = 365
policy          = policy_any
unique_subject  = no
email_in_dn     = no
copy_extensions = none
[policy_any]
organizationName = optional
commonName       = supplied
[v3_ca]
basicConstraints     = critical, CA:TRUE
keyUsage             = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_int]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
[v3_leaf]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = \$ENV::NET_SAN
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
authorityInfoAccess    = OCSP;URI:http://127.0.0.1:9/ocsp
[v3_ocsp]
basicConstraints = critical, CA:FALSE
keyUsage         = critical, digitalSignature
extendedKeyUsage = OCSPSigning
EOF
    export NET_SAN=DNS:placeholder.net.test
    _net_key ec "$PKI/root.key"
    _net_q openssl req -config "$PKI/ca.cnf" -x509 -new -key "$PKI/root.key" -days 3650 \
        -subj "/O=Certledger Net Test/CN=Certledger Net Test Root" -extensions v3_ca \
        -out "$PKI/root.pem"
    _net_key ec "$PKI/int.key"
    _net_q openssl req -config "$PKI/ca.cnf" -new -key "$PKI/int.key" \
        -subj "/O=Certledger Net Test/CN=Certledger Net Test Intermediate" -out "$PKI/int.csr"
    _net_q openssl x509 -req -in "$PKI/int.csr" -CA "$PKI/root.pem" -CAkey "$PKI/root.key" \
        -CAcreateserial -days 3000 -extfile "$PKI/ca.cnf" -extensions v3_int -out "$PKI/int.pem"
    _net_key ec "$PKI/xroot.key"
    _net_q openssl req -config "$PKI/ca.cnf" -x509 -new -key "$PKI/xroot.key" -days 3650 \
        -subj "/O=Somebody Else/CN=Untrusted Test Root" -extensions v3_ca -out "$PKI/xroot.pem"
}

_net_cn() { # SAN -> first DNS name (or the first value)
    local s=${1#*DNS:}
    [[ $s == "$1" ]] && s=${1#*:}
    printf '%s' "${s%%,*}"
}

net_leaf() { # NAME ec|rsa SAN [openssl ca args...]
    local name=$1 kt=$2 san=$3; shift 3
    _net_key "$kt" "$PKI/$name.key"
    NET_SAN=$san _net_q openssl req -config "$PKI/ca.cnf" -new -key "$PKI/$name.key" \
        -subj "/O=Certledger Net Test/CN=$(_net_cn "$san")" -out "$PKI/$name.csr"
    NET_SAN=$san _net_q openssl ca -config "$PKI/ca.cnf" -batch -notext -extensions v3_leaf \
        -in "$PKI/$name.csr" -out "$PKI/$name.pem" "$@"
    cat "$PKI/$name.pem" "$PKI/int.pem" >"$PKI/$name.full.pem"
}

net_selfsigned() { # NAME SAN
    _net_key ec "$PKI/$1.key"
    _net_q openssl req -config "$PKI/ca.cnf" -x509 -new -key "$PKI/$1.key" -days 365 \
        -subj "/O=Certledger Net Test/CN=$(_net_cn "$2")" \
        -addext basicConstraints=critical,CA:FALSE -addext "subjectAltName=$2" \
        -out "$PKI/$1.pem"
}

net_other_leaf() { # NAME SAN: issued by the untrusted root; NAME.full.pem = leaf + root
    _net_key ec "$PKI/$1.key"
    NET_SAN=$2 _net_q openssl req -config "$PKI/ca.cnf" -new -key "$PKI/$1.key" \
        -subj "/O=Certledger Net Test/CN=$(_net_cn "$2")" -out "$PKI/$1.csr"
    NET_SAN=$2 _net_q openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/xroot.pem" \
        -CAkey "$PKI/xroot.key" -CAcreateserial -days 365 -extfile "$PKI/ca.cnf" \
        -extensions v3_leaf -out "$PKI/$1.pem"
    cat "$PKI/$1.pem" "$PKI/xroot.pem" >"$PKI/$1.full.pem"
}

net_ocsp_response() { # NAME
    _net_q openssl ocsp -issuer "$PKI/int.pem" -cert "$PKI/$1.pem" -no_nonce \
        -reqout "$PKI/$1.ocsp-req.der"
    _net_q openssl ocsp -index "$PKI/ca/index.txt" -CA "$PKI/int.pem" -rsigner "$PKI/int.pem" \
        -rkey "$PKI/int.key" -reqin "$PKI/$1.ocsp-req.der" -respout "$PKI/$1.ocsp.der" -ndays 7
}

chain_fps() { # FILE...: every certificate of the files, in order
    local f out=()
    for f in "$@"; do
        while IFS= read -r fp; do out+=("$fp"); done < <(
            "$PY" - "$f" <<'EOF'
import hashlib, re, ssl, sys
pem = open(sys.argv[1]).read()
for b in re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", pem, re.S):
    print(hashlib.sha256(ssl.PEM_cert_to_DER_cert(b)).hexdigest())
EOF
        )
    done
    printf '%s' "${out[*]}"
}

# subject_of FILE: RFC 4514 subject (most specific RDN first), like the scanner
subject_of() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
issuer_of() { openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//'; }
# not_after_of FILE: RFC 3339 UTC
not_after_of() {
    openssl x509 -in "$1" -noout -enddate -dateopt iso_8601 |
        sed -E 's/^notAfter=([0-9-]+) ([0-9:]+)Z$/\1T\2Z/'
}

# served_fp PORT [SNI] [STARTTLS]: the leaf fingerprint openssl s_client sees.
served_fp() {
    local port=$1 sni=${2:-} st=${3:-} args
    args=(-connect "127.0.0.1:$port")
    if [[ -n $sni ]]; then args+=(-servername "$sni"); else args+=(-noservername); fi
    if [[ -n $st ]]; then args+=(-starttls "$st"); fi
    timeout 15 openssl s_client "${args[@]}" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 2>/dev/null |
        sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}

# --------------------------------------------------------------- nginx ---
NGX=$T/nginx
net_nginx_block() { # PORT SERVER_NAME CERT KEY [DIRECTIVE...]
    # Listens on every address of NGX_ADDRS (default 127.0.0.1 and [::1]
    # when NET_V6); the
    # directive "http2" goes to the listen lines.
    local port=$1 name=$2 cert=$3 key=$4 d a opts=ssl
    shift 4
    mkdir -p "$NGX"
    for d in "$@"; do
        if [[ $d == http2 ]]; then opts="ssl http2"; fi
    done
    {
        echo "server {"
        for a in "${NGX_ADDRS[@]}"; do
            echo "    listen $a:$port $opts;"
            NGX_LISTENS+=("$a $port")
        done
        echo "    server_name $name;"
        echo "    ssl_certificate $cert;"
        echo "    ssl_certificate_key $key;"
        for d in "$@"; do
            if [[ $d != http2 ]]; then echo "    $d;"; fi
        done
        printf '    location / { return 200 "%s\\n"; }\n' "$name"
        echo "}"
    } >>"$NGX/servers.conf"
}
NGX_LISTENS=()
NGX_ADDRS=(127.0.0.1)
if ((NET_V6)); then NGX_ADDRS+=("[::1]"); fi
NGX_PID=

net_nginx_start() {
    need nginx
    mkdir -p "$NGX/tmp"
    cat >"$NGX/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log notice;
events { worker_connections 512; }
http {
    access_log off;
    # Defaults every block inherits unless it sets its own, so that what a
    # handshake negotiates does not depend on the client's preferences.
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
    ssl_ecdh_curve X25519;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    include $NGX/servers.conf;
}
EOF
    nginx -t -q -e "$NGX/error.log" -p "$NGX" -c "$NGX/nginx.conf" >"$NET_LOG/nginx-t.log" 2>&1 ||
        fail "nginx -t: $(cat "$NET_LOG/nginx-t.log" "$NGX/error.log" 2>/dev/null)"
    net_bg nginx nginx -e "$NGX/error.log" -p "$NGX" -c "$NGX/nginx.conf"
    NGX_PID=$NET_PID
    local l a
    for l in "${NGX_LISTENS[@]}"; do
        a=${l% *}
        a=${a#[}
        net_wait_port nginx "$NGX_PID" "${l#* }" "${a%]}"
    done
}

# net_nginx_reload PORT SNI FP: SIGHUP, then waits until PORT serves FP.
net_nginx_reload() {
    local port=$1 sni=$2 fp=$3 i
    nginx -t -q -e "$NGX/error.log" -p "$NGX" -c "$NGX/nginx.conf" >"$NET_LOG/nginx-t.log" 2>&1 ||
        fail "nginx -t: $(cat "$NET_LOG/nginx-t.log")"
    # the old workers keep accepting until they have closed their listening
    # sockets: wait until they are gone, then until the new certificate is
    # what a fresh connection gets
    local old
    old=$(pgrep -P "$NGX_PID" | tr '\n' ' ')
    kill -HUP "$NGX_PID"
    for ((i = 0; i < 150; i++)); do
        local alive=0 w
        for w in $old; do
            if kill -0 "$w" 2>/dev/null; then alive=1; fi
        done
        if ((alive == 0)) && [[ $(served_fp "$port" "$sni") == "$fp" ]]; then
            return 0
        fi
        sleep 0.2
    done
    fail "nginx still does not serve $fp on $port after a reload: $(tail -n 20 "$NGX/error.log")"
}

net_nginx_stop() { net_stop "$NGX_PID"; }

# ---------------------------------------------------------- s_server ---
net_s_server() { # NAME PORT LEAF [ARGS...]: serves $PKI/LEAF.pem + the intermediate
    local name=$1 port=$2 leaf=$3
    shift 3
    net_bg "$name" openssl s_server -accept "127.0.0.1:$port" -cert "$PKI/$leaf.pem" \
        -key "$PKI/$leaf.key" -cert_chain "$PKI/int.pem" -www "$@"
    net_wait_port "$name" "$NET_PID" "$port"
}

# ------------------------------------------------------------- python ---
net_fake() { # PROTO PORT NAME [--refuse]: STARTTLS dialect with $PKI/NAME.full.pem
    local proto=$1 port=$2 name=$3 tag="fake-$1-$2"; shift 3
    net_bg "$tag" "$PY" "$NET_PY" starttls "$proto" --port "$port" --ready "$T/.ready-$tag" \
        --cert "$PKI/$name.full.pem" --key "$PKI/$name.key" "$@"
    net_wait_file "$tag" "$NET_PID" "$T/.ready-$tag"
}

net_silent() { # PORT
    net_bg "silent-$1" "$PY" "$NET_PY" silent --port "$1" --ready "$T/.ready-silent-$1"
    net_wait_file "silent-$1" "$NET_PID" "$T/.ready-silent-$1"
}

net_http() { # PORT
    net_bg "http-$1" "$PY" "$NET_PY" http --port "$1" --ready "$T/.ready-http-$1"
    net_wait_file "http-$1" "$NET_PID" "$T/.ready-http-$1"
}

net_marker() { # PORT FILE [HOST]
    local host=${3:-127.0.0.1} tag="marker-${3:-127.0.0.1}-$1"
    net_bg "$tag" "$PY" "$NET_PY" marker --host "$host" --port "$1" --marker "$2" \
        --ready "$T/.ready-$tag"
    net_wait_file "$tag" "$NET_PID" "$T/.ready-$tag"
}

net_smtpd() { # PORT NAME
    if ! "$PY" -c 'import aiosmtpd' 2>/dev/null; then
        echo "SKIP [$TEST_NAME]: needs python3-aiosmtpd for $PY" >&2
        exit 77
    fi
    net_bg "smtpd-$1" "$PY" "$NET_PY" smtpd --port "$1" --ready "$T/.ready-smtpd-$1" \
        --cert "$PKI/$2.full.pem" --key "$PKI/$2.key"
    net_wait_file "smtpd-$1" "$NET_PID" "$T/.ready-smtpd-$1" 60
}

# ------------------------------------------------------------ postgres ---
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
net_postgres() { # PORT NAME
    local port=$1 name=$2 d=$T/pg
    if [[ ! -x $PG_BIN/initdb || ! -x $PG_BIN/postgres ]]; then
        echo "SKIP [$TEST_NAME]: needs PostgreSQL 15 ($PG_BIN)" >&2
        exit 77
    fi
    mkdir -p "$d/sock"
    cp "$PKI/$name.full.pem" "$d/server.crt"
    cp "$PKI/$name.key" "$d/server.key"
    chmod 0600 "$d/server.key"
    give_to_nobody "$d"
    (cd "$d" && as_nobody "$PG_BIN/initdb" -D "$d/data" -A trust -U postgres --no-sync \
        --no-instructions) >"$NET_LOG/initdb.log" 2>&1 ||
        fail "initdb failed: $(tail -n 20 "$NET_LOG/initdb.log")"
    local asn=()
    if is_root; then need setpriv; asn=(setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups); fi
    net_bg postgres "${asn[@]}" "$PG_BIN/postgres" -D "$d/data" -c listen_addresses=127.0.0.1 \
        -c port="$port" -c unix_socket_directories="$d/sock" -c ssl=on \
        -c ssl_cert_file="$d/server.crt" -c ssl_key_file="$d/server.key" -c fsync=off \
        -c shared_buffers=16MB -c max_connections=20 -c logging_collector=off
    PG_PID=$NET_PID
    net_wait_port postgres "$PG_PID" "$port" 127.0.0.1 60
}

# ------------------------------------------------------------ scanning ---
# scan ARGS...: certledger discover net with the test CA as trust anchor, must
# exit 0; sets SCAN_T0/SCAN_T1 (epoch seconds around the run) for days_left.
SCAN_OPTS=(--no-progress --connect-timeout 3s --handshake-timeout 8s --starttls-timeout 8s)
scan() {
    SCAN_T0=$(date +%s)
    assert_rc 0 timeout 180 "$CERTLEDGER" --db "$DB" discover net "${SCAN_OPTS[@]}" \
        --ca-bundle "$PKI/root.pem" "$@"
    SCAN_T1=$(date +%s)
}

# Expected endpoint rows, checked by net_check.py:
#   exp_reset                 starts a new expectation file ($EXPECT)
#   exp_row ADDR PORT SNI FIELD=STRING | FIELD:=JSON | FIELD~=SUBSTRING
#           | leaf=PEM (fingerprint, subject, issuer, not_after of PEM)
#           | chain=PEM[,PEM...] (fingerprints of all certificates in the files)
# FIELD~= is for error and verify_detail (case-insensitive; repeatable).
NET_EXP_N=0
exp_reset() {
    NET_EXP_N=$((NET_EXP_N + 1))
    EXPECT=$T/expect-$NET_EXP_N.jsonl
    : >"$EXPECT"
}

exp_row() {
    local addr=$1 port=$2 sni=$3 kv=() a f files
    shift 3
    for a in "$@"; do
        case $a in
        leaf=*)
            f=${a#leaf=}
            kv+=("leaf_fingerprint=$(fingerprint "$f")" "subject=$(subject_of "$f")"
                 "issuer=$(issuer_of "$f")" "not_after=$(not_after_of "$f")") ;;
        chain=*)
            IFS=, read -r -a files <<<"${a#chain=}"
            kv+=("chain:=$(chain_fps "${files[@]}" | "$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read().split()))')") ;;
        *) kv+=("$a") ;;
        esac
    done
    "$PY" - "$addr" "$port" "$sni" "${kv[@]}" >>"$EXPECT" <<'PYEOF' || fail "exp_row $*"
import json, sys
addr, port, sni = sys.argv[1:4]
d = {"address": addr, "port": int(port), "sni": sni}
for a in sys.argv[4:]:
    k, v = a.split("=", 1)
    if k.endswith(":"):
        d[k[:-1]] = json.loads(v)
    elif k.endswith("~"):
        d.setdefault(k, []).append(v)
    else:
        d[k] = v
print(json.dumps(d))
PYEOF
}

# check_rows FILE [net_check.py ARGS...]: FILE against $EXPECT (rows and
# shape, days_left against the last scan's window); fails the test with
# every problem found. A trailing unreachable_since field is accepted (the
# exact field list of --output is checked once, by 0020).
check_rows() {
    local file=$1 msg
    shift
    if ! msg=$("$PY" "$CL_SRC/tests/e2e/net_check.py" "$file" --expect "$EXPECT" \
               --window "${SCAN_T0:-0}" "$(date +%s)" --extra unreachable_since "$@" 2>&1); then
        fail "endpoint rows: $msg"
    fi
}

# endpoints_to FILE [ARGS...]: certledger endpoints --format json into FILE.
endpoints_to() {
    local file=$1
    shift
    assert_rc 0 "$CERTLEDGER" --db "$DB" endpoints --format json "$@"
    printf '%s' "$OUT" >"$file"
}
