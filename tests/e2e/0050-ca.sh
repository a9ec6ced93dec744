#!/usr/bin/env bash
# certledger ca: init (encrypted keys, name constraints, modes), issue from a
# generated key and from CSRs made by openssl req (PEM and DER), the policy's
# refusals (names outside or excluded, lifetime, bad CSR signature, wrong or
# missing passphrase), list/show, revoke and CRLs checked with openssl verify
# -crl_check / -crl_check_all, --batch, --record into the inventory, and nginx
# serving an issued certificate that openssl s_client (and discover net)
# trusts through the root.
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"
need openssl nginx

CA=$T/ca
O=$T/out
mkdir -p "$O"
PASSWORD='e2e passphrase: not for logs'
printf '%s\n' "$PASSWORD" >"$T/pw"
chmod 600 "$T/pw"
P=(--passphrase-file "$T/pw")
mode() { stat -c %a "$1"; }
ossl_text() { openssl x509 -in "$1" -noout -text; }
no_secret() { # the passphrase never appears in what certledger prints
    assert_not_contains "$OUT$ERR" "$PASSWORD" "output of $CL_LAST_CMD"
}

# ---- help -----------------------------------------------------------------------------------
assert_rc 0 cl ca --help
assert_contains "$OUT" "certledger ca - an internal CA"
assert_rc 0 cl help ca
assert_rc 0 cl ca issue --help
assert_contains "$OUT" "--passphrase-file"
assert_rc 2 cl ca
assert_rc 2 cl ca frobnicate "$CA"
assert_contains "$ERR" "not a ca command"

# ---- init -----------------------------------------------------------------------------------
assert_rc 2 cl ca init "$CA"
assert_contains "$ERR" "--no-passphrase"
assert_rc 2 cl ca init "$CA" "${P[@]}" --permit-ip 10.1.0.0/8
assert_contains "$ERR" "did you mean 10.0.0.0/8"
assert_rc 2 cl ca init "$CA" "${P[@]}" --key-type dsa
[[ ! -e $CA ]] || fail "a refused init left $CA behind"
assert_rc 0 cl ca init "$CA" "${P[@]}" --org "E2E Test" --permit-dns example.internal \
    --permit-ip 127.0.0.0/8 --permit-ip ::1/128 --exclude-dns secret.example.internal \
    --max-days 100 --default-days 30 --crl-url http://127.0.0.1:9/ca.crl
no_secret
assert_contains "$OUT" "keys encrypted"
assert_eq 700 "$(mode "$CA")" "CA directory mode"
for f in root.key intermediate.key; do
    assert_eq 600 "$(mode "$CA/$f")" "$f mode"
    grep -q -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' "$CA/$f" || fail "$f is not encrypted"
    openssl pkey -in "$CA/$f" -passin "file:$T/pw" -noout 2>/dev/null ||
        fail "openssl cannot open $f with the passphrase"
    if openssl pkey -in "$CA/$f" -passin pass:wrong -noout 2>/dev/null; then
        fail "$f opens with a wrong passphrase"
    fi
done
assert_eq 0 "$(find "$T" -maxdepth 1 -name 'ca.init-*' | wc -l)" "temporary directories left"
assert_rc 2 cl ca init "$CA" --no-passphrase
assert_contains "$ERR" "not empty"
ITXT=$(ossl_text "$CA/intermediate.pem")
assert_contains "$ITXT" "X509v3 Name Constraints: critical"
assert_contains "$ITXT" "DNS:example.internal"
assert_contains "$ITXT" "IP:127.0.0.0/255.0.0.0"
assert_contains "$ITXT" "DNS:secret.example.internal"
assert_contains "$ITXT" "CA:TRUE, pathlen:0"
assert_rc 0 openssl verify -CAfile "$CA/root.pem" "$CA/intermediate.pem"

