#!/usr/bin/env bash
# The alert notifiers against real receivers on 127.0.0.1, driven by the
# notify_send test driver (CL_NOTIFY_SEND) with three messages (critical
# firing, warning firing, a resolution):
#  - webhook (HMAC signature checked with python's hmac, id header, bearer
#    token, extra header), Slack, Teams, PagerDuty, Alertmanager, ServiceNow
#    (resolution: lookup by correlation_id, then PATCH) and Jira (resolutions
#    skipped) into a recording HTTP receiver: paths, headers and bodies;
#  - a real Prometheus Alertmanager when installed (alerts read back);
#  - retry classification: 500, 503 mid-batch and 429 are RETRY, 400 is
#    FAIL, a closed port is RETRY; error texts quote the answer, never a secret;
#  - e-mail through aiosmtpd (STARTTLS required, AUTH): one digest per
#    recipient, to_owner, wrong password, rejected and deferred recipients,
#    STARTTLS turned off, an untrusted certificate;
#  - syslog into a real rsyslogd over TCP and over TLS (RFC 5424 fields,
#    structured-data escaping), a host name mismatch;
#  - JSON lines appended to a file (mode 0640).
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"

: "${CL_NOTIFY_SEND:?CL_NOTIFY_SEND must name the notify_send test driver}"
[[ -x $CL_NOTIFY_SEND ]] || fail "$CL_NOTIFY_SEND is not executable"
RSYSLOGD=/usr/sbin/rsyslogd
ALERTMANAGER=/usr/bin/prometheus-alertmanager
[[ -x $RSYSLOGD ]] || { echo "SKIP [$TEST_NAME]: needs rsyslogd ($RSYSLOGD)" >&2; exit 77; }
"$PY" -c 'import aiosmtpd' 2>/dev/null ||
    { echo "SKIP [$TEST_NAME]: needs python3-aiosmtpd for $PY" >&2; exit 77; }
RECV=$CL_SRC/tests/e2e/alert_receivers.py
L=127.0.0.1
umask 022

# ---------------------------------------------------------------- helpers ---
ns() { run "$CL_NOTIFY_SEND" "$@"; }

# expect OK|RETRY|FAIL NSENT WHAT: the last ns's result and exit status.
expect() {
    local want_rc
    case $1 in OK) want_rc=0 ;; RETRY) want_rc=1 ;; FAIL) want_rc=2 ;; esac
    if [[ $RC != "$want_rc" || $OUT != *"result=$1 nsent=$2"* ]]; then
        fail "$3: expected result=$1 nsent=$2 (exit $want_rc), got exit $RC
stdout: $OUT
stderr: $ERR"
    fi
}

# no_secret WORD...: none of them in the last ns's output.
no_secret() {
    local s
    for s in "$@"; do assert_not_contains "$OUT$ERR" "$s" "notify_send output"; done
}

# pycheck CODE [ARGS...]: python checks with check(cond, msg), jsonl(path),
# msgs (the messages sent) and args; fails the test with every message.
PYLIB='
import base64, email, email.policy, hashlib, hmac, json, re, sys, time, urllib.parse
import calendar
args = sys.argv[3:]
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]
def epoch(s):
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))
with open(sys.argv[1] + "/msgs.json", encoding="utf-8") as f:
    msgs = json.load(f)
