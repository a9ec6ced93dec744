#!/usr/bin/env bash
# tag: owner/environment/tags by fingerprint and by location, the filters
# that use them, events, and inheritance by renewed certificates (same path,
# new certificate). Ambiguous prefix: exit 2; unknown: exit 1.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

make_fixtures
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files --password-file "$PWFILE" "$FX"

RSA_FP=$(fp_of rsa2048.example.test)
EC_FP=$(fp_of ec256.example.test)
ED25519_FP=$(fp_of ed25519.example.test)
ED448_FP=$(fp_of ed448.example.test)
SHA1_FP=$(fp_of sha1.example.test)

# meta_of FP: "owner|environment|tag,tag" from ls --state all --format json
meta_of() {
    run "$CERTLEDGER" --db "$DB" ls --state all --fingerprint "$1" --format json
    [[ $RC == 0 ]] || fail "ls --fingerprint $1: exit $RC: $ERR"
    pyjson 'c = d[0] if len(d) == 1 else sys.exit("expected one certificate, got %d" % len(d))
print("%s|%s|%s" % (c["owner"] or "-", c["environment"] or "-", ",".join(c["tags"])))'
}
# fps_of LS-ARGS...: the sorted fingerprints ls prints in JSON (exit 1 -> none)
fps_of() {
    run "$CERTLEDGER" --db "$DB" ls --format json "$@"
    if [[ $RC == 1 ]]; then echo; return; fi
    [[ $RC == 0 ]] || fail "ls $*: exit $RC: $ERR"
    pyjson 'print(" ".join(sorted(c["fingerprint_sha256"] for c in d)))'
}
sorted_words() { printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }

# ---- by fingerprint (a 12-digit prefix) -------------------------------------------------
assert_eq "-|-|" "$(meta_of "$RSA_FP")" "rsa2048 before tagging"
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "${RSA_FP:0:12}" --owner team-x --env prod --tag pci
assert_eq "tagged 1 certificate" "$OUT" "tag by fingerprint"
assert_eq "team-x|prod|pci" "$(meta_of "$RSA_FP")" "rsa2048 after tagging"

assert_eq "$RSA_FP" "$(fps_of --owner team-x)" "ls --owner team-x"
assert_eq "$RSA_FP" "$(fps_of --owner 'TEAM-*')" "ls --owner 'TEAM-*' (case-insensitive glob)"
assert_eq "$RSA_FP" "$(fps_of --tag pci)" "ls --tag pci"
assert_eq "$RSA_FP" "$(fps_of --env prod)" "ls --env prod"
assert_eq "$RSA_FP" "$(fps_of --env prod --tag pci --owner team-x)" "ls with all three"
assert_eq "" "$(fps_of --tag pc)" "ls --tag pc (tags match exactly)"
assert_rc 1 "$CERTLEDGER" --db "$DB" ls --owner nobody-owns-this
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --tag pci --format json
pyassert 'c = d[0]; check((c["owner"], c["environment"], c["tags"]) == ("team-x", "prod", ["pci"]), c)'
run "$CERTLEDGER" --db "$DB" show "$RSA_FP"
assert_contains "$OUT" "  Owner             team-x
  Environment       prod
  Tags              pci" "show after tagging"

# Repeated and removed tags; a fingerprint written with colons and capitals.
COLONS=$(sed -E 's/(..)/\1:/g; s/:$//' <<<"${RSA_FP:0:16}" | tr 'a-f' 'A-F')
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$COLONS" --tag pci --tag web --tag edge
assert_eq "team-x|prod|pci,web,edge" "$(meta_of "$RSA_FP")" "after adding web, edge (pci kept once)"
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$RSA_FP" --untag web
assert_eq "team-x|prod|pci,edge" "$(meta_of "$RSA_FP")" "after --untag web"
# No change: nothing tagged, no event.
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$RSA_FP" --owner team-x
assert_eq "tagged 0 certificates" "$OUT" "a tag that changes nothing"

