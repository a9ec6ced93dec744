#!/usr/bin/env bash
# certledger serve --once with --now: expiry thresholds fire once per crossing
# (the most urgent only when several were crossed), escalate under one alert
# key, renewal overdue, shares of the lifetime for short-lived certificates,
# resolution when the certificate is replaced, routing by owner, and the
# `alerts` listing with delivery states. Messages land in JSON-lines files.
# shellcheck disable=SC2317
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
need openssl

C=$T/certs
mkdir -p "$C"
mkcert() { # NAME DAYS FILE
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
        -subj "/CN=$1" -addext "subjectAltName=DNS:$1" -addext "basicConstraints=critical,CA:FALSE" \
        -days "$2" -out "$3" 2>/dev/null
}
mkcert a.example.com 90 "$C/a.pem"      # long-lived: day thresholds
mkcert c.example.com 10 "$C/c.pem"      # short-lived: shares of its lifetime
mkcert d.example.com 40 "$T/d.pem"      # put in place on day 31: first seen with 9 days left
FP_A=$(openssl x509 -in "$C/a.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
FP_C=$(openssl x509 -in "$C/c.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
FP_D=$(openssl x509 -in "$T/d.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)

cat >"$T/certledger.yaml" <<EOF
store: $DB
listen: ""
jobs:
  - name: certs
    files: [$C]
    every: 1h
alerts:
  evaluate_every: 1h
routes:
  - match: { owner: [team-a] }
    notify: [team-a]
    stop: true
  - notify: [all]
notifiers:
  - name: all
    type: jsonl
    path: $T/all.jsonl
  - name: team-a
    type: jsonl
    path: $T/team-a.jsonl
EOF

serve_at() { # SPEC: one round at now + SPEC
    assert_rc 0 "$CERTLEDGER" serve --once --config "$T/certledger.yaml" --now "$(now_plus "$1")" \
        --log-format json
}
count() { # FILE PYTHON-CONDITION-ON-m
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
print(n)' "$@"
}

# ---- day 1: nothing to say; tag the owner ---------------------------------------------------
serve_at '+1 day'
assert_eq 0 "$(count "$T/all.jsonl" True)" "messages on day 1"
assert_rc 0 "$CERTLEDGER" --db "$DB" tag --location "file:$C/a.pem" --owner team-a

# ---- day 7.5: C has 25% of its lifetime left -> the 33% level -----------------------------------
serve_at '+7 days +12 hours'
assert_eq 1 "$(count "$T/all.jsonl" "m['event_type'] == 'cert.expiring' and m['fingerprint_sha256'] == '$FP_C' and m['threshold'] == '33%' and m['action'] == 'firing'")" "C at 33%"
assert_eq 0 "$(count "$T/all.jsonl" "m['fingerprint_sha256'] == '$FP_A'")" "nothing about A yet"

# ---- day 9.5: C at 5% -> 10% (same alert key) ---------------------------------------------------
serve_at '+9 days +12 hours'
assert_eq 1 "$(count "$T/all.jsonl" "m['fingerprint_sha256'] == '$FP_C' and m['threshold'] == '10%'")" "C at 10%"
assert_eq 1 "$(count "$T/all.jsonl" "m['fingerprint_sha256'] == '$FP_C' and m['threshold'] == '10%' and m['alert_key'] == 'cert.expiry:$FP_C' and m['severity'] == 'error'")" "C escalation keeps its key"

# ---- day 31: C expired; D first seen with 9 days left: one message, at 14d ---------------------
cp "$T/d.pem" "$C/d.pem"
serve_at '+31 days'
assert_eq 1 "$(count "$T/all.jsonl" "m['fingerprint_sha256'] == '$FP_C' and m['event_type'] == 'cert.expired' and m['severity'] == 'critical'")" "C expired"
assert_eq 1 "$(count "$T/all.jsonl" "m['fingerprint_sha256'] == '$FP_D' and m['event_type'] == 'cert.expiring'")" "D: one expiry message"
assert_eq 1 "$(count "$T/all.jsonl" "m['fingerprint_sha256'] == '$FP_D' and m['threshold'] == '14d' and m['severity'] == 'warning'")" "D at 14d"

# ---- day 61: A has 29 days left and is past 2/3 of its lifetime -------------------------------
serve_at '+61 days'
assert_eq 1 "$(count "$T/team-a.jsonl" "m['event_type'] == 'cert.expiring' and m['threshold'] == '30d' and m['days_left'] in (28, 29)")" "A 30d to team-a"
assert_eq 0 "$(count "$T/all.jsonl" "m['fingerprint_sha256'] == '$FP_A'")" "stop: team-a alerts do not reach later routes"
assert_eq 1 "$(count "$T/team-a.jsonl" "m['event_type'] == 'cert.renewal_overdue'")" "A overdue"
pyassert -f <(tail -n 1 "$T/team-a.jsonl") '
for k in ("timestamp", "event_type", "certificate_subject", "certificate_serial", "issuer",
          "expiration_date", "days_left", "fingerprint_sha256", "locations", "owner",
          "environment", "id", "alert_key"):
    check(k in d, "missing " + k)
check(d["owner"] == "team-a", d)
check(d["locations"] == ["file:'"$C"'/a.pem"], d["locations"])
check(len(d["id"]) == 32, d["id"])'
assert_eq 1 "$(count "$T/all.jsonl" "m['fingerprint_sha256'] == '$FP_D' and m['event_type'] == 'cert.expired'")" "D expired"

# ---- the same instant again: nothing new (fires once) ---------------------------------------
before=$(count "$T/all.jsonl" True)
before_a=$(count "$T/team-a.jsonl" True)
serve_at '+61 days +1 minute'
assert_eq "$before" "$(count "$T/all.jsonl" True)" "no repeat (all)"
assert_eq "$before_a" "$(count "$T/team-a.jsonl" True)" "no repeat (team-a)"

# ---- day 84: A crossed 14d and 7d since: one message, at 7d -----------------------------------
serve_at '+84 days'
assert_eq 1 "$(count "$T/team-a.jsonl" "m['threshold'] == '7d'")" "A at 7d"
assert_eq 0 "$(count "$T/team-a.jsonl" "m['threshold'] == '14d'")" "14d skipped"

# ---- A is renewed in place: its alerts resolve, the new one says nothing ----------------------
mkcert a.example.com 400 "$C/a.pem.new"   # valid well past the rehearsed dates
mv "$C/a.pem.new" "$C/a.pem"
serve_at '+84 days +1 hour'
assert_eq 2 "$(count "$T/team-a.jsonl" "m['action'] == 'resolved' and m['fingerprint_sha256'] == '$FP_A'")" "A resolved (expiry and overdue)"
assert_eq 0 "$(count "$T/team-a.jsonl" "m['action'] == 'firing' and m['fingerprint_sha256'] != '$FP_A'")" "renewed A is quiet"
serve_at '+84 days +2 hours'
assert_eq 2 "$(count "$T/team-a.jsonl" "m['action'] == 'resolved'")" "resolved once"

# ---- the alerts listing ------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" alerts --format json
pyassert '
a = [x for x in d if x["fingerprint_sha256"] == "'"$FP_A"'"]
check(sorted(x["type"] for x in a) == ["cert.expiring", "cert.renewal_overdue"], a)
check(all(x["state"] == "resolved" and x["resolved_at"] for x in a), a)
check(all("team-a:sent" in x["deliveries"] for x in a), a)
exp = [x for x in a if x["type"] == "cert.expiring"][0]
check(exp["level"] == "7d", exp)'
assert_rc 0 "$CERTLEDGER" --db "$DB" alerts --state firing --format csv
assert_contains "$OUT" "cert.expired"
assert_rc 1 "$CERTLEDGER" --db "$DB" alerts --type 'nothing.*'
assert_rc 0 "$CERTLEDGER" --db "$DB" alerts
assert_contains "$OUT" "a.example.com"

# ---- a test message, sent now through one notifier ------------------------------------------
n_before=$(count "$T/all.jsonl" True)
assert_rc 0 "$CERTLEDGER" alerts test all --config "$T/certledger.yaml"
assert_contains "$OUT" "test alert sent through all (jsonl)"
assert_eq $((n_before + 1)) "$(count "$T/all.jsonl" True)" "the test message"
assert_eq 1 "$(count "$T/all.jsonl" "m['event_type'] == 'test'")" "its type"
assert_rc 2 "$CERTLEDGER" alerts test nobody --config "$T/certledger.yaml"
assert_contains "$ERR" "no notifier 'nobody'"

# ---- a broken config is refused with its line -------------------------------------------------
printf 'jobs:\n  - name: x\n    files: [/tmp]\n    evry: 1h\n' >"$T/bad.yaml"
assert_rc 2 "$CERTLEDGER" serve --once --config "$T/bad.yaml"
assert_contains "$ERR" "bad.yaml:4"
finish
