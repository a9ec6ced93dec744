#!/usr/bin/env bash
# lint: exit codes (0 clean, 1 at/above --fail-on, 2 bad policy with its
# line, 3 unreadable input), the json, sarif and junit formats, standard
# input, PKCS#12 with --password-file, profile selection (--profile, --env,
# --tag, --owner, the file's location), bundles out of order, a readable
# key in the same PEM, shared keys; explain; policy show-default/validate.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

need openssl
PD=$CL_SRC/tests/data/policy
P=$T/pki
bash "$PD/mkpki.sh" "$P" || fail "tests/data/policy/mkpki.sh failed"
cd "$T"

# ---- exit codes and the text report ----------------------------------------------------
assert_rc 0 "$CERTLEDGER" lint "$P/good.pem"
assert_contains "$OUT" "1 certificate in 1 file: 0 critical, 0 error, 0 warning, 0 info (failing at error)"
assert_rc 0 "$CERTLEDGER" lint "$P/good.pem" "$P/int.pem" "$P/root.pem"
assert_contains "$OUT" "3 certificates in 3 files: 0 critical, 0 error, 0 warning, 0 info"

assert_rc 1 "$CERTLEDGER" lint "$P/weak.pem"
assert_contains "$OUT" "$P/weak.pem: CN=weak.example.test,O=Certledger Policy Test ("
assert_contains "$OUT" ", profile default)"
assert_contains "$OUT" "  error     key.size                   RSA key of 1024 bits; at least 2048 required"
assert_contains "$OUT" "sig.forbidden"
assert_contains "$OUT" "fix: re-issue with an RSA 3072 or ECDSA P-256 key"
assert_contains "$OUT" "1 certificate in 1 file: 0 critical, 2 error, 0 warning, 0 info (failing at error)"

# --fail-on: a warning passes by default, fails at warning; errors pass at critical
assert_rc 0 "$CERTLEDGER" lint "$P/self.pem"
assert_contains "$OUT" "warning   cert.self-signed"
assert_rc 1 "$CERTLEDGER" lint --fail-on warning "$P/self.pem"
assert_rc 1 "$CERTLEDGER" lint --fail-on info "$P/self.pem"
assert_contains "$OUT" "(failing at info)"
assert_rc 0 "$CERTLEDGER" lint --fail-on critical "$P/weak.pem"
assert_rc 0 "$CERTLEDGER" lint --fail-on warning "$P/good.pem"
# only self-signed CA roots are exempt from sig.forbidden, not self-signed leaves
openssl req -new -x509 -key "$P/self.key" -sha1 -days 30 -subj "/CN=self-sha1.example.test" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "subjectAltName=DNS:self-sha1.example.test" -out "$T/self-sha1.pem" 2>/dev/null ||
    fail "openssl req -sha1"
assert_rc 1 "$CERTLEDGER" lint "$T/self-sha1.pem"
assert_contains "$OUT" "  error     sig.forbidden"
assert_rc 2 "$CERTLEDGER" lint --fail-on fatal "$P/good.pem"
assert_rc 2 "$CERTLEDGER" lint --fail-on off "$P/good.pem"
assert_rc 2 "$CERTLEDGER" lint
assert_rc 2 "$CERTLEDGER" lint --format xml "$P/good.pem"

# --now: the same 90-day certificate 70 days on (warning), 85 (critical), expired, not yet valid
assert_rc 0 "$CERTLEDGER" lint --now "$(now_plus '+70 days')" "$P/good.pem"
assert_contains "$OUT" "expiry.warning"
assert_rc 1 "$CERTLEDGER" lint --now "$(now_plus '+85 days')" "$P/good.pem"
assert_contains "$OUT" "expiry.critical"
assert_rc 1 "$CERTLEDGER" lint --now "$(now_plus '+120 days')" "$P/good.pem"
assert_contains "$OUT" "critical  expiry.expired"
assert_rc 1 "$CERTLEDGER" lint --now "$(now_plus '-2 days')" "$P/good.pem"
assert_contains "$OUT" "expiry.not-yet-valid"
assert_rc 2 "$CERTLEDGER" lint --now yesterday "$P/good.pem"

