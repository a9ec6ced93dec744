#!/usr/bin/env bash
# The deployment invariant of certledger apply under SIGKILL: whatever step
# the process dies at, the configured files hold either the old pair or the
# new one (certificate, fullchain, PKCS#12 and key all of one version), never
# a key without its certificate. CERTLEDGER_TEST_CRASH_AT=STEP makes the
# process kill itself at each named step (docs/managed.md) in three
# situations: a renewal over a deployed pair, the first deployment over
# files that were there before (adoption), and the first deployment into an
# empty directory; then runs two at once and kills at random instants.
# After every crash a plain apply must recover: exit 0, the state recording
# what the files hold, and hooks that never ran run then.
# shellcheck disable=SC2317
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
need openssl

CA=$T/ca
printf 'crash test\n' >"$T/ca.pw"
chmod 600 "$T/ca.pw"
export E2E_P12_PASS=crash-p12
assert_rc 0 cl ca init "$CA" --org Crash --permit-dns crash.test --passphrase-file "$T/ca.pw"

fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//; s/://g' | tr A-F a-f; }
pub_of_cert() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }
pub_of_key() { openssl pkey -in "$1" -pubout 2>/dev/null; }
p12_fp() {
    openssl pkcs12 -in "$1" -passin env:E2E_P12_PASS -nokeys -clcerts 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//; s/://g' | tr A-F a-f
}

spec() { # FILE OUTDIR NAME
    cat >"$1" <<EOF
kind: Issuer
metadata: {name: ca}
spec:
  ca: {dir: $CA, passphrase: {file: $T/ca.pw}}
---
kind: Certificate
metadata: {name: $3}
spec:
  dnsNames: [$3.crash.test]
  issuerRef: {name: ca}
  duration: 30d
  output:
    dir: $2
    cert: tls.crt
    fullchain: full.crt
    key: tls.key
    pkcs12: {file: tls.p12, password: {env: E2E_P12_PASS}}
  hooks:
    deploy: ["echo \$CERTLEDGER_NAMES >>$2.hook.log"]
EOF
}

# check DIR OLD_FP [absent-ok]: every configured file resolves to one pair,
# the old one (OLD_FP) or a new one; prints "old", "new" or "absent".
check() {
    local d=$1 old=$2 c k f p
    if [[ ! -e $d/tls.crt && ! -e $d/tls.key && ! -e $d/full.crt && ! -e $d/tls.p12 ]]; then
        [[ ${3:-} == absent-ok ]] || fail "$d: nothing deployed"
        echo absent
        return
    fi
    [[ -e $d/tls.crt ]] || fail "$d: a key without its certificate"
    [[ -e $d/tls.key ]] || fail "$d: a certificate without its key"
    c=$(fp_of "$d/tls.crt")
    [[ -n $c ]] || fail "$d/tls.crt: not a whole certificate"
    k=$(pub_of_key "$d/tls.key")
    [[ -n $k ]] || fail "$d/tls.key: not a whole key"
    [[ $k == "$(pub_of_cert "$d/tls.crt")" ]] || fail "$d: the key is not the certificate's"
    f=$(fp_of "$d/full.crt")
    [[ $f == "$c" ]] || fail "$d: fullchain holds $f, the certificate is $c"
    if [[ -e $d/tls.p12 ]]; then
        p=$(p12_fp "$d/tls.p12")
        [[ $p == "$c" ]] || fail "$d: the PKCS#12 file holds $p, the certificate is $c"
    fi
    if [[ $c == "$old" ]]; then echo old; else echo new; fi
}

# crash STEP SPEC: apply --force, killed at STEP
crash() {
    CERTLEDGER_TEST_CRASH_AT=$1 run cl apply --force "$2"
    [[ $RC == 137 ]] || fail "apply did not die at $1 (exit $RC): $OUT $ERR"
    assert_contains "$ERR" "killed at $1"
}

# recover SPEC DIR NAME: a plain apply puts everything in order
recover() {
    local fp
    assert_rc 0 cl apply "$1"
    fp=$(fp_of "$2/tls.crt")
    assert_eq "$fp" "$(cl managed "$3" --format json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["fingerprint_sha256"])')" \
        "state after recovering from a crash"
}

STEPS=(write:key.pem write:bundle.p12 write:cert.pem write:chain.pem write:fullchain.pem
       written meta switch-tmp switch deployed recorded hooks prune)

