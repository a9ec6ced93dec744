#!/usr/bin/env bash
# /metrics of a running `certledger serve` and the monitoring examples:
# the scrape passes `promtool check metrics` (file names with quotes,
# backslashes, newlines and bytes that are not UTF-8 included);
# examples/prometheus-rules.yml passes `promtool check rules` and its unit
# tests (`promtool test rules`: the expiry, job, delivery and dropped-series
# alerts fire when they should, with their annotations); every query of
# examples/grafana-dashboard.json parses and, like the rules, names only
# metric families the daemon exports.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"
need promtool

RULES=$CL_SRC/examples/prometheus-rules.yml
DASH=$CL_SRC/examples/grafana-dashboard.json

# ---- a daemon with a small inventory ---------------------------------------------------
W=$T/watch
mkdir -p "$W"
mkcert a '/CN=a.example.test' 90
mkcert b '/CN=say "hi" \\ b.example.test' 5
cp "$T/certs/a.pem" "$W/a.pem"
cp "$T/certs/b.pem" "$W/we\"ird\\name.pem"
cp "$T/certs/a.pem" "$W/new"$'\n'"line.pem"
cp "$T/certs/b.pem" "$W/latin1-"$'\xe9'".pem"
net_ports 1
HTTP_PORT=${PORTS[0]}
cat >"$T/certledger.yaml" <<EOF
store: $DB
listen: "127.0.0.1:$HTTP_PORT"
jobs:
  - name: watch
    files: [$W]
    every: 1h
EOF
net_bg serve "$CERTLEDGER" serve --config "$T/certledger.yaml" --log-format json
SERVE=$NET_PID
net_wait_port serve "$SERVE" "$HTTP_PORT"

# scrape until the first run of the job is in
scrape() {
    "$PY" - "http://127.0.0.1:$HTTP_PORT/metrics" "$T/metrics.txt" <<'EOF'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    body = r.read()
    ctype = r.headers.get("Content-Type", "")
open(sys.argv[2], "wb").write(body)
print(ctype)
EOF
}
for ((i = 0; i < 100; i++)); do
    CTYPE=$(scrape) || fail "GET /metrics failed"
    if grep -q '^certledger_job_runs_total{job_name="watch",kind="files"} 1$' "$T/metrics.txt" &&
        grep -q '^certledger_job_running{job_name="watch",kind="files"} 0$' "$T/metrics.txt"; then
        break
    fi
    sleep 0.2
done
M=$(cat "$T/metrics.txt")
assert_contains "$M" 'certledger_job_runs_total{job_name="watch",kind="files"} 1' "the job ran"
assert_contains "$CTYPE" "text/plain; version=0.0.4" "Content-Type"

# ---- the scrape ---------------------------------------------------------------------------
assert_rc 0 promtool check metrics <"$T/metrics.txt"
assert_eq "" "$OUT$ERR" "promtool check metrics"
assert_contains "$M" 'certledger_certificates 2'
assert_contains "$M" 'certledger_cert_series_dropped 0'
assert_eq 4 "$(grep -c '^certledger_cert_not_after_seconds{' <<<"$M")" "series"
assert_contains "$M" "subject_cn=\"say \\\"hi\\\" \\\\ b.example.test\""
assert_contains "$M" "location=\"file:$W/we\\\"ird\\\\x5cname.pem\""
assert_contains "$M" "location=\"file:$W/new\\\\x0aline.pem\""
assert_contains "$M" "location=\"file:$W/latin1-\\\\xe9.pem\""
assert_contains "$M" 'certledger_build_info{version="'
net_stop "$SERVE"

# the families the daemon exports
NAMES=$T/names
awk '$1 == "#" && $2 == "TYPE" { print $3 }' "$T/metrics.txt" | sort -u >"$NAMES"
assert_eq 19 "$(wc -l <"$NAMES")" "metric families"

# names_ok FILE: every certledger_* name in FILE is an exported family
names_ok() {
    local unknown
    unknown=$(grep -o 'certledger_[a-z_]*' "$1" | sort -u | comm -23 - "$NAMES")
    assert_eq "" "$unknown" "metric names in $(basename -- "$1") that /metrics lacks"
}

# ---- alerting rules ---------------------------------------------------------------------
# (an empty label value is no label for Prometheus: owner "" is absent)
assert_rc 0 promtool check rules "$RULES"
assert_contains "$OUT" "SUCCESS"
names_ok "$RULES"

