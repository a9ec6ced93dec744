#!/usr/bin/env bash
# certledger apply / renew / rollback / managed with the internal CA: the
# spec's errors (FILE:LINE), issuance and deployment (symlinks through
# current, modes and owner, fullchain order, chain, PKCS#12 with its
# password), a re-apply that changes nothing, a new SAN that re-issues,
# renew --dry-run / --force and the renewal point, rollback, a failing deploy
# hook (exit status, event, finding, the new files stay, run again until it
# succeeds), a failing issuer (wrong CA passphrase) backing off, visible in
# `managed`, as a finding and as an alert of `serve`, and nginx reloaded by a
# hook serving the renewed certificate to openssl s_client.
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"
need openssl nginx

CA=$T/ca
TLS=$T/tls
SPEC=$T/certs.yaml
printf 'manage e2e passphrase\n' >"$T/ca.pw"
chmod 600 "$T/ca.pw"
export E2E_P12_PASS='p12 secret'
export E2E_CA_PASS='manage e2e passphrase'
mode() { stat -L -c %a "$1"; }
fp_of_file() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }
pub_of_cert() { openssl x509 -in "$1" -noout -pubkey; }
pub_of_key() { openssl pkey -in "$1" -pubout; }
state() { # NAME FIELD: a field of `managed --format json`
    cl managed --format json | "$PY" -c '
import json, sys
for r in json.load(sys.stdin):
    if r["name"] == sys.argv[1]:
        print(r[sys.argv[2]] if r[sys.argv[2]] is not None else "")' "$1" "$2"
}
current() { readlink "$TLS/.certledger/$1/current"; }

assert_rc 0 cl ca init "$CA" --org "Manage E2E" --permit-dns example.internal \
    --permit-ip 127.0.0.0/8 --passphrase-file "$T/ca.pw"

OWNER=""
GROUP=""
if is_root && getent group nogroup >/dev/null; then
    OWNER="    owner: nobody"
    GROUP="    group: nogroup"
fi
net_ports 1
PORT=${PORTS[0]}
write_spec() { # EXTRA-SAN HOOK-OF-api
    cat >"$SPEC" <<EOF
apiVersion: certledger.io/v1
kind: Issuer
metadata: {name: internal}
spec:
  ca:
    dir: $CA
    passphrase: {env: E2E_CA_PASS}
---
kind: Certificate
metadata: {name: web}
spec:
  commonName: www.example.internal
  dnsNames: [www.example.internal$1]
  ipAddresses: [127.0.0.1]
  issuerRef: {name: internal}
  duration: 30d
  renewBefore: 10d
  output:
    dir: $TLS
    cert: web.pem
    chain: web.chain.pem
    fullchain: web.fullchain.pem
    key: web.key
    pkcs12: {file: web.p12, password: {env: E2E_P12_PASS}}
$OWNER
$GROUP
    mode: "0640"
  hooks:
    deploy:
      - echo "\$CERTLEDGER_NAMES" >>$T/hook-web.log
      - test ! -f $NGX/nginx.pid || kill -HUP "\$(cat $NGX/nginx.pid)"
    timeout: 20s
---
kind: Certificate
metadata: {name: api}
spec:
  dnsNames: [api.example.internal]
  issuerRef: {name: internal}
  privateKey: {algorithm: RSA, size: 2048, rotationPolicy: Never}
  duration: 20d
  output: {dir: $TLS}
  hooks:
    deploy: ["$2"]
EOF
}

# ---- help, spec errors ----------------------------------------------------------------------------
for c in apply renew rollback managed; do
    assert_rc 0 cl help "$c"
    assert_contains "$OUT" "certledger $c - "
done
assert_rc 2 cl apply
printf 'kind: Certificate\nmetadata: {name: w}\nspec:\n  dnsNames: [a.test]\n  issuerRef: {name: x}\n  output: {dir: /o}\n' >"$T/bad.yaml"
assert_rc 2 cl apply "$T/bad.yaml"
assert_contains "$ERR" "$T/bad.yaml:5: spec.issuerRef.name: no Issuer 'x' in this spec"
assert_rc 3 cl apply "$T/missing.yaml"

