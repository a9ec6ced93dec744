#!/usr/bin/env bash
# Re-scanning: an nginx block whose certificate is replaced (reload by SIGHUP)
# gives endpoint.changed with old_fp/new_fp and resolves its
# tls.verify.expired finding; a server that stops gives endpoint.unreachable
# (also when the re-scan is a sweep, since the endpoint is known), is kept
# with status refused and unreachable_since, and a tls.refused finding; when
# it comes back, endpoint.back and the finding is resolved. Nothing is ever
# deleted.
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"
need nginx

net_pki
net_leaf a1 ec DNS:a.net.test -startdate 20200101000000Z -enddate 20210101000000Z
net_leaf a2 ec DNS:a.net.test
net_leaf b ec DNS:b.net.test
A1=$(fingerprint "$PKI/a1.pem")
A2=$(fingerprint "$PKI/a2.pem")
B=$(fingerprint "$PKI/b.pem")
INT=$(fingerprint "$PKI/int.pem")

net_ports 2
P_A=${PORTS[0]} P_B=${PORTS[1]}
LOC_A=tls:127.0.0.1:$P_A LOC_B=tls:127.0.0.1:$P_B
mkdir -p "$T/serve"
cp "$PKI/a1.full.pem" "$T/serve/a.pem"
cp "$PKI/a1.key" "$T/serve/a.key"
NGX_ADDRS=(127.0.0.1)
net_nginx_block "$P_A" a.net.test "$T/serve/a.pem" "$T/serve/a.key"
net_nginx_start
start_b() {
    net_s_server s_server-b "$P_B" b
    B_PID=$NET_PID
}
start_b

max_event_id() {
    assert_rc 0 "$CERTLEDGER" --db "$DB" events --format json
    "$PY" -c 'import json,sys; print(max([e["id"] for e in json.loads(sys.argv[1])] or [0]))' "$OUT"
}
# events_after ID FILE: the events newer than ID, as a JSON array in FILE
events_after() {
    assert_rc 0 "$CERTLEDGER" --db "$DB" events --format json
    "$PY" -c 'import json,sys; json.dump([e for e in json.loads(sys.argv[1]) if e["id"] > int(sys.argv[2])], open(sys.argv[3], "w"))' \
        "$OUT" "$1" "$2"
}

# ---- scan 1 --------------------------------------------------------------------------------------
scan "127.0.0.1:$P_A" "127.0.0.1:$P_B"
endpoints_to "$T/ep1.json"
exp_reset
exp_row 127.0.0.1 "$P_A" "" status=ok leaf="$PKI/a1.pem" verify=expired
exp_row 127.0.0.1 "$P_B" "" status=ok leaf="$PKI/b.pem" verify=ok
soft check_rows "$T/ep1.json" --exact
assert_rc 0 "$CERTLEDGER" --db "$DB" events --format json
soft pyassert 'got = sorted(e["location"] for e in d if e["event_type"] == "endpoint.new")
check(got == sorted(args), "endpoint.new: %r" % got)' "$LOC_A" "$LOC_B"
assert_rc 0 "$CERTLEDGER" --db "$DB" findings --format json
soft pyassert 'got = [(f["rule"], f["target"]) for f in d if f["rule"].startswith("tls.")]
check(got == [("tls.verify.expired", args[0])], "findings after scan 1: %r" % got)' "$LOC_A"
E1=$(max_event_id)

