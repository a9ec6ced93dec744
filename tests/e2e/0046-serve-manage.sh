#!/usr/bin/env bash
# certledger serve reconciles managed certificates (the `manage:` section)
# and alerts when a renewal or a deploy hook fails. An internal CA and a spec
# applied with `certledger apply`; `serve --once --now` rounds move the clock:
# past the renewal point the daemon renews (files switched, new
# fingerprint); with the CA's passphrase file gone the renewal fails: one
# manage.renewal_failing alert reaches the webhook receiver with its fields
# and is not repeated by the next rounds (a second failure included); with
# the passphrase back the renewal succeeds and the alert resolves; a failing
# deploy hook raises manage.hook_failed, which resolves when the hook
# succeeds. Then a running daemon renews at start, reports the job on
# /healthz and /metrics, keeps it across SIGHUP and stops on SIGTERM; a
# SIGTERM in the middle of a renewal (its deploy hook running) lets the
# renewal finish and be recorded.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"
need openssl

RECV=$CL_SRC/tests/e2e/alert_receivers.py
CA=$T/ca
TLS=$T/tls
SPEC=$T/certs.yaml
printf 'serve manage passphrase\n' >"$T/ca.pw"
chmod 600 "$T/ca.pw"
fp_of_file() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }
current() { readlink "$TLS/.certledger/web/current"; }

assert_rc 0 cl ca init "$CA" --org "Serve Manage E2E" --permit-dns example.internal \
    --passphrase-file "$T/ca.pw"
cat >"$SPEC" <<EOF
kind: Issuer
metadata: {name: internal}
spec:
  ca:
    dir: $CA
    passphrase: {file: $T/ca.pw}
---
kind: Certificate
metadata: {name: web}
spec:
  commonName: www.example.internal
  dnsNames: [www.example.internal]
  issuerRef: {name: internal}
  duration: 30d
  renewBefore: 10d
  output: {dir: $TLS}
  hooks:
    deploy: ["test ! -e $T/hook.slow || sleep 3; echo \"\$CERTLEDGER_NAMES\" >>$T/hook.log; test ! -e $T/hook.fail"]
EOF
assert_rc 0 cl apply "$SPEC"
FP1=$(fp_of_file "$TLS/web.pem")
assert_eq v1 "$(current)" "first version"

net_ports 2
RPORT=${PORTS[0]} SPORT=${PORTS[1]}
net_bg recv "$PY" "$RECV" http "$RPORT" "$T/hooks.jsonl" --ready "$T/recv.ready"
RECV_PID=$NET_PID
net_wait_file recv "$RECV_PID" "$T/recv.ready"

config() { # LISTEN [ALERT-RULE-LINE]
    cat >"$T/certledger.yaml" <<EOF
store: $DB
listen: "$1"
health_grace: 1m
manage:
  every: 1h
  workers: 2
  specs: inventory
alerts:
  evaluate_every: 1h
  ${2:-}
routes:
  - match: {type: ["manage.*"]}
    notify: [hook, am]
notifiers:
  - name: hook
    type: webhook
    url: http://127.0.0.1:$RPORT/hook
  - name: am
    type: alertmanager
    url: http://127.0.0.1:$RPORT/am
EOF
}
config ""
round() { # WHEN: one round of the daemon at that time
    assert_rc 0 "$CERTLEDGER" serve --once --now "$1" --config "$T/certledger.yaml"
}
# hooks PYTHON-CONDITION-ON-b (the webhook body) -> how many webhook messages hold it
hooks() {
    "$PY" - "$T/hooks.jsonl" "$1" <<'EOF'
import json, sys
n = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
for l in lines:
    r = json.loads(l)
    if r.get("path") != "/hook":
        continue
    b = json.loads(r["body"])
    if eval(sys.argv[2]):
        n += 1
print(n)
EOF
}

# ---- nothing due: nothing renewed, nothing said ------------------------------------------------
round "$(now_plus '+1 hour')"
assert_eq "$FP1" "$(fp_of_file "$TLS/web.pem")" "not due: the same certificate"
assert_eq 0 "$(hooks "b['event_type'].startswith('manage.')")" "no manage alerts"

# ---- past the renewal point: renewed by the daemon --------------------------------------------
round "$(now_plus '+21 days')"
FP2=$(fp_of_file "$TLS/web.pem")
[[ $FP2 != "$FP1" ]] || fail "not renewed past the renewal point"
assert_eq v2 "$(current)" "switched to the renewed version"
assert_eq 2 "$(grep -c web "$T/hook.log")" "the hook ran after apply and after the renewal"
assert_rc 0 cl events --type manage.renewed --format json
pyassert 'check(len(d) == 1, d)'
assert_eq 0 "$(hooks "b['event_type'].startswith('manage.')")" "a renewal is not an alert"

