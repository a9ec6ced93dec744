#!/usr/bin/env bash
# A running `certledger serve`: its job runs, the expiry and renewal-overdue
# alerts reach a webhook (HMAC signed) and an Alertmanager-style receiver,
# a real Prometheus scrapes /metrics (checked through its query API),
# /healthz and /calendar.ics answer, gzip is honoured, SIGHUP reloads (and
# keeps the running configuration when the file is broken), SIGTERM stops
# cleanly with exit status 0.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"
need prometheus

RECV=$CL_SRC/tests/e2e/alert_receivers.py
W=$T/watch
mkdir -p "$W"
net_pki
# 70 days of life, 10 left: past the 14-day threshold and its renewal point
net_leaf web ec DNS:web.example.test -startdate "$(date -u -d '-60 days' +%Y%m%d%H%M%SZ)" \
    -enddate "$(date -u -d '+10 days' +%Y%m%d%H%M%SZ)"
cp "$PKI/web.pem" "$W/web.pem"
NOT_AFTER=$(date -u -d "$(openssl x509 -in "$PKI/web.pem" -noout -enddate | sed 's/^notAfter=//')" +%s)
FP=$(openssl x509 -in "$PKI/web.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)

net_ports 3
RPORT=${PORTS[0]} SPORT=${PORTS[1]} PPORT=${PORTS[2]}
net_bg recv "$PY" "$RECV" http "$RPORT" "$T/hooks.jsonl" --ready "$T/recv.ready"
RECV_PID=$NET_PID
net_wait_file recv "$RECV_PID" "$T/recv.ready"

# a job whose quiet hours hold it back now
QUIET="$(date -u -d '-1 hour' +%H:%M)-$(date -u -d '+1 hour' +%H:%M)"
config() { # EXTRA-JOB-YAML
    cat >"$T/certledger.yaml" <<EOF
store: $DB
listen: "127.0.0.1:$SPORT"
health_grace: 1m
jobs:
  - name: watch
    files: [$W]
    every: 1h
  - name: quiet
    files: [$W]
    every: 1h
    quiet_hours: "$QUIET"
$1
alerts:
  evaluate_every: 1h
routes:
  - notify: [hook, am]
notifiers:
  - name: hook
    type: webhook
    url: http://127.0.0.1:$RPORT/hook
    secret: {env: HOOK_SECRET}
  - name: am
    type: alertmanager
    url: http://127.0.0.1:$RPORT/am
EOF
}
config ""
export HOOK_SECRET=s3cret-for-test
net_bg serve "$CERTLEDGER" serve --config "$T/certledger.yaml"
SERVE=$NET_PID
net_wait_port serve "$SERVE" "$SPORT"

get() { http_get "http://127.0.0.1:$SPORT$1" "$T/body" "${2:-}"; }
wait_for() { # SECONDS CMD...: retries CMD until it succeeds
    local secs=$1 i; shift
    for ((i = 0; i < secs * 5; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        _net_alive "$SERVE" || fail "serve exited: $(tail -n 20 "$NET_LOG/serve.log")"
        sleep 0.2
    done
    "$@"
}
hook_count() { [[ -s $T/hooks.jsonl ]] && grep -c '"path": "/hook"' "$T/hooks.jsonl" || echo 0; }

# ---- the first round: job, evaluation, delivery -----------------------------------------------
have_two_hooks() { (($(hook_count) >= 2)); }
wait_for 30 have_two_hooks || fail "no webhook deliveries; serve log:
$(tail -n 20 "$NET_LOG/serve.log")"
"$PY" - "$T/hooks.jsonl" "$HOOK_SECRET" "$FP" <<'EOF' || fail "webhook payloads"
import base64, hashlib, hmac, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
hooks = [r for r in rows if r["path"] == "/hook"]
types = sorted(json.loads(r["body"])["event_type"] for r in hooks)
assert types == ["cert.expiring", "cert.renewal_overdue"], types
for r in hooks:
    body = base64.b64decode(r["body_b64"])
    want = "sha256=" + hmac.new(sys.argv[2].encode(), body, hashlib.sha256).hexdigest()
    assert r["headers"]["x-certledger-signature"] == want, (r["headers"], want)
    m = json.loads(body)
    assert m["fingerprint_sha256"] == sys.argv[3], m
    assert r["headers"]["x-certledger-id"] == m["id"], r["headers"]
exp = [json.loads(r["body"]) for r in hooks if json.loads(r["body"])["event_type"] == "cert.expiring"][0]
assert exp["threshold"] == "14d" and exp["severity"] == "warning" and exp["days_left"] in (9, 10), exp
am = [r for r in rows if r["path"] == "/am/api/v2/alerts"]
assert len(am) == 2, [r["path"] for r in rows]
a = json.loads(am[0]["body"])[0]
assert a["labels"]["alertname"].startswith("certledger_"), a
EOF

# ---- HTTP endpoints ---------------------------------------------------------------------------
get /healthz
assert_eq 200 "$HTTP_STATUS" "/healthz status"
pyassert -f "$T/body" '
check(d["status"] == "ok", d)
j = [j for j in d["jobs"] if j["name"] == "watch"][0]
check(j["last_status"] == "ok" and not j["late"], j)
q = [j for j in d["jobs"] if j["name"] == "quiet"][0]
check(q["last_status"] == "never" and not q["late"] and "last_start" not in q, q)'
get /metrics
assert_eq 200 "$HTTP_STATUS" "/metrics status"
cp "$T/body" "$T/metrics.plain"
assert_contains "$(cat "$T/metrics.plain")" "certledger_cert_not_after_seconds{fingerprint=\"$FP\""
get /metrics gzip
assert_eq 200 "$HTTP_STATUS" "/metrics (gzip) status"
assert_eq "$(grep -v '_seconds ' "$T/metrics.plain" | grep -v '^#' | sort | md5sum)" \
    "$(grep -v '_seconds ' "$T/body" | grep -v '^#' | sort | md5sum)" "gzip and plain agree"
get /calendar.ics
assert_eq 200 "$HTTP_STATUS" "/calendar.ics status"
assert_contains "$(cat "$T/body")" "BEGIN:VEVENT"
assert_contains "$(cat "$T/body")" "web.example.test"
get /nope
assert_eq 404 "$HTTP_STATUS" "unknown path"

# ---- Prometheus scrapes it ------------------------------------------------------------------------
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: certledger
    static_configs:
      - targets: ["127.0.0.1:$SPORT"]
EOF
net_bg prometheus prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
    --web.listen-address="127.0.0.1:$PPORT" --log.level=warn
PROM=$NET_PID
net_wait_port prometheus "$PROM" "$PPORT" 127.0.0.1 60
promq() { # QUERY -> prints the first value, fails when there is none
    "$PY" - "http://127.0.0.1:$PPORT/api/v1/query" "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
u = sys.argv[1] + "?" + urllib.parse.urlencode({"query": sys.argv[2]})
d = json.load(urllib.request.urlopen(u, timeout=10))
r = d["data"]["result"]
if not r:
    sys.exit(1)
print(r[0]["value"][1])
EOF
}
wait_for 60 promq "certledger_cert_not_after_seconds{subject_cn=\"web.example.test\"}" ||
    fail "Prometheus never got the series; its log: $(tail -n 20 "$NET_LOG/prometheus.log")"
assert_eq "$NOT_AFTER" "$(promq "certledger_cert_not_after_seconds{fingerprint=\"$FP\",location=\"file:$W/web.pem\"}")" "not_after through Prometheus"
assert_eq 0 "$(promq "certledger_cert_expired{fingerprint=\"$FP\"}")" "expired gauge"
assert_eq 1 "$(promq 'certledger_alerts_firing{type="cert.expiring",severity="warning"}')" "firing"
assert_eq 2 "$(promq 'certledger_alert_deliveries_total{notifier="hook",outcome="sent"}')" "deliveries"
assert_eq 1 "$(promq 'certledger_job_runs_total{job_name="watch"}')" "job runs"
assert_eq 0 "$(promq 'certledger_job_runs_total{job_name="quiet"}')" "quiet hours held the job back"
net_stop "$PROM"

# ---- SIGHUP: a broken file keeps the running configuration; a good one adds a job --------------
cp "$T/certledger.yaml" "$T/good.yaml"
printf 'jobs:\n  - name: watch\n    every: soon\n' >"$T/certledger.yaml"
kill -HUP "$SERVE"
has_log() { grep -q "$1" "$NET_LOG/serve.log"; }
wait_for 10 has_log "not reloaded" || fail "no reload refusal logged"
assert_contains "$(cat "$NET_LOG/serve.log")" "certledger.yaml:3"
_net_alive "$SERVE" || fail "serve died on a broken reload"
config "  - name: second
    files: [$W]
    every: 2h"
kill -HUP "$SERVE"
wait_for 10 has_log "reloaded: 3 jobs" || fail "reload not logged"
get /healthz
pyassert -f "$T/body" 'check(sorted(j["name"] for j in d["jobs"]) == ["quiet", "second", "watch"], d)'
# the reload evaluated again: Alertmanager hears of the firing alerts again,
# with an endsAt ahead (else it would resolve them itself after its timeout)
am_count() { grep -c '"path": "/am/api/v2/alerts"' "$T/hooks.jsonl"; }
am_four() { (($(am_count) >= 4)); }
wait_for 10 am_four || fail "firing alerts not sent again to Alertmanager"
"$PY" - "$T/hooks.jsonl" <<'EOF' || fail "Alertmanager refresh"
import datetime, json, sys
am = [json.loads(json.loads(l)["body"])[0] for l in open(sys.argv[1])
      if json.loads(l)["path"] == "/am/api/v2/alerts"]
assert len(am) >= 4, len(am)
now = datetime.datetime.now(datetime.timezone.utc)
for a in am[2:]:
    ends = datetime.datetime.fromisoformat(a["endsAt"].replace("Z", "+00:00"))
    assert ends > now + datetime.timedelta(hours=2), a
    assert a["startsAt"] == am[0]["startsAt"] or a["startsAt"] == am[1]["startsAt"], a
EOF
# the logs are JSON lines (stderr is not a terminal)
"$PY" -c 'import json, sys
for l in open(sys.argv[1]):
    json.loads(l)' "$NET_LOG/serve.log" || fail "serve's log is not JSON lines"

# ---- SIGTERM ----------------------------------------------------------------------------------
kill -TERM "$SERVE"
for ((i = 0; i < 100; i++)); do _net_alive "$SERVE" || break; sleep 0.1; done
_net_alive "$SERVE" && fail "serve still running 10 s after SIGTERM"
set +e
wait "$SERVE"
rc=$?
set -e
assert_eq 0 "$rc" "exit status after SIGTERM"
assert_contains "$(tail -n 2 "$NET_LOG/serve.log")" '"stopped"'
finish