# ---- issue with a generated key --------------------------------------------------------------
export E2E_PASS=$PASSWORD
assert_rc 0 cl ca issue "$CA" --passphrase-env E2E_PASS --dns www.example.internal \
    --dns WWW2.example.internal --ip 127.0.0.1 --out "$O/www"
no_secret
assert_eq 600 "$(mode "$O/www.key")" "leaf key mode"
for f in www.pem www.chain.pem www.fullchain.pem; do
    assert_eq 644 "$(mode "$O/$f")" "$f mode"
done
assert_eq 0 "$(find "$O" -name '*.tmp.*' | wc -l)" "temporary files left"
cmp -s "$O/www.fullchain.pem" <(cat "$O/www.pem" "$O/www.chain.pem") || fail "fullchain != leaf + chain"
cmp -s "$O/www.chain.pem" "$CA/intermediate.pem" || fail "chain is not the intermediate"
assert_rc 0 openssl verify -CAfile "$CA/root.pem" -untrusted "$O/www.chain.pem" \
    -purpose sslserver -verify_hostname www2.example.internal "$O/www.pem"
assert_eq "$(openssl pkey -in "$O/www.key" -pubout)" "$(openssl x509 -in "$O/www.pem" -noout -pubkey)" \
    "generated key vs certificate"
LTXT=$(ossl_text "$O/www.pem")
for want in "CA:FALSE" "X509v3 Key Usage: critical" "Digital Signature" \
    "TLS Web Server Authentication" "DNS:www.example.internal, DNS:www2.example.internal, IP Address:127.0.0.1" \
    "X509v3 Subject Key Identifier" "X509v3 Authority Key Identifier" \
    "URI:http://127.0.0.1:9/ca.crl" "Subject: CN = www.example.internal" "ecdsa-with-SHA256"; do
    assert_contains "$LTXT" "$want" "openssl x509 -text of the leaf"
done
assert_not_contains "$LTXT" "TLS Web Client Authentication"
SERIAL_WWW=$(openssl x509 -in "$O/www.pem" -noout -serial | sed 's/serial=//')
assert_eq 32 "${#SERIAL_WWW}" "serial length (16 bytes)"
# the default lifetime (30 days), backdated 5 minutes
S=$(date -d "$(openssl x509 -in "$O/www.pem" -noout -startdate | cut -d= -f2)" +%s)
E=$(date -d "$(openssl x509 -in "$O/www.pem" -noout -enddate | cut -d= -f2)" +%s)
assert_eq $((30 * 86400)) $((E - S)) "lifetime in seconds"

export CERTLEDGER_CA_PASSPHRASE=$PASSWORD
assert_rc 0 cl ca issue "$CA" --dns rsa.example.internal --key-type rsa:2048 --client --out "$O/rsa"
RTXT=$(ossl_text "$O/rsa.pem")
assert_contains "$RTXT" "Digital Signature, Key Encipherment"
assert_contains "$RTXT" "TLS Web Server Authentication, TLS Web Client Authentication"
assert_contains "$RTXT" "Public-Key: (2048 bit)"

# ---- issue from CSRs made by openssl req ------------------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$O/app.key" \
    -subj "/O=Ignored/CN=app.example.internal" \
    -addext "subjectAltName=DNS:app.example.internal,DNS:api.example.internal" \
    -out "$T/app.csr" 2>/dev/null
assert_rc 0 cl ca issue "$CA" --csr "$T/app.csr" --days 10 --out "$O/app"
assert_eq 600 "$(mode "$O/app.key")" "the requester's key is left alone"
assert_rc 0 openssl verify -CAfile "$CA/root.pem" -untrusted "$O/app.chain.pem" "$O/app.pem"
assert_eq "$(openssl req -in "$T/app.csr" -noout -pubkey)" "$(openssl x509 -in "$O/app.pem" -noout -pubkey)" \
    "CSR key vs certificate"
