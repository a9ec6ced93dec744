#!/usr/bin/env bash
# discover net against a farm of nginx server blocks on loopback, one per case
# (valid RSA and ECDSA, expired, not yet valid, self-signed, incomplete chain,
# chain in the wrong order, certificate for another name, SHA-1 signed,
# untrusted root, OCSP stapling, two names on one port): the recorded fields
# of every endpoint, exactly, in `endpoints --format json|csv` and in
# `--output x.json|x.csv`; the certificates and their tls: locations in ls;
# endpoint.new events; tls.verify.* findings.
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"
need nginx

# ---- PKI -------------------------------------------------------------------------------------
net_pki
ymd() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
net_leaf rsa rsa DNS:rsa.net.test
net_leaf ecdsa ec DNS:ecdsa.net.test
net_leaf expired ec DNS:expired.net.test -startdate 20200101000000Z -enddate 20210101000000Z
net_leaf future ec DNS:future.net.test -startdate "$(ymd '+365 days')" -enddate "$(ymd '+730 days')"
net_selfsigned selfsigned DNS:selfsigned.net.test
net_leaf incomplete ec DNS:incomplete.net.test
net_leaf wrongorder ec DNS:wrongorder.net.test
cat "$PKI/wrongorder.pem" "$PKI/root.pem" "$PKI/int.pem" >"$PKI/wrongorder.bad.pem"
net_leaf wronghost rsa DNS:other.net.test
net_leaf sha1 ec DNS:sha1.net.test -md sha1
net_leaf ocsp ec DNS:ocsp.net.test
net_ocsp_response ocsp
net_other_leaf untrusted DNS:untrusted.net.test

# ---- nginx: one block per case ----------------------------------------------------------------
# The http {} defaults (lib_net.sh) pin TLS 1.2+1.3, TLS_AES_128_GCM_SHA256 and X25519.
net_ports 12
P_RSA=${PORTS[0]} P_EC=${PORTS[1]} P_EXP=${PORTS[2]} P_FUT=${PORTS[3]} P_SS=${PORTS[4]}
P_INC=${PORTS[5]} P_ORD=${PORTS[6]} P_HOST=${PORTS[7]} P_SHA1=${PORTS[8]} P_OCSP=${PORTS[9]}
P_SNI=${PORTS[10]} P_UNTR=${PORTS[11]}
net_nginx_block "$P_RSA" rsa.net.test "$PKI/rsa.full.pem" "$PKI/rsa.key" http2 \
    'ssl_protocols TLSv1.3' 'ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256'
net_nginx_block "$P_EC" ecdsa.net.test "$PKI/ecdsa.full.pem" "$PKI/ecdsa.key" \
    'ssl_protocols TLSv1.2' 'ssl_ciphers ECDHE-ECDSA-AES256-GCM-SHA384' 'ssl_ecdh_curve prime256v1'
net_nginx_block "$P_EXP" expired.net.test "$PKI/expired.full.pem" "$PKI/expired.key"
net_nginx_block "$P_FUT" future.net.test "$PKI/future.full.pem" "$PKI/future.key"
net_nginx_block "$P_SS" selfsigned.net.test "$PKI/selfsigned.pem" "$PKI/selfsigned.key"
net_nginx_block "$P_INC" incomplete.net.test "$PKI/incomplete.pem" "$PKI/incomplete.key"
net_nginx_block "$P_ORD" wrongorder.net.test "$PKI/wrongorder.bad.pem" "$PKI/wrongorder.key"
net_nginx_block "$P_HOST" other.net.test "$PKI/wronghost.full.pem" "$PKI/wronghost.key" \
    'ssl_protocols TLSv1.2' 'ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256'
# OpenSSL 3 refuses to load a SHA-1 signed certificate above security level 0.
net_nginx_block "$P_SHA1" sha1.net.test "$PKI/sha1.full.pem" "$PKI/sha1.key" \
    'ssl_ciphers DEFAULT:@SECLEVEL=0'
net_nginx_block "$P_OCSP" ocsp.net.test "$PKI/ocsp.full.pem" "$PKI/ocsp.key" \
    'ssl_stapling on' "ssl_stapling_file $PKI/ocsp.ocsp.der"
net_nginx_block "$P_SNI" rsa.net.test "$PKI/rsa.full.pem" "$PKI/rsa.key"
net_nginx_block "$P_SNI" ecdsa.net.test "$PKI/ecdsa.full.pem" "$PKI/ecdsa.key"
net_nginx_block "$P_UNTR" untrusted.net.test "$PKI/untrusted.full.pem" "$PKI/untrusted.key"
net_nginx_start