# ---- first apply: issue and deploy ---------------------------------------------------------------
write_spec "" "true"
assert_rc 0 cl apply "$SPEC"
assert_contains "$OUT" "web                      issued"
assert_contains "$OUT" "api                      issued"
assert_contains "$OUT" "2 issued, 0 renewed"
assert_not_contains "$OUT$ERR" "$E2E_P12_PASS"
for f in web.pem web.chain.pem web.fullchain.pem web.key web.p12 api.pem api.chain.pem \
    api.fullchain.pem api.key; do
    [[ -L $TLS/$f ]] || fail "$f is not a symlink"
done
assert_eq ".certledger/web/current/key.pem" "$(readlink "$TLS/web.key")" "web.key target"
assert_eq v1 "$(current web)" "web current"
assert_eq 640 "$(mode "$TLS/web.key")" "key mode"
assert_eq 640 "$(mode "$TLS/web.p12")" "PKCS#12 mode"
assert_eq 644 "$(mode "$TLS/web.pem")" "certificate mode"
assert_eq 600 "$(mode "$TLS/api.key")" "default key mode"
if [[ -n $OWNER ]]; then
    assert_eq "nobody nogroup" "$(stat -L -c '%U %G' "$TLS/web.key")" "key owner"
    assert_eq "nobody nogroup" "$(stat -L -c '%U %G' "$TLS/web.pem")" "certificate owner"
fi
cmp -s "$TLS/web.fullchain.pem" <(cat "$TLS/web.pem" "$TLS/web.chain.pem") ||
    fail "fullchain is not leaf + chain"
cmp -s "$TLS/web.chain.pem" "$CA/intermediate.pem" || fail "chain is not the intermediate"
assert_eq "$(pub_of_cert "$TLS/web.pem")" "$(pub_of_key "$TLS/web.key")" "web key matches"
assert_eq "$(pub_of_cert "$TLS/api.pem")" "$(pub_of_key "$TLS/api.key")" "api key matches"
assert_rc 0 openssl verify -CAfile "$CA/root.pem" -untrusted "$TLS/web.chain.pem" "$TLS/web.pem"
run openssl x509 -in "$TLS/web.pem" -noout -ext subjectAltName
assert_contains "$OUT" "DNS:www.example.internal"
assert_contains "$OUT" "IP Address:127.0.0.1"
assert_rc 0 openssl x509 -in "$TLS/api.pem" -noout -text
assert_contains "$OUT" "Public-Key: (2048 bit)"
assert_rc 0 openssl pkcs12 -in "$TLS/web.p12" -passin env:E2E_P12_PASS -nodes -out "$T/p12.pem"
assert_eq "$(fp_of_file "$TLS/web.pem")" "$(fp_of_file "$T/p12.pem")" "PKCS#12 leaf"
grep -q 'BEGIN PRIVATE KEY' "$T/p12.pem" || fail "no key in the PKCS#12 file"
assert_eq 2 "$(grep -c 'BEGIN CERTIFICATE' "$T/p12.pem")" "certificates in the PKCS#12 file"
run openssl pkcs12 -in "$TLS/web.p12" -passin pass:wrong -noout
[[ $RC != 0 ]] || fail "the PKCS#12 file opens with a wrong password"
assert_eq "web" "$(cat "$T/hook-web.log")" "hook ran with CERTLEDGER_NAMES"
FP1=$(fp_of_file "$TLS/web.pem")
assert_eq "$FP1" "$(state web fingerprint_sha256)" "state fingerprint"
assert_eq ok "$(state web status)" "status"
assert_eq 1 "$(state web version)" "state version"
assert_eq "$(realpath "$SPEC")" "$(state web source)" "state source"
# recorded in the inventory and the audit trail
assert_rc 0 cl ls --location "file:$TLS/web.pem" --format csv
assert_contains "$OUT" "$FP1"
assert_rc 0 cl events --type 'manage.*' --format json
pyassert 'check(sorted(e["event_type"] for e in d) == ["manage.issued", "manage.issued"], d)'
assert_rc 0 cl show "$FP1"
assert_contains "$OUT" "file:$TLS/web.fullchain.pem"

# ---- re-apply: nothing to do ---------------------------------------------------------------------
assert_rc 0 cl apply "$SPEC"
assert_contains "$OUT" "0 issued, 0 renewed, 0 redeployed, 2 unchanged, 0 failed"
assert_eq "$FP1" "$(fp_of_file "$TLS/web.pem")" "unchanged certificate"
assert_eq v1 "$(current web)" "no new version"
assert_eq 1 "$(wc -l <"$T/hook-web.log")" "hooks do not run for nothing"
assert_rc 0 cl apply --dry-run "$SPEC"
assert_contains "$OUT" "--dry-run: 0 would change, 2 unchanged"

