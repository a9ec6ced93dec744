#!/usr/bin/env bash
# The ACME client library (src/acme) through the acme_client test driver
# (CL_ACME_CLIENT) against Pebble and pebble-challtestsrv on 127.0.0.1,
# every validation for real (PEBBLE_VA_NOSLEEP=1, PEBBLE_VA_ALWAYS_VALID unset):
#  - directory, account create / reuse / find, terms of service, contacts;
#  - HTTP-01 standalone and webroot, DNS-01 through a hook (TXT records set at
#    challtestsrv's management API; values checked against a JWK thumbprint
#    computed here), TLS-ALPN-01, IP identifiers, wildcard + many names with
#    challenges chosen by preference, ECDSA P-384 and RSA keys, RS256 accounts,
#    notAfter;
#    every chain verified with openssl against Pebble's root;
#  - renewal (a new order; valid authorizations reused), revocation by the
#    account key and by the certificate key (checked at Pebble's
#    cert-status-by-serial), key rollover, account deactivation;
#  - problem documents: the failing step, URL and problem type in the error;
#  - badNonce: Pebble rejecting half of all good nonces, the flow still works;
#  - External Account Binding (Pebble requiring it, with a test MAC key);
#  - alternate chains (PEBBLE_ALTERNATE_ROOTS=2) chosen by issuer name;
#  - DNS-01 by RFC 2136 UPDATE with TSIG into a real named (when installed);
#  - ACME Renewal Information: Pebble's directory is checked for renewalInfo;
#    the client side runs against a stub, its CertID computed here with openssl.
# CL_ACME_VALGRIND=1 also runs one full issuance under valgrind.
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_acme.sh"
acme_setup
umask 022
net_ports 16
DNS_PORT=${PORTS[0]} CTS_PORT=${PORTS[1]} HTTP_PORT=${PORTS[2]} TLS_PORT=${PORTS[3]}
MAIN_PORT=${PORTS[4]} MAIN_MGMT=${PORTS[5]} NONCE_PORT=${PORTS[6]} NONCE_MGMT=${PORTS[7]}
EAB_PORT=${PORTS[8]} EAB_MGMT=${PORTS[9]} ALT_PORT=${PORTS[10]} ALT_MGMT=${PORTS[11]}
NAMED_PORT=${PORTS[12]} R2136_PORT=${PORTS[13]} R2136_MGMT=${PORTS[14]} ARI_PORT=${PORTS[15]}
EAB_KID=kid-certledger
EAB_KEY=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W

acme_challtestsrv "$DNS_PORT" "$CTS_PORT"
acme_pebble main "$MAIN_PORT" "$MAIN_MGMT" "127.0.0.1:$DNS_PORT" \
    ', "externalAccountBindingRequired": false' PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=100
acme_pebble nonce "$NONCE_PORT" "$NONCE_MGMT" "127.0.0.1:$DNS_PORT" \
    ', "externalAccountBindingRequired": false' PEBBLE_WFE_NONCEREJECT=50 PEBBLE_AUTHZREUSE=0
acme_pebble eab "$EAB_PORT" "$EAB_MGMT" "127.0.0.1:$DNS_PORT" \
    ", \"externalAccountBindingRequired\": true, \"externalAccountMACKeys\": {\"$EAB_KID\": \"$EAB_KEY\"}" \
    PEBBLE_WFE_NONCEREJECT=0
acme_pebble alt "$ALT_PORT" "$ALT_MGMT" "127.0.0.1:$DNS_PORT" \
    ', "externalAccountBindingRequired": false' PEBBLE_WFE_NONCEREJECT=0 PEBBLE_ALTERNATE_ROOTS=2
pb_chain main 0

export ACME_CTS_MGMT=$CTS_MGMT ACME_HOOK_LOG=$ACME/hook.log
HOOK=$ACME/acme_hook.py   # a copy: executable whatever the checkout kept
cp "$CL_SRC/tests/e2e/acme_hook.py" "$HOOK"
chmod 0755 "$HOOK"
K=$ACME/keys
C=$ACME/certs
mkdir -p "$K" "$C"

