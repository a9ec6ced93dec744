#!/usr/bin/env bash
# Alerts from network discovery and policy, with `certledger serve --once`
# rounds against an `openssl s_server` on loopback: a policy finding opens an
# alert; the endpoint's certificate changes (a renewal: new certificate for
# the watched domain; then another issuer: new issuer); the endpoint stops
# answering (unreachable) and comes back (resolved). Then a daemon whose job
# keeps failing past its interval is "late" on /healthz (503).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"

net_pki
net_leaf a ec DNS:svc.example.test
net_leaf b ec DNS:svc.example.test
net_other_leaf x DNS:svc.example.test
FP_A=$(openssl x509 -in "$PKI/a.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
FP_B=$(openssl x509 -in "$PKI/b.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
FP_X=$(openssl x509 -in "$PKI/x.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
net_ports 2
PORT=${PORTS[0]} SPORT=${PORTS[1]}
LOC="tls:127.0.0.1:$PORT"

# EC keys break this policy: every round keeps one finding open
cat >"$T/policy.yaml" <<EOF
version: 1
defaults:
  key:
    allow: [RSA]
EOF
config() { # CA-BUNDLE
    cat >"$T/certledger.yaml" <<EOF
store: $DB
listen: "127.0.0.1:$SPORT"
health_grace: 1m
policy: $T/policy.yaml
jobs:
  - name: svc
    net:
      targets: ["127.0.0.1:$PORT"]
      timeout: 2s
      ca_bundle: $1
    every: 1h
alerts:
  watch_domains: ["*.example.test"]
  findings: warning
  renewal_overdue: false
routes:
  - notify: [log]
notifiers:
  - name: log
    type: jsonl
    path: $T/alerts.jsonl
EOF
}
config "$PKI/root.pem"
round() { assert_rc 0 "$CERTLEDGER" serve --once --config "$T/certledger.yaml"; }
count() { # PYTHON-CONDITION-ON-m
    "$PY" -c '
import json, sys
n = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
for l in lines:
    m = json.loads(l)
    if eval(sys.argv[2]):
        n += 1
print(n)' "$T/alerts.jsonl" "$1"
}
serve_cert() { # NAME: (re)starts the server with that leaf
    if [[ -n ${SRV:-} ]]; then net_stop "$SRV"; fi
    net_bg "srv-$1" openssl s_server -accept "127.0.0.1:$PORT" -cert "$PKI/$1.pem" \
        -key "$PKI/$1.key" -cert_chain "$PKI/int.pem" -www
    SRV=$NET_PID
    net_wait_port "srv-$1" "$SRV" "$PORT"
}

# ---- round 1: first sight; the policy finding alerts, history does not ---------------------------
serve_cert a
round
assert_eq 1 "$(count "m['event_type'] == 'finding.opened' and m['fingerprint_sha256'] == '$FP_A' and 'policy.key.type' in m['summary']")" "policy finding alert"
assert_eq 0 "$(count "m['event_type'].startswith('domain.')")" "no new-certificate alert on the first round"
sleep 1   # the next round's certificates are first seen after this evaluation

# ---- round 2: renewed by the same CA -----------------------------------------------------------
serve_cert b
round
assert_eq 1 "$(count "m['event_type'] == 'endpoint.cert_changed' and m['fingerprint_sha256'] == '$FP_B' and '$FP_A' in m['detail'] and m['locations'] == ['$LOC']")" "changed A -> B"
assert_eq 1 "$(count "m['event_type'] == 'domain.new_cert' and m['fingerprint_sha256'] == '$FP_B'")" "new certificate B"
assert_eq 0 "$(count "m['event_type'] == 'domain.new_issuer'")" "same issuer: no new-issuer alert"
sleep 1

# ---- round 3: another CA -------------------------------------------------------------------------
net_stop "$SRV"
net_bg srv-x openssl s_server -accept "127.0.0.1:$PORT" -cert "$PKI/x.pem" -key "$PKI/x.key" -www
SRV=$NET_PID
net_wait_port srv-x "$SRV" "$PORT"
round
assert_eq 1 "$(count "m['event_type'] == 'endpoint.cert_changed' and m['fingerprint_sha256'] == '$FP_X'")" "changed B -> X"
assert_eq 1 "$(count "m['event_type'] == 'domain.new_issuer' and m['fingerprint_sha256'] == '$FP_X' and m['severity'] == 'warning' and 'Untrusted Test Root' in m['summary']")" "new issuer X"

# ---- round 4: the endpoint stops answering; round 5: it is back -----------------------------------
net_stop "$SRV"
SRV=
round
assert_eq 1 "$(count "m['event_type'] == 'endpoint.unreachable' and m['action'] == 'firing' and m['locations'] == ['$LOC'] and m['severity'] == 'error'")" "unreachable"
serve_cert b
round
assert_eq 1 "$(count "m['event_type'] == 'endpoint.unreachable' and m['action'] == 'resolved'")" "unreachable resolved"
assert_rc 0 "$CERTLEDGER" --db "$DB" alerts --type 'endpoint.*' --format json
pyassert '
st = sorted((a["type"], a["state"]) for a in d)
check(("endpoint.unreachable", "resolved") in st, st)
check(st.count(("endpoint.cert_changed", "once")) == 3, st)'

# ---- a job failing past its interval: /healthz says late ----------------------------------------
config /nonexistent/ca.pem
net_bg serve "$CERTLEDGER" serve --config "$T/certledger.yaml" --now "$(now_plus '+3 hours')"
SERVE=$NET_PID
net_wait_port serve "$SERVE" "$SPORT"
health() { http_get "http://127.0.0.1:$SPORT/healthz" "$T/health.json"; echo "$HTTP_STATUS"; }
for ((i = 0; i < 100; i++)); do
    code=$(health)
    grep -q '"last_status": "failed"' "$T/health.json" && break
    sleep 0.1
done
assert_eq 503 "$code" "/healthz of a late job"
pyassert -f "$T/health.json" '
check(d["status"] == "late", d)
j = d["jobs"][0]
check(j["late"] and j["last_status"] == "failed", j)'
assert_contains "$(cat "$NET_LOG/serve.log")" "job svc: failed"
net_stop "$SERVE"
finish
