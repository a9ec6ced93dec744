#!/usr/bin/env bash
# mkpki.sh OUTDIR
#
# A small PKI for the policy end-to-end tests (tests/e2e/0030-lint.sh,
# 0031-check.sh), made with the openssl 3.0 CLI. Every certificate breaks
# the built-in default policy in one known way, or in none:
#
#   root.pem     EC P-256 self-signed root CA (CA:TRUE), 10 years
#   int.pem      EC P-256 intermediate CA, issued by root, 5 years
#   good.pem     EC P-256 leaf, SAN, serverAuth, SHA-256, 90 days: clean
#   weak.pem     RSA 1024 leaf signed with SHA-1: key.size, sig.forbidden
#   self.pem     self-signed EC leaf (CA:FALSE): cert.self-signed (warning)
#   e17.pem      RSA 3072 leaf with the public exponent 17: key.exponent
#   wild.pem     EC leaf for *.example.test: san.wildcard when forbidden
#   nosan.pem    EC leaf without subjectAltName: san.missing
#   long.pem     EC leaf valid for 500 days: validity.max under max_days 400
#   shared-a.pem, shared-b.pem
#                two leaves with one key (shared.key): key.shared
#
# Each NAME.pem has its key in NAME.key (mode 0600). Certificates are
# issued by int unless said otherwise. Silent on success.
set -euo pipefail
umask 077

if [[ $# -ne 1 || -z $1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1
mkdir -p -- "$OUT"
cd -- "$OUT"
OPENSSL=${OPENSSL:-openssl}

q() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        echo "mkpki: command failed: $*" >&2
        cat "$log" >&2
        rm -f -- "$log"
        exit 1
    fi
    rm -f -- "$log"
}

eckey() { q "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }

# ext NAME CA|LEAF [SAN]: writes NAME.ext
ext() {
    local name=$1 kind=$2 san=${3:-}
    if [[ $kind == CA ]]; then
        printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" \
            "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always" >"$name.ext"
    else
        printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
            "extendedKeyUsage=serverAuth" "subjectKeyIdentifier=hash" \
            "authorityKeyIdentifier=keyid" >"$name.ext"
        if [[ -n $san ]]; then echo "subjectAltName=$san" >>"$name.ext"; fi
    fi
}

# issue NAME CN KEY DAYS DIGEST [SAN]: a leaf from int with KEY.key
issue() {
    local name=$1 cn=$2 key=$3 days=$4 md=$5 san=${6-DNS:$2}
    ext "$name" LEAF "$san"
    q "$OPENSSL" req -new -key "$key.key" -subj "/O=Certledger Policy Test/CN=$cn" -out "$name.csr"
    q "$OPENSSL" x509 -req -in "$name.csr" -CA int.pem -CAkey int.key -set_serial "0x$("$OPENSSL" rand -hex 12)" \
        -days "$days" "-$md" -extfile "$name.ext" -out "$name.pem"
    rm -f -- "$name.csr" "$name.ext"
}

eckey root
printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" \
    "subjectKeyIdentifier=hash" >root.ext
q "$OPENSSL" req -new -x509 -key root.key -subj "/O=Certledger Policy Test/CN=Policy Test Root CA" \
    -days 3650 -sha256 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.pem
rm -f root.ext

eckey int
ext int CA
q "$OPENSSL" req -new -key int.key -subj "/O=Certledger Policy Test/CN=Policy Test Intermediate CA" -out int.csr
q "$OPENSSL" x509 -req -in int.csr -CA root.pem -CAkey root.key -set_serial "0x$("$OPENSSL" rand -hex 12)" \
    -days 1825 -sha256 -extfile int.ext -out int.pem
rm -f int.csr int.ext

eckey good
issue good good.example.test good 90 sha256

q "$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out weak.key
issue weak weak.example.test weak 90 sha1

eckey self
q "$OPENSSL" req -new -x509 -key self.key -subj "/O=Certledger Policy Test/CN=self.example.test" \
    -days 90 -sha256 -addext "basicConstraints=critical,CA:FALSE" \
    -addext "extendedKeyUsage=serverAuth" -addext "subjectAltName=DNS:self.example.test" -out self.pem

q "$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -pkeyopt rsa_keygen_pubexp:17 -out e17.key
issue e17 e17.example.test e17 90 sha256

eckey wild
issue wild wild.example.test wild 90 sha256 "DNS:*.example.test,DNS:example.test"

eckey nosan
issue nosan nosan.example.test nosan 90 sha256 ""

eckey long
issue long long.example.test long 500 sha256

eckey shared
issue shared-a shared-a.example.test shared 90 sha256
issue shared-b shared-b.example.test shared 90 sha256
cp shared.key shared-a.key
mv shared.key shared-b.key
chmod 0600 ./*.key
chmod 0644 ./*.pem