# ---- the issuer breaks: one renewal_failing alert ----------------------------------------------
mv "$T/ca.pw" "$T/ca.pw.away"
T1=$(now_plus '+42 days')
round "$T1"
assert_eq "$FP2" "$(fp_of_file "$TLS/web.pem")" "a failed renewal leaves the files"
assert_eq 1 "$(hooks "b['event_type'] == 'manage.renewal_failing' and b['action'] == 'firing'")" \
    "one renewal_failing alert; receiver got: $(cat "$T/hooks.jsonl")"
"$PY" - "$T/hooks.jsonl" "$FP2" "$T1" <<'EOF' || fail "renewal_failing fields"
import datetime, json, sys
path, fp, t1 = sys.argv[1:]
msgs = [json.loads(json.loads(l)["body"]) for l in open(path) if '"/hook"' in l]
m = [b for b in msgs if b["event_type"] == "manage.renewal_failing"][0]
at = datetime.datetime.strptime(t1, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
nxt = datetime.datetime.strptime(m["next_attempt"], "%Y-%m-%dT%H:%M:%SZ").replace(
    tzinfo=datetime.timezone.utc)
def check(c, what):
    if not c:
        sys.exit(f"{what}: {json.dumps(m, indent=1)}")
check(m["managed"] == "web", "managed name")
check(m["failures"] == 1, "failure count")
check(abs((nxt - at).total_seconds() - 3600) < 120, "next attempt in 1h")
check(m["fingerprint_sha256"] == fp, "the deployed certificate")
check(m["days_left"] in (8, 9), "days left of the deployed certificate")
check(m["severity"] == "warning", "severity: a valid certificate outlives the next attempt")
check(m["alert_key"].startswith("manage.renewal_failing:web:"), "alert key")
check("ca.pw" in m["detail"] and "\n" not in m["detail"], "the error, sanitised")
check("renewal failing (1 failure in a row)" in m["summary"], "summary")
check(any(l.endswith("/web.pem") for l in m["locations"]), "locations")
EOF
# the Alertmanager receiver gets it labelled with the certificate's name
grep -q '"path": "/am/api/v2/alerts"' "$T/hooks.jsonl" || fail "no Alertmanager message"
"$PY" - "$T/hooks.jsonl" <<'EOF' || fail "Alertmanager labels"
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"] != "/am/api/v2/alerts":
        continue
    for a in json.loads(r["body"]):
        if a["labels"]["alertname"] == "certledger_manage_renewal_failing":
            assert a["labels"]["managed"] == "web", a
            assert a["annotations"]["failures"] == "1", a
            assert a["annotations"]["next_attempt"], a
            sys.exit(0)
sys.exit("no certledger_manage_renewal_failing alert")
EOF
# no generic finding.opened alert for the same finding
assert_rc 0 cl alerts --format json
pyassert '
t = [a["type"] for a in d]
check(t.count("manage.renewal_failing") == 1 and "finding.opened" not in t, t)'

# the next rounds: still failing (a second failure after the backoff), not repeated
round "$(now_plus '+42 days +10 minutes')"
round "$(now_plus '+42 days +2 hours')"
assert_rc 0 cl managed --format json
pyassert 'check(d[0]["failures"] == 2, d)'
assert_eq 1 "$(hooks "b['event_type'] == 'manage.renewal_failing'")" \
    "renewal_failing not repeated in the same failure streak"

# ---- the issuer is back: the renewal succeeds, the alert resolves; the hook fails ---------------
mv "$T/ca.pw.away" "$T/ca.pw"
touch "$T/hook.fail"
round "$(now_plus '+42 days +5 hours')"
FP3=$(fp_of_file "$TLS/web.pem")
[[ $FP3 != "$FP2" ]] || fail "not renewed once the issuer was back"
assert_eq v3 "$(current)" "switched to the third version"
assert_eq 1 "$(hooks "b['event_type'] == 'manage.renewal_failing' and b['action'] == 'resolved'")" \
    "renewal_failing resolved"
assert_eq 1 "$(hooks "b['event_type'] == 'manage.hook_failed' and b['action'] == 'firing' and b['managed'] == 'web' and b['severity'] == 'error' and 'exit status 1' in b['detail'] and b['fingerprint_sha256'] == '$FP3'")" \
    "hook_failed alert; receiver got: $(grep hook_failed "$T/hooks.jsonl" || true)"
assert_rc 0 cl alerts --format json
pyassert '
t = sorted((a["type"], a["state"]) for a in d)
check(("manage.renewal_failing", "resolved") in t and ("manage.hook_failed", "firing") in t
      and all(x[0] != "finding.opened" for x in t), t)'

# the hook still fails: not repeated; then it succeeds: resolved
round "$(now_plus '+42 days +6 hours')"
assert_eq 1 "$(hooks "b['event_type'] == 'manage.hook_failed'")" "hook_failed not repeated"
rm "$T/hook.fail"
round "$(now_plus '+42 days +7 hours')"
assert_eq 1 "$(hooks "b['event_type'] == 'manage.hook_failed' and b['action'] == 'resolved'")" \
    "hook_failed resolved"
assert_eq "$FP3" "$(fp_of_file "$TLS/web.pem")" "the hook ran again, nothing renewed"

# ---- switched off: the finding opens, nothing is sent --------------------------------------------
config "" "renewal_failing: false"
mv "$T/ca.pw" "$T/ca.pw.away"
round "$(now_plus '+62 days +6 hours')"
assert_rc 0 cl findings --rule manage.renewal_failing --format json
pyassert 'check(len(d) == 1, d)'
assert_eq 2 "$(hooks "b['event_type'] == 'manage.renewal_failing'")" "switched off: no new alert"
assert_eq 0 "$(hooks "b['event_type'] == 'finding.opened'")" "nor a finding.opened alert"
mv "$T/ca.pw.away" "$T/ca.pw"

# ---- a running daemon: reconciles at start, /healthz, /metrics, SIGHUP, SIGTERM ----------------
config "127.0.0.1:$SPORT"
T63=$(now_plus '+63 days')
net_bg serve "$CERTLEDGER" serve --config "$T/certledger.yaml" --now "$T63"
SERVE=$NET_PID
net_wait_port serve "$SERVE" "$SPORT"
renewed4() { [[ $(current) == v4 ]]; }
for ((i = 0; i < 300; i++)); do renewed4 && break; sleep 0.1; done
renewed4 || fail "the daemon did not renew at start: $(tail -n 20 "$NET_LOG/serve.log")"
get() { http_get "http://127.0.0.1:$SPORT$1" "$T/body"; }
manage_ok() {
    get /healthz
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
j = [x for x in d["jobs"] if x["name"] == "manage"]
sys.exit(0 if j and j[0]["kind"] == "manage" and j[0]["last_status"] == "ok" and
         not j[0]["running"] and j[0].get("last_success", "") >= sys.argv[2] else 1)' \
        "$T/body" "$T63"
}
for ((i = 0; i < 100; i++)); do manage_ok && break; sleep 0.1; done
manage_ok || fail "/healthz does not report the manage job: $(cat "$T/body")"
assert_eq 200 "$HTTP_STATUS" "/healthz"
get /metrics
assert_contains "$(cat "$T/body")" 'certledger_job_last_success_timestamp_seconds{job_name="manage",kind="manage"}'
assert_contains "$(cat "$T/body")" 'certledger_job_duration_seconds{job_name="manage",kind="manage"}'
kill -HUP "$SERVE"
sleep 1
_net_alive "$SERVE" || fail "serve died on SIGHUP: $(tail -n 20 "$NET_LOG/serve.log")"
manage_ok || fail "the manage job's state was lost on SIGHUP: $(cat "$T/body")"
assert_contains "$(cat "$NET_LOG/serve.log")" "reloaded"
kill -TERM "$SERVE"
for ((i = 0; i < 100; i++)); do _net_alive "$SERVE" || break; sleep 0.1; done
_net_alive "$SERVE" && fail "serve still running 10 s after SIGTERM"
wait "$SERVE" && SRC=0 || SRC=$?
assert_eq 0 "$SRC" "serve exits 0 on SIGTERM"
# apply, the two renewals, the failing hook twice, its success, the daemon's renewal
assert_eq 6 "$(grep -c web "$T/hook.log")" "hook runs"

# ---- SIGTERM while a renewal's deploy hook runs: it finishes and is recorded ---------------------
touch "$T/hook.slow"
net_bg serve2 "$CERTLEDGER" serve --config "$T/certledger.yaml" --now "$(now_plus '+84 days')"
SERVE=$NET_PID
for ((i = 0; i < 300; i++)); do [[ $(current) == v5 ]] && break; sleep 0.1; done
assert_eq v5 "$(current)" "renewed again at +84 days"
kill -TERM "$SERVE"
for ((i = 0; i < 150; i++)); do _net_alive "$SERVE" || break; sleep 0.1; done
_net_alive "$SERVE" && fail "serve still running 15 s after SIGTERM"
wait "$SERVE" && SRC=0 || SRC=$?
assert_eq 0 "$SRC" "serve exits 0 on SIGTERM during a renewal"
assert_eq 7 "$(grep -c web "$T/hook.log")" "the hook under way finished"
assert_rc 0 cl managed --format json
pyassert "check(d[0]['version'] == 5 and d[0]['fingerprint_sha256'] == '$(fp_of_file "$TLS/web.pem")'
      and not d[0]['hook_pending'] and d[0]['failures'] == 0, d)"
assert_contains "$(cat "$NET_LOG/serve2.log")" "job manage: stopped"
assert_eq 1 "$(hooks "b['event_type'] == 'manage.renewal_failing' and b['action'] == 'resolved'")" \
    "the daemon's renewal resolved nothing that was not firing"