# check_thumbprint KEY: every line of the hook log has VALUE =
# base64url(SHA-256(TOKEN "." thumbprint(KEY))), the thumbprint computed
# here from the public key (RFC 7638) independently of the library.
check_thumbprint() {
    openssl pkey -in "$1" -pubout -outform DER -out "$ACME/pub.der" 2>/dev/null ||
        fail "openssl pkey $1"
    "$PY" - "$ACME/pub.der" "$ACME_HOOK_LOG" <<'EOF' || fail "hook values do not match the key authorization"
import base64, hashlib, sys
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
xy = open(sys.argv[1], "rb").read()[-64:]
jwk = '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' % (b64u(xy[:32]), b64u(xy[32:]))
thumb = b64u(hashlib.sha256(jwk.encode()).digest())
lines = [l.split() for l in open(sys.argv[2]) if l.strip()]
assert lines, "the hook never ran"
for verb, domain, token, value in lines:
    want = b64u(hashlib.sha256((token + "." + thumb).encode()).digest())
    assert value == want, "%s %s: value %s, expected %s" % (verb, domain, value, want)
EOF
}

# ------------------------------------------------------------ directory ---
ac_ok main directory
assert_contains "$OUT" "tos=data:text/plain" "terms of service"
assert_eq 0 "$(kv eab_required)" "eab_required"
PEBBLE_ARI=$(kv ari)

# -------------------------------------------------------------- accounts ---
ac_fails main --account-key "$K/a.key" account
expect_problem agreementRequired "new account https://127.0.0.1:$MAIN_PORT/"
ac_ok main --account-key "$K/a.key" account --agree-tos --contact ops@example.test \
    --contact mailto:pki@example.test