# ---- 1. a renewal over a deployed pair ---------------------------------------------------------
O=$T/renew
spec "$T/renew.yaml" "$O" web
assert_rc 0 cl apply "$T/renew.yaml"
assert_rc 0 cl apply --force "$T/renew.yaml"
assert_rc 0 cl apply --force "$T/renew.yaml"    # three versions: the next prunes one
declare -A SEEN=()
for step in "${STEPS[@]}"; do
    old=$(fp_of "$O/tls.crt")
    hooks=$(wc -l <"$O.hook.log")
    crash "$step" "$T/renew.yaml"
    got=$(check "$O" "$old")
    SEEN[$step]=$got
    case $step in
    write:* | written | meta | switch-tmp) assert_eq old "$got" "after a crash at $step" ;;
    switch | deployed | recorded | hooks | prune) assert_eq new "$got" "after a crash at $step" ;;
    esac
    recover "$T/renew.yaml" "$O" web
    check "$O" "$old" >/dev/null
    case $step in
    switch | deployed | recorded | hooks)
        # the hooks of the new files had not run: they run now
        (($(wc -l <"$O.hook.log") > hooks)) || fail "hooks did not run after a crash at $step"
        ;;
    esac
done
# the switch was recovered as a renewal; nothing is left half made
assert_rc 0 cl events --type manage.renewed --format json
pyassert 'check(any(e["detail"].get("recovered") for e in d), d)'
assert_rc 0 cl apply --force "$T/renew.yaml"
assert_eq 0 "$(find "$O" -name '*certledger-tmp' -o -name current.tmp | wc -l)" "temporary links left"
assert_eq 3 "$(find "$O/.certledger/web" -maxdepth 1 -name 'v*' | wc -l)" "versions kept"
for v in "$O"/.certledger/web/v*; do
    [[ -f $v/meta.json ]] || fail "$v is incomplete"
done

# ---- 2. the first deployment over files that were there (adoption) ------------------------------
ADOPT=(adopt adopt-switch-tmp adopt-switch link write:key.pem switch-tmp switch)
i=0
for step in "${ADOPT[@]}"; do
    i=$((i + 1))
    O=$T/adopt$i
    mkdir -p "$O"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$O/tls.key" \
        -subj /CN=old.crash.test -days 10 -out "$O/tls.crt" 2>/dev/null
    cp "$O/tls.crt" "$O/full.crt"
    chmod 600 "$O/tls.key"
    old=$(fp_of "$O/tls.crt")
    spec "$T/adopt$i.yaml" "$O" "a$i"
    crash "$step" "$T/adopt$i.yaml"
    got=$(check "$O" "$old")
    case $step in
    switch) assert_eq new "$got" "adoption, after a crash at $step" ;;
    *) assert_eq old "$got" "adoption, after a crash at $step" ;;
    esac
    recover "$T/adopt$i.yaml" "$O" "a$i"
    assert_eq new "$(check "$O" "$old")" "adoption recovered from $step"
    # what was there is the rollback target
    assert_rc 0 cl rollback "a$i"
    assert_eq old "$(check "$O" "$old")" "rolled back to the adopted files ($step)"
done

# ---- 3. the first deployment into an empty directory -------------------------------------------
FRESH=(link write:cert.pem meta switch-tmp switch)
i=0
for step in "${FRESH[@]}"; do
    i=$((i + 1))
    O=$T/fresh$i
    spec "$T/fresh$i.yaml" "$O" "f$i"
    crash "$step" "$T/fresh$i.yaml"
    got=$(check "$O" none absent-ok)
    case $step in
    switch) assert_eq new "$got" "fresh, after a crash at $step" ;;
    *) assert_eq absent "$got" "fresh, after a crash at $step" ;;
    esac
    recover "$T/fresh$i.yaml" "$O" "f$i"
    assert_eq new "$(check "$O" none)" "fresh recovered from $step"
done

# ---- 4. two at once: one works on a certificate, the other skips it or comes after --------------
O=$T/renew
for n in 1 2 3; do
    "$CERTLEDGER" --db "$DB" apply --force "$T/renew.yaml" >"$T/a.out" 2>&1 &
    p1=$!
    "$CERTLEDGER" --db "$DB" apply --force "$T/renew.yaml" >"$T/b.out" 2>&1 &
    p2=$!
    wait "$p1" || fail "first concurrent apply failed: $(cat "$T/a.out")"
    wait "$p2" || fail "second concurrent apply failed: $(cat "$T/b.out")"
    check "$O" none >/dev/null
    recover "$T/renew.yaml" "$O" web
done

# ---- 5. kill -9 at random instants ------------------------------------------------------------
O=$T/renew
for n in $(seq 1 25); do
    old=$(fp_of "$O/tls.crt")
    "$CERTLEDGER" --db "$DB" apply --force "$T/renew.yaml" >/dev/null 2>&1 &
    pid=$!
    sleep "$("$PY" -c 'import random; print(random.uniform(0, 0.12))')"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    check "$O" "$old" >/dev/null
    recover "$T/renew.yaml" "$O" web
    check "$O" "$old" >/dev/null
done
finish
