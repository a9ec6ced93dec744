#!/usr/bin/env bash
# discover net: Ctrl-C (SIGINT) stops the scan cleanly, keeps what was
# found (exit 130, the run marked interrupted), writes --output with what was
# recorded; --progress draws done/total, rate, ETA and endpoints found.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"

net_pki
net_leaf fast ec DNS:fast.net.test
net_ports 2
P_TLS=${PORTS[0]} P_SILENT=${PORTS[1]}
net_s_server fast "$P_TLS" fast
net_silent "$P_SILENT"

# --progress on a pipe still draws when asked; the line names the work done
assert_rc 0 cl discover net --progress --handshake-timeout 1s "127.0.0.1:$P_TLS"
assert_contains "$ERR" "scan: " "progress line"
assert_contains "$ERR" "probes" "progress line"
assert_contains "$ERR" "TLS endpoints found" "progress line"
# quiet on pipes by default
assert_rc 0 cl discover net --handshake-timeout 1s "127.0.0.1:$P_TLS"
assert_not_contains "$ERR" "scan: " "no progress on a pipe"

# the silent port holds the scan for a minute; interrupt it
rm -f "$DB"
"$CERTLEDGER" --db "$DB" discover net --no-progress --handshake-timeout 60s \
    --output "$T/out.json" "127.0.0.1:$P_TLS" "127.0.0.1:$P_SILENT" >"$T/int.out" 2>"$T/int.err" &
pid=$!
CL_BG_PIDS+=("$pid")
# wait until the fast endpoint is recorded (the writer commits every 0.3 s)
for _ in $(seq 1 100); do
    n=$("$CERTLEDGER" --db "$DB" endpoints --format csv 2>/dev/null | tail -n +2 | wc -l || true)
    [[ ${n:-0} -ge 1 ]] && break
    sleep 0.1
done
kill -INT "$pid"
set +e
wait "$pid"
rc=$?
set -e
assert_eq 130 "$rc" "exit status after SIGINT"
assert_contains "$(cat "$T/int.out")" "interrupted" "summary line"
# what was found is kept; the unanswered probe is not recorded as a failure
assert_rc 0 cl endpoints --format json
pyassert 'check(len(d) == 1 and d[0]["status"] == "ok", "endpoints after Ctrl-C: %r" % d)'
assert_rc 0 cl ls --format json
pyassert 'check(any(l["where"].startswith("127.0.0.1:") for c in d for l in c["locations"]),
              "the certificate found before Ctrl-C is in the inventory")'
# --output holds what was recorded
pyassert -f "$T/out.json" 'check(len(d) == 1 and d[0]["status"] == "ok", "output: %r" % d)'
# the run is recorded as interrupted
run_status=$(sqlite3 "$DB" "SELECT status FROM runs ORDER BY id DESC LIMIT 1" 2>/dev/null ||
    "$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])' "$DB")
assert_eq interrupted "$run_status" "run status"
finish