ATXT=$(ossl_text "$O/app.pem")
assert_contains "$ATXT" "DNS:app.example.internal, DNS:api.example.internal"
assert_contains "$ATXT" "Subject: CN = app.example.internal"
assert_not_contains "$ATXT" "Ignored"
S=$(date -d "$(openssl x509 -in "$O/app.pem" -noout -startdate | cut -d= -f2)" +%s)
E=$(date -d "$(openssl x509 -in "$O/app.pem" -noout -enddate | cut -d= -f2)" +%s)
assert_eq $((10 * 86400)) $((E - S)) "--days 10"
# DER, RSA, names given on the command line replace the CSR's
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/der.key" -subj "/CN=der.example.internal" \
    -outform DER -out "$T/der.csr" 2>/dev/null
assert_rc 0 cl ca issue "$CA" --csr "$T/der.csr" --dns other.example.internal --cn "Other service" \
    --out "$O/der"
DTXT=$(ossl_text "$O/der.pem")
assert_contains "$DTXT" "Subject: CN = Other service"
assert_contains "$DTXT" "DNS:other.example.internal"
assert_not_contains "$DTXT" "DNS:der.example.internal"

# ---- refusals ---------------------------------------------------------------------------------
refused() { # WHAT-IN-STDERR ARGS...: exit 2 and nothing written
    local want=$1
    shift
    rm -f "$O"/no.*
    assert_rc 2 cl ca issue "$CA" --out "$O/no" "$@"
    assert_contains "$ERR" "$want"
    [[ ! -e $O/no.pem && ! -e $O/no.key ]] || fail "a refused request wrote files"
}
refused "DNS name www.other.test is outside the names this CA may certify (example.internal)" \
    --dns www.other.test
refused "inside the excluded name secret.example.internal" --dns secret.example.internal
refused "wildcard *.example.internal would cover the excluded name" --dns '*.example.internal'
refused "IP address 10.0.0.1 is outside" --dns ok.example.internal --ip 10.0.0.1
refused "above the maximum" --dns ok.example.internal --days 101
refused "not a valid DNS name" --dns 'bad_name.example.internal'
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -subj /CN=x.example.internal -outform DER -out "$T/good.der" 2>/dev/null
"$PY" - "$T/good.der" "$T/badsig.der" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[-1] ^= 1
open(sys.argv[2], "wb").write(d)
EOF
assert_rc 3 cl ca issue "$CA" --csr "$T/badsig.der" --out "$O/no"
assert_contains "$ERR" "signature does not verify"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -subj /CN=mail -addext "subjectAltName=email:ops@example.internal" -out "$T/email.csr" 2>/dev/null
refused "email:ops@example.internal" --csr "$T/email.csr"
# passphrases
run env CERTLEDGER_CA_PASSPHRASE=not-it "$CERTLEDGER" --db "$DB" ca issue "$CA" \
    --dns w.example.internal --out "$O/no"
assert_eq 3 "$RC" "wrong passphrase"
assert_contains "$ERR" "wrong passphrase"
assert_not_contains "$ERR" "not-it"
run env -u CERTLEDGER_CA_PASSPHRASE "$CERTLEDGER" --db "$DB" ca issue "$CA" \
    --dns w.example.internal --out "$O/no"
assert_eq 2 "$RC" "missing passphrase"
assert_contains "$ERR" "--passphrase-file"
[[ ! -e $O/no.pem ]] || fail "issued without the passphrase"
chmod 644 "$CA/intermediate.key"
assert_rc 3 cl ca issue "$CA" --dns w.example.internal --out "$O/no"
assert_contains "$ERR" "chmod 600"
chmod 600 "$CA/intermediate.key"