# ---- a new SAN: re-issued; the key of api is kept (rotationPolicy Never) ------------------------------
API_PUB=$(pub_of_key "$TLS/api.key")
write_spec ", new.example.internal" "true"
assert_rc 0 cl apply --dry-run "$SPEC"
assert_contains "$OUT" "web                      would        issue: the spec changed"
assert_eq v1 "$(current web)" "dry run changed nothing"
assert_rc 0 cl apply "$SPEC"
assert_contains "$OUT" "web                      issued       v2"
assert_contains "$OUT" "the spec changed"
assert_contains "$OUT" "api                      unchanged"
run openssl x509 -in "$TLS/web.pem" -noout -ext subjectAltName
assert_contains "$OUT" "DNS:new.example.internal"
FP2=$(fp_of_file "$TLS/web.pem")
[[ $FP2 != "$FP1" ]] || fail "not re-issued"
assert_eq "$(pub_of_cert "$TLS/web.pem")" "$(pub_of_key "$TLS/web.key")" "new key matches"
[[ -d $TLS/.certledger/web/v1 ]] || fail "the previous version is not kept"

# ---- renew: not due, dry run, due, forced --------------------------------------------------------------
assert_rc 0 cl renew
assert_contains "$OUT" "Not due for renewal yet:"
assert_contains "$OUT" "0 renewed, 0 issued, 2 not due, 0 failed"
DUE=$(state web renewal_due)
LATER=$(now_plus '+21 days')
CL_NOW=$LATER assert_rc 0 cl renew --dry-run
assert_contains "$OUT" "Would renew (--dry-run: nothing was changed):"
assert_contains "$OUT" "web                      due (renewBefore)"
assert_contains "$OUT" "api                      expired"
assert_eq v2 "$(current web)" "renew --dry-run changed nothing"
assert_eq "$DUE" "$(state web renewal_due)" "renew --dry-run recorded nothing"
assert_rc 1 cl renew nosuch
assert_contains "$ERR" "'nosuch' is not a managed certificate"
assert_rc 0 cl renew --force web
assert_contains "$OUT" "Renewed:"
assert_contains "$OUT" "web                      v3"
assert_contains "$OUT" "1 renewed, 0 issued, 0 not due, 0 failed"
assert_not_contains "$OUT" "api"
FP3=$(fp_of_file "$TLS/web.pem")
[[ $FP3 != "$FP2" ]] || fail "renew --force did not renew"
CL_NOW=$LATER assert_rc 0 cl renew api
assert_contains "$OUT" "Renewed:"
assert_contains "$OUT" "api                      v2"
assert_eq "$API_PUB" "$(pub_of_key "$TLS/api.key")" "api kept its key"
assert_eq v3 "$(current web)" "only api was renewed"

# ---- rollback ---------------------------------------------------------------------------------------
assert_rc 0 cl rollback web
assert_contains "$OUT" "web                      rolled-back  v2"
assert_eq v2 "$(current web)" "rolled back"
assert_eq "$FP2" "$(fp_of_file "$TLS/web.pem")" "the previous certificate"
assert_eq "$(pub_of_cert "$TLS/web.pem")" "$(pub_of_key "$TLS/web.key")" "with its key"
assert_eq "$FP2" "$(state web fingerprint_sha256)" "state after rollback"
assert_rc 0 cl events --type manage.rolled_back --format json
pyassert 'check(len(d) == 1 and d[0]["fingerprint_sha256"] == args[0], d)' "$FP2"
assert_rc 0 cl rollback web
assert_eq v1 "$(current web)" "rolled back again"
assert_rc 1 cl rollback web
assert_contains "$ERR" "no earlier version"
assert_rc 1 cl rollback nosuch
# the next apply decides as usual: v1 was made for the old spec
assert_rc 0 cl apply "$SPEC"
assert_contains "$OUT" "web                      issued       v2"
[[ ! -d $TLS/.certledger/web/v3 ]] || fail "the version rolled back from is still there"

