#!/usr/bin/env bash
# check: the policy over the inventory. Findings (policy.*) are opened once,
# refreshed by a second check, resolved (never deleted, with an event) when
# the problem is fixed; a filtered check only resolves findings of the
# certificates it checked. Table grouping (severity, owner, rule), json and
# csv fields, exit codes with --fail-on, and profiles selected by the
# environment set with `certledger tag --env`.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

need openssl
PD=$CL_SRC/tests/data/policy
TREE=$T/tree
bash "$PD/mkpki.sh" "$TREE" || fail "tests/data/policy/mkpki.sh failed"

fp() { fingerprint "$TREE/$1.pem"; }
WEAK=$(fp weak)
GOOD=$(fp good)
NOSAN=$(fp nosan)
SELF=$(fp self)
E17=$(fp e17)
SHA=$(fp shared-a)
SHB=$(fp shared-b)
# the key both shared-* certificates use (SHA-256 of its SubjectPublicKeyInfo)
SPKI=$(openssl x509 -in "$TREE/shared-a.pem" -pubkey -noout | openssl pkey -pubin -outform DER |
    sha256sum | cut -d' ' -f1)

assert_rc 0 "$CERTLEDGER" --db "$DB" discover files "$TREE"

# open_findings: "rule target" lines of the open policy.* findings, sorted
open_findings() {
    run "$CERTLEDGER" --db "$DB" findings --format json
    [[ $RC == 0 ]] || fail "findings: exit $RC: $ERR"
    pyjson 'print("\n".join(sorted("%s %s" % (f["rule"], f["target"]) for f in d if f["rule"].startswith("policy."))))'
}
# count_events TYPE: how many events of TYPE about policy.* findings
count_events() {
    run "$CERTLEDGER" --db "$DB" events --type "$1" --format json
    [[ $RC == 0 ]] || fail "events --type $1: exit $RC: $ERR"
    pyjson 'print(len([e for e in d if e["detail"]["rule"].startswith("policy.")]))'
}

# ---- the first check opens the findings -------------------------------------------------------
assert_rc 1 "$CERTLEDGER" --db "$DB" check
TABLE=$OUT
assert_contains "$TABLE" "checked 11 certificates against built-in default: 0 critical, 4 error, 2 warning, 0 info; 6 findings opened, 0 resolved"
assert_contains "$TABLE" "ERROR (4)
  (no owner)
    policy.key.size (1): the key is too small or on a curve that is not allowed
      ${WEAK:0:12}  weak.example.test: RSA key of 1024 bits; at least 2048 required
      fix: re-issue with an RSA 3072 or ECDSA P-256 key"
# one key in two certificates is one finding, about the key
assert_contains "$TABLE" "WARNING (2)
  (no owner)
    policy.key.shared (1): "
assert_contains "$TABLE" "this key is used by 2 present certificates at key:$SPKI"
# severities from the most severe down
[[ $TABLE == *"ERROR (4)"*"WARNING (2)"* ]] || fail "ERROR must come before WARNING: $TABLE"
EXPECTED="policy.cert.self-signed cert:$SELF
policy.key.exponent cert:$E17
policy.key.shared key:$SPKI
policy.key.size cert:$WEAK
policy.san.missing cert:$NOSAN
policy.sig.forbidden cert:$WEAK"
EXPECTED=$(sort <<<"$EXPECTED")
assert_eq "$EXPECTED" "$(open_findings)" "open findings after the first check"
assert_eq 6 "$(count_events finding.opened)" "finding.opened events"

# ---- a second check opens nothing and keeps them -----------------------------------------------
assert_rc 1 "$CERTLEDGER" --db "$DB" check
assert_contains "$OUT" "; 0 findings opened, 0 resolved"
assert_eq "$EXPECTED" "$(open_findings)" "open findings after the second check"
assert_eq 6 "$(count_events finding.opened)" "finding.opened events after the second check"
assert_eq 0 "$(count_events finding.resolved)" "finding.resolved events after the second check"

# ---- exit codes ---------------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" check --fail-on critical
assert_rc 1 "$CERTLEDGER" --db "$DB" check --fail-on warning
assert_rc 2 "$CERTLEDGER" --db "$DB" check --fail-on fatal
assert_rc 2 "$CERTLEDGER" --db "$DB" check --format xml
assert_rc 2 "$CERTLEDGER" --db "$DB" check --examples -1
assert_rc 2 "$CERTLEDGER" --db "$DB" check extra-argument
assert_rc 2 "$CERTLEDGER" --db "$DB" check --policy "$PD/bad-threshold.yaml"
assert_contains "$ERR" "$PD/bad-threshold.yaml:6: "
assert_rc 3 "$CERTLEDGER" --db "$DB" check --policy "$T/no-such-policy.yaml"
# only warnings (errors filtered out by a filter): 0, or 1 at --fail-on warning
assert_rc 0 "$CERTLEDGER" --db "$DB" check --subject '*self*'
assert_rc 1 "$CERTLEDGER" --db "$DB" check --subject '*self*' --fail-on warning
assert_eq "$EXPECTED" "$(open_findings)" "findings after the filtered checks"

