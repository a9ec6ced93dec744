#!/usr/bin/env bash
# show (by prefix and by path; table, JSON, PEM), summary (buckets at a fixed
# CL_NOW; table, JSON, CSV) and events (--since, --type, --fingerprint,
# --location, --limit).
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

make_fixtures
export CL_NOW
CL_NOW=$(now_plus '+0 sec')

# A file whose name holds glob characters, to show by path.
mkdir -p "$T/extra"
mkcert weird '/CN=weird.example.test' 60
mkcert other '/CN=other.example.test' 60
cp "$T/certs/weird.pem" "$T/extra/we*rd[1].pem"
cp "$T/certs/other.pem" "$T/extra/weird1.pem"   # what a glob "we*rd[1].pem" would match too
WEIRD_FP=$(fingerprint "$T/certs/weird.pem")
OTHER_FP=$(fingerprint "$T/certs/other.pem")

assert_rc 0 "$CERTLEDGER" --db "$DB" discover files --password-file "$PWFILE" --exclude noperm.pem "$FX"
RSA_FP=$(fp_of rsa2048.example.test)
INT_FP=$(fp_of 'Example Test Intermediate CA')
UNIQUE=$(tail -n +2 "$FX_MANIFEST" | cut -f1 | sort -u | wc -l)
ROWS=$(($(wc -l <"$FX_MANIFEST") - 1))

