#!/usr/bin/env bash
# ls: every filter alone and combined, sorting and limits, exit statuses,
# and the CSV format (documented header, one row per certificate-location,
# quoting, parseable by python's csv module).
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

make_fixtures
# One clock for the whole test, so time filters and expectations agree.
export CL_NOW
CL_NOW=$(now_plus '+0 sec')

# An extra certificate whose subject holds a comma, plus one we will make gone.
mkdir -p "$T/extra"
mkcert comma '/CN=comma.example.test/O=Acme\, Inc.' 400 \
    -addext 'subjectAltName=DNS:comma.example.test,DNS:*.comma.example.test'
cp "$T/certs/comma.pem" "$T/extra/comma.pem"
mkcert doomed '/CN=doomed.example.test' 400
cp "$T/certs/doomed.pem" "$T/extra/doomed.pem"
COMMA_FP=$(fingerprint "$T/certs/comma.pem")
DOOMED_FP=$(fingerprint "$T/certs/doomed.pem")

# noperm.pem is excluded so that the inventory is the manifest's whether or
# not we run as root.
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files --password-file "$PWFILE" \
    --exclude noperm.pem "$FX" "$T/extra"
rm "$T/extra/doomed.pem"
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files "$T/extra"

# ---- the truth: certificates of the manifest plus the two extra ones ----------------
"$PY" - "$FX_MANIFEST" "$T/truth.json" "$COMMA_FP" "$DOOMED_FP" "$(date -u -d "$(openssl x509 -in "$T/certs/comma.pem" -noout -enddate | sed 's/notAfter=//')" +%s)" <<'EOF'
import calendar, json, sys, time
manifest, out, comma_fp, doomed_fp, comma_na = sys.argv[1:]
rows = {}
for line in open(manifest, "rb").read().split(b"\n")[1:]:
    if not line:
        continue
    f = line.split(b"\t")
    fp, path = f[0].decode(), f[1]
    fmt, cn, kt, kb, sig, ss, ca, na = (x.decode() for x in f[2:])
    r = rows.setdefault(fp, {
        "fp": fp, "cn": cn, "key_type": kt, "key_bits": int(kb), "sig_alg": sig,
        "self_signed": ss == "1", "is_ca": ca == "1",
        "not_after": calendar.timegm(time.strptime(na, "%Y-%m-%dT%H:%M:%SZ")),
        "paths": [], "state": "present"})
    r["paths"].append(path.decode("utf-8", "surrogateescape"))
    r["curve"] = {"EC": {256: "P-256", 384: "P-384"}.get(int(kb))}.get(kt)
for fp, cn, state in ((comma_fp, "comma.example.test", "present"), (doomed_fp, "doomed.example.test", "gone")):
    rows[fp] = {"fp": fp, "cn": cn, "key_type": "EC", "key_bits": 256, "curve": "P-256",
                "sig_alg": "ecdsa-with-SHA256", "self_signed": True, "is_ca": False,
                "not_after": int(comma_na), "paths": [], "state": state}
json.dump(list(rows.values()), open(out, "w"))
EOF
NOW_EPOCH=$(date -u -d "$CL_NOW" +%s)