# ---- --format json and csv ------------------------------------------------------------------------
assert_rc 1 "$CERTLEDGER" --db "$DB" check --format json
pyassert '
weak = args[0]
check(isinstance(d, list) and len(d) == 6, "6 findings expected, got %d" % len(d))
keys = {"rule", "severity", "target", "fingerprint_sha256", "subject", "owner", "environment",
        "profile", "found", "limit", "message", "fix"}
for f in d:
    check(set(f) == keys, "fields %r" % sorted(f))
    check(f["rule"].startswith("policy."), f)
    check(f["profile"] == "default", f)
    check(f["target"] == "cert:" + f["fingerprint_sha256"] or
          (f["rule"] == "policy.key.shared" and f["target"].startswith("key:")), f)
ks = [f for f in d if f["rule"] == "policy.key.size"]
check(len(ks) == 1, ks)
ks = ks[0]
check(ks["fingerprint_sha256"] == weak and ks["severity"] == "error", ks)
check(ks["found"] == "RSA 1024" and ks["limit"] == ">= 2048 bits", ks)
check(ks["subject"] == "CN=weak.example.test,O=Certledger Policy Test", ks)
check(ks["owner"] is None and ks["environment"] is None, ks)
' "$WEAK"
assert_rc 1 "$CERTLEDGER" --db "$DB" check --format csv
printf '%s' "$OUT" >"$T/check.csv"
"$PY" - "$T/check.csv" "$WEAK" <<'EOF' || fail "check --format csv"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["rule", "severity", "target", "fingerprint_sha256", "subject", "owner",
                   "environment", "profile", "found", "limit", "message", "fix"], rows[0]
assert len(rows) == 7, "header + 6 findings, got %d rows" % len(rows)
assert all(len(r) == 12 for r in rows), [len(r) for r in rows]
sig = [r for r in rows if r[0] == "policy.sig.forbidden"]
assert len(sig) == 1 and sig[0][3] == sys.argv[2] and sig[0][8] == "ecdsa-with-SHA1", sig
EOF
assert_contains "$(head -c 200 "$T/check.csv")" $'fix\r\n' "csv lines end in CRLF"

# ---- owners group the table -------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$WEAK" --owner team-a
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$NOSAN" --owner team-b
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$E17" --owner team-a
assert_rc 1 "$CERTLEDGER" --db "$DB" check --examples 1
assert_contains "$OUT" "ERROR (4)
  team-a
    policy.key.size (1): "
assert_contains "$OUT" "    policy.key.exponent (1): "
assert_contains "$OUT" "  team-b
    policy.san.missing (1): "
[[ $OUT == *"  team-a"*"policy.key.size"*"policy.key.exponent"*"policy.sig.forbidden"*"  team-b"*"WARNING (2)"*"  (no owner)"* ]] ||
    fail "table order: severity, then owner, then rule: $OUT"
assert_rc 1 "$CERTLEDGER" --db "$DB" check --format json
pyassert 'o = {f["rule"]: f["owner"] for f in d}
check(o["policy.key.size"] == "team-a" and o["policy.san.missing"] == "team-b", o)'

# ---- fixing a problem resolves its finding, with an event -------------------------------------------
chmod 0644 "$TREE/good.key"
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files "$TREE"
assert_rc 1 "$CERTLEDGER" --db "$DB" check --format json
pyassert '
kr = [f for f in d if f["rule"] == "policy.key.readable"]
check(len(kr) == 1, "one key.readable finding: %r" % kr)
check(kr[0]["target"] == "file:" + args[1] and kr[0]["fingerprint_sha256"] == args[0], kr)
check(kr[0]["found"] == "mode 0644" and kr[0]["severity"] == "error", kr)
' "$GOOD" "$TREE/good.key"
assert_contains "$(open_findings)" "policy.key.readable file:$TREE/good.key"
chmod 0600 "$TREE/good.key"
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files "$TREE"
assert_rc 1 "$CERTLEDGER" --db "$DB" check
assert_contains "$OUT" "; 0 findings opened, 1 resolved"
assert_eq "$EXPECTED" "$(open_findings)" "open findings after chmod 600"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --type finding.resolved --format json
pyassert '
p = [e for e in d if e["detail"]["rule"].startswith("policy.")]
check(len(p) == 1, "one finding.resolved event of a policy finding: %r" % d)
e = p[0]
check(e["detail"]["rule"] == "policy.key.readable", e)
check(e["location"] == "file:" + args[0], e)
' "$TREE/good.key"
assert_rc 0 "$CERTLEDGER" --db "$DB" findings --all --rule policy.key.readable --format json
pyassert 'check(len(d) == 1 and d[0]["resolved_at"] is not None, "kept, resolved: %r" % d)'

