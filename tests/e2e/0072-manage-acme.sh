#!/usr/bin/env bash
# certledger apply / renew with an ACME Issuer against Pebble on 127.0.0.1
# (HTTP-01 standalone, every validation for real): the account key made
# beside the inventory, issuance and deployment of a chain that verifies
# against Pebble's root, a re-apply that changes nothing, renew --force (a
# new certificate and key, the hook run), a spec change (a new name), and a
# CA that cannot be reached: failed, backing off, a finding.
# shellcheck disable=SC2317
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_acme.sh"
acme_setup
umask 022
net_ports 7
DNS_PORT=${PORTS[0]} CTS_PORT=${PORTS[1]} HTTP_PORT=${PORTS[2]} TLS_PORT=${PORTS[3]}
PB_PORT=${PORTS[4]} PB_MGMT=${PORTS[5]} DEAD_PORT=${PORTS[6]}
acme_challtestsrv "$DNS_PORT" "$CTS_PORT"
acme_pebble main "$PB_PORT" "$PB_MGMT" "127.0.0.1:$DNS_PORT" \
    ', "externalAccountBindingRequired": false' PEBBLE_WFE_NONCEREJECT=0
pb_chain main 0

TLS=$T/tls
SPEC=$T/acme.yaml
fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }
state() { # NAME FIELD
    cl managed --format json | "$PY" -c '
import json, sys
for r in json.load(sys.stdin):
    if r["name"] == sys.argv[1]:
        print(r[sys.argv[2]] if r[sys.argv[2]] is not None else "")' "$1" "$2"
}
write_spec() { # SERVER EXTRA-NAME
    cat >"$SPEC" <<EOF
kind: Issuer
metadata: {name: pebble}
spec:
  acme:
    server: $1
    email: ops@manage.test
    caBundle: $ACME_CA
    solvers:
      - http01: {standalone: {listen: "127.0.0.1:$HTTP_PORT"}}
---
kind: Certificate
metadata: {name: www}
spec:
  dnsNames: [www.manage.test$2]
  issuerRef: {name: pebble}
  output:
    dir: $TLS
    fullchain: www.crt
    key: www.key
  hooks:
    deploy: ["echo \$CERTLEDGER_NAME >>$T/hook.log"]
EOF
}

# ---- issue -------------------------------------------------------------------------------------
write_spec "${PB_DIR[main]}" ""
assert_rc 0 timeout 120 "$CERTLEDGER" --db "$DB" apply "$SPEC"
assert_contains "$OUT" "www                      issued       v1"
KEY=$T/db/acme/pebble.key
[[ -f $KEY ]] || fail "no account key beside the inventory"
assert_eq 600 "$(stat -c %a "$KEY")" "account key mode"
[[ -L $TLS/www.crt && -L $TLS/www.key ]] || fail "not symlinks"
verify_chain "$TLS/www.crt" "$ACME/main/root-0.pem" || fail "the chain does not verify against Pebble's root"
assert_eq "$(openssl x509 -in "$TLS/www.crt" -noout -pubkey)" "$(openssl pkey -in "$TLS/www.key" -pubout)" \
    "key matches"
assert_eq "DNS:www.manage.test" "$(sans "$TLS/www.crt")" "names"
assert_eq "www" "$(cat "$T/hook.log")" "hook"
FP1=$(fp_of "$TLS/www.crt")
assert_eq "$FP1" "$(state www fingerprint_sha256)" "state"
assert_eq pebble "$(state www issuer)" "issuer"

# ---- nothing to do; forced renewal; a new name ------------------------------------------------------
assert_rc 0 cl apply "$SPEC"
assert_contains "$OUT" "www                      unchanged"
assert_rc 0 timeout 120 "$CERTLEDGER" --db "$DB" renew --force
assert_contains "$OUT" "Renewed:"
FP2=$(fp_of "$TLS/www.crt")
[[ $FP2 != "$FP1" ]] || fail "renew --force gave the same certificate"
verify_chain "$TLS/www.crt" "$ACME/main/root-0.pem" || fail "renewed chain does not verify"
assert_eq "$(openssl x509 -in "$TLS/www.crt" -noout -pubkey)" "$(openssl pkey -in "$TLS/www.key" -pubout)" \
    "renewed key matches"
assert_eq 2 "$(wc -l <"$T/hook.log")" "hook after renewal"
write_spec "${PB_DIR[main]}" ", api.manage.test"
assert_rc 0 timeout 120 "$CERTLEDGER" --db "$DB" apply "$SPEC"
assert_contains "$OUT" "www                      issued       v3"
assert_eq "DNS:api.manage.test
DNS:www.manage.test" "$(sans "$TLS/www.crt")" "names after the spec change"
assert_rc 0 cl rollback www
assert_eq "$FP2" "$(fp_of "$TLS/www.crt")" "rolled back"