L='job: certledger, instance: "h:9477"'
S='job="certledger",instance="h:9477"'
cat >"$T/rules-test.yml" <<EOF
rule_files:
  - $RULES
evaluation_interval: 1m
tests:
  # time() is the evaluation time in seconds: a expires at 1h + 10 days,
  # b at 1h + 1 day, c has expired
  - interval: 1m
    input_series:
      - series: 'certledger_cert_not_after_seconds{$S,fingerprint="aa",subject_cn="a.example",issuer_cn="CA",location="file:/etc/a.pem",owner="web",environment="prod"}'
        values: '867600x120'
      - series: 'certledger_cert_not_after_seconds{$S,fingerprint="bb",subject_cn="b.example",issuer_cn="CA",location="tls:10.0.0.1:443",owner="",environment=""}'
        values: '90000x120'
      - series: 'certledger_cert_expired{$S,fingerprint="aa",subject_cn="a.example",issuer_cn="CA",location="file:/etc/a.pem",owner="web",environment="prod"}'
        values: '0x120'
      - series: 'certledger_cert_expired{$S,fingerprint="cc",subject_cn="c.example",issuer_cn="CA",location="file:/etc/c.pem",owner="",environment=""}'
        values: '1x120'
      - series: 'certledger_cert_series_dropped{$S}'
        values: '0x10 5x110'
      - series: 'certledger_alert_deliveries_total{$S,notifier="slack",outcome="failed"}'
        values: '0x30 1x90'
      - series: 'certledger_alert_deliveries_total{$S,notifier="slack",outcome="sent"}'
        values: '0+1x120'
    alert_rule_test:
      - eval_time: 1h
        alertname: CertificateExpiresIn14Days
        exp_alerts:
          - exp_labels: {severity: warning, $L, fingerprint: aa, subject_cn: a.example, issuer_cn: CA, location: "file:/etc/a.pem", owner: web, environment: prod}
            exp_annotations:
              summary: "a.example expires in 10d 0h 0m 0s"
              description: "The certificate a.example (issuer CA, SHA-256 aa) at file:/etc/a.pem expires in 10d 0h 0m 0s. Owner: web, environment: prod."
      - eval_time: 1h
        alertname: CertificateExpiresIn3Days
        exp_alerts:
          - exp_labels: {severity: critical, $L, fingerprint: bb, subject_cn: b.example, issuer_cn: CA, location: "tls:10.0.0.1:443"}
            exp_annotations:
              summary: "b.example expires in 1d 0h 0m 0s"
              description: "The certificate b.example (SHA-256 bb) at tls:10.0.0.1:443 expires in 1d 0h 0m 0s. Owner: , environment: ."
      - eval_time: 1h
        alertname: CertificateExpired
        exp_alerts:
          - exp_labels: {severity: critical, $L, fingerprint: cc, subject_cn: c.example, issuer_cn: CA, location: "file:/etc/c.pem"}
            exp_annotations:
              summary: "c.example has expired and is still deployed"
              description: "The certificate c.example (SHA-256 cc) is still present at file:/etc/c.pem after its expiry. Owner: , environment: ."
      - eval_time: 1h
        alertname: CertledgerSeriesDropped
        exp_alerts: []
      - eval_time: 1h30m
        alertname: CertledgerSeriesDropped
        exp_alerts:
          - exp_labels: {severity: warning, $L}
            exp_annotations:
              summary: "certledger leaves 5 certificate series out of /metrics"
              description: "h:9477 exports at most metrics.max_series series per certificate family; 5 (the latest expiring) are dropped."
      - eval_time: 20m
        alertname: CertledgerAlertDeliveriesFailing
        exp_alerts: []
      - eval_time: 45m
        alertname: CertledgerAlertDeliveriesFailing
        exp_alerts:
          - exp_labels: {severity: critical, $L, notifier: slack, outcome: failed}
            exp_annotations:
              summary: "certledger gave up delivering alerts to slack in the last hour"
              description: "Notifications to slack failed after every retry: alerts were not received. \`certledger alerts\` lists them with their delivery state; the daemon's log has the errors."
  # a job that never succeeded, one that did an hour ago; the daemon started at 0
  - interval: 1m
    input_series:
      - series: 'certledger_job_last_success_timestamp_seconds{$S,job_name="never",kind="net"}'
        values: '0x900'
      - series: 'certledger_job_last_success_timestamp_seconds{$S,job_name="fine",kind="files"}'
        values: '43200x900'
      - series: 'certledger_start_time_seconds{$S}'
        values: '0x900'
    alert_rule_test:
      - eval_time: 11h
        alertname: CertledgerJobNotSucceeding
        exp_alerts: []
      - eval_time: 13h
        alertname: CertledgerJobNotSucceeding
        exp_alerts:
          - exp_labels: {severity: warning, $L, job_name: never, kind: net}
            exp_annotations:
              summary: "certledger job never has not succeeded for 13h 0m 0s"
              description: "The net job never on h:9477 last succeeded 13h 0m 0s ago: the inventory of what it scans is getting stale. See the daemon's log."
