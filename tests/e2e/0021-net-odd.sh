#!/usr/bin/env bash
# discover net against servers that are not ordinary TLS 1.2/1.3 web servers:
# TLS 1.0 only (openssl s_server), client certificate required (TLS 1.2:
# handshake_failure alert; TLS 1.3), a port that accepts and never answers
# (timeout), a closed port (refused), plain HTTP (not-tls), a port that
# accepts and closes (reset). Explicit HOST:PORT targets record every outcome
# and raise tls.* findings; a sweep does not record closed ports.
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"

net_pki
net_leaf tls10 ec DNS:tls10.net.test
net_leaf clientauth ec DNS:clientauth.net.test

net_ports 8
P_TLS10=${PORTS[0]} P_CA12=${PORTS[1]} P_CA13=${PORTS[2]} P_SILENT=${PORTS[3]}
P_CLOSED=${PORTS[4]} P_HTTP=${PORTS[5]} P_RESET=${PORTS[6]} P_CLOSED2=${PORTS[7]}
# TLS 1.0 needs security level 0 (its handshake signatures use SHA-1).
net_s_server tls10 "$P_TLS10" tls10 -tls1 \
    -cipher 'ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0' -groups X25519
net_s_server ca12 "$P_CA12" clientauth -tls1_2 \
    -Verify 1 -CAfile "$PKI/root.pem"
net_s_server ca13 "$P_CA13" clientauth -tls1_3 \
    -Verify 1 -CAfile "$PKI/root.pem"
net_silent "$P_SILENT"
net_http "$P_HTTP"
net_marker "$P_RESET" "$T/reset-accepts"

L=127.0.0.1
START=$(date +%s)
SCAN_OPTS=(--no-progress --connect-timeout 1s --handshake-timeout 1s --starttls-timeout 1s)
scan --format json --output "$T/scan.json" "$L:$P_TLS10" "$L:$P_CA12" "$L:$P_CA13" \
    "$L:$P_SILENT" "$L:$P_CLOSED" "$L:$P_HTTP" "$L:$P_RESET"
ELAPSED=$(($(date +%s) - START))
pyassert 'check(isinstance(d, dict), "--format json summary is not an object: %r" % d)'
# a timeout is 1 s, retried once: the whole scan is quick
((ELAPSED < 30)) || fail "the scan took ${ELAPSED}s with 1s timeouts"

exp_reset
exp_row $L "$P_TLS10" "" status=ok error= tls_version=TLSv1 \
    cipher=TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA group=x25519 verify=ok \
    leaf="$PKI/tls10.pem" chain="$PKI/tls10.full.pem" ocsp_stapled:=false alpn=
# TLS 1.2: the server asks for a certificate in its first flight and, getting
# none, answers the client's Finished with a handshake_failure alert (40).
exp_row $L "$P_CA12" "" status=alert error~=handshake_failure verify=
exp_row $L "$P_SILENT" "" status=timeout verify= leaf_fingerprint= chain:=[] \
    ocsp_stapled:=null days_left:=null
exp_row $L "$P_CLOSED" "" status=refused verify= leaf_fingerprint= chain:=[] \
    ocsp_stapled:=null days_left:=null tls_version=
exp_row $L "$P_HTTP" "" status=not-tls verify= leaf_fingerprint= chain:=[] tls_version=
exp_row $L "$P_RESET" "" status=reset verify= leaf_fingerprint= chain:=[]
EXPECT_ALL=$EXPECT
soft check_rows "$T/scan.json"
rows_are() {
    pyassert -f "$T/scan.json" 'check(sorted(r["port"] for r in d) == sorted(map(int, args)),
        "rows for ports %r" % sorted(r["port"] for r in d))' \
        "$P_TLS10" "$P_CA12" "$P_CA13" "$P_SILENT" "$P_CLOSED" "$P_HTTP" "$P_RESET"
}
soft rows_are

# TLS 1.3 with a client certificate required: the server's CertificateRequest
# comes with its Certificate, so the client has the whole server chain, and
# from its side the handshake is complete (SSL_connect returns 1) before the
# server reads the empty client Certificate and sends certificate_required
# (116). The scanner records that handshake: status ok, the served chain.
exp_reset
exp_row $L "$P_CA13" "" status=ok tls_version=TLSv1.3 leaf="$PKI/clientauth.pem" \
    chain="$PKI/clientauth.full.pem" verify=ok
soft check_rows "$T/scan.json"
EXPECT=$EXPECT_ALL

# The error texts name what happened.
error_texts() {
    pyassert -f "$T/scan.json" '
by = {r["port"]: r for r in d}
closed, silent, http = (by[int(p)] for p in args)
check("refused" in closed["error"].lower(), "refused: error %r" % closed["error"])
' "$P_CLOSED" "$P_SILENT" "$P_HTTP"
}
soft error_texts

# The same rows in the inventory.
endpoints_to "$T/ep.json"
soft check_rows "$T/ep.json"

# ---- findings: one tls.<status> per failed endpoint ----------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" findings --format json
findings_status() {
    pyassert '
L = "tls:127.0.0.1:"
want = sorted([("tls.alert", L + args[0]), ("tls.timeout", L + args[1]),
               ("tls.refused", L + args[2]), ("tls.not-tls", L + args[3]),
               ("tls.reset", L + args[4])])
got = sorted((f["rule"], f["target"]) for f in d if f["rule"].startswith("tls."))
check(got == want, "tls findings:\n got  %r\n want %r" % (got, want))
' "$P_CA12" "$P_SILENT" "$P_CLOSED" "$P_HTTP" "$P_RESET"
}
soft findings_status

# Without --format the summary is one line on stdout (as for discover files),
# and nothing is written on stderr.
default_summary() {
    DB=$T/db/summary.db
    assert_rc 0 "$CERTLEDGER" --db "$DB" discover net --no-progress --ca-bundle "$PKI/root.pem" \
        "$L:$P_TLS10"
    assert_eq "" "$ERR" "stderr of discover net without --format"
    [[ $(grep -c . <<<"$OUT") == 1 ]] || fail "stdout: expected one summary line, got: $OUT"
    assert_contains "$OUT" "1 TLS endpoints" "summary line"
}
soft default_summary

# ---- a sweep: closed ports are not recorded, answering ones are ------------------------------------
DB=$T/db/sweep.db
scan --ports "$P_CLOSED2,$P_HTTP,$P_TLS10,$P_CLOSED" --output "$T/sweep.json" 127.0.0.1
exp_reset
exp_row $L "$P_HTTP" "" status=not-tls
exp_row $L "$P_TLS10" "" status=ok leaf="$PKI/tls10.pem" tls_version=TLSv1
soft check_rows "$T/sweep.json" --exact
endpoints_to "$T/sweep-ep.json"
soft check_rows "$T/sweep-ep.json" --exact

finish