# Events: one cert.tagged per change, with before/after.
assert_rc 0 "$CERTLEDGER" --db "$DB" events --type cert.tagged --fingerprint "$RSA_FP" --format json
pyassert '
check(len(d) == 3, "expected 3 cert.tagged events, got %d: %r" % (len(d), d))
first = d[0]["detail"]
check(first == {"owner": [None, "team-x"], "environment": [None, "prod"], "tags": ["", ",pci,"]},
      "first cert.tagged detail %r" % first)
check(d[2]["detail"]["tags"] == [",pci,web,edge,", ",pci,edge,"], d[2]["detail"])
check(all(e["fingerprint_sha256"] == args[0] and e["actor"] for e in d), d)
' "$RSA_FP"

# Clearing.
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$RSA_FP" --clear-env --untag edge
assert_eq "team-x|-|pci" "$(meta_of "$RSA_FP")" "after --clear-env --untag edge"
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$RSA_FP" --env prod
CERTLEDGER_ACTOR=alice assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$SHA1_FP" --owner tmp-owner
assert_rc 0 "$CERTLEDGER" --db "$DB" tag "$SHA1_FP" --clear-owner
assert_eq "-|-|" "$(meta_of "$SHA1_FP")" "after --clear-owner"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --type cert.tagged --fingerprint "$SHA1_FP" --format json
pyassert 'check([e["actor"] for e in d][0] == "alice", "CERTLEDGER_ACTOR not recorded: %r" % d)'