EOF
assert_rc 0 promtool test rules "$T/rules-test.yml"
assert_contains "$OUT" "SUCCESS"

# ---- the Grafana dashboard ----------------------------------------------------------------
# every query, with the dashboard's variables replaced, as a recording rule
# for promtool to parse
# shellcheck disable=SC2016  # python, not shell
pyassert -f "$DASH" '
import re
check(d.get("schemaVersion", 0) >= 36, "schemaVersion %r" % d.get("schemaVersion"))
inputs = [i for i in d.get("__inputs", []) if i.get("pluginId") == "prometheus"]
check([i["name"] for i in inputs] == ["DS_PROMETHEUS"], "the __inputs: %r" % inputs)
panels, exprs = [], []
def walk(ps):
    for p in ps:
        panels.append(p)
        walk(p.get("panels", []))
walk(d["panels"])
ids = [p["id"] for p in panels]
check(len(ids) == len(set(ids)), "panel ids repeat: %r" % ids)
for p in panels:
    g = p.get("gridPos", {})
    check(all(k in g for k in "xywh") and g["x"] + g["w"] <= 24, "gridPos of %r" % p["title"])
    if p["type"] == "row":
        continue
    check(p.get("datasource", {}).get("uid") == "${DS_PROMETHEUS}", "datasource of %r" % p["title"])
    check(p.get("targets"), "%r has no query" % p["title"])
    for t in p["targets"]:
        check(t.get("datasource", {}).get("uid") == "${DS_PROMETHEUS}", "target of %r" % p["title"])
        exprs.append((p["title"], t["expr"]))
for v in d["templating"]["list"]:
    if v["type"] == "query":
        check(v["datasource"]["uid"] == "${DS_PROMETHEUS}", "variable %r" % v["name"])
        m = re.fullmatch(r"label_values\((.*), *(\w+)\)", v["definition"])
        check(m, "variable %r: %r" % (v["name"], v["definition"]))
        exprs.append(("variable " + v["name"], m.group(1)))
titles = " | ".join(p["title"] for p in panels)
for want in ("expiring within", "Expired", "time left", "findings", "Alerts firing",
             "deliveries", "Jobs"):
    check(want.lower() in titles.lower(), "no panel about %r: %s" % (want, titles))
subst = {"$instance": ".*", "$owner": ".*", "$environment": ".*", "$horizon": "30"}
with open(args[0], "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (title, e) in enumerate(exprs):
        for k, v in subst.items():
            e = e.replace(k, v)
        check("$" not in e, "unknown variable in %r: %s" % (title, e))
        f.write("      - record: dashboard_query_%d\n        expr: %s\n" % (i, json.dumps(e)))
with open(args[1], "w") as f:
    f.write("\n".join(e for _, e in exprs) + "\n")
' "$T/dashboard-rules.yml" "$T/dashboard-exprs.txt"
assert_rc 0 promtool check rules "$T/dashboard-rules.yml"
assert_contains "$OUT" "SUCCESS"
names_ok "$T/dashboard-exprs.txt"
# each family is shown somewhere
for f in certledger_cert_not_after_seconds certledger_cert_expired certledger_findings_open \
    certledger_alerts_firing certledger_alert_deliveries_total certledger_alert_deliveries_pending \
    certledger_job_last_success_timestamp_seconds certledger_cert_series_dropped; do
    assert_contains "$(cat "$T/dashboard-exprs.txt")" "$f" "dashboard queries"
done
finish