# ---- revoke: a replacement from Pebble first, then the old certificate revoked at Pebble -----------
OLDSER=$(serial_of "$TLS/www.crt")
assert_rc 0 timeout 120 "$CERTLEDGER" --db "$DB" revoke www --reason superseded
assert_contains "$OUT" "(superseded) by Issuer 'pebble'; the replacement above is deployed"
FP3=$(fp_of "$TLS/www.crt")
[[ $FP3 != "$FP2" ]] || fail "revoke deployed no replacement"
verify_chain "$TLS/www.crt" "$ACME/main/root-0.pem" || fail "the replacement does not verify"
pb_get main "/cert-status-by-serial/$OLDSER" "$ACME/status.json"
pyassert -f "$ACME/status.json" 'check(d["Status"] == "Revoked" and d["Reason"] == 4, d)'
pb_get main "/cert-status-by-serial/$(serial_of "$TLS/www.crt")" "$ACME/status.json"
pyassert -f "$ACME/status.json" 'check(d["Status"] == "Valid", d)'
# without the account key, the certificate's own key signs the request
mv "$KEY" "$KEY.away"
OLDSER=$(serial_of "$TLS/www.crt")
assert_rc 0 timeout 120 "$CERTLEDGER" --db "$DB" revoke www --reason keyCompromise --no-renew
mv "$KEY.away" "$KEY"
pb_get main "/cert-status-by-serial/$OLDSER" "$ACME/status.json"
pyassert -f "$ACME/status.json" 'check(d["Status"] == "Revoked" and d["Reason"] == 1, d)'
assert_eq "$FP3" "$(fp_of "$TLS/www.crt")" "--no-renew leaves the files"

# ---- the account: show, roll over (issuance goes on with the new key), deactivate -------------------
acct() { # FIELD: of `account show pebble --format json`
    cl account show pebble --format json | "$PY" -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print("" if v is None else v)' "$1"
}
assert_rc 0 cl account show pebble
assert_contains "$OUT" "account key  $KEY (ECDSA P-256)"
URL1=$(acct account_url)
[[ $URL1 == https://127.0.0.1:* ]] || fail "account URL: $URL1"
PUB1=$(openssl pkey -in "$KEY" -pubout)
assert_rc 0 cl account rollover pebble
assert_contains "$OUT" "rolled over to a new ECDSA P-256 key"
[[ $(openssl pkey -in "$KEY" -pubout) != "$PUB1" ]] || fail "rollover kept the key"
[[ ! -e $KEY.new ]] || fail "KEY.new left behind"
assert_eq "0600" "$(stat -c %04a "$KEY")" "mode of the new account key"
assert_eq "$URL1" "$(acct account_url)" "the same account after the rollover"
assert_rc 0 timeout 120 "$CERTLEDGER" --db "$DB" renew --force www
assert_contains "$OUT" "Renewed:"
assert_rc 0 cl account deactivate pebble
assert_contains "$OUT" "deactivated"
[[ -f $KEY.deactivated && ! -e $KEY ]] || fail "the deactivated key was not set aside"
assert_eq "False" "$(acct key_present)" "no key after deactivation"
assert_rc 0 timeout 120 "$CERTLEDGER" --db "$DB" renew --force www
assert_contains "$OUT" "Renewed:"
URL2=$(acct account_url)
[[ -n $URL2 && $URL2 != "$URL1" ]] || fail "no new account after deactivation: $URL2"
FP3=$(fp_of "$TLS/www.crt")
assert_rc 0 cl events --type 'manage.account_*' --format json
pyassert 'check([e["event_type"] for e in d] == ["manage.account_deactivated", "manage.account_rolled_over"] or [e["event_type"] for e in d] == ["manage.account_rolled_over", "manage.account_deactivated"], d)'
assert_rc 1 cl account show nosuch
assert_contains "$ERR" "no applied spec has an Issuer 'nosuch'"
assert_rc 2 cl account explode pebble

# ---- a CA that does not answer: failed, backing off, finding -----------------------------------------
write_spec "https://127.0.0.1:$DEAD_PORT/dir" ", api.manage.test"
assert_rc 3 timeout 120 "$CERTLEDGER" --db "$DB" apply "$SPEC"
assert_contains "$OUT" "www                      failed"
assert_eq "$FP3" "$(fp_of "$TLS/www.crt")" "files untouched by the failure"
assert_eq failing "$(state www status)" "status"
assert_rc 3 cl renew
assert_contains "$OUT" "Backing off after failures"
assert_rc 0 cl findings --rule manage.renewal_failing --format json
pyassert 'check(len(d) == 1 and d[0]["target"] == "manage:www", d)'
finish