# ---- a failing deploy hook ------------------------------------------------------------------------------
write_spec ", new.example.internal" "echo reload failed >&2; exit 7"
API_FP=$(fp_of_file "$TLS/api.pem")
assert_rc 3 cl apply --force "$SPEC"
assert_contains "$OUT" "api                      renewed"
assert_contains "$OUT" "api                      hook-failed  echo reload failed >&2; exit 7: exit status 7: reload failed (the new files stay)"
assert_contains "$ERR" "deploy hook for api"
API_FP2=$(fp_of_file "$TLS/api.pem")
[[ $API_FP2 != "$API_FP" ]] || fail "the files did not stay new"
assert_eq "$API_FP2" "$(state api fingerprint_sha256)" "state after a failing hook"
assert_eq hook-failed "$(state api status)" "status after a failing hook"
assert_rc 0 cl findings --rule manage.hook_failed --format json
pyassert 'check(len(d) == 1 and d[0]["target"] == "manage:api" and "exit status 7" in d[0]["message"], d)'
assert_rc 0 cl events --type manage.hook_failed --format csv
assert_contains "$OUT" "manage:api"
# still failing: run again on the next reconcile, even with nothing to renew
assert_rc 3 cl renew
assert_contains "$OUT" "Deploy hooks failed (the new files stay):"
# fixed: runs once more, succeeds, the finding is resolved
write_spec ", new.example.internal" "true"
assert_rc 0 cl apply "$SPEC"
assert_eq ok "$(state api status)" "status after the hook was fixed"
assert_rc 0 cl findings --rule manage.hook_failed --format json
pyassert 'check(d == [], d)'
assert_rc 0 cl findings --rule manage.hook_failed --all --format json
pyassert 'check(len(d) == 1 and d[0]["resolved_at"], d)'

# ---- a failing issuer: backoff, finding, alert ----------------------------------------------------------
cat >"$T/serve.yaml" <<EOF
store: $DB
listen: ""
alerts: {evaluate_every: 1h}
routes:
  - notify: [file]
notifiers:
  - name: file
    type: jsonl
    path: $T/alerts.jsonl