# ---- scan 1: every block by address, without SNI (no name check) ------------------------------
TARGETS=()
for p in "$P_RSA" "$P_EC" "$P_EXP" "$P_FUT" "$P_SS" "$P_INC" "$P_ORD" "$P_HOST" "$P_SHA1" \
    "$P_OCSP" "$P_UNTR"; do
    TARGETS+=("127.0.0.1:$p")
done
if ((NET_V6)); then TARGETS+=("[::1]:$P_RSA"); fi
scan --output "$T/scan1.json" "${TARGETS[@]}"

L=127.0.0.1
DEF=(status=ok error= starttls= hostname= tls_version=TLSv1.3 cipher=TLS_AES_128_GCM_SHA256
     group=x25519 ocsp_stapled:=false)
INT_ISSUED=(issuer="CN=Certledger Net Test Intermediate,O=Certledger Net Test")
exp_reset
exp_row $L "$P_RSA" "" "${DEF[@]}" cipher=TLS_CHACHA20_POLY1305_SHA256 \
    leaf="$PKI/rsa.pem" chain="$PKI/rsa.full.pem" verify=ok location="tls:$L:$P_RSA" \
    subject="CN=rsa.net.test,O=Certledger Net Test" "${INT_ISSUED[@]}"
if ((NET_V6)); then
    exp_row ::1 "$P_RSA" "" "${DEF[@]}" cipher=TLS_CHACHA20_POLY1305_SHA256 \
        leaf="$PKI/rsa.pem" chain="$PKI/rsa.full.pem" verify=ok location="tls:[::1]:$P_RSA"
fi
exp_row $L "$P_EC" "" "${DEF[@]}" tls_version=TLSv1.2 \
    cipher=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 group=secp256r1 \
    leaf="$PKI/ecdsa.pem" chain="$PKI/ecdsa.full.pem" verify=ok
exp_row $L "$P_EXP" "" "${DEF[@]}" leaf="$PKI/expired.pem" chain="$PKI/expired.full.pem" \
    verify=expired verify_detail~="certificate has expired" not_after=2021-01-01T00:00:00Z
exp_row $L "$P_FUT" "" "${DEF[@]}" leaf="$PKI/future.pem" chain="$PKI/future.full.pem" \
    verify=not-yet-valid verify_detail~="certificate is not yet valid"
exp_row $L "$P_SS" "" "${DEF[@]}" leaf="$PKI/selfsigned.pem" chain="$PKI/selfsigned.pem" \
    verify=self-signed verify_detail~="self-signed certificate" \
    issuer="CN=selfsigned.net.test,O=Certledger Net Test"
exp_row $L "$P_INC" "" "${DEF[@]}" leaf="$PKI/incomplete.pem" chain="$PKI/incomplete.pem" \
    verify=incomplete-chain verify_detail~="unable to get local issuer certificate"
exp_row $L "$P_ORD" "" "${DEF[@]}" leaf="$PKI/wrongorder.pem" chain="$PKI/wrongorder.bad.pem" \
    verify=wrong-order
exp_row $L "$P_HOST" "" "${DEF[@]}" tls_version=TLSv1.2 \
    cipher=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 leaf="$PKI/wronghost.pem" \
    chain="$PKI/wronghost.full.pem" verify=ok
exp_row $L "$P_SHA1" "" "${DEF[@]}" leaf="$PKI/sha1.pem" chain="$PKI/sha1.full.pem" \
    verify=weak-signature verify_detail~="digest algorithm too weak"
exp_row $L "$P_OCSP" "" "${DEF[@]}" ocsp_stapled:=true leaf="$PKI/ocsp.pem" \
    chain="$PKI/ocsp.full.pem" verify=ok
exp_row $L "$P_UNTR" "" "${DEF[@]}" leaf="$PKI/untrusted.pem" chain="$PKI/untrusted.full.pem" \
    verify=untrusted-root verify_detail~="self-signed certificate in certificate chain" \
    issuer="CN=Untrusted Test Root,O=Somebody Else"
SCAN1_EXPECT=$EXPECT

soft check_rows "$T/scan1.json" --exact
# --output rows have exactly the contract's fields, in its order
output_fields() {
    pyassert -f "$T/scan1.json" '
want = ["address", "port", "sni", "hostname", "status", "error", "starttls", "tls_version",
        "cipher", "group", "alpn", "ocsp_stapled", "leaf_fingerprint", "subject", "issuer",
        "not_after", "days_left", "verify", "verify_detail", "chain", "location",
        "first_seen", "last_seen", "unreachable_since"]
check(list(d[0]) == want, "--output JSON fields:\n got  %r\n want %r" % (list(d[0]), want))'
}
soft output_fields
# the same rows in the inventory
endpoints_to "$T/ep1.json"
soft check_rows "$T/ep1.json" --exact