# ---- show FP-PREFIX ---------------------------------------------------------------------------
# the shortest prefix (at least 4 digits) that names rsa2048 alone
PREFIX=$("$PY" -c '
import sys
fps = sys.argv[2].split(); me = sys.argv[1]
n = 4
while any(f != me and f.startswith(me[:n]) for f in fps):
    n += 1
print(me[:n])' "$RSA_FP" "$(tail -n +2 "$FX_MANIFEST" | cut -f1 | sort -u | tr '\n' ' ')")
assert_rc 0 "$CERTLEDGER" --db "$DB" show "$PREFIX"
SHOW=$OUT
NA=$(awk -F'\t' -v fp="$RSA_FP" '$1 == fp { print $10; exit }' "$FX_MANIFEST")
SERIAL=$(openssl x509 -in "$FX/etc/nginx/tls/rsa2048.example.test.crt" -noout -serial | sed 's/serial=//' | tr 'A-F' 'a-f')
for want in \
    "Certificate $RSA_FP" \
    "  Subject           CN=rsa2048.example.test,O=Certledger Test" \
    "  Issuer            CN=Example Test Intermediate CA,O=Certledger Test" \
    "  Serial            $SERIAL" \
    "  Not after         $NA (" \
    "  Validity          365 days" \
    "  Key               RSA (2048 bits) [1.2.840.113549.1.1.1]" \
    "  Signature         ecdsa-with-SHA256" \
    "  CA                no" \
    "  Self-signed       no" \
    "  SANs              DNS:rsa2048.example.test" \
    "                    IP:2001:db8::10" \
    "                    URI:https://rsa2048.example.test/" \
    "  Owner             -" \
    "Locations
  present file:$FX/etc/nginx/tls/fullchain.pem (PEM)" \
    "  present file:$FX/etc/nginx/tls/rsa2048.example.test.crt (PEM)" \
    "          first seen $CL_NOW, last seen $CL_NOW" \
    "Private keys
  key present at $FX/etc/nginx/tls/privkey.pem, mode 0600" \
    "Events
  $CL_NOW  cert.new         file:$FX/etc/nginx/tls/" \
    "  $CL_NOW  location.new     file:$FX/etc/nginx/tls/"; do
    assert_contains "$SHOW" "$want" "show $PREFIX"
done
# the same certificate by its full fingerprint, in capitals with colons
assert_rc 0 "$CERTLEDGER" --db "$DB" show "$(sed -E 's/(..)/\1:/g; s/:$//' <<<"$RSA_FP" | tr 'a-f' 'A-F')"
assert_eq "$SHOW" "$OUT" "show with a colon-separated upper-case fingerprint"
# a CA shows its path length
run "$CERTLEDGER" --db "$DB" show "$INT_FP"
assert_contains "$OUT" "  CA                yes" "show of the intermediate"

# Unknown fingerprint: exit 1.
UNKNOWN=$("$PY" -c '
import sys
fps = sys.argv[1].split()
print(next("%04x" % i for i in range(65536) if not any(f.startswith("%04x" % i) for f in fps)))' \
    "$(tail -n +2 "$FX_MANIFEST" | cut -f1 | sort -u | tr '\n' ' ') $WEIRD_FP $OTHER_FP")
assert_rc 1 "$CERTLEDGER" --db "$DB" show "$UNKNOWN"
assert_contains "$ERR" "no certificate matches $UNKNOWN" "show of an unknown fingerprint"

# ---- show PATH ----------------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" show "$FX/etc/nginx/tls/fullchain.pem"
assert_eq 2 "$(grep -c '^Certificate ' <<<"$OUT")" "certificates shown for fullchain.pem"
assert_contains "$OUT" "Certificate $RSA_FP" "show fullchain.pem"
assert_contains "$OUT" "Certificate $INT_FP" "show fullchain.pem"
# relative path (no slash), resolved against the working directory
(cd "$FX/etc/nginx/tls" && "$CERTLEDGER" --db "$DB" show fullchain.pem) >"$T/rel.out" ||
    fail "show with a relative path failed"
assert_eq "$OUT" "$(cat "$T/rel.out")" "show fullchain.pem from its directory"
# a path through a symlink is the real file's
assert_rc 0 "$CERTLEDGER" --db "$DB" show "$FX/srv/bad/link-to-rsa2048.pem"
assert_contains "$OUT" "Certificate $RSA_FP" "show through a symlink"
# the non-UTF-8 file name, given as raw bytes (recorded as caf\xe9.pem)
show_cafe() {
    assert_rc 0 "$CERTLEDGER" --db "$DB" show "$FX/srv/bad/caf"$'\xe9'".pem"
    assert_contains "$OUT" "Certificate $(fp_of cafe-latin1.example.test)" "show of the non-UTF-8 file name"
    assert_contains "$OUT" "present file:$FX/srv/bad/caf\\xe9.pem (PEM)" "show of the non-UTF-8 file name"
}
soft show_cafe
# glob characters in a path are literal
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files "$T/extra"
assert_rc 0 "$CERTLEDGER" --db "$DB" show --format json "$T/extra/we*rd[1].pem"
pyassert 'check([c["fingerprint_sha256"] for c in d] == [args[0]], d)' "$WEIRD_FP"
# a file without certificates, and one never scanned
assert_rc 1 "$CERTLEDGER" --db "$DB" show "$FX/etc/nginx/nginx.conf"
assert_contains "$ERR" "no certificate matches" "show of a file without certificates"
assert_rc 1 "$CERTLEDGER" --db "$DB" show "$T/nowhere/x.pem"

# ---- show --format json -------------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" show --format json "$PREFIX"
pyassert '
fp, fx, now = args
check(isinstance(d, list) and len(d) == 1, "one object expected: %r" % d)
c = d[0]
for k in ("fingerprint_sha256", "serial", "subject", "issuer", "sans", "not_before", "not_after",
          "days_left", "validity_days", "key_type", "key_bits", "curve", "sig_alg", "is_ca",
          "self_signed", "spki_sha256", "owner", "environment", "tags", "locations", "events", "keys"):
    check(k in c, "show --format json lacks %s" % k)
check(c["fingerprint_sha256"] == fp and c["key_type"] == "RSA" and c["key_bits"] == 2048, c)
check(c["validity_days"] == 365 and c["sans"][0] == "DNS:rsa2048.example.test", c)
check(sorted(l["where"] for l in c["locations"]) ==
      [fx + "/etc/nginx/tls/fullchain.pem", fx + "/etc/nginx/tls/rsa2048.example.test.crt"], c["locations"])
check([k["where"] for k in c["keys"]] == [fx + "/etc/nginx/tls/privkey.pem"], c["keys"])
check(sorted(e["event_type"] for e in c["events"]) == ["cert.new", "location.new"], c["events"])
check(all(e["timestamp"] == now for e in c["events"]), c["events"])
' "$RSA_FP" "$FX" "$CL_NOW"
assert_rc 0 "$CERTLEDGER" --db "$DB" show --format json "$FX/etc/nginx/tls/fullchain.pem"
pyassert 'check(sorted(c["fingerprint_sha256"] for c in d) == sorted(args), [c["subject_cn"] for c in d])' "$RSA_FP" "$INT_FP"
assert_rc 2 "$CERTLEDGER" --db "$DB" show --format csv "$PREFIX"

# ls encodes JSON in the store, show in the report layer: they must agree
# field for field, for every certificate of the tree.
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state all --format json
printf '%s\n' "$OUT" >"$T/ls-all.json"
while read -r fp; do
	assert_rc 0 "$CERTLEDGER" --db "$DB" show --format json "$fp"
	pyassert '
import json
ls = {c["fingerprint_sha256"]: c for c in json.load(open(args[0]))}
c = dict(d[0]); c.pop("events"); c.pop("keys")
check(c == ls[c["fingerprint_sha256"]],
      "show and ls differ: %r" % [(k, c.get(k), ls[c["fingerprint_sha256"]].get(k))
                                  for k in set(c) | set(ls[c["fingerprint_sha256"]])
                                  if c.get(k) != ls[c["fingerprint_sha256"]].get(k)])
' "$T/ls-all.json"
done < <(tail -n +2 "$FX_MANIFEST" | cut -f1 | sort -u)

# ---- show --pem -----------------------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" show --pem "$PREFIX"
printf '%s\n' "$OUT" >"$T/rsa.pem"
assert_eq 1 "$(grep -c -- '-----BEGIN CERTIFICATE-----' "$T/rsa.pem")" "PEM blocks of show --pem"
assert_eq "$RSA_FP" "$(fingerprint "$T/rsa.pem")" "show --pem maps back to the fingerprint"
cmp -s <(openssl x509 -in "$T/rsa.pem" -outform DER) \
       <(openssl x509 -in "$FX/etc/nginx/tls/rsa2048.example.test.crt" -outform DER) ||
    fail "show --pem is not the original certificate"
# every certificate of the inventory, from DER, PKCS#7, PKCS#12, JKS...
for fp in $(tail -n +2 "$FX_MANIFEST" | cut -f1 | sort -u); do
    run "$CERTLEDGER" --db "$DB" show --pem "$fp"
    assert_eq 0 "$RC" "show --pem $fp"
    printf '%s\n' "$OUT" >"$T/one.pem"
    assert_eq "$fp" "$(fingerprint "$T/one.pem")" "show --pem of $fp"
done
assert_rc 0 "$CERTLEDGER" --db "$DB" show --pem "$FX/etc/nginx/tls/fullchain.pem"
printf '%s\n' "$OUT" >"$T/chain.pem"
assert_eq 2 "$(grep -c -- '-----BEGIN CERTIFICATE-----' "$T/chain.pem")" "PEM blocks for fullchain.pem"
"$PY" -c '
import sys
blocks = open(sys.argv[1]).read().split("-----END CERTIFICATE-----")[:-1]
for i, b in enumerate(blocks):
    open("%s.%d" % (sys.argv[1], i), "w").write(b.strip() + "\n-----END CERTIFICATE-----\n")' "$T/chain.pem"
assert_eq "$(sorted_fp() { printf '%s\n' "$@" | sort | tr '\n' ' '; }; sorted_fp "$RSA_FP" "$INT_FP")" \
    "$(for i in 0 1; do fingerprint "$T/chain.pem.$i"; done | sort | tr '\n' ' ')" "fingerprints of show --pem PATH"

# ---- summary ----------------------------------------------------------------------------------------------
# expected counts from the manifest (plus the weird cert) at instant NOW
expected_summary() { # NOW-EPOCH -> JSON of the expected numbers
    "$PY" - "$FX_MANIFEST" "$1" "$WEIRD_FP" \
        "$(date -u -d "$(openssl x509 -in "$T/certs/weird.pem" -noout -enddate | sed 's/notAfter=//')" +%s)" \
        "$OTHER_FP" "$(date -u -d "$(openssl x509 -in "$T/certs/other.pem" -noout -enddate | sed 's/notAfter=//')" +%s)" <<'EOF'
import calendar, json, sys, time
manifest, now, weird_fp, weird_na = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
other_fp, other_na = sys.argv[5], int(sys.argv[6])
certs, locs = {}, 0
for line in open(manifest, "rb").read().split(b"\n")[1:]:
    if not line:
        continue
    f = [x.decode("utf-8", "replace") for x in line.split(b"\t")]
    locs += 1
    kt, kb = f[4], int(f[5])
    key = "%s %s" % (kt, {256: "P-256", 384: "P-384"}[kb]) if kt == "EC" else \
          "%s %d" % (kt, kb) if kt in ("RSA", "DSA") else kt
    sig = "ML-DSA" if f[6] == "ML-DSA-65" else f[6]
    certs[f[0]] = (calendar.timegm(time.strptime(f[9], "%Y-%m-%dT%H:%M:%SZ")), key, sig)
certs[weird_fp] = (weird_na, "EC P-256", "ecdsa-with-SHA256")
certs[other_fp] = (other_na, "EC P-256", "ecdsa-with-SHA256")
locs += 2
b = {"expired": 0, "lt_7d": 0, "lt_30d": 0, "lt_90d": 0, "later": 0}
by_key, by_sig = {}, {}
for na, key, sig in certs.values():
    left = na - now
    b["expired" if left <= 0 else "lt_7d" if left < 7 * 86400 else "lt_30d" if left < 30 * 86400
      else "lt_90d" if left < 90 * 86400 else "later"] += 1
    by_key[key] = by_key.get(key, 0) + 1
    by_sig[sig] = by_sig.get(sig, 0) + 1
print(json.dumps({"certificates": len(certs), "locations": locs, "expiry": b, "by_key": by_key, "by_sig": by_sig}))
EOF
}
check_summary() { # NOW (RFC 3339)
    local now=$1 want
    want=$(expected_summary "$(date -u -d "$now" +%s)")
    CL_NOW=$now assert_rc 0 "$CERTLEDGER" --db "$DB" summary --format json
    pyassert '
import json
want, db, now = json.loads(args[0]), args[1], args[2]
check(set(d) == {"database", "at", "certificates", "locations", "keys", "open_findings", "expiry",
                 "by_issuer", "by_key", "by_sig_alg"}, "summary fields %r" % sorted(d))
check(d["database"] == db and d["at"] == now, (d["database"], d["at"]))
check(d["certificates"] == want["certificates"], "certificates %r, expected %r" % (d["certificates"], want["certificates"]))
check(d["locations"] == want["locations"], "locations %r, expected %r" % (d["locations"], want["locations"]))
check(d["expiry"] == want["expiry"], "expiry buckets at %s: %r, expected %r" % (now, d["expiry"], want["expiry"]))
check({x["name"]: x["count"] for x in d["by_key"]} == want["by_key"], "by_key %r, expected %r" % (d["by_key"], want["by_key"]))
sig = {("ML-DSA" if x["name"] in ("ML-DSA-65", "2.16.840.1.101.3.4.3.18") else x["name"]): x["count"] for x in d["by_sig_alg"]}
check(sig == want["by_sig"], "by_sig_alg %r, expected %r" % (d["by_sig_alg"], want["by_sig"]))
check(sum(x["count"] for x in d["by_issuer"]) == d["certificates"], d["by_issuer"])
counts = [x["count"] for x in d["by_issuer"]]
check(counts == sorted(counts, reverse=True), "by_issuer not by descending count")
check(d["keys"] >= 6 and d["open_findings"] >= 7, (d["keys"], d["open_findings"]))
' "$want" "$DB" "$now"
}
check_summary "$CL_NOW"
# the expiring-soon certificate (10 days at generation) is in < 30 days now...
EXPIRING_NA=$(awk -F'\t' '$4 == "expiring-soon.example.test" { print $10; exit }' "$FX_MANIFEST")
CL_NOW=$CL_NOW assert_rc 0 "$CERTLEDGER" --db "$DB" summary --format json
pyassert 'check(d["expiry"]["lt_30d"] >= 1, d["expiry"])'
# ...in < 7 days three days before it ends, and expired one second after
check_summary "$(date -u -d "$EXPIRING_NA - 3 days" +%Y-%m-%dT%H:%M:%SZ)"
CL_NOW=$(date -u -d "$EXPIRING_NA - 3 days" +%Y-%m-%dT%H:%M:%SZ) assert_rc 0 "$CERTLEDGER" --db "$DB" summary --format json
pyassert 'check(d["expiry"]["lt_7d"] == 1, "the expiring-soon cert 3 days before its end: %r" % d["expiry"])'
check_summary "$(date -u -d "$EXPIRING_NA + 1 second" +%Y-%m-%dT%H:%M:%SZ)"
check_summary "2040-06-01T00:00:00Z"
# --now is the same as CL_NOW for summary
assert_rc 0 "$CERTLEDGER" --db "$DB" summary --format json --now 2040-06-01
pyassert 'check(d["at"] == "2040-06-01T00:00:00Z", d["at"])'
printf '%s' "$OUT" >"$T/s2040.json"
CL_NOW=2040-06-01T00:00:00Z assert_rc 0 "$CERTLEDGER" --db "$DB" summary --format json
pyassert 'import json; check(d["expiry"] == json.load(open(args[0]))["expiry"], d["expiry"])' "$T/s2040.json"

# With a filter.
assert_rc 0 "$CERTLEDGER" --db "$DB" summary --format json --key-type RSA
pyassert 'check(d["certificates"] == 4 and {x["name"] for x in d["by_key"]} == {"RSA 2048", "RSA 4096"}, d)'
assert_rc 2 "$CERTLEDGER" --db "$DB" summary --expiring soon

# Table and CSV agree with JSON.
assert_rc 0 "$CERTLEDGER" --db "$DB" summary --format json
printf '%s' "$OUT" >"$T/summary.json"
assert_rc 0 "$CERTLEDGER" --db "$DB" summary
SUMMARY=$OUT
read -r C L K F E7 E30 E90 LATER EXP < <(pyjson -f "$T/summary.json" 'e = d["expiry"]
print(d["certificates"], d["locations"], d["keys"], d["open_findings"], e["lt_7d"], e["lt_30d"], e["lt_90d"], e["later"], e["expired"])')
assert_contains "$SUMMARY" "Inventory $DB at $CL_NOW" "summary header"
assert_contains "$SUMMARY" "  $C certificates at $L locations, $K private keys, $F open findings" "summary totals"
assert_contains "$SUMMARY" "$(printf '\nExpiry\n  %8d  expired\n  %8d  < 7 days\n  %8d  < 30 days\n  %8d  < 90 days\n  %8d  later' \
    "$EXP" "$E7" "$E30" "$E90" "$LATER")" "summary expiry table"
assert_contains "$SUMMARY" "Key types" "summary"
assert_contains "$SUMMARY" "Signature algorithms" "summary"
assert_rc 0 "$CERTLEDGER" --db "$DB" summary --format csv
printf '%s\n' "$OUT" >"$T/summary.csv"
pyassert -f "$T/summary.json" '
import csv
rows = list(csv.reader(open(args[0], newline="")))
check(rows[0] == ["dimension", "name", "count"], rows[0])
got = {(r[0], r[1]): int(r[2]) for r in rows[1:] if r}
for k, v in d["expiry"].items():
    check(got.get(("expiry", k)) == v, "csv expiry %s: %r vs %r" % (k, got.get(("expiry", k)), v))
for x in d["by_issuer"]:
    check(got.get(("issuer", x["name"])) == x["count"], ("issuer", x))
for x in d["by_key"]:
    check(got.get(("key", x["name"])) == x["count"], ("key", x))
' "$T/summary.csv"

# ---- events -------------------------------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" events --since 24h --format json
pyassert '
unique, rows, weird = int(args[0]), int(args[1]), args[2]
new = [e for e in d if e["event_type"] == "cert.new"]
check(len(new) == unique + 2, "cert.new events: %d, expected %d" % (len(new), unique + 2))
check(len({e["fingerprint_sha256"] for e in new}) == len(new), "a certificate is new twice")
check(weird in {e["fingerprint_sha256"] for e in new}, "no cert.new for the extra certificate")
ids = [e["id"] for e in d]
check(ids == sorted(ids), "events are not oldest first")
for e in new:
    check(e["location"].startswith("file:/") and set(e["detail"]) >= {"subject", "issuer", "not_after"}, e)
locnew = [e for e in d if e["event_type"] == "location.new"]
check(len(locnew) == rows - unique, "location.new events: %d, expected %d" % (len(locnew), rows - unique))
' "$UNIQUE" "$ROWS" "$WEIRD_FP"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --type 'location.*' --format json
pyassert 'check(d and all(e["event_type"].startswith("location.") for e in d), sorted({e["event_type"] for e in d}))
check(len(d) == int(args[0]), "location.* events: %d" % len(d))' "$((ROWS - UNIQUE))"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --fingerprint "${INT_FP:0:8}" --format json
pyassert 'check(d and all(e["fingerprint_sha256"] == args[0] for e in d), d)
check(sorted(e["event_type"] for e in d).count("location.new") == int(args[1]) - 1, [e["event_type"] for e in d])' \
    "$INT_FP" "$(awk -F'\t' -v fp="$INT_FP" '$1 == fp' "$FX_MANIFEST" | wc -l)"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --location "$FX/opt/app/keystore/*" --format json
pyassert 'check(d and all(e["location"].startswith("file:" + args[0] + "/opt/app/keystore/") for e in d), d)' "$FX"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --format json
printf '%s' "$OUT" >"$T/events.json"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --limit 3 --format json
pyassert 'import json; all_ = json.load(open(args[0])); check(d == all_[-3:], "--limit 3 is not the newest 3, oldest first")' "$T/events.json"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --since 2099-01-01 --format json
assert_eq "[]" "$OUT" "events in the future"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --since 24h
[[ $(head -n1 <<<"$OUT") =~ ^TIME\ +EVENT\ +FINGERPRINT\ +LOCATION\ /\ DETAIL$ ]] || fail "events header: $(head -n1 <<<"$OUT")"
assert_contains "$OUT" "$CL_NOW  cert.new          ${RSA_FP:0:12}  file:$FX/etc/nginx/tls/" "events table"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --format csv --type cert.new
printf '%s\n' "$OUT" >"$T/events.csv"
"$PY" -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["id", "timestamp", "event_type", "fingerprint_sha256", "location", "actor", "detail"], rows[0]
assert len([r for r in rows[1:] if r]) == int(sys.argv[2]) + 2, len(rows)' "$T/events.csv" "$UNIQUE" ||
    fail "events --format csv"
assert_rc 2 "$CERTLEDGER" --db "$DB" events --limit 0

finish