# ---- scan 2: A serves a new (valid) certificate --------------------------------------------------
cp "$PKI/a2.full.pem" "$T/serve/a.pem"
cp "$PKI/a2.key" "$T/serve/a.key"
net_nginx_reload "$P_A" "" "$A2"
scan "127.0.0.1:$P_A" "127.0.0.1:$P_B"
events_after "$E1" "$T/ev2.json"
changed() {
    pyassert -f "$T/ev2.json" '
a1, a2, loc_a, loc_b = args
ch = [e for e in d if e["event_type"] == "endpoint.changed"]
check(len(ch) == 1 and ch[0]["location"] == loc_a, "endpoint.changed events: %r" % ch)
det = ch[0]["detail"]
check(det.get("old_fp") == a1 and det.get("new_fp") == a2, "endpoint.changed detail: %r" % det)
types = {(e["event_type"], e["fingerprint_sha256"], e["location"]) for e in d}
check(("cert.new", a2, loc_a) in types, "no cert.new for the new certificate: %r" % sorted(types))
check(("location.gone", a1, loc_a) in types, "no location.gone for the old one: %r" % sorted(types))
check(not [e for e in d if e["location"] == loc_b], "events about B: %r" % d)
check(not [e for e in d if e["event_type"] in ("endpoint.new", "endpoint.unreachable")], d)
' "$A1" "$A2" "$LOC_A" "$LOC_B"
}
soft changed
endpoints_to "$T/ep2.json"
exp_reset
exp_row 127.0.0.1 "$P_A" "" status=ok leaf="$PKI/a2.pem" chain="$PKI/a2.full.pem" verify=ok
exp_row 127.0.0.1 "$P_B" "" status=ok leaf="$PKI/b.pem" verify=ok
soft check_rows "$T/ep2.json" --exact
# the expired-certificate finding is resolved, not deleted
expired_resolved() {
    assert_rc 0 "$CERTLEDGER" --db "$DB" findings --format json
    pyassert 'check(not [f for f in d if f["rule"].startswith("tls.")], "open tls findings: %r" % d)'
    assert_rc 0 "$CERTLEDGER" --db "$DB" findings --all --format json
    pyassert 'f = [f for f in d if f["rule"] == "tls.verify.expired"]
check(len(f) == 1 and f[0]["target"] == args[0] and f[0]["resolved_at"], "resolved finding: %r" % f)' "$LOC_A"
}
soft expired_resolved
E2=$(max_event_id)

# ---- scan 3: B is down; a sweep of both ports (B is known, so recorded) ----------------------------
net_stop "$B_PID"
scan --ports "$P_A,$P_B" --output "$T/scan3.json" 127.0.0.1
events_after "$E2" "$T/ev3.json"
unreachable() {
    pyassert -f "$T/ev3.json" '
loc_a, loc_b = args
u = [e for e in d if e["event_type"] == "endpoint.unreachable"]
check(len(u) == 1 and u[0]["location"] == loc_b, "endpoint.unreachable events: %r" % u)
check(u[0]["detail"].get("status") == "refused" and u[0]["detail"].get("error"),
      "endpoint.unreachable detail: %r" % u[0]["detail"])
check(not [e for e in d if e["location"] == loc_a], "events about A: %r" % d)
' "$LOC_A" "$LOC_B"
}
soft unreachable
endpoints_to "$T/ep3.json"
exp_reset
exp_row 127.0.0.1 "$P_A" "" status=ok leaf="$PKI/a2.pem" verify=ok
exp_row 127.0.0.1 "$P_B" "" status=refused verify= tls_version=
# (the contract: verify only when status is ok; null numbers/booleans when
# there was no handshake)
soft check_rows "$T/scan3.json" --exact
soft check_rows "$T/ep3.json" --exact
since_set() {
    pyassert -f "$T/ep3.json" '
import re
by = {r["port"]: r for r in d}
a, b = by[int(args[0])], by[int(args[1])]
check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", b.get("unreachable_since") or ""),
      "B: unreachable_since %r" % b.get("unreachable_since"))
check(a.get("unreachable_since") in (None, ""), "A: unreachable_since %r" % a.get("unreachable_since"))
' "$P_A" "$P_B"
}
soft since_set
assert_rc 0 "$CERTLEDGER" --db "$DB" endpoints --format json --status refused
soft pyassert 'check([r["location"] for r in d] == [args[0]], "endpoints --status refused: %r" % d)' "$LOC_B"
assert_rc 0 "$CERTLEDGER" --db "$DB" findings --format json
soft pyassert 'got = [(f["rule"], f["target"]) for f in d if f["rule"].startswith("tls.")]
check(got == [("tls.refused", args[0])], "findings with B down: %r" % got)' "$LOC_B"