# ALPN: the block with http2 says h2 and the others http/1.1 when the scanner
# offers ALPN; all "" when it does not.
alpn_consistent() {
    pyassert -f "$T/scan1.json" '
rsa = [r["alpn"] for r in d if r["port"] == int(args[0])]
other = {r["alpn"] for r in d if r["port"] != int(args[0])}
check((set(rsa), other) in (({"h2"}, {"http/1.1"}), ({""}, {""})),
      "alpn: http2 block %r, others %r" % (rsa, other))' "$P_RSA"
}
soft alpn_consistent

# ---- scan 2: the same as CSV; rows equal to the JSON ones (but the scan times) -----------
scan --output "$T/scan2.csv" "${TARGETS[@]}"
soft check_rows "$T/scan2.csv" --exact
csv_header() {
    local head
    head=$(head -n 1 "$T/scan2.csv")
    assert_eq "address,port,sni,hostname,status,error,starttls,tls_version,cipher,group,alpn,ocsp_stapled,leaf_fingerprint,subject,issuer,not_after,days_left,verify,verify_detail,chain,location,first_seen,last_seen,unreachable_since"$'\r' \
        "$head" "--output x.csv header line"
}
soft csv_header
csv_equals_json() {
    "$PY" - "$T/scan1.json" "$T/scan2.csv" <<'EOF' || fail "CSV and JSON output differ"
import csv, json, sys
js = {(r["address"], r["port"]): r for r in json.load(open(sys.argv[1]))}
with open(sys.argv[2], newline="") as f:
    raw = f.read()
if not raw.startswith("address,port,sni,hostname,status,error,starttls,tls_version,cipher,group,"
                      "alpn,ocsp_stapled,leaf_fingerprint,subject,issuer,not_after,days_left,"
                      "verify,verify_detail,chain,location,first_seen,last_seen,unreachable_since"):
    sys.exit("CSV header line: %r" % raw[:300])
bad = []
for r in csv.DictReader(raw.splitlines()):
    j = js[(r["address"], int(r["port"]))]
    for k, v in r.items():
        if k in ("last_seen", "days_left"):
            continue
        want = j[k]
        if isinstance(want, bool):
            want = "true" if want else "false"
        elif isinstance(want, list):
            want = " ".join(want)
        elif want is None:
            want = ""
        if str(want) != v:
            bad.append((r["location"], k, v, want))
if bad:
    sys.exit("CSV vs JSON: %r" % bad)
EOF
}
soft csv_equals_json
assert_rc 0 "$CERTLEDGER" --db "$DB" endpoints --format csv
assert_contains "$OUT" "address,port,sni,hostname,status,error,starttls,tls_version,cipher,group,alpn,ocsp_stapled,leaf_fingerprint,subject,issuer,not_after,days_left,verify,verify_detail,chain,location,first_seen,last_seen" \
    "endpoints --format csv header"

# ---- scan 3: SNI. Two names on one port; a name the certificate does not carry --------------
scan --output "$T/scan3.json" --sni rsa.net.test --sni ecdsa.net.test --sni other.net.test \
    "127.0.0.1:$P_SNI" "127.0.0.1:$P_HOST"
exp_reset
exp_row $L "$P_SNI" rsa.net.test status=ok leaf="$PKI/rsa.pem" chain="$PKI/rsa.full.pem" \
    verify=ok location="tls:$L:$P_SNI/rsa.net.test" hostname=
exp_row $L "$P_SNI" ecdsa.net.test status=ok leaf="$PKI/ecdsa.pem" chain="$PKI/ecdsa.full.pem" \
    verify=ok location="tls:$L:$P_SNI/ecdsa.net.test"
# nginx answers an unknown name with its default (first) block: rsa.net.test
exp_row $L "$P_SNI" other.net.test status=ok leaf="$PKI/rsa.pem" verify=hostname-mismatch \
    verify_detail~="hostname mismatch"
exp_row $L "$P_HOST" other.net.test status=ok leaf="$PKI/wronghost.pem" verify=ok
exp_row $L "$P_HOST" rsa.net.test status=ok leaf="$PKI/wronghost.pem" \
    verify=hostname-mismatch verify_detail~="hostname mismatch"
exp_row $L "$P_HOST" ecdsa.net.test status=ok leaf="$PKI/wronghost.pem" verify=hostname-mismatch
soft check_rows "$T/scan3.json" --exact
SNI_EXPECT=$EXPECT

