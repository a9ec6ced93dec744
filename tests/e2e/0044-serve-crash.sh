#!/usr/bin/env bash
# Delivery never loses an alert: `certledger serve` is killed with SIGKILL
# while it delivers to a slow webhook (some requests failing), restarted,
# and every queued message reaches the receiver at least once (by its
# idempotency id), with nothing left pending and nothing failed.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"

RECV=$CL_SRC/tests/e2e/alert_receivers.py
W=$T/watch
mkdir -p "$W"
for i in $(seq 1 20); do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
        -subj "/CN=c$i.example.test" -addext "basicConstraints=critical,CA:FALSE" -days 90 \
        -out "$W/c$i.pem" 2>/dev/null
done
# at day 85 each certificate is past 7d and its renewal point: 40 alerts
AT=$(now_plus '+85 days')

net_ports 1
RPORT=${PORTS[0]}
# 0.15 s per request, and the 3rd and 7th answer 503 (retried later)
net_bg recv "$PY" "$RECV" http "$RPORT" "$T/hooks.jsonl" --delay 0.15 --fail-at 3,7 \
    --status 503 --ready "$T/recv.ready"
net_wait_file recv "$NET_PID" "$T/recv.ready"
cat >"$T/certledger.yaml" <<EOF
store: $DB
listen: ""
delivery: { backoff_min: 1s, backoff_max: 2s, give_up: 1h }
jobs:
  - name: watch
    files: [$W]
    every: 1h
routes:
  - notify: [hook]
notifiers:
  - name: hook
    type: webhook
    url: http://127.0.0.1:$RPORT/hook
EOF
received() { [[ -s $T/hooks.jsonl ]] && wc -l <"$T/hooks.jsonl" || echo 0; }

# ---- run 1: killed in the middle of delivery -------------------------------------------------
net_bg serve1 "$CERTLEDGER" serve --config "$T/certledger.yaml" --now "$AT"
S1=$NET_PID
for ((i = 0; i < 300; i++)); do
    (($(received) >= 8)) && break
    _net_alive "$S1" || fail "serve exited early: $(tail -n 20 "$NET_LOG/serve1.log")"
    sleep 0.1
done
kill -KILL "$S1"
wait "$S1" 2>/dev/null || true
AT_KILL=$(received)
((AT_KILL >= 8 && AT_KILL < 40)) || fail "the kill was not during delivery ($AT_KILL requests)"
assert_rc 0 "$CERTLEDGER" --db "$DB" alerts --format json
pyassert '
check(len(d) == 40, len(d))
pending = [a for a in d if "pending" in (a["deliveries"] or "")]
check(pending, "nothing pending after the kill")'

# ---- run 2: delivers the rest ------------------------------------------------------------------
net_bg serve2 "$CERTLEDGER" serve --config "$T/certledger.yaml" --now "$AT"
S2=$NET_PID
all_sent() {
    run "$CERTLEDGER" --db "$DB" alerts --format json
    [[ $RC == 0 ]] && "$PY" -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if all(a["deliveries"] == "hook:sent" for a in d) else 1)' <<<"$OUT"
}
for ((i = 0; i < 600; i++)); do
    all_sent && break
    _net_alive "$S2" || fail "serve exited: $(tail -n 20 "$NET_LOG/serve2.log")"
    sleep 0.1
done
all_sent || fail "not everything was delivered after the restart: $OUT"
net_stop "$S2"

# every queued message id reached the receiver (some twice: at least once)
"$PY" - "$DB" "$T/hooks.jsonl" <<'EOF' || fail "lost messages"
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
queued = {r[0] for r in db.execute("SELECT msg_id FROM outbox WHERE notifier='hook'")}
states = {r[0] for r in db.execute("SELECT DISTINCT state FROM outbox")}
got = {}
for l in open(sys.argv[2]):
    r = json.loads(l)
    m = json.loads(r["body"])
    assert r["headers"]["x-certledger-id"] == m["id"]
    got[m["id"]] = got.get(m["id"], 0) + 1
assert len(queued) == 40, len(queued)
missing = queued - set(got)
assert not missing, "never received: %s" % sorted(missing)
assert set(got) <= queued, "received ids nobody queued"
assert states == {"sent"}, states
print("%d messages, %d requests" % (len(queued), sum(got.values())))
EOF
finish