# ---- scan 4: still down: no second unreachable event ----------------------------------------------
E3=$(max_event_id)
scan "127.0.0.1:$P_A" "127.0.0.1:$P_B"
events_after "$E3" "$T/ev4.json"
soft pyassert -f "$T/ev4.json" 'check(not [e for e in d if e["event_type"].startswith("endpoint.")],
    "endpoint events while nothing changed: %r" % d)'

# ---- scan 5: B is back ---------------------------------------------------------------------------------
start_b
E4=$(max_event_id)
scan "127.0.0.1:$P_A" "127.0.0.1:$P_B"
events_after "$E4" "$T/ev5.json"
back() {
    pyassert -f "$T/ev5.json" '
loc_b = args[0]
got = [(e["event_type"], e["location"]) for e in d if e["event_type"].startswith("endpoint.")]
check(got == [("endpoint.back", loc_b)], "endpoint events when B came back: %r" % got)
' "$LOC_B"
}
soft back
endpoints_to "$T/ep5.json"
exp_reset
exp_row 127.0.0.1 "$P_A" "" status=ok leaf="$PKI/a2.pem" verify=ok
exp_row 127.0.0.1 "$P_B" "" status=ok leaf="$PKI/b.pem" chain="$PKI/b.full.pem" verify=ok
soft check_rows "$T/ep5.json" --exact
soft pyassert -f "$T/ep5.json" 'check(all(r.get("unreachable_since") in (None, "") for r in d),
    "unreachable_since after coming back: %r" % [r.get("unreachable_since") for r in d])'
refused_resolved() {
    assert_rc 0 "$CERTLEDGER" --db "$DB" findings --format json
    pyassert 'check(not [f for f in d if f["rule"].startswith("tls.")], "open tls findings: %r" % d)'
    assert_rc 0 "$CERTLEDGER" --db "$DB" findings --all --format json
    pyassert 'f = [f for f in d if f["rule"] == "tls.refused"]
check(len(f) == 1 and f[0]["target"] == args[0] and f[0]["resolved_at"], "tls.refused: %r" % f)' "$LOC_B"
}
soft refused_resolved

# ---- the whole story in events --since 24h; nothing deleted -----------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" events --since 24h --format json
story() {
    pyassert '
loc_a, loc_b = args
got = [(e["event_type"], e["location"]) for e in d if e["event_type"].startswith("endpoint.")]
want = [("endpoint.new", loc_a), ("endpoint.new", loc_b), ("endpoint.changed", loc_a),
        ("endpoint.unreachable", loc_b), ("endpoint.back", loc_b)]
check(sorted(got) == sorted(want), "endpoint events:\n got  %r\n want %r" % (got, want))
order = [e["event_type"] for e in sorted(d, key=lambda e: e["id"]) if e["event_type"] in
         ("endpoint.changed", "endpoint.unreachable", "endpoint.back")]
check(order == ["endpoint.changed", "endpoint.unreachable", "endpoint.back"], "order %r" % order)
' "$LOC_A" "$LOC_B"
}
soft story
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state all --format json
kept() {
    pyassert '
a1, a2, b, intfp, loc_a = args
by = {c["fingerprint_sha256"]: c for c in d}
check(set(by) == {a1, a2, b, intfp}, "certificates in the inventory: %r" % [c["subject"] for c in d])
def where(l):
    return l["where"] if l["where"].startswith("tls:") else "tls:" + l["where"]
old = {where(l): l["state"] for l in by[a1]["locations"]}
check(old == {loc_a: "gone"}, "the replaced certificate: %r" % by[a1]["locations"])
new = {where(l): l["state"] for l in by[a2]["locations"]}
check(new == {loc_a: "present"}, "the new certificate: %r" % by[a2]["locations"])
' "$A1" "$A2" "$B" "$INT" "$LOC_A"
}
soft kept

finish