# ---- list and show (no passphrase needed) ------------------------------------------------------
run env -u CERTLEDGER_CA_PASSPHRASE "$CERTLEDGER" ca list "$CA" --format json
assert_eq 0 "$RC" "ca list"
pyassert 'check(len(d) == 4, "4 issued: %d" % len(d))
check({e["state"] for e in d} == {"valid"}, "all valid")
www = [e for e in d if e["cn"] == "www.example.internal"][0]
check(www["sans"] == ["DNS:www.example.internal", "DNS:www2.example.internal", "IP:127.0.0.1"], www["sans"])
check(www["serial"] == args[0].lower(), "serial %s" % www["serial"])
check(www["key_type"] == "EC P-256", www["key_type"])' "$SERIAL_WWW"
assert_rc 0 cl ca list "$CA" --format csv
assert_eq 5 "$(printf '%s\n' "$OUT" | wc -l)" "csv lines"
assert_rc 1 cl ca list "$CA" --state revoked
assert_rc 0 cl ca show "$CA" --format json
pyassert 'check(d["certificates"]["issued"] == 4, d["certificates"])
check(d["encrypted"] is True, "encrypted")
check(d["name_constraints"]["permitted_ip"] == ["127.0.0.0/8", "::1/128"], d["name_constraints"])
check(d["max_leaf_lifetime"] == "100d", d["max_leaf_lifetime"])'
assert_rc 0 cl ca show "$CA"
assert_contains "$OUT" "excluded DNS   secret.example.internal"

# ---- revocation and CRLs -----------------------------------------------------------------------
assert_rc 0 cl ca crl "$CA" --out "$T/empty.crl"
assert_rc 0 openssl verify -crl_check -CRLfile "$T/empty.crl" -CAfile "$CA/root.pem" \
    -untrusted "$O/www.chain.pem" "$O/www.pem"
assert_rc 0 cl ca revoke "$CA" --cert "$O/www.pem" --reason keyCompromise
assert_contains "$OUT" "revoked serial"
assert_rc 0 cl ca revoke "$CA" "$SERIAL_WWW"
assert_contains "$OUT" "already revoked"
assert_rc 1 cl ca revoke "$CA" 0123456789abcdef
assert_rc 1 cl ca revoke "$CA" --cert "$CA/root.pem"
assert_rc 2 cl ca revoke "$CA" "$SERIAL_WWW" --reason certificateHold
assert_rc 0 cl ca crl "$CA" --out "$T/ca.crl" --next-update 2d
CTXT=$(openssl crl -in "$T/ca.crl" -noout -text)
assert_contains "$CTXT" "Serial Number: $SERIAL_WWW"
assert_contains "$CTXT" "Key Compromise"
assert_contains "$CTXT" "Next Update:"
assert_contains "$(openssl crl -in "$T/ca.crl" -noout -crlnumber)" "crlNumber=0x02"
assert_rc 0 openssl crl -in "$T/ca.crl" -CAfile "$CA/intermediate.pem" -noout
run openssl verify -crl_check -CRLfile "$T/ca.crl" -CAfile "$CA/root.pem" \
    -untrusted "$O/www.chain.pem" "$O/www.pem"
[[ $RC != 0 ]] || fail "the revoked certificate still verifies"
assert_contains "$OUT$ERR" "certificate revoked"
assert_rc 0 openssl verify -crl_check -CRLfile "$T/ca.crl" -CAfile "$CA/root.pem" \
    -untrusted "$O/app.chain.pem" "$O/app.pem"
# every level: the root's CRL too
run openssl verify -crl_check_all -CRLfile "$T/ca.crl" -CAfile "$CA/root.pem" \
    -untrusted "$O/app.chain.pem" "$O/app.pem"
[[ $RC != 0 ]] || fail "crl_check_all passed without the root's CRL"
assert_rc 0 cl ca crl "$CA" --root --der --out "$T/root.crl"
openssl crl -inform DER -in "$T/root.crl" -out "$T/root.crl.pem"
assert_rc 0 openssl verify -crl_check_all -CRLfile "$T/ca.crl" -CRLfile "$T/root.crl.pem" \
    -CAfile "$CA/root.pem" -untrusted "$O/app.chain.pem" "$O/app.pem"