m1, m2, m3 = msgs
'
pycheck() {
    local msg
    if ! msg=$("$PY" -c "$PYLIB"'
try:
    exec(compile(sys.argv[2], "check", "exec"))
except Exception:
    import traceback
    errors.append("the check raised: " + traceback.format_exc())
if errors:
    print("\n".join(errors))
    sys.exit(1)
' "$T" "$@" 2>&1 </dev/null); then
        fail "check: $msg"
    fi
}

start_http() { # NAME PORT LOG [ARGS...]
    local name=$1 port=$2 log=$3
    shift 3
    net_bg "$name" "$PY" "$RECV" http "$port" "$log" --ready "$T/.ready-$name" "$@"
    net_wait_file "$name" "$NET_PID" "$T/.ready-$name"
}

# wait_lines FILE N: until FILE has N lines (10 s)
wait_lines() {
    local i
    for ((i = 0; i < 100; i++)); do
        if [[ -f $1 ]] && (($(wc -l <"$1") >= $2)); then return 0; fi
        sleep 0.1
    done
    fail "$1: expected $2 lines, got $(wc -l <"$1" 2>/dev/null || echo none)"
}

# ---------------------------------------------------------------- messages ---
"$PY" - "$T" <<'EOF'
import json, sys, time
T = sys.argv[1]
now = int(time.time()) - 1
def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
fp1, fp2, fp3 = "a1" * 32, "b2" * 32, "c3" * 32
m1 = {
    "id": "1" * 32, "alert_key": "cert.expiring:%s:3d" % fp1, "event_type": "cert.expiring",
    "action": "firing", "severity": "critical",
    "summary": "Certificate www.notify.test expires in 3 days", "timestamp": iso(now),
    "certificate_subject": "CN=www.notify.test,O=Notify Test", "subject_cn": "www.notify.test",
    "certificate_serial": "0a1b2c", "issuer": "CN=Notify Test CA,O=Notify Test",
    "issuer_cn": "Notify Test CA", "fingerprint_sha256": fp1,
    "expiration_date": iso(now + 3 * 86400 + 60), "days_left": 3,
    "locations": ["tls:10.0.0.%d:443" % i for i in range(1, 8)],
    "owner": "web-team@example.com", "environment": "prod", "tags": ["team=web", "pci"],
    "threshold": "3d", "detail": None,
    "dashboard_url": "https://certledger.notify.test/c/" + fp1,
}
m2 = {
    "id": "2" * 32, "alert_key": "cert.expiring:%s:14d" % fp2, "event_type": "cert.expiring",
    "action": "firing", "severity": "warning",
    "summary": "Certificate api.notify.test expires in 14 days", "timestamp": iso(now),
    "certificate_subject": "CN=api.notify.test", "subject_cn": "api.notify.test",
    "fingerprint_sha256": fp2, "expiration_date": iso(now + 14 * 86400 + 60), "days_left": 14,
    "locations": ["file:/etc/ssl/api.pem"], "owner": "db-team", "environment": "staging",
    "threshold": "14d", "detail": 'was "x" ] \\ y',
}
m3 = {
    "id": "3" * 32, "alert_key": "endpoint.cert_changed:tls:10.0.0.9:443",
    "event_type": "endpoint.cert_changed", "action": "resolved", "severity": "warning",
    "summary": "tls:10.0.0.9:443 serves its usual certificate again", "timestamp": iso(now),
    "subject_cn": "old.notify.test", "fingerprint_sha256": fp3,
    "expiration_date": iso(now + 200 * 86400 + 60), "days_left": 200,
    "locations": ["tls:10.0.0.9:443"], "owner": "web-team@example.com",
    "detail": "was %s, now %s" % (fp2, fp3),
}
with open(T + "/msgs.json", "w") as f:
    json.dump([m1, m2, m3], f)
with open(T + "/msgs-resolve.json", "w") as f:
    json.dump([dict(m1, id="4" * 32, action="resolved")], f)
EOF
MSGS=$T/msgs.json

net_ports 9
P_HTTP=${PORTS[0]} P_RETRY=${PORTS[1]} P_BAD=${PORTS[2]} P_MID=${PORTS[3]} P_BUSY=${PORTS[4]}
P_SMTP=${PORTS[5]} P_SYSLOG=${PORTS[6]} P_SYSLOG_TLS=${PORTS[7]} P_AM=${PORTS[8]}
net_closed_port

# =========================================================== HTTP types ===
HL=$T/http.jsonl
SYSID=0123456789abcdef0123456789abcdef
start_http http "$P_HTTP" "$HL" --get-body "{\"result\": [{\"sys_id\": \"$SYSID\"}]}"
H=http://$L:$P_HTTP

ns --type webhook --name hooks --url "$H/hooks/cl?token=QUERYSECRET" --secret hmac-key-1 \
    --token BEARER-1 --header "X-Team: web" "$MSGS"
expect OK 3 webhook
ns --type slack --name ops --url "$H/services/T000/B000/SLACKSECRET" "$MSGS"
expect OK 3 slack
ns --type teams --name ops --url "$H/webhookb2/TEAMSSECRET/IncomingWebhook/x/y" "$MSGS"
expect OK 3 teams
ns --type pagerduty --name pd --url "$H/v2/enqueue" --routing-key PD-ROUTING-1 "$MSGS"
expect OK 3 pagerduty
ns --type alertmanager --name am --url "$H/am/" "$MSGS"
expect OK 3 alertmanager
ns --type servicenow --name sn --url "$H/sn" --username admin --password SN-PW-1 "$MSGS"
expect OK 3 servicenow
ns --type servicenow --name sn2 --url "$H/sn2/" --table u_cert_alert --username admin \
    --password SN-PW-1 "$MSGS"
expect OK 3 "servicenow, own table"
ns --type jira --name jira --url "$H/jira" --username me@example.com --token JIRA-TOK-1 \
    --project OPS --issue-type Bug "$MSGS"
expect OK 3 "jira (the resolution counts as sent)"

check_webhook() {
    pycheck '
reqs = [r for r in jsonl(args[0]) if r["path"].startswith("/hooks/")]
check(len(reqs) == 3, "webhook: %d requests" % len(reqs))
for r, m in zip(reqs, msgs):
    body = base64.b64decode(r["body_b64"])
    h = r["headers"]
    d = json.loads(body)
    check(r["method"] == "POST" and r["path"] == "/hooks/cl?token=QUERYSECRET", "webhook: %s %s" % (r["method"], r["path"]))
    check(h.get("content-type") == "application/json", "webhook content-type %r" % h.get("content-type"))
    check(h.get("x-certledger-id") == m["id"], "webhook id header %r" % h.get("x-certledger-id"))
    want = "sha256=" + hmac.new(b"hmac-key-1", body, hashlib.sha256).hexdigest()
    check(h.get("x-certledger-signature") == want, "webhook signature %r, want %r" % (h.get("x-certledger-signature"), want))
    check(h.get("authorization") == "Bearer BEARER-1", "webhook authorization %r" % h.get("authorization"))
    check(h.get("x-team") == "web", "webhook extra header %r" % h.get("x-team"))
    for k, v in m.items():
        check(d.get(k) == v, "webhook body %s: %r, sent %r" % (k, d.get(k), v))
    check(d["not_after"] == epoch(m["expiration_date"]), "webhook not_after %r" % d["not_after"])
' "$HL"
}
soft check_webhook

check_slack() {
    pycheck '
reqs = [r for r in jsonl(args[0]) if r["path"].startswith("/services/")]
check(len(reqs) == 3, "slack: %d requests" % len(reqs))
b = [json.loads(r["body"]) for r in reqs]
check(all(r["path"] == "/services/T000/B000/SLACKSECRET" for r in reqs), "slack paths")
check(sorted(b[0]) == ["blocks", "text"], "slack keys %r" % sorted(b[0]))
check(b[0]["text"] == "[CRITICAL: Certificate expiring] " + m1["summary"], "slack text %r" % b[0]["text"])
check(b[0]["blocks"][0]["text"]["text"] == "CRITICAL: Certificate expiring", "slack header %r" % b[0]["blocks"][0])
check(b[2]["blocks"][0]["text"]["text"] == "RESOLVED: Endpoint certificate changed", "slack resolved header %r" % b[2]["blocks"][0])
texts = [json.dumps(x) for x in b]
fields = [f["text"] for f in b[0]["blocks"][2]["fields"]]
for want in ("*Severity*\ncritical", "*Subject*\nCN=www.notify.test,O=Notify Test", "*Days left*\n3 days left", "*Expires*\n" + m1["expiration_date"], "*Owner*\nweb-team@example.com"):
    check(want in fields, "slack fields lack %r: %r" % (want, fields))
locs = b[0]["blocks"][3]["text"]["text"]
check(locs.startswith("*Locations*\n") and "tls:10.0.0.5:443" in locs and "tls:10.0.0.6:443" not in locs and locs.endswith("(and 2 more)"), "slack locations %r" % locs)
check("|Open in certledger>" in texts[0], "slack dashboard link")
check(b[1]["blocks"][1]["text"]["text"].startswith(":large_yellow_circle: "), "slack warning emoji %r" % b[1]["blocks"][1])
' "$HL"
}
soft check_slack

check_teams() {
    pycheck '
reqs = [r for r in jsonl(args[0]) if r["path"].startswith("/webhookb2/")]
check(len(reqs) == 3, "teams: %d requests" % len(reqs))
b = [json.loads(r["body"]) for r in reqs]
for d, color, m in zip(b, ("B00020", "FFB900", "2EB886"), msgs):
    check(d["@type"] == "MessageCard" and d["@context"] == "https://schema.org/extensions", "teams card type %r" % d)
    check(d["themeColor"] == color, "teams color %r want %r" % (d["themeColor"], color))
    check(d["summary"] == m["summary"], "teams summary %r" % d["summary"])
    facts = {f["name"]: f["value"] for f in d["sections"][0]["facts"]}
    check(facts.get("Alert") == m["alert_key"], "teams facts %r" % facts)
    check(facts.get("Expires") == m["expiration_date"], "teams expiry %r" % facts)
check(b[0]["potentialAction"][0]["targets"][0]["uri"] == m1["dashboard_url"], "teams link")
check("potentialAction" not in b[1], "teams link without a dashboard")
' "$HL"
}
soft check_teams

check_pagerduty() {
    pycheck '
reqs = [r for r in jsonl(args[0]) if r["path"].startswith("/v2/enqueue")]
check(len(reqs) == 3, "pagerduty: %d requests" % len(reqs))
b = [json.loads(r["body"]) for r in reqs]
for d, m, action, sev in zip(b, msgs, ("trigger", "trigger", "resolve"), ("critical", "warning", None)):
    check(d["routing_key"] == "PD-ROUTING-1", "pagerduty routing key")
    check(d["event_action"] == action, "pagerduty action %r want %r" % (d["event_action"], action))
    check(d["dedup_key"] == m["alert_key"], "pagerduty dedup_key %r" % d["dedup_key"])
    if sev:
        p = d["payload"]
        check(p["severity"] == sev and p["summary"] == m["summary"] and p["timestamp"] == m["timestamp"], "pagerduty payload %r" % p)
        check(p["source"] == m["locations"][0] and p["component"] == m["subject_cn"], "pagerduty source/component %r" % p)
        check(p["custom_details"]["fingerprint_sha256"] == m["fingerprint_sha256"], "pagerduty custom_details")
    else:
        check(sorted(d) == ["dedup_key", "event_action", "routing_key"], "pagerduty resolve keys %r" % sorted(d))
' "$HL"
}
soft check_pagerduty

check_alertmanager() {
    pycheck '
reqs = [r for r in jsonl(args[0]) if r["path"].startswith("/am")]
check(len(reqs) == 3, "alertmanager: %d requests" % len(reqs))
check(all(r["path"] == "/am/api/v2/alerts" and r["method"] == "POST" for r in reqs), "alertmanager paths %r" % [r["path"] for r in reqs])
b = [json.loads(r["body"]) for r in reqs]
check(all(isinstance(d, list) and len(d) == 1 for d in b), "alertmanager bodies are arrays of one")
a1, a2, a3 = (d[0] for d in b)
check(a1["labels"] == {"alertname": "certledger_cert_expiring", "severity": "critical", "alert_key": m1["alert_key"], "fingerprint": m1["fingerprint_sha256"], "subject_cn": "www.notify.test", "owner": "web-team@example.com", "environment": "prod"}, "alertmanager labels %r" % a1["labels"])
check(a1["annotations"]["summary"] == m1["summary"], "alertmanager summary")
check(a2["annotations"]["detail"] == m2["detail"], "alertmanager detail %r" % a2["annotations"])
check(a1["startsAt"] == m1["timestamp"] and "endsAt" not in a1, "alertmanager firing times %r" % a1)
check(a1["generatorURL"] == m1["dashboard_url"] and "generatorURL" not in a2, "alertmanager generatorURL")
check(a3["labels"]["alertname"] == "certledger_endpoint_cert_changed" and a3["endsAt"] == m3["timestamp"], "alertmanager resolved %r" % a3)
' "$HL"
}
soft check_alertmanager

check_servicenow() {
    pycheck '
sysid = args[1]
for base, table in (("/sn/", "incident"), ("/sn2/", "u_cert_alert")):
    reqs = [r for r in jsonl(args[0]) if r["path"].startswith(base)]
    tpath = base + "api/now/table/" + table
    check([r["method"] for r in reqs] == ["POST", "POST", "GET", "PATCH"], "servicenow %s: %r" % (table, [(r["method"], r["path"]) for r in reqs]))
    if len(reqs) != 4:
        continue
    auth = "Basic " + base64.b64encode(b"admin:SN-PW-1").decode()
    check(all(r["headers"].get("authorization") == auth for r in reqs), "servicenow basic auth")
    for r, m, urg in zip(reqs[:2], msgs, ("1", "2")):
        d = json.loads(r["body"])
        check(r["path"] == tpath, "servicenow path %r" % r["path"])
        check(d["correlation_id"] == m["alert_key"] and d["urgency"] == urg, "servicenow body %r" % d)
        check(d["short_description"] == "[certledger] " + m["summary"], "servicenow short_description %r" % d["short_description"])
        check(m["fingerprint_sha256"] in d["description"], "servicenow description")
    u = urllib.parse.urlsplit(reqs[2]["path"])
    q = urllib.parse.parse_qs(u.query)
    check(u.path == tpath and q.get("sysparm_query") == ["correlation_id=%s^active=true" % m3["alert_key"]], "servicenow lookup %r" % reqs[2]["path"])
    check(reqs[3]["path"] == tpath + "/" + sysid, "servicenow resolve path %r" % reqs[3]["path"])
    d = json.loads(reqs[3]["body"])
    check(d.get("state") == "6" and m3["summary"] in d.get("close_notes", ""), "servicenow resolve body %r" % d)
' "$HL" "$SYSID"
}
soft check_servicenow

check_jira() {
    pycheck '
reqs = [r for r in jsonl(args[0]) if r["path"].startswith("/jira")]
check(len(reqs) == 2, "jira: %d requests (the resolution is not sent)" % len(reqs))
auth = "Basic " + base64.b64encode(b"me@example.com:JIRA-TOK-1").decode()
for r, m in zip(reqs, msgs):
    d = json.loads(r["body"])["fields"]
    check(r["path"] == "/jira/rest/api/2/issue" and r["headers"].get("authorization") == auth, "jira request %r" % r["path"])
    check(d["project"] == {"key": "OPS"} and d["issuetype"] == {"name": "Bug"}, "jira fields %r" % d)
    check(d["summary"] == "[certledger] " + m["summary"], "jira summary %r" % d["summary"])
    check(d["labels"][:3] == ["certledger", "cert.expiring", m["severity"]], "jira labels %r" % d["labels"])
' "$HL"
}
soft check_jira

# ------------------------------------------------------- real Alertmanager ---
if [[ -x $ALERTMANAGER ]]; then
    mkdir -p "$T/am/data"
    cat >"$T/am/am.yml" <<'EOF'
route:
  receiver: "null"
receivers:
  - name: "null"
EOF
    net_bg alertmanager "$ALERTMANAGER" --config.file="$T/am/am.yml" \
        --storage.path="$T/am/data" --web.listen-address="$L:$P_AM" \
        --cluster.listen-address= --log.level=warn
    net_wait_port alertmanager "$NET_PID" "$P_AM"
    am_alerts() { # -> $T/am/alerts.json
        "$PY" -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
            "http://$L:$P_AM/api/v2/alerts" >"$T/am/alerts.json" || fail "cannot read the alerts"
    }
    ns --type alertmanager --name am --url "http://$L:$P_AM" "$MSGS"
    expect OK 3 "real alertmanager"
    am_alerts
    check_am_firing() {
        pycheck '
got = {a["labels"].get("alert_key"): a for a in json.load(open(args[0]))}
check(set(got) == {m1["alert_key"], m2["alert_key"]}, "alertmanager holds %r" % sorted(got))
a = got.get(m1["alert_key"])
if a:
    check(a["status"]["state"] == "active", "alertmanager state %r" % a["status"])
    check(a["labels"]["alertname"] == "certledger_cert_expiring" and a["labels"]["severity"] == "critical", "alertmanager labels %r" % a["labels"])
    check(a["annotations"]["summary"] == m1["summary"] and a["generatorURL"] == m1["dashboard_url"], "alertmanager annotations %r" % a)
    check(epoch(a["startsAt"]) == epoch(m1["timestamp"]), "alertmanager startsAt %r" % a["startsAt"])
' "$T/am/alerts.json"
    }
    soft check_am_firing
    ns --type alertmanager --name am --url "http://$L:$P_AM/" "$T/msgs-resolve.json"
    expect OK 1 "real alertmanager, resolution"
    am_alerts
    check_am_resolved() {
        pycheck '
got = sorted(a["labels"].get("alert_key") for a in json.load(open(args[0])))
check(got == [m2["alert_key"]], "after the resolution alertmanager holds %r" % got)
' "$T/am/alerts.json"
    }
    soft check_am_resolved
else
    echo "($TEST_NAME: $ALERTMANAGER is not installed: the real Alertmanager part is skipped)" >&2
fi

# ================================================== retry classification ===
start_http retry "$P_RETRY" "$T/retry.jsonl" --fail 1 --status 500
ns --type webhook --name hooks --url "http://$L:$P_RETRY/r?token=QUERYSECRET" --secret hmac-key-1 \
    --token BEARER-1 "$MSGS"
expect RETRY 0 "webhook answered 500"
assert_contains "$OUT" "error=webhook hooks: HTTP 500 from http://$L:$P_RETRY/r: receiver failure 1 ? try later"
no_secret QUERYSECRET hmac-key-1 BEARER-1
ns --type webhook --name hooks --url "http://$L:$P_RETRY/r?token=QUERYSECRET" "$MSGS"
expect OK 3 "webhook, retried"

start_http bad "$P_BAD" "$T/bad.jsonl" --fail 1000 --status 400
ns --type slack --name ops --url "http://$L:$P_BAD/services/T000/B000/SLACKSECRET" "$MSGS"
expect FAIL 0 "slack answered 400"
assert_contains "$OUT" "error=slack ops: HTTP 400 from http://$L:$P_BAD: receiver failure 1"
no_secret SLACKSECRET /services/
assert_eq 1 "$(wc -l <"$T/bad.jsonl")" "requests after a permanent failure"
ns --type jira --name jira --url "http://$L:$P_BAD" --username u --token JIRA-TOK-1 --project X \
    "$MSGS"
expect FAIL 0 "jira answered 400"
no_secret JIRA-TOK-1

start_http mid "$P_MID" "$T/mid.jsonl" --fail-at 2 --status 503
ns --type pagerduty --name pd --url "http://$L:$P_MID/v2/enqueue" --routing-key PD-ROUTING-1 \
    "$MSGS"
expect RETRY 1 "pagerduty, the second answered 503"
assert_contains "$OUT" "HTTP 503 from http://$L:$P_MID/v2/enqueue"
no_secret PD-ROUTING-1
assert_eq 2 "$(wc -l <"$T/mid.jsonl")" "requests up to the failure"

start_http busy "$P_BUSY" "$T/busy.jsonl" --fail 1000 --status 429
ns --type teams --name ops --url "http://$L:$P_BUSY/webhookb2/TEAMSSECRET" "$MSGS"
expect RETRY 0 "teams answered 429"
no_secret TEAMSSECRET
ns --type servicenow --name sn --url "http://$L:$P_BUSY" --username admin --password SN-PW-1 \
    "$MSGS"
expect RETRY 0 "servicenow answered 429"
no_secret SN-PW-1

ns --type alertmanager --name am --url "http://$L:$CLOSED_PORT" "$MSGS"
expect RETRY 0 "alertmanager not listening"
assert_contains "$OUT" "error=alertmanager am: http://$L:$CLOSED_PORT/api/v2/alerts: "

# ================================================================ e-mail ===
net_pki
net_leaf smtp ec "DNS:smtp.notify.test,IP:127.0.0.1"
SL=$T/smtp.jsonl
net_bg smtp "$PY" "$RECV" smtp "$P_SMTP" "$SL" --cert "$PKI/smtp.full.pem" --key "$PKI/smtp.key" \
    --auth alice:wonder-PW --reject bounce@example.com --tempfail later@example.com \
    --ready "$T/.ready-smtp"
net_wait_file smtp "$NET_PID" "$T/.ready-smtp"
MAIL=(--type email --name mail --smtp-url "smtp://$L:$P_SMTP" --ca-bundle "$PKI/root.pem"
      --username alice --password wonder-PW --from "certledger <alerts@notify.test>")

ns "${MAIL[@]}" --to ops@example.com --to "Security Team <sec@example.com>" "$MSGS"
expect OK 3 "e-mail, two recipients"
check_mail_two() {
    pycheck '
recs = jsonl(args[0])
check(len(recs) == 2, "%d mails for two recipients" % len(recs))
check(sorted(r["rcpt_tos"][0] for r in recs) == ["ops@example.com", "sec@example.com"] and all(len(r["rcpt_tos"]) == 1 for r in recs), "recipients %r" % [r["rcpt_tos"] for r in recs])
for r in recs:
    check(r["mail_from"] == "alerts@notify.test", "MAIL FROM %r" % r["mail_from"])
    check(r["login"] == "alice" and r["tls"], "not authenticated over TLS: %r" % r)
    msg = email.message_from_string(r["data"], policy=email.policy.default)
    check(msg["Subject"] == "certledger: 3 alerts (1 critical, 1 resolved)", "Subject %r" % msg["Subject"])
    check(msg["From"] == "certledger <alerts@notify.test>", "From %r" % msg["From"])
    want_to = "ops@example.com" if r["rcpt_tos"][0] == "ops@example.com" else "Security Team <sec@example.com>"
    check(msg["To"] == want_to, "To %r" % msg["To"])
    check(msg["Date"] and msg["Message-ID"] and msg["MIME-Version"] == "1.0", "headers %r" % msg.items())
    check(msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8", "content type %r" % msg["Content-Type"])
    check(msg["Content-Transfer-Encoding"] == "8bit", "transfer encoding")
    check("\r\n" in r["data"] and "\n" not in r["data"].replace("\r\n", ""), "bare LF in the mail")
    body = msg.get_content()
    for i, (tag, m) in enumerate((("CRITICAL", m1), ("WARNING", m2), ("RESOLVED", m3)), 1):
        check("%d. [%s] %s" % (i, tag, m["summary"]) in body, "body lacks alert %d: %r" % (i, body[:3000]))
        check(m["fingerprint_sha256"] in body, "body lacks fingerprint %d" % i)
ids = [email.message_from_string(r["data"], policy=email.policy.default)["Message-ID"] for r in recs]
check(len(set(ids)) == 2, "Message-IDs %r" % ids)
' "$SL"
}
soft check_mail_two

: >"$SL"
ns "${MAIL[@]}" --to ops@example.com --to-owner "$MSGS"
expect OK 3 "e-mail to the owners too"
check_mail_owner() {
    pycheck '
recs = {r["rcpt_tos"][0]: r for r in jsonl(args[0])}
check(sorted(recs) == ["ops@example.com", "web-team@example.com"], "recipients %r (db-team is no address)" % sorted(recs))
w = recs.get("web-team@example.com")
if w:
    msg = email.message_from_string(w["data"], policy=email.policy.default)
    body = msg.get_content()
    check(msg["Subject"] == "certledger: 2 alerts (1 critical, 1 resolved)", "owner Subject %r" % msg["Subject"])
    check(m1["summary"] in body and m3["summary"] in body and m2["summary"] not in body, "owner digest %r" % body[:2000])
' "$SL"
}
soft check_mail_owner

: >"$SL"
ns "${MAIL[@]}" --password wrong-PW-9 --to ops@example.com "$MSGS"
expect FAIL 0 "e-mail, wrong password"
assert_contains "$OUT" "error=email mail: SMTP 535 from smtp://$L:$P_SMTP"
no_secret wrong-PW-9 wonder-PW
ns "${MAIL[@]}" --to ops@example.com --to bounce@example.com "$MSGS"
expect FAIL 0 "e-mail, a recipient rejected"
assert_contains "$OUT" "SMTP 550"
assert_contains "$OUT" "bounce@example.com"
ns "${MAIL[@]}" --to later@example.com "$MSGS"
expect RETRY 0 "e-mail, a recipient deferred"
assert_contains "$OUT" "SMTP 451"
ns "${MAIL[@]}" --no-starttls --to ops@example.com "$MSGS"
expect FAIL 0 "e-mail without STARTTLS to a server that requires it"
assert_contains "$OUT" "SMTP 530"
ns --type email --name mail --smtp-url "smtp://$L:$P_SMTP" --username alice --password wonder-PW \
    --from alerts@notify.test --to ops@example.com "$MSGS"
expect RETRY 0 "e-mail, certificate not trusted"
no_secret wonder-PW
# of all that, only the first digest of the rejected batch went out
assert_eq 1 "$(wc -l <"$SL")" "mails delivered by the failing cases"

# ================================================================ syslog ===
net_leaf syslog ec "IP:127.0.0.1"
RS=$T/rsyslog
mkdir -p "$RS/work"
# Only imtcp is loaded (no imuxsock, no imklog: nothing of the host's logging
# is touched); both listeners on 127.0.0.1, the second with TLS (ossl).
TLS_INPUT=
if [[ -f /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so || -n $(find /usr/lib -name lmnsd_ossl.so -print -quit 2>/dev/null) ]]; then
    TLS_INPUT="input(type=\"imtcp\" port=\"$P_SYSLOG_TLS\" address=\"$L\" StreamDriver.Name=\"ossl\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\")"
fi
cat >"$RS/rsyslog.conf" <<EOF
global(workDirectory="$RS/work" maxMessageSize="64k"
       DefaultNetstreamDriverCAFile="$PKI/root.pem"
       DefaultNetstreamDriverCertFile="$PKI/syslog.full.pem"
       DefaultNetstreamDriverKeyFile="$PKI/syslog.key")
module(load="imtcp")
input(type="imtcp" port="$P_SYSLOG" address="$L")
$TLS_INPUT
action(type="omfile" file="$RS/out.log" template="RSYSLOG_SyslogProtocol23Format")
EOF
"$RSYSLOGD" -N1 -f "$RS/rsyslog.conf" >"$NET_LOG/rsyslogd-N1.log" 2>&1 ||
    fail "rsyslogd rejects the configuration: $(cat "$NET_LOG/rsyslogd-N1.log")"
net_bg rsyslogd "$RSYSLOGD" -n -f "$RS/rsyslog.conf" -i "$RS/rsyslogd.pid"
net_wait_port rsyslogd "$NET_PID" "$P_SYSLOG"
N_SYSLOG=3
ns --type syslog --name sys --address "tcp:$L:$P_SYSLOG" --facility 16 --app-name certledger-tcp \
    "$MSGS"
expect OK 3 "syslog over TCP"
if [[ -n $TLS_INPUT ]]; then
    net_wait_port rsyslogd "$NET_PID" "$P_SYSLOG_TLS"
    ns --type syslog --name sys --address "tls:$L:$P_SYSLOG_TLS" --ca-bundle "$PKI/root.pem" \
        --facility 16 --app-name certledger-tls "$MSGS"
    expect OK 3 "syslog over TLS"
    N_SYSLOG=6
    # the certificate names 127.0.0.1, not localhost
    if getent ahostsv4 localhost 2>/dev/null | grep -q '^127\.0\.0\.1 '; then
        ns --type syslog --name sys --address "tls:localhost:$P_SYSLOG_TLS" \
            --ca-bundle "$PKI/root.pem" "$MSGS"
        expect RETRY 0 "syslog over TLS, host name mismatch"
        assert_contains "$OUT" "certificate verification failed: hostname mismatch"
    fi
    ns --type syslog --name sys --address "tls:$L:$P_SYSLOG_TLS" --ca-bundle "$PKI/xroot.pem" \
        "$MSGS"
    expect RETRY 0 "syslog over TLS, untrusted certificate"
else
    echo "($TEST_NAME: rsyslog-openssl is not installed: syslog over TLS is skipped)" >&2
fi
ns --type syslog --name sys --address "tcp:$L:$CLOSED_PORT" "$MSGS"
expect RETRY 0 "syslog, nobody listening"
wait_lines "$RS/out.log" "$N_SYSLOG"
check_syslog() {
    pycheck '
import socket
lines = open(args[0], encoding="utf-8").read().splitlines()
check(len(lines) == int(args[1]), "%d syslog lines, want %s: %r" % (len(lines), args[1], lines))
host = socket.gethostname()
def parse_sd(s):
    # [certledger@32473 k="v" ...] with \" \\ \] escapes -> (id, [(k, v)], rest)
    m = re.match(r"\[(\S+)", s)
    sdid, i, params = m.group(1), m.end(), []
    while s[i] == " ":
        m = re.compile(r" ([^= \]\"]+)=\"").match(s, i)
        i, v = m.end(), ""
        while s[i] != "\"":
            if s[i] == "\\":
                i += 1
            v += s[i]
            i += 1
        params.append((m.group(1), v))
        i += 1
    check(s[i:i + 2] == "] ", "SD not followed by SP MSG: %r" % s)
    return sdid, params, s[i + 2:]
for n, line in enumerate(lines):
    m = re.match(r"<(\d+)>1 (\S+) (\S+) (\S+) (\d+) (\S+) (.*)$", line)
    check(m is not None, "not RFC 5424: %r" % line)
    if not m:
        continue
    msg = msgs[n % 3]
    pri = 16 * 8 + {"critical": 2, "warning": 4}[msg["severity"]]
    check(int(m.group(1)) == pri, "PRI %s want %d: %r" % (m.group(1), pri, line))
    check(epoch(m.group(2)) == epoch(msg["timestamp"]), "TIMESTAMP %r" % m.group(2))
    check(m.group(3) == host, "HOSTNAME %r want %r" % (m.group(3), host))
    check(m.group(4) == ("certledger-tcp" if n < 3 else "certledger-tls"), "APP-NAME %r" % m.group(4))
    check(m.group(6) == msg["event_type"], "MSGID %r" % m.group(6))
    sdid, params, text = parse_sd(m.group(7))
    check(sdid == "certledger@32473", "SD-ID %r" % sdid)
    p = dict(params)
    check(p.get("id") == msg["id"] and p.get("alert_key") == msg["alert_key"] and p.get("action") == msg["action"], "SD %r" % params)
    check(p.get("fingerprint") == msg["fingerprint_sha256"], "SD fingerprint %r" % p)
    check([v for k, v in params if k == "location"] == msg["locations"], "SD locations %r" % params)
    check(p.get("detail") == msg.get("detail", p.get("detail")), "SD detail %r want %r" % (p.get("detail"), msg.get("detail")))
    check(text == msg["summary"], "MSG %r" % text)
check("detail=\"was \\\"x\\\" \\] \\\\ y\"" in lines[1], "escaping as sent: %r" % lines[1])
' "$RS/out.log" "$N_SYSLOG"
}
soft check_syslog

# ============================================================ JSON lines ===
mkdir -p "$T/out"
ns --type jsonl --name file --path "$T/out/alerts.jsonl" "$MSGS"
expect OK 3 "jsonl"
ns --type jsonl --name file --path "$T/out/alerts.jsonl" --no-resolved "$MSGS"
expect OK 3 "jsonl without resolutions"
assert_eq 640 "$(stat -c %a "$T/out/alerts.jsonl")" "mode of the JSON lines file"
check_jsonl() {
    pycheck '
recs = jsonl(args[0])
check([r["id"] for r in recs] == [m1["id"], m2["id"], m3["id"], m1["id"], m2["id"]], "jsonl ids %r" % [r["id"] for r in recs])
for r, m in zip(recs, msgs + msgs):
    for k, v in m.items():
        check(r.get(k) == v, "jsonl %s: %r, sent %r" % (k, r.get(k), v))
check(all(":" in l and ", " not in l[:40] for l in open(args[0])), "jsonl is compact")
' "$T/out/alerts.jsonl"
}
soft check_jsonl
ns --type jsonl --name file --path "$T/missing/alerts.jsonl" "$MSGS"
expect FAIL 0 "jsonl into a directory that does not exist"

finish
