#!/usr/bin/env bash
# Re-running discover: everything "seen" and no new events; removed files and
# replaced certificates become gone (with events) but nothing is deleted;
# unreadable or excluded files are not gone; a file that comes back is "back".
# (Interrupting a run is not tested: not deterministic.)
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

make_fixtures
# Each run at its own instant, so that events can be told apart by time.
T1=$(now_plus '+0 sec')
T2=$(now_plus '+1 hour')
T3=$(now_plus '+2 hours')
T4=$(now_plus '+4 hours')
T5=$(now_plus '+5 hours')

discover() { # CL_NOW-VALUE [ARGS...] (as root, with the password)
    local at=$1; shift
    CL_NOW=$at assert_rc 0 "$CERTLEDGER" --db "$DB" discover files --password-file "$PWFILE" "$@"
}
max_event_id() {
    run "$CERTLEDGER" --db "$DB" events --format json
    pyjson 'print(max([e["id"] for e in d] or [0]))'
}

# ---- run 1, then run 2: all seen, nothing new -------------------------------------------
discover "$T1" --format json "$FX"
pyassert 'check(d["new"] > 0 and d["seen"] > 0 and d["gone"] == 0 and d["interrupted"] is False, d)'
RUN1=$OUT
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state all --format json
printf '%s' "$OUT" >"$T/baseline.json"
EV1=$(max_event_id)

discover "$T2" --format json "$FX"
printf '%s' "$RUN1" >"$T/run1.json"
pyassert '
import json
r1 = json.load(open(args[0]))
want = {"database", "files", "read", "certificates", "new", "seen", "keys", "unreadable",
        "problems", "skipped", "gone", "interrupted", "seconds"}
check(set(d) == want, "discover --format json fields %r" % sorted(d))
check(d["database"] == args[1], "database %r" % d["database"])
check(d["certificates"] == r1["certificates"], "certificates %r vs first run %r" % (d["certificates"], r1["certificates"]))
check(d["new"] == 0, "second run: new %r" % d["new"])
check(d["seen"] == d["certificates"], "second run: seen %r of %r" % (d["seen"], d["certificates"]))
check(d["gone"] == 0 and d["unreadable"] == r1["unreadable"] and d["interrupted"] is False, d)
check(d["keys"] == r1["keys"] and d["files"] == r1["files"] and d["read"] == r1["read"], (d, r1))
' "$T/run1.json" "$DB"
run "$CERTLEDGER" --db "$DB" events --format json
pyassert 'new = [e for e in d if e["id"] > int(args[0])]; check(new == [], "a re-run with no change recorded events: %r" % new)' "$EV1"

# Same inventory, refreshed last_seen, unchanged first_seen.
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state all --format json
pyassert '
import json
base = {c["fingerprint_sha256"]: c for c in json.load(open(args[0]))}
check(set(base) == {c["fingerprint_sha256"] for c in d}, "certificates changed on a re-run")
for c in d:
    b = base[c["fingerprint_sha256"]]
    check([l["where"] for l in c["locations"]] == [l["where"] for l in b["locations"]], c["subject_cn"])
    for l in c["locations"]:
        check(l["state"] == "present", (c["subject_cn"], l))
        check(l["first_seen"] == args[1] and l["last_seen"] == args[2],
              "%s at %s: first/last seen %s/%s, expected %s/%s" % (c["subject_cn"], l["where"],
              l["first_seen"], l["last_seen"], args[1], args[2]))
' "$T/baseline.json" "$T1" "$T2"

# ---- run 3 as nobody, with exclusions: unreadable/excluded is not gone ---------------------
# The tree stays root's: noperm.pem and every 0600 file (keys, PKCS#12) cannot be
# read by nobody; two more files are excluded.
give_to_nobody "$T/db"
CL_NOW=$T3 assert_rc 0 as_nobody "$CERTLEDGER" --db "$DB" discover files --format json \
    --password-file "$PWFILE" --exclude 'sha1.example.test.pem' --exclude '*.jks' "$FX"
if is_root; then
    pyassert 'check(d["unreadable"] >= 5, "as nobody, expected unreadable files: %r" % d)'
    assert_contains "$ERR" "$FX/srv/bad/noperm.pem: cannot read: Permission denied" "stderr as nobody"
    assert_contains "$ERR" "$FX/opt/app/keystore/app-changeit.p12: cannot read" "stderr as nobody"