# check_ls WHAT PREDICATE LS-ARGS...: ls --format json LS-ARGS lists exactly
# the truth rows r (python) for which PREDICATE holds; exit 1 when none.
check_ls() {
    local what=$1 pred=$2; shift 2
    run "$CERTLEDGER" --db "$DB" ls --format json "$@"
    local want
    want=$("$PY" -c '
import json, sys
truth = json.load(open(sys.argv[1])); now = int(sys.argv[2]); DAY = 86400
present = [r for r in truth if r["state"] == "present"]
print(" ".join(sorted(r["fp"] for r in truth if eval(sys.argv[3]))))' "$T/truth.json" "$NOW_EPOCH" "$pred") ||
        fail "bad predicate for $what: $pred"
    if [[ -z $want ]]; then
        [[ $RC == 1 ]] || fail "ls $* ($what): expected exit 1 (nothing matches), got $RC: $OUT"
        assert_eq "[]" "$OUT" "ls $* ($what) output when nothing matches"
        return
    fi
    [[ $RC == 0 ]] || fail "ls $* ($what): expected exit 0, got $RC: $ERR"
    local got
    got=$(pyjson 'print(" ".join(sorted(c["fingerprint_sha256"] for c in d)))')
    if [[ $got != "$want" ]]; then
        local names
        names=$("$PY" -c '
import json, sys
t = {r["fp"]: r["cn"] for r in json.load(open(sys.argv[1]))}
w, g = set(sys.argv[2].split()), set(sys.argv[3].split())
print("missing: %s; unexpected: %s" % (sorted(t.get(x, x) for x in w - g), sorted(t.get(x, x) for x in g - w)))' \
            "$T/truth.json" "$want" "$got")
        fail "ls $* ($what): $names"
    fi
}
P='r["state"] == "present"'

# ---- each filter alone ---------------------------------------------------------------------
check_ls "no filter: all present" "$P"
check_ls "--state present" "$P" --state present
check_ls "--state gone" 'r["state"] == "gone"' --state gone
check_ls "--state all" 'True' --state all
check_ls "--expiring 30d" "$P"' and now < r["not_after"] <= now + 30 * DAY' --expiring 30d
check_ls "--expiring 2w" "$P"' and now < r["not_after"] <= now + 14 * DAY' --expiring 2w
check_ls "--expired" "$P"' and r["not_after"] <= now' --expired
check_ls "--expired --expiring 30d" "$P"' and r["not_after"] <= now + 30 * DAY' --expired --expiring 30d
NOW2029=$(date -u -d 2029-01-01 +%s)
check_ls "--now 2029-01-01 --expired" "$P"" and r[\"not_after\"] <= $NOW2029" --now 2029-01-01 --expired
check_ls "--now 2029-01-01T00:00:00Z --expiring 1y" \
    "$P and $NOW2029 < r[\"not_after\"] <= $NOW2029 + 365 * DAY" --now 2029-01-01T00:00:00Z --expiring 1y
check_ls "--issuer (CN)" "$P"' and not r["self_signed"] and r["cn"] != "Example Test Intermediate CA"' \
    --issuer 'Example Test Intermediate CA'
check_ls "--issuer (DN glob, any case)" "$P"' and r["cn"] in ("Example Test Root CA", "Example Test Intermediate CA")' \
    --issuer 'cn=example test root ca,*'
check_ls "--subject (CN glob)" "$P"' and r["cn"].startswith("ed")' --subject 'ed*.example.test'
check_ls "--subject (DN glob with a comma)" "$P"' and r["cn"] == "comma.example.test"' --subject '*Acme?, Inc.*'
check_ls "--san DNS:*.wild.example.test" "$P"' and r["cn"] == "wild.example.test"' --san 'DNS:*.wild.example.test'
check_ls "--san without the type" "$P"' and r["cn"] == "wild.example.test"' --san '*.wild.example.test'
check_ls "--san matching several" "$P"' and r["cn"] in ("wild.example.test", "comma.example.test")' --san '\*.*'
check_ls "--san IP" "$P"' and r["cn"] == "rsa2048.example.test"' --san 'IP:192.0.2.10'
check_ls "--san IPv6 without the type" "$P"' and r["cn"] == "rsa2048.example.test"' --san '2001:db8::10'
check_ls "--san email" "$P"' and r["cn"] == "rsa2048.example.test"' --san 'email:admin@*'
check_ls "--san matching nothing" 'False' --san 'DNS:nothing.example.test'
check_ls "--key-type EC" "$P"' and r["key_type"] == "EC"' --key-type EC
check_ls "--key-type P-384" "$P"' and r["curve"] == "P-384"' --key-type P-384
check_ls "--key-type p-256 (any case)" "$P"' and r["curve"] == "P-256"' --key-type p-256
check_ls "--key-type RSA" "$P"' and r["key_type"] == "RSA"' --key-type RSA
check_ls "--key-type by OID" "$P"' and r["key_type"] == "RSA"' --key-type 1.2.840.113549.1.1.1
check_ls "--key-type 'Ed*'" "$P"' and r["key_type"] in ("Ed25519", "Ed448")' --key-type 'Ed*'
check_ls "--key-type ML-DSA-65" "$P"' and r["key_type"] == "ML-DSA-65"' --key-type ML-DSA-65
check_ls "--key-type DSA" "$P"' and r["key_type"] == "DSA"' --key-type DSA
check_ls "--min-key-bits 3000" "$P"' and r["key_bits"] >= 3000' --min-key-bits 3000
check_ls "--min-key-bits 2048" "$P"' and r["key_bits"] >= 2048' --min-key-bits 2048
check_ls "--sig-alg '*SHA1*'" "$P"' and "sha1" in r["sig_alg"].lower()' --sig-alg '*SHA1*'
check_ls "--sig-alg exact" "$P"' and r["sig_alg"] == "sha256WithRSAEncryption"' --sig-alg sha256WithRSAEncryption
check_ls "--self-signed" "$P"' and r["self_signed"]' --self-signed
check_ls "--ca" "$P"' and r["is_ca"]' --ca
check_ls "--leaf" "$P"' and not r["is_ca"]' --leaf
check_ls "--location glob" "$P"' and any("/opt/app/keystore/" in p for p in r["paths"])' \
    --location "file:$FX/opt/app/keystore/*"
check_ls "--location bare path" "$P"' and any(p.endswith("/etc/pki/ca/ca-chain.p7b") for p in r["paths"])' \
    --location "$FX/etc/pki/ca/ca-chain.p7b"
check_ls "--location '*.p12'" "$P"' and any(p.endswith(".p12") for p in r["paths"])' --location '*.p12'
check_ls "--location of a gone file (present only)" 'False' --location "$T/extra/doomed.pem"
check_ls "--location of a gone file, --state all" 'r["cn"] == "doomed.example.test"' \
    --location "$T/extra/doomed.pem" --state all
check_ls "--fingerprint prefix" 'r["fp"] == "'"$COMMA_FP"'"' --fingerprint "${COMMA_FP:0:10}"
check_ls "--fingerprint in capitals" 'r["fp"] == "'"$COMMA_FP"'"' --fingerprint "$(tr 'a-f' 'A-F' <<<"${COMMA_FP:0:10}")"
check_ls "--fingerprint of a gone cert" 'False' --fingerprint "$DOOMED_FP"

# --max-key-bits: only keys with a known size (the ML-DSA key has none: null).
soft check_ls "--max-key-bits 2048" "$P"' and 0 < r["key_bits"] <= 2048' --max-key-bits 2048

# owner / environment / tag
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$(fp_of sha1.example.test)" --owner team-legacy --env prod --tag pci
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$(fp_of ec256.example.test)" --owner team-web --env staging --tag pci --tag web
check_ls "--owner" "$P"' and r["cn"] == "sha1.example.test"' --owner team-legacy
check_ls "--owner glob" "$P"' and r["cn"] in ("sha1.example.test", "ec256.example.test")' --owner 'team-*'
check_ls "--env" "$P"' and r["cn"] == "ec256.example.test"' --env staging
check_ls "--tag" "$P"' and r["cn"] in ("sha1.example.test", "ec256.example.test")' --tag pci
check_ls "--tag web" "$P"' and r["cn"] == "ec256.example.test"' --tag web

# ---- combined ------------------------------------------------------------------------------------
check_ls "EC leaves expiring within 400d" \
    "$P"' and r["key_type"] == "EC" and not r["is_ca"] and now < r["not_after"] <= now + 400 * DAY' \
    --key-type EC --leaf --expiring 400d
check_ls "RSA >= 2048 bits signed by the intermediate" \
    "$P"' and r["key_type"] == "RSA" and r["key_bits"] >= 2048 and not r["self_signed"]' \
    --key-type RSA --min-key-bits 2048 --issuer 'Example Test Intermediate CA'
check_ls "self-signed CA" "$P"' and r["self_signed"] and r["is_ca"]' --self-signed --ca
check_ls "keystore certs that are leaves with a P-256 key" \
    "$P"' and not r["is_ca"] and r["curve"] == "P-256" and any("/opt/app/keystore/" in p for p in r["paths"])' \
    --location "*/opt/app/keystore/*" --leaf --key-type P-256
check_ls "tag pci and env prod" "$P"' and r["cn"] == "sha1.example.test"' --tag pci --env prod
check_ls "contradiction: --ca --subject a leaf" 'False' --ca --subject rsa2048.example.test
check_ls "all gone EC certificates" 'r["state"] == "gone"' --state gone --key-type EC

# ---- sorting and limits ------------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json
pyassert 'na = [c["not_after"] for c in d]; check(na == sorted(na), "default order is not soonest expiry first: %r" % na)'
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json --sort subject --reverse
pyassert '
s = [c["subject"] for c in d]
check(len(s) == int(args[0]), "sort changed the rows")
check(s == sorted(s, key=str.lower, reverse=True), "--sort subject --reverse order: %r" % s)
' "$("$PY" -c 'import json,sys; print(sum(r["state"] == "present" for r in json.load(open(sys.argv[1]))))' "$T/truth.json")"
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json --sort subject
pyassert 's = [c["subject"] for c in d]; check(s == sorted(s, key=str.lower), "--sort subject order: %r" % s)'
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json --sort key_bits --reverse
pyassert 'b = [c["key_bits"] or 0 for c in d]; check(b == sorted(b, reverse=True), "--sort key_bits --reverse: %r" % b)'
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json --sort fingerprint
pyassert 'f = [c["fingerprint_sha256"] for c in d]; check(f == sorted(f), "--sort fingerprint: %r" % f)'
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json --limit 2
printf '%s' "$OUT" >"$T/limit2.json"
pyassert '
import json
truth = [r for r in json.load(open(args[0])) if r["state"] == "present"]
want = [r["fp"] for r in sorted(truth, key=lambda r: r["not_after"])[:2]]
check([c["fingerprint_sha256"] for c in d] == want, "--limit 2: %r, expected %r" % ([c["subject_cn"] for c in d], want))
' "$T/truth.json"
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json --limit 2 --sort subject --reverse
pyassert 'check(len(d) == 2 and d[0]["subject"].lower() >= d[1]["subject"].lower(), [c["subject"] for c in d])'

# Table: a header and one line per certificate.
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --key-type P-384
assert_eq 2 "$(wc -l <<<"$OUT")" "table lines for --key-type P-384 (header + 1)"
[[ $(head -n1 <<<"$OUT") =~ ^FINGERPRINT\ +NOT\ AFTER\ +DAYS\ +SUBJECT\ +ISSUER\ +KEY\ +LOCATION$ ]] ||
    fail "table header: $(head -n1 <<<"$OUT")"
assert_contains "$(tail -n1 <<<"$OUT")" "$(fp_of 'Example Test Root CA' | cut -c1-12)" "table row of the root"
assert_contains "$(tail -n1 <<<"$OUT")" "EC P-384" "table row of the root"

# ---- exit statuses ------------------------------------------------------------------------------------
assert_rc 1 "$CERTLEDGER" --db "$DB" ls --subject 'nothing-matches-this'
assert_rc 1 "$CERTLEDGER" --db "$DB" ls --subject 'nothing-matches-this' --format csv
assert_eq 1 "$(wc -l <<<"$OUT")" "CSV with no rows (header only)"
for bad in "--expiring xyz" "--expiring 30x" "--now garbage" "--now 2029-13-01" "--sort nope" \
           "--state weird" "--min-key-bits 0" "--max-key-bits -5" "--limit 0" "--limit two" \
           "--fingerprint xyz" "--format xml"; do
    # shellcheck disable=SC2086
    assert_rc 2 "$CERTLEDGER" --db "$DB" ls $bad
    [[ -n $ERR ]] || fail "ls $bad: no message on stderr"
    assert_eq "" "$OUT" "stdout of ls $bad"
done
run "$CERTLEDGER" --db "$DB" ls --expiring xyz
assert_contains "$ERR" "'xyz' is not a duration" "ls --expiring xyz"
run "$CERTLEDGER" --db "$DB" ls --now garbage
assert_contains "$ERR" "'garbage' is not an RFC 3339 time" "ls --now garbage"
run "$CERTLEDGER" --db "$DB" ls --sort nope
assert_contains "$ERR" "cannot sort by 'nope'" "ls --sort nope"
assert_contains "$ERR" "not_after" "ls --sort nope lists the fields"

# ---- CSV -------------------------------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format csv --state all
printf '%s\n' "$OUT" >"$T/all.csv"
run "$CERTLEDGER" --db "$DB" ls --format json --state all
printf '%s' "$OUT" >"$T/all.json"
"$PY" - "$T/all.csv" "$T/all.json" "$COMMA_FP" >"$T/csv-check" 2>&1 <<'EOF' || fail "CSV: $(cat "$T/csv-check")"
import csv, json, sys
csvf, jsonf, comma_fp = sys.argv[1:]
raw = open(csvf, newline="").read()
rows = list(csv.reader(open(csvf, newline=""), strict=True))
header = ["fingerprint_sha256", "serial", "subject", "issuer", "sans", "not_before", "not_after",
          "days_left", "validity_days", "key_type", "key_bits", "curve", "sig_alg", "is_ca",
          "self_signed", "spki_sha256", "owner", "environment", "tags", "kind", "where", "state",
          "first_seen", "last_seen"]
assert rows[0] == header, "header %r" % rows[0]
body = [r for r in rows[1:] if r]
assert all(len(r) == len(header) for r in body), "ragged rows: %r" % [len(r) for r in body]
certs = json.load(open(jsonf))
want = sorted((c["fingerprint_sha256"], l["where"], l["state"]) for c in certs for l in c["locations"])
got = sorted((r[0], r[20], r[21]) for r in body)
assert got == want, "one row per certificate-location:\n got %r\n want %r" % (got, want)
by = {c["fingerprint_sha256"]: c for c in certs}
for r in body:
    c = dict(zip(header, r))
    j = by[c["fingerprint_sha256"]]
    for k in ("serial", "subject", "issuer", "not_before", "not_after", "key_type", "sig_alg", "spki_sha256"):
        assert c[k] == j[k], "%s: CSV %s %r vs JSON %r" % (j["subject_cn"], k, c[k], j[k])
    assert c["key_bits"] == ("" if j["key_bits"] is None else str(j["key_bits"])), (c["key_bits"], j["key_bits"])
    assert c["curve"] == (j["curve"] or ""), (c["curve"], j["curve"])
    assert c["is_ca"] == ("true" if j["is_ca"] else "false") and c["self_signed"] == ("true" if j["self_signed"] else "false")
    assert c["sans"] == ";".join(j["sans"]), (c["sans"], j["sans"])
    assert c["tags"] == ";".join(j["tags"]) and c["owner"] == (j["owner"] or ""), c
    assert c["kind"] == "file"
comma = [dict(zip(header, r)) for r in body if r[0] == comma_fp]
assert len(comma) == 1, comma
assert comma[0]["subject"] == "O=Acme\\, Inc.,CN=comma.example.test", "subject %r" % comma[0]["subject"]
assert '"O=Acme\\, Inc.,CN=comma.example.test"' in raw, "the comma field is not quoted"
assert comma[0]["sans"] == "DNS:comma.example.test;DNS:*.comma.example.test", comma[0]["sans"]
assert "\r\n" in raw, "CSV lines should end in CRLF"
EOF
# a certificate in two files is two rows
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format csv --fingerprint "$(fp_of rsa2048.example.test)"
assert_eq 3 "$(wc -l <<<"$OUT")" "CSV rows of rsa2048 (header + its 2 locations)"

finish