# ---- a filtered check resolves only the findings of the certificates it checked ---------------------
# A policy under which nothing is wrong: checking the root and the intermediate
# (issuer *Root CA*) must not resolve the findings of the leaves.
cat >"$T/lenient.yaml" <<'EOF'
version: 1
defaults:
  self_signed: true
  severity:
    key.size: off
    key.exponent: off
    key.shared: off
    sig.forbidden: off
    san.missing: off
EOF
assert_rc 0 "$CERTLEDGER" --db "$DB" check --policy "$T/lenient.yaml" --issuer '*Root CA*'
assert_contains "$OUT" "checked 2 certificates against $T/lenient.yaml: 0 critical, 0 error, 0 warning, 0 info; 0 findings opened, 0 resolved"
assert_eq "$EXPECTED" "$(open_findings)" "open findings after a check of the CAs only"
# checking weak.pem alone resolves its two findings and nothing else
assert_rc 0 "$CERTLEDGER" --db "$DB" check --policy "$T/lenient.yaml" --location "*/weak.pem"
assert_contains "$OUT" "checked 1 certificate against"
assert_contains "$OUT" "0 findings opened, 2 resolved"
assert_eq "$(grep -v "cert:$WEAK" <<<"$EXPECTED")" "$(open_findings)" "open findings after checking weak.pem"
assert_eq 3 "$(count_events finding.resolved)" "finding.resolved events"
# an unfiltered check under the lenient policy resolves the rest
assert_rc 0 "$CERTLEDGER" --db "$DB" check --policy "$T/lenient.yaml"
assert_contains "$OUT" "0 findings opened, 4 resolved"
assert_eq "" "$(open_findings)" "open findings under the lenient policy"
# and the default policy opens them again
assert_rc 1 "$CERTLEDGER" --db "$DB" check
assert_contains "$OUT" "6 findings opened, 0 resolved"

# ---- profiles selected by the environment set with `tag --env` --------------------------------------
POL=$PD/profiles.yaml
assert_rc 1 "$CERTLEDGER" --db "$DB" check --policy "$POL" --format json
pyassert 'check(all(f["profile"] == "default" for f in d), d)
check("policy.key.exponent" not in [f["rule"] for f in d], "e=17 is allowed by the defaults block: %r" % d)
vm = [f for f in d if f["rule"] == "policy.validity.max"]
check(len(vm) == 1 and vm[0]["fingerprint_sha256"] == args[0] and vm[0]["limit"] == "<= 400 days",
      "the defaults block: max_days 400 (long.pem: 500 days): %r" % vm)' "$(fp long)"
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$GOOD" --env prod
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$E17" --env production-eu
assert_rc 1 "$CERTLEDGER" --db "$DB" check --policy "$POL" --format json
pyassert '
good, e17 = args
g = [f for f in d if f["fingerprint_sha256"] == good]
check([(f["rule"], f["profile"], f["environment"]) for f in g] == [("policy.key.size", "prod", "prod")],
      "P-256 under prod (P-384 only): %r" % g)
' "$GOOD" "$E17"
# prod requires the exponent 65537: e=17 is a finding there
soft pyassert '
e = [f for f in d if f["fingerprint_sha256"] == args[0]]
check([f["rule"] for f in e] == ["policy.key.exponent"],
      "e=17 in production-eu (profile prod, rsa_min_exponent 65537): %r" % e)
' "$E17"
# the same certificate linted with --env prod is a finding, as a cross-check
assert_rc 1 "$CERTLEDGER" lint --policy "$POL" --env prod "$TREE/e17.pem"
assert_contains "$OUT" "key.exponent"
# a location: the self-signed leaf copied under lab/ selects the lab profile
mkdir -p "$TREE/lab"
cp "$TREE/self.pem" "$TREE/lab/self.pem"
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files "$TREE"
assert_rc 1 "$CERTLEDGER" --db "$DB" check --policy "$POL" --format json
pyassert '
check(not [f for f in d if f["fingerprint_sha256"] == args[0]],
      "self.pem is also under lab/: profile lab allows it: %r" % [f for f in d if f["fingerprint_sha256"] == args[0]])
' "$SELF"
# the --env filter of check is a filter, not a profile selector
assert_rc 1 "$CERTLEDGER" --db "$DB" check --policy "$POL" --env prod --format json
pyassert 'check(len(d) == 1 and d[0]["fingerprint_sha256"] == args[0], d)' "$GOOD"

# --examples 1 with a group of many: one example and a count of the rest
assert_rc 1 "$CERTLEDGER" --db "$DB" check --examples 1 --now 2099-01-01
assert_contains "$OUT" "    policy.expiry.expired ("
assert_contains "$OUT" " more (certledger findings --rule policy.expiry.expired)"

finish