fi
pyassert 'check(d["gone"] == 0, "unreadable or excluded files were marked gone: %r" % d)'
assert_not_contains "$ERR" "sha1.example.test.pem" "stderr for an excluded file"
assert_rc 1 "$CERTLEDGER" --db "$DB" ls --state gone
run "$CERTLEDGER" --db "$DB" events --since "$T3" --type '*.gone' --format json
pyassert 'check(d == [], "gone events after an unreadable/excluded run: %r" % d)'
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state all --format json
pyassert '
bad = [(c["subject_cn"], l["where"]) for c in d for l in c["locations"] if l["state"] != "present"]
check(not bad, "locations not present after a run that could not read them: %r" % bad)
'

# ---- run 4: a file removed, a certificate replaced, a key removed -------------------------
ED448=$FX/etc/ssl/certs/ed448.example.test.pem
RSA_CRT=$FX/etc/nginx/tls/rsa2048.example.test.crt
WILD=$FX/etc/nginx/tls/wild.example.test.pem
ORPHAN=$FX/etc/ssl/private/orphan.key
ED448_FP=$(fp_of ed448.example.test)
RSA_FP=$(fp_of rsa2048.example.test)
OLD_WILD_FP=$(fp_of wild.example.test)
cp -p "$ED448" "$T/ed448.saved"
rm -f "$ED448" "$RSA_CRT" "$ORPHAN"
mkcert wild2 '/O=Certledger Test/CN=wild.example.test' 200
cp "$T/certs/wild2.pem" "$WILD"
NEW_WILD_FP=$(fingerprint "$WILD")

discover "$T4" --format json "$FX"
pyassert 'check(d["gone"] == 4, "gone: expected 4 (3 certificate locations, 1 key), got %r" % d)
check(d["new"] == 1, "new: expected 1 (the replacement), got %r" % d)'

# ls --state gone: exactly the certificates no longer found anywhere.
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state gone --format json
pyassert '
ed448, wild, ed448_loc, wild_loc = args
got = {c["fingerprint_sha256"]: c for c in d}
check(set(got) == {ed448, wild}, "ls --state gone: %r" % [(c["subject_cn"], c["fingerprint_sha256"]) for c in d])
for fp, loc in ((ed448, ed448_loc), (wild, wild_loc)):
    check([(l["where"], l["state"]) for l in got[fp]["locations"]] == [(loc, "gone")],
          "%s: locations %r" % (fp, got[fp]["locations"]))
' "$ED448_FP" "$OLD_WILD_FP" "$ED448" "$WILD"
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state gone
assert_contains "$OUT" "${ED448_FP:0:12}" "ls --state gone (table)"
assert_contains "$OUT" "file:$ED448 (gone)" "ls --state gone (table)"

# Present view: neither of them; rsa2048 only at fullchain.pem; the new wild cert at WILD.
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json
pyassert '
ed448, old_wild, new_wild, rsa, wild, fullchain = args
got = {c["fingerprint_sha256"]: c for c in d}
check(ed448 not in got and old_wild not in got, "gone certificates listed as present")
check([l["where"] for l in got[rsa]["locations"]] == [fullchain], got[rsa]["locations"])
check([(l["where"], l["state"]) for l in got[new_wild]["locations"]] == [(wild, "present")], got[new_wild])
' "$ED448_FP" "$OLD_WILD_FP" "$NEW_WILD_FP" "$RSA_FP" "$WILD" "$FX/etc/nginx/tls/fullchain.pem"

# Nothing deleted: every certificate and location of the baseline is still there.
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state all --format json
pyassert '
import json
base = json.load(open(args[0]))
rsa, rsa_crt = args[1], args[2]
got = {c["fingerprint_sha256"]: c for c in d}
for b in base:
    c = got.get(b["fingerprint_sha256"])
    check(c is not None, "certificate %s was deleted" % b["subject_cn"])
    check({l["where"] for l in b["locations"]} <= {l["where"] for l in c["locations"]},
          "%s lost locations" % b["subject_cn"])
check(len(got) == len(base) + 1, "expected the baseline plus one new certificate")
states = {l["where"]: l["state"] for l in got[rsa]["locations"]}
check(states.get(rsa_crt) == "gone", "rsa2048 at its removed file: %r" % states)
' "$T/baseline.json" "$RSA_FP" "$RSA_CRT"