EOF
assert_rc 0 "$CERTLEDGER" serve --once --skip-jobs --config "$T/serve.yaml"
WEB_FP=$(fp_of_file "$TLS/web.pem")
E2E_CA_PASS=wrong assert_rc 3 cl renew --force web
assert_contains "$OUT" "Failed:"
assert_contains "$OUT" "wrong passphrase"
assert_eq "$WEB_FP" "$(fp_of_file "$TLS/web.pem")" "a failed renewal left the files"
assert_eq failing "$(state web status)" "status"
assert_eq 1 "$(state web failures)" "failures"
NEXT=$(state web next_attempt)
"$PY" -c 'import datetime, sys
n = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
d = (n - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
sys.exit(0 if 3400 < d < 3700 else 1)' "$NEXT" || fail "first retry is not in 1h: $NEXT"
assert_rc 0 cl managed
assert_contains "$OUT" "failing"
assert_contains "$OUT" "wrong passphrase"
assert_rc 0 cl findings --rule manage.renewal_failing --format json
pyassert 'check(len(d) == 1 and d[0]["severity"] == "error" and "wrong passphrase" in d[0]["message"], d)'
assert_rc 0 "$CERTLEDGER" serve --once --skip-jobs --config "$T/serve.yaml"
grep -q 'manage.renewal_failing' "$T/alerts.jsonl" || fail "no alert for the failing renewal: $(cat "$T/alerts.jsonl" 2>/dev/null)"
# due and failing: backing off (exit 3), not tried before the next attempt
CL_NOW=$LATER E2E_CA_PASS=wrong assert_rc 3 cl renew web
assert_contains "$OUT" "Failed:"
assert_eq 2 "$(state web failures)" "tried when due (the backoff had passed by then)"
NOW2=$(now_plus '+21 days +30 minutes')
CL_NOW=$NOW2 E2E_CA_PASS=wrong assert_rc 3 cl renew web
assert_contains "$OUT" "Backing off after failures (--force tries now):"
assert_eq 2 "$(state web failures)" "not tried while backing off"
assert_eq "$WEB_FP" "$(fp_of_file "$TLS/web.pem")" "still the old files"
# the right passphrase: still waiting; --force renews and settles the finding
CL_NOW=$NOW2 assert_rc 3 cl renew web
assert_contains "$OUT" "Backing off"
CL_NOW=$NOW2 assert_rc 0 cl renew --force web
assert_contains "$OUT" "Renewed:"
assert_eq ok "$(state web status)" "status after recovery"
assert_eq 0 "$(state web failures)" "failures after recovery"
assert_rc 0 cl findings --rule manage.renewal_failing --format json
pyassert 'check(d == [], d)'

# ---- nginx serves the deployed files; a renewal reloads it through the hook ---------------------------
net_nginx_block "$PORT" www.example.internal "$TLS/web.fullchain.pem" "$TLS/web.key"
net_nginx_start
assert_eq "$(fp_of_file "$TLS/web.pem")" "$(served_fp "$PORT" www.example.internal)" "nginx serves web"
OLD=$(served_fp "$PORT" www.example.internal)
assert_rc 0 cl renew --force web
cp "$TLS/web.pem" "$T/web-before-revoke.pem"
NEW=$(fp_of_file "$TLS/web.pem")
[[ $NEW != "$OLD" ]] || fail "not renewed"
for ((i = 0; i < 100; i++)); do
    [[ $(served_fp "$PORT" www.example.internal) == "$NEW" ]] && break
    sleep 0.2
done
assert_eq "$NEW" "$(served_fp "$PORT" www.example.internal)" \
    "nginx serves the renewed certificate (the one before: $OLD; hooks ran: $(wc -l <"$T/hook-web.log"); nginx: $(tail -n 5 "$NGX/error.log"))"
run openssl s_client -connect "127.0.0.1:$PORT" -servername www.example.internal \
    -CAfile "$CA/root.pem" -verify_return_error -verify_hostname www.example.internal </dev/null
assert_contains "$OUT" "Verify return code: 0 (ok)"

# ---- revoke: a replacement is deployed (nginx serves it), then the old serial is revoked ------------
OLDSER=$(openssl x509 -in "$TLS/web.pem" -noout -serial | sed 's/.*=//' | tr A-F a-f)
assert_rc 0 cl revoke web --reason keyCompromise
assert_contains "$OUT" "revoked      serial $OLDSER (keyCompromise) by Issuer"
REPL=$(fp_of_file "$TLS/web.pem")
[[ $REPL != "$NEW" ]] || fail "revoke deployed no replacement"
[[ $(openssl x509 -in "$TLS/web.pem" -noout -pubkey) != "$(openssl x509 -in "$T/web-before-revoke.pem" -noout -pubkey)" ]] ||
    fail "the replacement kept the compromised key"
for ((i = 0; i < 100; i++)); do
    [[ $(served_fp "$PORT" www.example.internal) == "$REPL" ]] && break
    sleep 0.2
done
assert_eq "$REPL" "$(served_fp "$PORT" www.example.internal)" "nginx serves the replacement"
assert_rc 0 cl ca list "$CA" --state revoked --format json
pyassert "check([r['serial'] for r in d if r['reason'] == 'keyCompromise'] == ['$OLDSER'], d)"
assert_rc 0 cl events --type manage.revoked --format json
pyassert "check(len(d) == 1 and d[0]['location'] == 'manage:web' and d[0]['fingerprint_sha256'] == '$NEW' and d[0]['detail']['reason'] == 'keyCompromise' and d[0]['detail']['replaced'], d)"
# --no-renew: revoked at once, still deployed; a name nobody manages
OLDSER=$(openssl x509 -in "$TLS/web.pem" -noout -serial | sed 's/.*=//' | tr A-F a-f)
assert_rc 0 cl revoke web --reason superseded --no-renew
assert_contains "$OUT" "it is still deployed"
assert_eq "$REPL" "$(fp_of_file "$TLS/web.pem")" "--no-renew leaves the files"
assert_rc 0 cl ca list "$CA" --state revoked --format json
pyassert "check(len(d) == 2 and '$OLDSER' in [r['serial'] for r in d], d)"
assert_rc 1 cl revoke nosuch
assert_contains "$ERR" "'nosuch' is not a managed certificate"
assert_rc 2 cl revoke web --reason sometimes
assert_contains "$ERR" "--reason 'sometimes'"

# ---- the listing ------------------------------------------------------------------------------------
assert_rc 0 cl managed --format csv
assert_contains "$OUT" "name,status,fingerprint_sha256"
assert_rc 0 cl managed web --format json
pyassert 'check(len(d) == 1 and d[0]["name"] == "web" and d[0]["status"] == "ok", d)'
finish