assert_rc 0 cl ca list "$CA" --state revoked --format json
pyassert 'check(len(d) == 1 and d[0]["reason"] == "keyCompromise", d)'

# ---- --batch -----------------------------------------------------------------------------------
mkdir -p "$O/batch"
for i in $(seq 1 20); do
    echo "$O/batch/svc$i svc$i.example.internal 127.0.0.$i  # service $i"
done >"$T/batch.txt"
assert_rc 0 cl ca issue "$CA" --batch "$T/batch.txt" --workers 4
assert_contains "$OUT" "issued 20 of 20"
for i in 1 7 20; do
    assert_rc 0 openssl verify -CAfile "$CA/root.pem" -untrusted "$O/batch/svc$i.chain.pem" \
        -verify_ip "127.0.0.$i" -verify_hostname "svc$i.example.internal" "$O/batch/svc$i.pem"
    assert_eq 600 "$(mode "$O/batch/svc$i.key")" "batch key mode"
done
printf '%s\n' "$O/batch/ok ok.example.internal" "$O/batch/bad bad.other.test" >"$T/batch2.txt"
assert_rc 3 cl ca issue "$CA" --batch "$T/batch2.txt"
assert_contains "$ERR" "batch2.txt:2: $O/batch/bad: DNS name bad.other.test is outside"
[[ -e $O/batch/ok.pem && ! -e $O/batch/bad.pem ]] || fail "batch: the good line must be issued, the bad not"
printf '%s\n' "$O/batch/x" >"$T/batch3.txt"
assert_rc 2 cl ca issue "$CA" --batch "$T/batch3.txt"
assert_contains "$ERR" "has no names"

# ---- --record: the inventory knows the files ----------------------------------------------------
assert_rc 0 cl ca issue "$CA" --dns rec.example.internal --out "$O/rec" --record
FP_REC=$(fingerprint "$O/rec.pem")
assert_rc 0 cl ls --format json --location "file:$O/rec*"
pyassert 'leaf = [c for c in d if c["fingerprint_sha256"] == args[0]]
check(len(leaf) == 1, "the leaf is in the inventory")
where = sorted(l["where"] for l in leaf[0]["locations"])
check(where == sorted([args[1] + "/rec.pem", args[1] + "/rec.fullchain.pem"]), where)' \
    "$FP_REC" "$O"
assert_rc 0 cl show --format json "$O/rec.pem"
pyassert 'k = d[0]["keys"]
check([x["where"] for x in k] == [args[0]] and k[0]["mode"] == "0600", k)' "$O/rec.key"

# ---- nginx serves an issued certificate; clients trust the root ----------------------------------
assert_rc 0 cl ca issue "$CA" --dns www.example.internal --ip 127.0.0.1 --ip ::1 --out "$O/nginx"
net_ports 1
PORT=${PORTS[0]}
net_nginx_block "$PORT" www.example.internal "$O/nginx.fullchain.pem" "$O/nginx.key"
net_nginx_start
run timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -servername www.example.internal \
    -CAfile "$CA/root.pem" -verify_return_error -verify_hostname www.example.internal </dev/null
assert_eq 0 "$RC" "s_client exit status (stderr: $ERR)"
assert_contains "$OUT" "Verify return code: 0 (ok)"
run timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -servername www.example.internal \
    -verify_return_error </dev/null
[[ $RC != 0 ]] || fail "s_client trusted the private root without -CAfile"
# certledger's own scan agrees (scan trusts $PKI/root.pem)
cp "$CA/root.pem" "$PKI/root.pem"
scan --sni www.example.internal "127.0.0.1:$PORT"
assert_rc 0 cl endpoints --format json
pyassert 'e = [x for x in d if x["port"] == int(args[0])][0]
check(e["verify"] == "ok", e)
check(e["leaf_fingerprint"] == args[1], e)' "$PORT" "$(fingerprint "$O/nginx.pem")"
finish