# unreadable or empty input: 3 (with the findings of the readable ones still printed)
assert_rc 3 "$CERTLEDGER" lint "$T/does-not-exist.pem"
assert_contains "$ERR" "$T/does-not-exist.pem"
printf 'not a certificate\n' >"$T/junk.pem"
assert_rc 3 "$CERTLEDGER" lint "$T/junk.pem"
assert_contains "$ERR" "$T/junk.pem"
assert_rc 3 "$CERTLEDGER" lint "$P"
assert_contains "$ERR" "is a directory"
assert_rc 3 "$CERTLEDGER" lint "$P/good.pem" "$T/does-not-exist.pem"
assert_contains "$OUT" "1 certificate in 1 file"

# ---- invalid policies: 2, with the file and line; unreadable policy: 3 -----------------
nbad=0
for f in "$PD"/bad-*.yaml; do
    expect=$(sed -n '1s/^# expect: //p' "$f")
    line=${expect%%: *}
    msg=${expect#*: }
    [[ $line =~ ^[0-9]+$ ]] || fail "$f: first line must be '# expect: LINE: MESSAGE'"
    assert_rc 2 "$CERTLEDGER" lint --policy "$f" "$P/good.pem"
    assert_contains "$ERR" "$f:$line: " "lint --policy $(basename "$f")"
    assert_contains "$ERR" "$msg" "lint --policy $(basename "$f")"
    assert_eq "" "$OUT" "stdout of lint with an invalid policy"
    assert_rc 2 "$CERTLEDGER" policy validate "$f"
    assert_contains "$ERR" "$f:$line: " "policy validate $(basename "$f")"
    assert_contains "$ERR" "$msg" "policy validate $(basename "$f")"
    nbad=$((nbad + 1))
done
((nbad >= 10)) || fail "expected at least 10 bad policies in $PD, found $nbad"
assert_rc 3 "$CERTLEDGER" lint --policy "$T/no-such-policy.yaml" "$P/good.pem"
assert_contains "$ERR" "$T/no-such-policy.yaml"
assert_rc 3 "$CERTLEDGER" policy validate "$T/no-such-policy.yaml"
assert_rc 0 "$CERTLEDGER" policy validate "$PD/profiles.yaml"
assert_eq "$PD/profiles.yaml: valid; profiles: prod pci web lab default" "$OUT"

# ---- --format json ----------------------------------------------------------------------
WEAK_FP=$(fingerprint "$P/weak.pem")
GOOD_FP=$(fingerprint "$P/good.pem")
assert_rc 1 "$CERTLEDGER" lint --format json "$P/good.pem" "$P/weak.pem"
pyassert '
weak, good, pki = args
check(d["policy"] == "built-in default", d["policy"])
check(d["fail_on"] == "error", d["fail_on"])
check(d["passed"] is False, d["passed"])
check(set(d) == {"policy", "fail_on", "certificates", "findings", "passed"}, sorted(d))
certs = {c["fingerprint_sha256"]: c for c in d["certificates"]}
check(set(certs) == {weak, good}, certs)
for c in d["certificates"]:
    check(set(c) == {"file", "fingerprint_sha256", "subject", "profile"}, sorted(c))
    check(c["profile"] == "default", c)
check(certs[weak]["file"] == pki + "/weak.pem", certs[weak])
check(certs[weak]["subject"] == "CN=weak.example.test,O=Certledger Policy Test", certs[weak])
rules = sorted(f["rule"] for f in d["findings"])
check(rules == ["policy.key.size", "policy.sig.forbidden"], rules)
for f in d["findings"]:
    check({"file", "fingerprint_sha256", "subject", "rule", "severity", "found", "limit",
           "message", "fix"} <= set(f), sorted(f))
    check(f["fingerprint_sha256"] == weak and f["file"] == pki + "/weak.pem", f)
    check(f["severity"] == "error", f)
    check(f["message"] and f["fix"], f)
ks = [f for f in d["findings"] if f["rule"] == "policy.key.size"][0]
check(ks["found"] == "RSA 1024" and ks["limit"] == ">= 2048 bits", ks)
sf = [f for f in d["findings"] if f["rule"] == "policy.sig.forbidden"][0]
check(sf["found"] == "ecdsa-with-SHA1" and sf["limit"] == "*sha1*", sf)
' "$WEAK_FP" "$GOOD_FP" "$P"
assert_rc 0 "$CERTLEDGER" lint --format json "$P/good.pem"
pyassert 'check(d["passed"] is True and d["findings"] == [], d)'
assert_rc 0 "$CERTLEDGER" lint --format json --fail-on critical "$P/weak.pem"
pyassert 'check(d["passed"] is True and d["fail_on"] == "critical" and len(d["findings"]) == 2, d)'

# ---- --format sarif -----------------------------------------------------------------------
assert_rc 1 "$CERTLEDGER" lint --format sarif "$P/weak.pem" "$P/self.pem" "$P/nosan.pem" "$P/good.pem"
pyassert '
pki = args[0]
check(d["version"] == "2.1.0", d.get("version"))
check("sarif" in d.get("$schema", ""), d.get("$schema"))
check(len(d["runs"]) == 1, len(d["runs"]))
run = d["runs"][0]
drv = run["tool"]["driver"]
check(drv["name"] == "certledger" and drv.get("version"), drv)
ids = [r["id"] for r in drv["rules"]]
check(len(ids) == len(set(ids)), "duplicate rule ids %r" % ids)
res = run["results"]
check(sorted(set(r["ruleId"] for r in res)) == sorted(ids),
      "rules %r vs results %r" % (ids, [r["ruleId"] for r in res]))
check(sorted(ids) == ["policy.cert.self-signed", "policy.key.size", "policy.san.missing",
                      "policy.sig.forbidden"], ids)
for r in drv["rules"]:
    check(r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"], r)
    check(r["defaultConfiguration"]["level"] in ("error", "warning", "note"), r)
lv = {r["ruleId"]: r["level"] for r in res}
check(lv == {"policy.key.size": "error", "policy.sig.forbidden": "error",
             "policy.san.missing": "error", "policy.cert.self-signed": "warning"}, lv)
for r in res:
    check(ids[r["ruleIndex"]] == r["ruleId"], "ruleIndex %r of %r" % (r["ruleIndex"], r["ruleId"]))
    check(r["message"]["text"], r)
    uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    check(uri.startswith(pki + "/") and uri.endswith(".pem"), uri)
    check(len(r["partialFingerprints"]["certificateSha256"]) == 64, r)
check({r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in res} ==
      {pki + "/weak.pem", pki + "/self.pem", pki + "/nosan.pem"}, "uris")
' "$P"
assert_rc 0 "$CERTLEDGER" lint --format sarif "$P/good.pem"
pyassert 'check(d["runs"][0]["results"] == [] and d["runs"][0]["tool"]["driver"]["rules"] == [], d)'

# ---- --format junit -------------------------------------------------------------------------
assert_rc 1 "$CERTLEDGER" lint --format junit "$P/weak.pem" "$P/good.pem" "$P/self.pem" "$P/nosan.pem"
printf '%s' "$OUT" >"$T/junit.xml"
junit() { # CODE: runs python with the parsed tree as `root`
    "$PY" - "$T/junit.xml" "$@" <<'EOF'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
cases = [c for s in suites for c in s.findall("testcase")]
failed = [c for c in cases if c.find("failure") is not None]
exec(sys.argv[2])
EOF
}
junit '
assert root.tag == "testsuites", root.tag
assert len(cases) == 4, "one testcase per certificate, got %d" % len(cases)
assert int(suites[0].get("tests")) == 4, suites[0].attrib
names = sorted(c.get("name") for c in cases)
assert any(n.startswith("CN=weak.example.test") for n in names), names
assert len(failed) == 2, "weak and nosan fail at error: %r" % [c.get("name") for c in failed]
types = sorted(f.get("type") for c in failed for f in c.findall("failure"))
assert types == ["policy.key.size", "policy.san.missing", "policy.sig.forbidden"], types
' || fail "junit report"
# the failures attribute counts failed test cases (2), not findings (3): each
# testcase is one certificate
junit 'assert int(suites[0].get("failures")) == len(failed) == 2, "testsuite failures=%s but %d testcases failed" % (suites[0].get("failures"), len(failed))
assert int(root.get("failures")) == len(failed), "testsuites failures=%s but %d testcases failed" % (root.get("failures"), len(failed))' ||
    fail "junit failures attribute"
assert_rc 0 "$CERTLEDGER" lint --format junit --fail-on critical "$P/weak.pem"
printf '%s' "$OUT" >"$T/junit.xml"
junit 'assert len(cases) == 1 and not failed and suites[0].get("failures") == "0", ET.tostring(root)' ||
    fail "junit with --fail-on critical"

# ---- standard input ---------------------------------------------------------------------------
assert_rc 1 "$CERTLEDGER" lint --format json - <"$P/weak.pem"
pyassert 'check(d["certificates"][0]["file"] == "(stdin)" and len(d["findings"]) == 2, d)'
assert_rc 0 "$CERTLEDGER" lint - <"$P/good.pem"
assert_rc 3 "$CERTLEDGER" lint - </dev/null
run bash -c "openssl x509 -in '$P/weak.pem' -outform DER | '$CERTLEDGER' lint --format json -"
assert_eq 1 "$RC" "lint of DER on standard input"
pyassert 'check(len(d["certificates"]) == 1 and d["certificates"][0]["fingerprint_sha256"] == args[0], d)' "$WEAK_FP"

# ---- PKCS#12 with --password-file -----------------------------------------------------------
openssl pkcs12 -export -in "$P/weak.pem" -inkey "$P/weak.key" -certfile "$P/int.pem" \
    -passout pass:s3cret -out "$T/weak.p12" 2>/dev/null || fail "openssl pkcs12"
chmod 0600 "$T/weak.p12"
printf 'wrong\ns3cret\n' >"$T/pw.txt"
assert_rc 1 "$CERTLEDGER" lint --format json --password-file "$T/pw.txt" "$T/weak.p12"
pyassert '
fps = sorted(c["fingerprint_sha256"] for c in d["certificates"])
check(len(fps) == 2, "leaf and intermediate from the PKCS#12: %r" % d["certificates"])
check(args[0] in fps, fps)
check(sorted(f["rule"] for f in d["findings"]) == ["policy.key.size", "policy.sig.forbidden"], d["findings"])
' "$WEAK_FP"
CERTLEDGER_P12_PASSWORD=s3cret assert_rc 1 "$CERTLEDGER" lint "$T/weak.p12"
assert_contains "$OUT" "key.size"
printf 'wrong\n' >"$T/pw-wrong.txt"
assert_rc 3 "$CERTLEDGER" lint --password-file "$T/pw-wrong.txt" "$T/weak.p12"
# the PKCS#12 holds the key: readable by others, that is a finding
chmod 0644 "$T/weak.p12"
assert_rc 1 "$CERTLEDGER" lint --format json --password-file "$T/pw.txt" "$T/weak.p12"
pyassert 'check("policy.key.readable" in [f["rule"] for f in d["findings"]], d["findings"])'

# ---- profiles: --profile, --env, --tag, --owner, location --------------------------------------
POL=$PD/profiles.yaml
# good.pem is P-256: prod wants P-384
assert_rc 0 "$CERTLEDGER" lint --policy "$POL" "$P/good.pem"
assert_rc 1 "$CERTLEDGER" lint --policy "$POL" --env prod --format json "$P/good.pem"
pyassert '
check(d["policy"] == args[0], d["policy"])
check(d["certificates"][0]["profile"] == "prod", d["certificates"])
check([f["rule"] for f in d["findings"]] == ["policy.key.size"], d["findings"])
' "$POL"
assert_rc 1 "$CERTLEDGER" lint --policy "$POL" --env production-eu "$P/good.pem"
assert_contains "$OUT" "profile prod)"
assert_rc 0 "$CERTLEDGER" lint --policy "$POL" --env staging "$P/good.pem"
assert_rc 1 "$CERTLEDGER" lint --policy "$POL" --profile prod "$P/good.pem"
assert_rc 0 "$CERTLEDGER" lint --policy "$POL" --profile default "$P/good.pem"
# an unknown profile: a usage error naming it and the policy
assert_rc 2 "$CERTLEDGER" lint --policy "$POL" --profile nope "$P/good.pem"
assert_contains "$ERR" "certledger lint: --profile: 'nope' is not a profile of $POL"
assert_eq "" "$OUT" "stdout of lint --profile nope"
assert_rc 2 "$CERTLEDGER" lint --profile prod "$P/good.pem"   # not in the built-in policy
assert_contains "$ERR" "certledger lint: --profile: 'prod' is not a profile of built-in default"
# the exponent 17: allowed by the defaults block (rsa_min_exponent 3), not in prod
assert_rc 0 "$CERTLEDGER" lint --policy "$POL" "$P/e17.pem"
assert_rc 1 "$CERTLEDGER" lint --policy "$POL" --env prod "$P/e17.pem"
assert_contains "$OUT" "key.exponent"
# the defaults block: validity.max_days 400 (long.pem: 500 days)
assert_rc 1 "$CERTLEDGER" lint --policy "$POL" "$P/long.pem"
assert_contains "$OUT" "validity.max"
assert_rc 0 "$CERTLEDGER" lint "$P/long.pem"
# tag pci: no wildcards, 100 days at most
assert_rc 0 "$CERTLEDGER" lint --policy "$POL" --fail-on warning "$P/wild.pem"
assert_rc 1 "$CERTLEDGER" lint --policy "$POL" --tag pci --fail-on warning --format json "$P/wild.pem"
pyassert 'check([(f["rule"], f["severity"]) for f in d["findings"]] == [("policy.san.wildcard", "warning")], d["findings"])
check(d["certificates"][0]["profile"] == "pci", d["certificates"])'
assert_rc 0 "$CERTLEDGER" lint --policy "$POL" --tag pcidss --fail-on warning "$P/wild.pem"
# owner glob: san.missing is critical for team-web*
assert_rc 0 "$CERTLEDGER" lint --policy "$POL" --owner team-web-eu --fail-on critical --format json "$P/good.pem"
assert_rc 1 "$CERTLEDGER" lint --policy "$POL" --owner team-web-eu --fail-on critical --format json "$P/nosan.pem"
pyassert 'check([(f["rule"], f["severity"]) for f in d["findings"]] == [("policy.san.missing", "critical")], d)
check(d["certificates"][0]["profile"] == "web", d["certificates"])'
# validity.max counts notAfter - notBefore + 1 s: `openssl -days 90` makes 90 days
# and 1 second, too long for max_days 90, fine for 91; the message says so
# exactly instead of "90 days" against a limit of 90 days
printf 'version: 1\ndefaults:\n  validity: {max_days: 90}\n' >"$T/max90.yaml"
printf 'version: 1\ndefaults:\n  validity: {max_days: 91}\n' >"$T/max91.yaml"
assert_rc 0 "$CERTLEDGER" lint --policy "$T/max91.yaml" "$P/good.pem"
assert_rc 1 "$CERTLEDGER" lint --policy "$T/max90.yaml" --format json "$P/good.pem"
pyassert 'check([f["rule"] for f in d["findings"]] == ["policy.validity.max"], d["findings"])'
pyassert 'f = d["findings"][0]
check(f["found"] == "90 days and 1 second" and f["limit"] == "<= 90 days", f)
check(f["message"] == "valid for 90 days and 1 second; the profile allows at most 90 days", f)'
# first match wins: prod before pci
assert_rc 1 "$CERTLEDGER" lint --policy "$POL" --env prod --tag pci --format json "$P/good.pem"
pyassert 'check(d["certificates"][0]["profile"] == "prod", d["certificates"])'
# the file's location: file:*/lab/* selects lab (self-signed allowed, weak keys info)
mkdir -p "$T/lab"
cp "$P/self.pem" "$P/weak.pem" "$T/lab/"
assert_rc 0 "$CERTLEDGER" lint --policy "$POL" --fail-on warning --format json "$T/lab/self.pem" "$T/lab/weak.pem"
pyassert '
check(all(c["profile"] == "lab" for c in d["certificates"]), d["certificates"])
check(sorted((f["rule"], f["severity"]) for f in d["findings"]) ==
      [("policy.key.size", "info"), ("policy.sig.forbidden", "info")], d["findings"])'
assert_rc 1 "$CERTLEDGER" lint --policy "$POL" --fail-on warning "$P/self.pem"

# ---- bundles: order, keys in the same file, shared keys ----------------------------------------
cat "$P/good.pem" "$P/int.pem" "$P/root.pem" >"$T/ordered.pem"
assert_rc 0 "$CERTLEDGER" lint --fail-on warning "$T/ordered.pem"
assert_contains "$OUT" "3 certificates in 1 file"
cat "$P/good.pem" "$P/root.pem" "$P/int.pem" >"$T/misordered.pem"
assert_rc 0 "$CERTLEDGER" lint --format json "$T/misordered.pem"
pyassert '
wo = [f for f in d["findings"] if f["rule"] == "policy.chain.wrong-order"]
check(len(wo) == 1, "one chain.wrong-order expected: %r" % d["findings"])
check(wo[0]["severity"] == "warning" and wo[0]["fingerprint_sha256"] == args[0], wo)
check(wo[0]["where"] == args[1], wo)
' "$GOOD_FP" "$T/misordered.pem"
assert_rc 1 "$CERTLEDGER" lint --fail-on warning "$T/misordered.pem"
# the intermediate before the leaf it issued is out of order too; a leaf
# with its intermediate (no root) is in order
cat "$P/int.pem" "$P/good.pem" >"$T/int-first.pem"
assert_rc 0 "$CERTLEDGER" lint --format json "$T/int-first.pem"
pyassert 'check([f["rule"] for f in d["findings"]] == ["policy.chain.wrong-order"],
      "intermediate before its leaf: one chain.wrong-order finding: %r" % d["findings"])'
cat "$P/root.pem" "$P/int.pem" "$P/good.pem" >"$T/reversed.pem"
assert_rc 1 "$CERTLEDGER" lint --fail-on warning "$T/reversed.pem"
assert_contains "$OUT" "chain.wrong-order"
cat "$P/good.pem" "$P/int.pem" >"$T/leaf-int.pem"
assert_rc 0 "$CERTLEDGER" lint --fail-on info "$T/leaf-int.pem"

# a key in the same PEM: its mode decides
cat "$P/good.key" "$P/good.pem" >"$T/combined.pem"
chmod 0644 "$T/combined.pem"
assert_rc 1 "$CERTLEDGER" lint --format json "$T/combined.pem"
pyassert '
f = [f for f in d["findings"] if f["rule"] == "policy.key.readable"]
check(len(f) == 1 and len(d["findings"]) == 1, d["findings"])
check(f[0]["found"] == "mode 0644" and f[0]["where"] == args[0] and f[0]["severity"] == "error", f)
check("everyone" in f[0]["message"], f)
' "$T/combined.pem"
chmod 0640 "$T/combined.pem"
assert_rc 1 "$CERTLEDGER" lint "$T/combined.pem"
assert_contains "$OUT" "its group"
chmod 0600 "$T/combined.pem"
assert_rc 0 "$CERTLEDGER" lint --fail-on info "$T/combined.pem"
# another certificate's key in the file says nothing about this one
cat "$P/self.key" "$P/good.pem" >"$T/other-key.pem"
chmod 0644 "$T/other-key.pem"
assert_rc 0 "$CERTLEDGER" lint --fail-on warning "$T/other-key.pem"

# one key in two certificates (two files): key.shared on both; a copy of one
# certificate is not another certificate
assert_rc 0 "$CERTLEDGER" lint --format json "$P/shared-a.pem" "$P/shared-b.pem" "$P/good.pem"
pyassert '
sh = [f for f in d["findings"] if f["rule"] == "policy.key.shared"]
check(len(sh) == 2 and all(f["severity"] == "warning" and f["found"] == "1 other certificate" for f in sh), sh)
check(len(d["findings"]) == 2, d["findings"])'
cp "$P/good.pem" "$T/good-copy.pem"
assert_rc 0 "$CERTLEDGER" lint --fail-on info "$P/good.pem" "$T/good-copy.pem"

# ---- explain -------------------------------------------------------------------------------------
RULES="key.type key.size key.exponent key.roca key.shared key.readable sig.forbidden
sig.not-allowed issuer.not-approved validity.max validity.cabf expiry.expired expiry.critical
expiry.warning expiry.not-yet-valid san.missing san.wildcard san.required san.forbidden
cert.self-signed ct.no-scts chain.incomplete chain.wrong-order chain.untrusted-root
chain.intermediate-expiry revocation.revoked revocation.unreachable revocation.unknown"
assert_rc 0 "$CERTLEDGER" explain
n=0
for r in $RULES; do
    assert_contains "$OUT" "  $r " "explain list"
    n=$((n + 1))
done
assert_eq 28 "$n" "rules named in the test"
assert_eq 29 "$(wc -l <<<"$OUT")" "explain: a header and 28 rules"
assert_contains "$OUT" "  key.roca                   critical"
for r in $RULES; do
    assert_rc 0 "$CERTLEDGER" explain "$r"
    assert_contains "$OUT" "policy.$r (default severity " "explain $r"
    assert_contains "$OUT" "  Fix: " "explain $r"
done
assert_rc 0 "$CERTLEDGER" explain key.size
assert_contains "$OUT" "policy.key.size (default severity error)"
assert_contains "$OUT" "rsa_min_bits"
assert_rc 0 "$CERTLEDGER" explain policy.validity.cabf
assert_contains "$OUT" "2029-03-15"
assert_rc 0 "$CERTLEDGER" explain key.size san.missing
assert_contains "$OUT" "policy.san.missing"
assert_rc 2 "$CERTLEDGER" explain key.sise
assert_contains "$ERR" "key.sise"
assert_rc 2 "$CERTLEDGER" explain key.size nope

# ---- policy show-default / validate ------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" policy show-default
printf '%s\n' "$OUT" >"$T/default.yaml"
if "$PY" -c 'import yaml' 2>/dev/null; then
    "$PY" - "$T/default.yaml" <<'EOF' || fail "show-default is not the YAML expected"
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert d["version"] == 1, d
assert d["profiles"] == [], d["profiles"]
assert d["defaults"]["key"]["rsa_min_bits"] == 2048, d["defaults"]["key"]
assert d["defaults"]["severity"] == {"cert.self-signed": "warning"}, d["defaults"]["severity"]
EOF
fi
assert_rc 0 "$CERTLEDGER" policy validate "$T/default.yaml"
assert_eq "$T/default.yaml: valid; profiles: default" "$OUT"
assert_rc 0 "$CERTLEDGER" lint --policy "$T/default.yaml" "$P/good.pem"
assert_rc 1 "$CERTLEDGER" lint --policy "$T/default.yaml" "$P/weak.pem"
assert_rc 2 "$CERTLEDGER" policy
assert_rc 2 "$CERTLEDGER" policy frobnicate
assert_rc 2 "$CERTLEDGER" policy validate

finish
