#!/bin/sh
# Regenerates the seed corpora of tests/fuzz/fuzz_ocsp.c and fuzz_crl.c:
# OCSP responses and CRLs made by `openssl ocsp` / `openssl ca` for the PKI
# of tests/unit/revocation_pki.sh. The fuzz targets embed that PKI's CA and
# two leaves (PEM) and a fixed evaluation time: this script prints them in
# WORKDIR/embed.txt, to be pasted into tests/fuzz/revocation_fixture.h together with the new
# corpora (a corpus made with other keys only exercises the early checks).
# Usage: mkrevocation-corpus.sh WORKDIR
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$1
rm -rf "$work"
mkdir -p "$work"
sh "$top/tests/unit/revocation_pki.sh" "$work/pki" 8080 8081 8082 >/dev/null
cd "$work/pki"
ocsp_out=$top/tests/fuzz/corpus/fuzz_ocsp
crl_out=$top/tests/fuzz/corpus/fuzz_crl
mkdir -p "$ocsp_out" "$crl_out"

# resp NAME SIGNER "REQUEST ARGS" "RESPONDER ARGS"
resp() {
	openssl ocsp -issuer ca.pem $3 -reqout "req-$1.der" >/dev/null 2>&1
	openssl ocsp -index index.txt -CA ca.pem -rsigner "$2.pem" -rkey "$2.key" \
		-reqin "req-$1.der" -respout "$ocsp_out/$1.der" $4 >/dev/null 2>&1
}
resp good responder "-cert leaf-good.pem" ""
resp good-issuer-signed ca "-cert leaf-good.pem" "-resp_no_certs"
resp good-no-nonce responder "-cert leaf-good.pem -no_nonce" ""
resp good-nextupdate responder "-cert leaf-good.pem" "-ndays 1"
resp revoked responder "-cert leaf-revoked.pem" "-ndays 1"
resp unknown responder "-cert leaf-unknown.pem" ""
resp two-certs responder "-cert leaf-good.pem -cert leaf-revoked.pem" ""
resp noeku noeku "-cert leaf-good.pem" ""
resp other-ca otherresp "-cert leaf-good.pem" ""
resp signer-missing responder "-cert leaf-good.pem" "-resp_no_certs"
printf '\060\003\012\001\003' > "$ocsp_out/trylater.der"
printf '\060\003\012\001\006' > "$ocsp_out/unauthorized.der"

cp ca.crl "$crl_out/revoked-entries.der"
cp ca-pem.crl "$crl_out/revoked-entries.pem"
cp expired.crl "$crl_out/expired.der"
cp delta.crl "$crl_out/delta.pem"
cp onlyca.crl "$crl_out/onlyca.pem"
cp wrongkey.crl "$crl_out/wrongkey.der"
cp other.crl "$crl_out/other-ca.der"

{
	echo "now: $(date -u +%s)"
	for f in ca leaf-good leaf-revoked; do
		echo "$f:"
		openssl x509 -in "$f.pem" | sed 's/^/"/; s/$/\\n"/'
	done
} > "$work/embed.txt"
echo "wrote $ocsp_out, $crl_out and $work/embed.txt"
