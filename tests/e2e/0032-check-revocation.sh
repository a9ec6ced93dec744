#!/usr/bin/env bash
# check --revocation against a real `openssl ocsp` responder and CRLs served
# over HTTP, both on 127.0.0.1: a good certificate stays clean, a revoked one
# is a critical finding naming the reason, OCSP down falls back to the CRL,
# a hanging responder is unreachable (a warning), and the summary counts them.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
need openssl
PKI=$T/pki
mkdir -p "$PKI"
LOGS=$T/logs
mkdir -p "$LOGS"

"$PY" "$CL_SRC/tests/unit/revocation_server.py" "$PKI" "$T/http.port" "$LOGS/requests.log" \
    >"$LOGS/http.log" 2>&1 &
CL_BG_PIDS+=($!)
for _ in $(seq 1 200); do [[ -s $T/http.port ]] && break; sleep 0.05; done
[[ -s $T/http.port ]] || fail "the CRL server did not start: $(cat "$LOGS/http.log")"
HTTP_PORT=$(cat "$T/http.port")
read -r OCSP_PORT REFUSED_PORT < <("$PY" -c 'import socket
s=[socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
sh "$CL_SRC/tests/unit/revocation_pki.sh" "$PKI" "$HTTP_PORT" "$OCSP_PORT" "$REFUSED_PORT" \
    >"$LOGS/pki.log" 2>&1 || fail "PKI: $(tail -5 "$LOGS/pki.log")"
openssl ocsp -index "$PKI/index.txt" -port "$OCSP_PORT" -rsigner "$PKI/responder.pem" \
    -rkey "$PKI/responder.key" -CA "$PKI/ca.pem" -ignore_err -ndays 1 >"$LOGS/ocsp.log" 2>&1 &
CL_BG_PIDS+=($!)
for _ in $(seq 1 200); do
    grep -q "waiting for OCSP client connections" "$LOGS/ocsp.log" 2>/dev/null && break
    sleep 0.05
done

# the inventory: the CA and a few leaves (discover files reads them)
mkdir -p "$T/tree"
for n in ca leaf-good leaf-revoked leaf-fallback-revoked leaf-ocsp-hang leaf-none; do
    cp "$PKI/$n.pem" "$T/tree/"
done
assert_rc 0 cl discover files "$T/tree"

assert_rc 1 cl check --revocation --revocation-timeout 2s --format json --fail-on critical
pyassert '
by = {}
for f in d:
    by.setdefault(f["subject"], []).append(f["rule"])
def rules(cn):
    return [r for s, rs in by.items() if ("CN=%s" % cn) in s for r in rs
            if r.startswith("policy.revocation.")]
check(rules("leaf-good") == [], "good: %r" % rules("leaf-good"))
check(rules("leaf-revoked") == ["policy.revocation.revoked"], "revoked: %r" % rules("leaf-revoked"))
check(rules("leaf-fallback-revoked") == ["policy.revocation.revoked"],
      "CRL fallback: %r" % rules("leaf-fallback-revoked"))
check(rules("leaf-ocsp-hang") == ["policy.revocation.unreachable"],
      "hanging responder: %r" % rules("leaf-ocsp-hang"))
check(rules("leaf-none") == [], "no URLs: %r" % rules("leaf-none"))
rev = [f for f in d if f["rule"] == "policy.revocation.revoked" and "leaf-revoked" in f["subject"]]
check(rev and rev[0]["severity"] == "critical", "severity: %r" % rev)
check(rev and "keyCompromise" in rev[0]["message"] and "ocsp" in rev[0]["message"],
      "message names the reason and the method: %r" % rev[0]["message"])
fb = [f for f in d if f["rule"] == "policy.revocation.revoked" and "fallback" in f["subject"]]
check(fb and "superseded" in fb[0]["message"] and "crl" in fb[0]["message"],
      "fallback message: %r" % fb)
'
# the table's summary line counts the answers
assert_rc 1 cl check --revocation --revocation-timeout 2s --fail-on critical
assert_contains "$OUT" "revocation: 1 good, 2 revoked, 0 unknown, 1 unreachable; 1 without OCSP or CRL" \
    "summary"
# the CRL was fetched once and cached beside the inventory
[[ -n $(ls "$T/db/crl-cache" 2>/dev/null) ]] || fail "no CRL cached in $T/db/crl-cache"
# findings are kept: revoked stays open, nothing resolved by a recheck
assert_rc 0 cl findings --rule policy.revocation.revoked --format json
pyassert 'check(len(d) == 2, "open revoked findings: %r" % d)'
# a bad timeout is a usage error
assert_rc 2 cl check --revocation --revocation-timeout soon
assert_contains "$ERR" "--revocation-timeout"
finish