# The inventory: every endpoint of the three scans, each once.
endpoints_to "$T/ep-all.json"
cat "$SCAN1_EXPECT" "$SNI_EXPECT" >"$T/expect-all.jsonl"
EXPECT=$T/expect-all.jsonl
soft check_rows "$T/ep-all.json" --exact
endpoint_filters() {
    assert_rc 0 "$CERTLEDGER" --db "$DB" endpoints --format json --location "tls:127.0.0.1:$P_SNI/*"
    pyassert 'check(sorted(r["sni"] for r in d) == ["ecdsa.net.test", "other.net.test", "rsa.net.test"],
              "endpoints --location: %r" % [r["location"] for r in d])'
    assert_rc 0 "$CERTLEDGER" --db "$DB" endpoints --format json --status ok
    pyassert 'check(len(d) == 17 + int(args[0]) and all(r["status"] == "ok" for r in d),
              "--status ok: %d rows" % len(d))' "$NET_V6"
    run "$CERTLEDGER" --db "$DB" endpoints --format json --status refused
    [[ $RC == 0 || $RC == 1 ]] || fail "endpoints --status refused: exit $RC"
    [[ $RC == 1 || $OUT == "[]" || -z $OUT ]] || pyassert 'check(d == [], d)'
}
soft endpoint_filters

# ---- the certificates in the inventory, at tls: locations ------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json
printf '%s' "$OUT" >"$T/ls.json"
ls_locations() {
    pyassert -f "$T/ls.json" '
import json
rows = json.load(open(args[0])) + json.load(open(args[1]))
by = {c["fingerprint_sha256"]: c for c in d}
def where(l):
    return l["where"] if l["where"].startswith("tls:") else "tls:" + l["where"]
for r in rows:
    leaf = by.get(r["leaf_fingerprint"])
    check(leaf is not None, "leaf of %s not in ls: %s" % (r["location"], r["leaf_fingerprint"]))
    locs = {where(l): l for l in leaf["locations"]}
    l = locs.get(r["location"])
    check(l is not None, "%s: no location %s in %r" % (leaf["subject"], r["location"], list(locs)))
    check(l["kind"] == "tls" and l["state"] == "present" and l["detail"] == "leaf",
          "%s at %s: %r" % (leaf["subject"], r["location"], l))
    for i, fp in enumerate(r["chain"][1:], 1):
        c = by.get(fp)
        check(c is not None, "chain %d of %s not in ls" % (i, r["location"]))
        cl = {where(x): x for x in c["locations"]}.get(r["location"])
        check(cl is not None and cl["kind"] == "tls" and cl["detail"] == "chain %d" % i,
              "%s: chain %d at %s: %r" % (c["subject"], i, r["location"], c["locations"]))
# leaves, the intermediate, the root (sent in the wrong order) and the untrusted root
fps = {r["leaf_fingerprint"] for r in rows} | {f for r in rows for f in r["chain"]}
check(set(by) == fps, "ls lists %d certificates, the scans saw %d" % (len(by), len(fps)))
' "$T/scan1.json" "$T/scan3.json"
}
soft ls_locations
assert_rc 0 "$CERTLEDGER" --db "$DB" ls
assert_contains "$OUT" "tls:127.0.0.1:$P_EXP" "ls (table)"

# ---- events: one endpoint.new per endpoint, cert.new per certificate --------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" events --since 24h --format json
printf '%s' "$OUT" >"$T/events.json"
events_new() {
    pyassert -f "$T/events.json" '
import json
rows = json.load(open(args[0]))
new = sorted(e["location"] for e in d if e["event_type"] == "endpoint.new")
check(new == sorted(r["location"] for r in rows), "endpoint.new events: %r" % new)
fps = {r["leaf_fingerprint"] for r in rows} | {f for r in rows for f in r["chain"]}
cn = [e["fingerprint_sha256"] for e in d if e["event_type"] == "cert.new"]
check(sorted(cn) == sorted(fps), "cert.new events: %d for %d certificates" % (len(cn), len(fps)))
bad = [e for e in d if e["event_type"] in ("endpoint.changed", "endpoint.unreachable", "location.gone")]
check(not bad, "unexpected events: %r" % bad)
' "$T/ep-all.json"
}
soft events_new

# ---- findings: one tls.verify.<verify> per endpoint with a verify problem ----------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" findings --format json
printf '%s' "$OUT" >"$T/findings.json"
findings_verify() {
    pyassert -f "$T/findings.json" '
import json
rows = json.load(open(args[0]))
want = sorted(("tls.verify." + r["verify"], r["location"]) for r in rows if r["verify"] != "ok")
got = sorted((f["rule"], f["target"]) for f in d if f["rule"].startswith("tls."))
check(got == want, "tls findings:\n got  %r\n want %r" % (got, want))
' "$T/ep-all.json"
}
soft findings_verify

# A re-scan changes nothing: no new events.
MAXID=$("$PY" -c 'import json,sys; print(max([e["id"] for e in json.load(open(sys.argv[1]))] or [0]))' "$T/events.json")
scan "${TARGETS[@]}"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --format json
pyassert 'n = [e for e in d if e["id"] > int(args[0])]; check(n == [], "events after an unchanged re-scan: %r" % n)' "$MAXID"

finish