assert_eq 1 "$(kv created)" "first registration creates"
ACCT=$(kv account)
[[ $ACCT == https://127.0.0.1:$MAIN_PORT/* ]] || fail "account URL: $ACCT"
assert_eq 600 "$(stat -c %a "$K/a.key")" "account key file mode"
grep -q 'BEGIN PRIVATE KEY' "$K/a.key" || fail "account key is not PKCS#8 PEM"
ac_ok main --account-key "$K/a.key" account --agree-tos
assert_eq 0 "$(kv created)" "a known key is reused"
assert_eq "$ACCT" "$(kv account)" "same account"
ac_ok main --account-key "$K/a.key" account --only-existing
assert_eq "$ACCT" "$(kv account)" "found by key"
ac_fails main --account-key "$K/nobody.key" account --only-existing
expect_problem accountDoesNotExist "find account"
ac_fails main --account-key "$K/a.key" account --agree-tos --contact 'a@b.test,c@d.test'
assert_contains "$(kv error)" "contact 1 is not an e-mail address" "contact check"

# ---------------------------------------------------- HTTP-01 standalone ---
ac_ok main --account-key "$K/a.key" issue --name www.example.test --name example.test \
    --http-port "$HTTP_PORT" --out-cert "$C/http.pem" --out-key "$C/http.key"
assert_eq "DNS:example.test
DNS:www.example.test" "$(sans "$C/http.pem")" "HTTP-01 names"
verify_chain "$C/http.pem" "$ACME/main/root-0.pem" || fail "HTTP-01 chain does not verify"
assert_eq 600 "$(stat -c %a "$C/http.key")" "certificate key mode"
[[ $(openssl pkey -in "$C/http.key" -pubout) == "$(openssl x509 -in "$C/http.pem" -noout -pubkey)" ]] ||
    fail "the certificate is not for the key written"
[[ $(kv order) == https://127.0.0.1:$MAIN_PORT/* ]] || fail "order URL: $OUT"

# --------------------------------------------------------------- webroot ---
WR=$ACME/webroot
mkdir -p "$WR"
net_bg webroot "$PY" -m http.server --bind 127.0.0.1 --directory "$WR" "$HTTP_PORT"
WR_PID=$NET_PID
net_wait_port webroot "$WR_PID" "$HTTP_PORT"
ac_ok main --account-key "$K/a.key" issue --name webroot.example.test --webroot "$WR" \
    --out-cert "$C/webroot.pem"
verify_chain "$C/webroot.pem" "$ACME/main/root-0.pem" || fail "webroot chain does not verify"
grep -q 'GET /.well-known/acme-challenge/' "$NET_LOG/webroot.log" ||
    fail "Pebble never fetched the token from the web root"
[[ -d $WR/.well-known/acme-challenge && -z $(ls -A "$WR/.well-known/acme-challenge") ]] ||
    fail "the token file was not removed: $(ls -la "$WR/.well-known/acme-challenge")"
net_stop "$WR_PID"

# ----------------------------------------------------------- DNS-01 hook ---
: >"$ACME_HOOK_LOG"
ac_ok main --account-key "$K/a.key" issue --name '*.wild.example.test' \
    --name wild.example.test --dns-hook "$HOOK" --out-cert "$C/wild.pem"
assert_eq "DNS:*.wild.example.test
DNS:wild.example.test" "$(sans "$C/wild.pem")" "wildcard names"
verify_chain "$C/wild.pem" "$ACME/main/root-0.pem" || fail "wildcard chain does not verify"
assert_eq "cleanup wild.example.test
cleanup wild.example.test
present wild.example.test
present wild.example.test" "$(cut -d' ' -f1,2 "$ACME_HOOK_LOG" | sort)" "hook calls"
check_thumbprint "$K/a.key"

# a failing hook: its exit status and (sanitised) output are in the error
ACME_HOOK_FAIL=1 ac_fails main --account-key "$K/a.key" issue --name hookfail.example.test \
    --dns-hook "$HOOK"
assert_contains "$(kv error)" "present challenge: dns-01 hook for hookfail.example.test" "hook step"
assert_contains "$(kv error)" "exited with status 3: the DNS provider said no[31m (colour)" \
    "hook output (escape character removed)"
# a hook overrunning its time is stopped
ACME_HOOK_SLEEP=30 ac_fails main --account-key "$K/a.key" issue --name slow.example.test \
    --dns-hook "$HOOK" --hook-timeout 1
assert_contains "$(kv error)" "timed out after 1 s" "hook timeout"

# ----------------------------------------------------------- TLS-ALPN-01 ---
ac_ok main --account-key "$K/a.key" issue --name alpn.example.test --tlsalpn-port "$TLS_PORT" \
    --out-cert "$C/alpn.pem"
verify_chain "$C/alpn.pem" "$ACME/main/root-0.pem" || fail "TLS-ALPN-01 chain does not verify"

# ----------------------------------------------------------- IP addresses ---
ac_ok main --account-key "$K/a.key" issue --ip 127.0.0.1 --http-port "$HTTP_PORT" \
    --out-cert "$C/ip-http.pem"
assert_eq "IP:127.0.0.1" "$(sans "$C/ip-http.pem")" "IP identifier (HTTP-01)"
ac_ok main --account-key "$K/a.key" issue --ip 127.0.0.1 --tlsalpn-port "$TLS_PORT" \
    --out-cert "$C/ip-alpn.pem"
verify_chain "$C/ip-alpn.pem" "$ACME/main/root-0.pem" || fail "IP chain does not verify"

# ------------------------------------- many names, solvers by preference ---
: >"$ACME_HOOK_LOG"
names=()
for i in $(seq 1 24); do names+=(--name "n$i.many.example.test"); done
ac_ok main --account-key "$K/a.key" issue "${names[@]}" --name '*.many.example.test' \
    --http-port "$HTTP_PORT" --dns-hook "$HOOK" --out-cert "$C/many.pem" --timeout 120
assert_eq 25 "$(sans "$C/many.pem" | wc -l)" "25 names"
verify_chain "$C/many.pem" "$ACME/main/root-0.pem" || fail "many-name chain does not verify"
assert_eq "present many.example.test" "$(grep present "$ACME_HOOK_LOG" | cut -d' ' -f1,2)" \
    "only the wildcard went to DNS-01 (HTTP-01 preferred)"

# ------------------------------------------------------------- key types ---
ac_ok main --account-key "$K/a.key" issue --name p384.example.test --key-type ec384 \
    --http-port "$HTTP_PORT" --out-cert "$C/p384.pem" --out-key "$C/p384.key"
assert_contains "$(openssl x509 -in "$C/p384.pem" -noout -text)" "NIST CURVE: P-384" "P-384 key"
ac_ok main --account-key "$K/a.key" issue --name rsa.example.test --key-type rsa2048 \
    --http-port "$HTTP_PORT" --out-cert "$C/rsa.pem"
assert_contains "$(openssl x509 -in "$C/rsa.pem" -noout -text)" "Public-Key: (2048 bit)" "RSA key"
ac_ok main --account-key "$K/rsa-account.key" --account-key-type rsa2048 account --agree-tos
assert_eq 1 "$(kv created)" "RS256 account"
ac_ok main --account-key "$K/rsa-account.key" issue --name rs256.example.test \
    --http-port "$HTTP_PORT" --out-cert "$C/rs256.pem"
verify_chain "$C/rs256.pem" "$ACME/main/root-0.pem" || fail "RS256 account's chain does not verify"

# notAfter asked for in the order
ac_ok main --account-key "$K/a.key" issue --name notafter.example.test --http-port "$HTTP_PORT" \
    --not-after 2030-01-01T00:00:00Z --out-cert "$C/notafter.pem"
assert_eq "notAfter=Jan  1 00:00:00 2030 GMT" "$(openssl x509 -in "$C/notafter.pem" -noout -enddate)" \
    "notAfter"

# --------------------------------------------------------------- renewal ---
# a new order for the same names with a new key; the authorizations are
# still valid (PEBBLE_AUTHZREUSE=100), so no solver is needed at all
ac_ok main --account-key "$K/a.key" cert-id --cert "$C/http.pem"
OLD_ID=$(kv certid)
ac_ok main --account-key "$K/a.key" issue --name www.example.test --name example.test \
    --replaces "$OLD_ID" --out-cert "$C/http-renewed.pem"
assert_eq "$(sans "$C/http.pem")" "$(sans "$C/http-renewed.pem")" "renewal names"
[[ $(serial_of "$C/http.pem") != "$(serial_of "$C/http-renewed.pem")" ]] ||
    fail "the renewal is the same certificate"
[[ $(openssl x509 -in "$C/http.pem" -noout -pubkey) != \
   "$(openssl x509 -in "$C/http-renewed.pem" -noout -pubkey)" ]] || fail "the renewal reused the key"
verify_chain "$C/http-renewed.pem" "$ACME/main/root-0.pem" || fail "renewed chain does not verify"

# ------------------------------------------------------------ revocation ---
cert_status() { # PEM -> $ACME/status.json
    pb_get main "/cert-status-by-serial/$(serial_of "$1")" "$ACME/status.json"
}
ac_ok main --account-key "$K/a.key" revoke --cert "$C/alpn.pem" --reason 4
cert_status "$C/alpn.pem"
pyassert -f "$ACME/status.json" 'check(d["Status"] == "Revoked" and d["Reason"] == 4, d)'
ac_ok main --account-key "$K/a.key" revoke --cert "$C/http.pem" --cert-key "$C/http.key" \
    --reason 1
cert_status "$C/http.pem"
pyassert -f "$ACME/status.json" 'check(d["Status"] == "Revoked" and d["Reason"] == 1, d)'
cert_status "$C/webroot.pem"
pyassert -f "$ACME/status.json" 'check(d["Status"] == "Valid", d)'
ac_fails main --account-key "$K/a.key" revoke --cert "$C/alpn.pem"
expect_problem alreadyRevoked "revoke certificate https://127.0.0.1:$MAIN_PORT/"
# another account cannot revoke it with its own key
ac_ok main --account-key "$K/rsa-account.key" account --only-existing
ac_fails main --account-key "$K/rsa-account.key" revoke --cert "$C/webroot.pem"
expect_problem unauthorized "revoke certificate"

# ------------------------------------------------------ problem documents ---
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -subj /CN=other.example.test -addext subjectAltName=DNS:other.example.test \
    -out "$ACME/other.csr" 2>/dev/null || fail "openssl req"
ac_fails main --account-key "$K/a.key" issue --name csr.example.test --http-port "$HTTP_PORT" \
    --csr "$ACME/other.csr"
assert_contains "$(kv error)" "finalize order https://127.0.0.1:$MAIN_PORT/" "finalize step"
assert_contains "$(kv error)" ": urn:ietf:params:acme:error:" "problem type in the message"
assert_contains "$(kv error)" "csr.example.test" "the CA's detail, verbatim"
mkdir -p "$ACME/nowhere"
ac_fails main --account-key "$K/a.key" issue --name refused.example.test --webroot "$ACME/nowhere"
expect_problem connection "authorization for refused.example.test (http-01) https://127.0.0.1:$MAIN_PORT/"
ac_fails main --account-key "$K/a.key" issue --name '*.nosolver.example.test' \
    --http-port "$HTTP_PORT"
assert_contains "$(kv error)" "no solver for the challenges offered (dns-01)" "no solver"
ac_fails main --account-key "$K/a.key" issue --name 'bad..name.test' --http-port "$HTTP_PORT"
assert_contains "$(kv error)" "is not a DNS name" "a bad name never reaches the CA"

# ----------------------------------------------------------- key rollover ---
ac_ok main --account-key "$K/a.key" key-change --new-key "$K/a2.key"
assert_eq 1 "$(kv key_changed)" "key change"
ac_fails main --account-key "$K/a.key" account --only-existing
expect_problem accountDoesNotExist
ac_ok main --account-key "$K/a2.key" account --only-existing
assert_eq "$ACCT" "$(kv account)" "the account moved to the new key"
ac_ok main --account-key "$K/a2.key" issue --name rolled.example.test --http-port "$HTTP_PORT" \
    --out-cert "$C/rolled.pem"
verify_chain "$C/rolled.pem" "$ACME/main/root-0.pem" || fail "chain after rollover"

# ------------------------------------------------------------ deactivation ---
ac_ok main --account-key "$K/a2.key" deactivate
assert_eq 1 "$(kv deactivated)" "deactivated"
ac_fails main --account-key "$K/a2.key" account --agree-tos
expect_problem unauthorized "new account"
ac_fails main --account-key "$K/a2.key" issue --name late.example.test --http-port "$HTTP_PORT"
expect_problem unauthorized

# --------------------------------------------------------------- badNonce ---
nonces=0
ac_ok nonce --account-key "$K/n.key" account --agree-tos
n=$(kv bad_nonces)
nonces=$((nonces + ${n:-0}))
for i in 1 2 3; do
    ac_ok nonce --account-key "$K/n.key" issue --name "n$i.nonce.example.test" \
        --name "m$i.nonce.example.test" --http-port "$HTTP_PORT" --out-cert "$C/nonce$i.pem"
    n=$(kv bad_nonces)
    nonces=$((nonces + ${n:-0}))
done
ac_ok nonce --account-key "$K/n.key" revoke --cert "$C/nonce1.pem"
((nonces > 0)) || fail "Pebble rejected half of the nonces, yet no badNonce was retried"
echo "badNonce answers retried: $nonces" >&2

# -------------------------------------------------- External Account Binding ---
ac_ok eab directory
assert_eq 1 "$(kv eab_required)" "EAB required"
ac_fails eab --account-key "$K/e.key" account --agree-tos
expect_problem externalAccountRequired "new account"
ac_fails eab --account-key "$K/e.key" account --agree-tos --eab-kid "$EAB_KID" \
    --eab-key zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12X
assert_contains "$OUT" "problem=urn:ietf:params:acme:error:" "wrong MAC key refused"
ac_fails eab --account-key "$K/e.key" account --agree-tos --eab-kid nobody --eab-key "$EAB_KEY"
assert_contains "$OUT" "problem=urn:ietf:params:acme:error:" "unknown key id refused"
ac_fails eab --account-key "$K/e.key" account --agree-tos --eab-kid "$EAB_KID" --eab-key 'not base64!'
assert_contains "$(kv error)" "base64url MAC key" "a bad MAC key never leaves"
ac_ok eab --account-key "$K/e.key" account --agree-tos --eab-kid "$EAB_KID" --eab-key "$EAB_KEY"
assert_eq 1 "$(kv created)" "EAB account"
ac_ok eab --account-key "$K/e.key" issue --name eab.example.test --http-port "$HTTP_PORT" \
    --out-cert "$C/eab.pem"

# -------------------------------------------------------- alternate chains ---
for n in 0 1 2; do pb_chain alt "$n"; done
ROOT1=$(subject_cn "$ACME/alt/root-1.pem")
ROOT2=$(subject_cn "$ACME/alt/root-2.pem")
[[ -n $ROOT2 && $ROOT1 != "$ROOT2" ]] || fail "alternate roots: [$ROOT1] [$ROOT2]"
ac_ok alt --account-key "$K/alt.key" account --agree-tos
ac_ok alt --account-key "$K/alt.key" issue --name alt.example.test --http-port "$HTTP_PORT" \
    --preferred-chain "$ROOT2" --out-cert "$C/alt2.pem"
assert_eq 1 "$(kv chain_matched)" "preferred chain found"
assert_eq "$ROOT2" "$(issuer_cn_top "$C/alt2.pem")" "chain chosen by issuer name"
verify_chain "$C/alt2.pem" "$ACME/alt/root-2.pem" || fail "the chosen chain does not verify"
if verify_chain "$C/alt2.pem" "$ACME/alt/root-0.pem"; then fail "the chosen chain is the default"; fi
ac_ok alt --account-key "$K/alt.key" issue --name alt1.example.test --http-port "$HTTP_PORT" \
    --preferred-chain "$ROOT1" --out-cert "$C/alt1.pem"
verify_chain "$C/alt1.pem" "$ACME/alt/root-1.pem" || fail "root 1 chain does not verify"
ac_ok alt --account-key "$K/alt.key" issue --name alt0.example.test --http-port "$HTTP_PORT" \
    --preferred-chain "No Such Root" --out-cert "$C/alt0.pem"
assert_eq 0 "$(kv chain_matched)" "no chain matches"
verify_chain "$C/alt0.pem" "$ACME/alt/root-0.pem" || fail "the default chain is kept"

# ---------------------------------------------------- RFC 2136 with named ---
NAMED=$(command -v named || echo /usr/sbin/named)
if [[ -x $NAMED ]]; then
    ND=$ACME/named
    mkdir -p "$ND"
    TSIG=$(openssl rand -base64 32)
    cat >"$ND/named.conf" <<EOF
options {
    directory "$ND";
    pid-file "$ND/named.pid";
    session-keyfile "$ND/session.key";
    managed-keys-directory "$ND";
    listen-on port $NAMED_PORT { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify no;
};
controls { };
key "acme-key." { algorithm hmac-sha256; secret "$TSIG"; };
zone "rfc2136.test" {
    type primary;
    file "$ND/rfc2136.test.db";
    update-policy { grant acme-key. zonesub TXT; };
};
EOF
    cat >"$ND/rfc2136.test.db" <<'EOF'
$TTL 60
@   IN SOA ns.rfc2136.test. hostmaster.rfc2136.test. 1 3600 600 86400 60
@   IN NS  ns.rfc2136.test.
ns  IN A   127.0.0.1
EOF
    net_bg named "$NAMED" -g -n 1 -c "$ND/named.conf"
    net_wait_port named "$NET_PID" "$NAMED_PORT"
    acme_pebble r2136 "$R2136_PORT" "$R2136_MGMT" "127.0.0.1:$NAMED_PORT" \
        ', "externalAccountBindingRequired": false' PEBBLE_WFE_NONCEREJECT=0
    pb_chain r2136 0
    R2136=(--rfc2136 "127.0.0.1:$NAMED_PORT" --zone rfc2136.test --tsig-name acme-key.)
    ac_ok r2136 --account-key "$K/r.key" account --agree-tos
    ac_ok r2136 --account-key "$K/r.key" issue --name www.rfc2136.test \
        --name '*.rfc2136.test' "${R2136[@]}" --tsig-secret "$TSIG" --out-cert "$C/r2136.pem"
    verify_chain "$C/r2136.pem" "$ACME/r2136/root-0.pem" || fail "RFC 2136 chain does not verify"
    assert_eq "DNS:*.rfc2136.test
DNS:www.rfc2136.test" "$(sans "$C/r2136.pem")" "RFC 2136 names"
    grep -q "acme-key.*adding an RR at '_acme-challenge.www.rfc2136.test' TXT" "$NET_LOG/named.log" ||
        fail "named logged no signed update adding the record: $(tail -n 20 "$NET_LOG/named.log")"
    grep -q "acme-key.*deleting an RR at '\?_acme-challenge.rfc2136.test'\? TXT" "$NET_LOG/named.log" ||
        fail "named logged no signed update deleting the record"
    if command -v dig >/dev/null; then
        assert_eq "" "$(dig +short -p "$NAMED_PORT" @127.0.0.1 TXT _acme-challenge.www.rfc2136.test)" \
            "the TXT record is gone after cleanup"
    fi
    ac_fails r2136 --account-key "$K/r.key" issue --name bad.rfc2136.test "${R2136[@]}" \
        --tsig-secret "$(openssl rand -base64 32)"
    assert_contains "$(kv error)" "refused the update of _acme-challenge.bad.rfc2136.test TXT" \
        "wrong TSIG key"
    assert_contains "$(kv error)" "TSIG BADSIG" "TSIG error named"
    ac_fails r2136 --account-key "$K/r.key" issue --name www.elsewhere.test "${R2136[@]}" \
        --tsig-secret "$TSIG"
    assert_contains "$(kv error)" "is not in the zone rfc2136.test" "out-of-zone name"
else
    echo "SKIP part [$TEST_NAME]: RFC 2136 needs named (bind9)" >&2
fi

# -------------------------------------------------------------------- ARI ---
if [[ $PEBBLE_ARI == 1 ]]; then
    ac_ok main --account-key "$K/n.key" renewal-info --cert "$C/webroot.pem"
    [[ -n $(kv start) && -n $(kv end) ]] || fail "renewalInfo from Pebble: $OUT"
else
    echo "note [$TEST_NAME]: this Pebble offers no renewalInfo; ARI runs against a stub" >&2
    ac_fails main renewal-info --cert "$C/webroot.pem"
    assert_contains "$(kv error)" "the directory offers no renewalInfo" "no ARI"
fi
# the CertID of a real certificate, computed here with openssl
WANT_ID=$("$PY" - "$(openssl x509 -in "$C/webroot.pem" -noout -ext authorityKeyIdentifier)" \
    "$(openssl x509 -in "$C/webroot.pem" -noout -serial)" <<'EOF'
import base64, re, sys
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
aki = bytes.fromhex(re.sub(r"[^0-9A-Fa-f]", "",
                          sys.argv[1].split("\n")[1].replace("keyid:", "")))
hexser = sys.argv[2].split("=", 1)[1].strip()
ser = bytes.fromhex(("0" if len(hexser) % 2 else "") + hexser)
ser = ser.lstrip(b"\0") or b"\0"
if ser[0] & 0x80:
    ser = b"\0" + ser
print(b64u(aki) + "." + b64u(ser))
EOF
)
net_bg ari "$PY" "$CL_SRC/tests/e2e/acme_ari_stub.py" --port "$ARI_PORT" \
    --cert "$PKI/pebble.full.pem" --key "$PKI/pebble.key" --log "$ACME/ari.log" \
    --ready "$ACME/ari.ready"
net_wait_file ari "$NET_PID" "$ACME/ari.ready"
run "$CL_ACME_CLIENT" --dir "https://127.0.0.1:$ARI_PORT/dir" --ca-bundle "$ACME_CA" \
    renewal-info --cert "$C/webroot.pem"
assert_eq 0 "$RC" "renewal-info against the stub: $OUT $ERR"
assert_eq "$WANT_ID" "$(kv certid)" "ARI CertID"
assert_eq "$WANT_ID" "$(cat "$ACME/ari.log")" "the CertID in the request path"
assert_eq 2030-01-02T03:04:05Z "$(kv start)" "window start"
assert_eq 2030-01-03T03:04:05Z "$(kv end)" "window end"
assert_eq "https://ca.example/why" "$(kv explanation)" "explanationURL (sanitised)"
assert_eq 21600 "$(kv retry_after)" "Retry-After"

# --------------------------------------------------------------- valgrind ---
if [[ ${CL_ACME_VALGRIND:-} == 1 ]]; then
    need valgrind
    run valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect "$CL_ACME_CLIENT" --dir "${PB_DIR[main]}" \
        --ca-bundle "$ACME_CA" --account-key "$K/vg.key" account --agree-tos
    [[ $RC == 0 ]] || fail "valgrind: account: $ERR"
    : >"$ACME_HOOK_LOG"
    run valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect "$CL_ACME_CLIENT" --dir "${PB_DIR[main]}" \
        --ca-bundle "$ACME_CA" --account-key "$K/vg.key" issue --name vg.example.test \
        --name '*.vg.example.test' --http-port "$HTTP_PORT" --dns-hook "$HOOK" \
        --out-cert "$C/vg.pem" --out-key "$C/vg.key"
    [[ $RC == 0 ]] || fail "valgrind: issue: $OUT $ERR"
    run valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect "$CL_ACME_CLIENT" --dir "${PB_DIR[main]}" \
        --ca-bundle "$ACME_CA" --account-key "$K/vg.key" issue --name vg2.example.test \
        --tlsalpn-port "$TLS_PORT" --out-cert "$C/vg2.pem"
    [[ $RC == 0 ]] || fail "valgrind: issue (tls-alpn-01): $OUT $ERR"
    run valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect "$CL_ACME_CLIENT" --dir "${PB_DIR[main]}" \
        --ca-bundle "$ACME_CA" --account-key "$K/vg.key" revoke --cert "$C/vg.pem" \
        --cert-key "$C/vg.key"
    [[ $RC == 0 ]] || fail "valgrind: revoke: $OUT $ERR"
fi
finish