# ---- ambiguous and unknown prefixes ----------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state all --format json
AMBIG=$(pyjson '
fps = sorted(c["fingerprint_sha256"] for c in d)
best = None
for a, b in zip(fps, fps[1:]):
    n = 0
    while a[n] == b[n]:
        n += 1
    if n and (best is None or n < len(best)):
        best = a[:n]
print(best or "")')
[[ -n $AMBIG ]] || fail "no shared fingerprint prefix among the fixture certificates"
UNKNOWN=$(pyjson '
fps = [c["fingerprint_sha256"] for c in d]
for i in range(65536):
    p = "%04x" % i
    if not any(f.startswith(p) for f in fps):
        print(p); break')
run "$CERTLEDGER" --db "$DB" events --format json
EVENTS_BEFORE=$OUT

assert_rc 2 "$CERTLEDGER" --db "$DB" tag "$AMBIG" --owner should-not-happen
assert_contains "$ERR" "ambiguous" "tag with an ambiguous prefix ($AMBIG)"
assert_eq "" "$(fps_of --state all --owner should-not-happen)" "an ambiguous tag changed something"

assert_rc 1 "$CERTLEDGER" --db "$DB" tag "$UNKNOWN" --owner should-not-happen
assert_contains "$ERR" "no certificate with fingerprint $UNKNOWN" "tag with an unknown prefix"
assert_rc 2 "$CERTLEDGER" --db "$DB" tag "zz$UNKNOWN" --owner x
assert_contains "$ERR" "is not a fingerprint" "tag with a non-hex prefix"
assert_rc 1 "$CERTLEDGER" --db "$DB" tag --location "file:$T/no/such/dir/*" --owner should-not-happen
assert_contains "$ERR" "no location matches" "tag --location matching nothing"
run "$CERTLEDGER" --db "$DB" events --format json
assert_eq "$EVENTS_BEFORE" "$OUT" "events after failed tag commands"

# ---- by location ---------------------------------------------------------------------------------
CERTS_DIR=$FX/etc/ssl/certs
assert_rc 0 "$CERTLEDGER" --db "$DB" tag --location "file:$CERTS_DIR/*" --owner web --tag tls
assert_eq "tagged 3 certificates (and the location, for certificates found there later)" "$OUT" \
    "tag --location file:$CERTS_DIR/*"
for fp in "$EC_FP" "$ED25519_FP" "$ED448_FP"; do
    assert_eq "web|-|tls" "$(meta_of "$fp")" "certificate $fp in $CERTS_DIR"
done
assert_eq "$(sorted_words "$EC_FP" "$ED25519_FP" "$ED448_FP")" "$(fps_of --owner web)" "ls --owner web"
# a bare path means file:
assert_rc 0 "$CERTLEDGER" --db "$DB" tag --location "$FX/etc/ssl/legacy/*" --env legacy
assert_eq "-|legacy|" "$(meta_of "$SHA1_FP")" "tag --location with a bare path"
assert_eq "$SHA1_FP" "$(fps_of --env legacy --location "$FX/etc/ssl/legacy/*")" "ls --env legacy --location"
assert_rc 0 "$CERTLEDGER" --db "$DB" events --type cert.tagged --since 1h --format json
pyassert '
fps = [e["fingerprint_sha256"] for e in d]
for fp in args:
    check(fp in fps, "no cert.tagged event for %s" % fp)
' "$EC_FP" "$ED25519_FP" "$ED448_FP" "$SHA1_FP"

# ---- renewals inherit -------------------------------------------------------------------------------
# (1) rsa2048 was tagged by fingerprint: its renewal at the same path takes
#     the previous certificate's values. (2) ec256.example.test.cer sits in a
#     tagged location: its renewal takes the location's values.
RSA_CRT=$FX/etc/nginx/tls/rsa2048.example.test.crt
EC_CER=$FX/etc/ssl/certs/ec256.example.test.cer
mkcert rsa-renewed '/O=Certledger Test/CN=rsa2048.example.test' 400
mkcert ec-renewed '/O=Certledger Test/CN=ec256.example.test' 400
cp "$T/certs/rsa-renewed.pem" "$RSA_CRT"
openssl x509 -in "$T/certs/ec-renewed.pem" -outform DER -out "$EC_CER"
NEW_RSA_FP=$(fingerprint "$T/certs/rsa-renewed.pem")
NEW_EC_FP=$(fingerprint "$T/certs/ec-renewed.pem")

assert_rc 0 "$CERTLEDGER" --db "$DB" discover files --password-file "$PWFILE" "$FX"
assert_eq "team-x|prod|pci" "$(meta_of "$NEW_RSA_FP")" "renewed rsa2048 (inherits from the previous certificate)"
assert_eq "web|-|tls" "$(meta_of "$NEW_EC_FP")" "renewed ec256 (inherits from the location)"
assert_eq "team-x|prod|pci" "$(meta_of "$RSA_FP")" "the replaced rsa2048 keeps its values"
assert_eq "$(sorted_words "$RSA_FP" "$NEW_RSA_FP")" "$(fps_of --owner team-x)" "ls --owner team-x after the renewal"
# (the replaced ec256 keeps owner web and is still present, in ec256-chain.p7c)
assert_eq "$(sorted_words "$EC_FP" "$NEW_EC_FP" "$ED25519_FP" "$ED448_FP")" "$(fps_of --owner web)" \
    "ls --owner web after the renewal"
assert_eq "$NEW_EC_FP" "$(fps_of --owner web --location "$EC_CER")" "ls --owner web --location ec256.cer"

assert_rc 0 "$CERTLEDGER" --db "$DB" events --type cert.tagged --format json
pyassert '
new_rsa, old_rsa, new_ec, rsa_crt, ec_cer = args
by_fp = {}
for e in d:
    by_fp.setdefault(e["fingerprint_sha256"], []).append(e)
r = by_fp.get(new_rsa, [])
check(len(r) == 1, "renewed rsa2048: expected one cert.tagged event, got %r" % r)
check(r[0]["location"] == "file:" + rsa_crt, r[0])
check(r[0]["detail"] == {"owner": "team-x", "environment": "prod", "tags": ",pci,",
                         "inherited_from": "previous certificate", "previous_fp": old_rsa},
      "renewed rsa2048 event detail %r" % r[0]["detail"])
e = by_fp.get(new_ec, [])
check(len(e) == 1, "renewed ec256: expected one cert.tagged event, got %r" % e)
check(e[0]["location"] == "file:" + ec_cer, e[0])
check(e[0]["detail"] == {"owner": "web", "environment": None, "tags": ",tls,",
                         "inherited_from": "location", "previous_fp": None},
      "renewed ec256 event detail %r" % e[0]["detail"])
' "$NEW_RSA_FP" "$RSA_FP" "$NEW_EC_FP" "$RSA_CRT" "$EC_CER"

finish