# events --since 1h: exactly run 4's inventory changes.
CL_NOW=$T4 assert_rc 0 "$CERTLEDGER" --db "$DB" events --since 1h --format json
pyassert '
ed448, rsa, old_wild, new_wild, ed448_p, rsa_p, wild_p, orphan_p, t4 = args
got = sorted((e["event_type"], e["fingerprint_sha256"] or "", e["location"])
             for e in d if e["event_type"] in ("cert.new", "location.gone", "location.new",
                                               "location.back", "key.new", "key.gone"))
want = sorted([("location.gone", ed448, "file:" + ed448_p),
               ("location.gone", rsa, "file:" + rsa_p),
               ("location.gone", old_wild, "file:" + wild_p),
               ("cert.new", new_wild, "file:" + wild_p),
               ("key.gone", "", "file:" + orphan_p)])
check(got == want, "events --since 1h:\n got  %r\n want %r" % (got, want))
check(all(e["timestamp"] == t4 for e in d), "timestamps %r" % sorted({e["timestamp"] for e in d}))
new = [e for e in d if e["event_type"] == "cert.new"][0]
check(new["detail"].get("subject") == "CN=wild.example.test,O=Certledger Test", new["detail"])
' "$ED448_FP" "$RSA_FP" "$OLD_WILD_FP" "$NEW_WILD_FP" "$ED448" "$RSA_CRT" "$WILD" "$ORPHAN" "$T4"
# Nobody tagged anything: the replacement at an untagged location inherits
# nothing, so there is no cert.tagged event and its tags stay empty.
no_spurious_tag() {
    CL_NOW=$T4 assert_rc 0 "$CERTLEDGER" --db "$DB" events --since 1h --type 'cert.tagged' --format json
    pyassert 'check(d == [], "cert.tagged event(s) although nothing was tagged: %r" % d)'
    "$PY" - "$DB" <<'EOF' || fail "owner/environment/tags set although nothing was tagged"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.text_factory = bytes
bad = [r for r in c.execute("SELECT fp, owner, environment, tags FROM certs")
       if r[1] is not None or r[2] is not None or r[3] != b""]
if bad:
    print("certs rows with metadata: %r" % bad, file=sys.stderr)
    sys.exit(1)
EOF
}
soft no_spurious_tag
CL_NOW=$T4 assert_rc 0 "$CERTLEDGER" --db "$DB" events --since 1h --type 'location.gone' --format json
pyassert 'check(len(d) == 3 and {e["event_type"] for e in d} == {"location.gone"}, d)'
# The findings opened while nobody could not read the files are resolved now.
# (when not root, noperm.pem stays unreadable for us)
assert_rc 0 "$CERTLEDGER" --db "$DB" findings --rule file.unreadable --format json
pyassert 'check([x["target"] for x in d] == args, "file.unreadable findings still open after a readable run: %r" % d)' \
    $(is_root || echo "file:$FX/srv/bad/noperm.pem")

# ---- run 5: the removed file comes back ------------------------------------------------------
cp -p "$T/ed448.saved" "$ED448"
discover "$T5" "$FX"
CL_NOW=$T5 assert_rc 0 "$CERTLEDGER" --db "$DB" events --since 30m --type 'location.*' --format json
pyassert 'check([(e["event_type"], e["fingerprint_sha256"], e["location"]) for e in d] ==
                [("location.back", args[0], "file:" + args[1])], d)' "$ED448_FP" "$ED448"
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state gone --format json
pyassert 'check([c["fingerprint_sha256"] for c in d] == [args[0]], d)' "$OLD_WILD_FP"

# ---- a whole discovered root is removed, then discovered again ------------------------------------
mkdir -p "$T/app/conf"
mkcert appcert '/CN=removed-root.example.test' 30
cp "$T/certs/appcert.pem" "$T/app/conf/app.pem"
APP_FP=$(fingerprint "$T/certs/appcert.pem")
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files "$T/app"
rm -rf "$T/app"
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files "$T/app"
assert_contains "$ERR" "$T/app" "the missing root is named on stderr"
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state gone --format json
pyassert 'check(args[0] in [c["fingerprint_sha256"] for c in d], "certificate under a removed root not gone: %r" % d)' "$APP_FP"
assert_rc 0 "$CERTLEDGER" --db "$DB" findings --format json --target "$T/app*"
pyassert 'check(d == [], "a missing root is not a finding: %r" % d)'

finish
