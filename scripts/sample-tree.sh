#!/usr/bin/env bash
# sample-tree.sh DIR - a small tree of certificates like a real server's:
# a private CA and chain, a leaf expiring in 10 days, a
# wildcard, a SHA-1-signed one, a self-signed one, a PKCS#12 bundle and a
# world-readable private key. Used by the quick start; openssl CLI only.
set -euo pipefail
out=${1:?usage: $0 DIR}
rm -rf "$out"
mkdir -p "$out/etc/nginx/tls" "$out/etc/ssl/private" "$out/opt/app" "$out/.ca"
cd "$out/.ca"
o() { openssl "$@" 2>/dev/null; }
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
	-days 3650 -subj "/O=Sample Corp/CN=Sample Root CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
cp ca.pem "$out/etc/ssl/sample-root-ca.pem"
leaf() { # name days [md] [extra SAN]
	o req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
		-subj "/O=Sample Corp/CN=$1"
	printf 'subjectAltName=DNS:%s%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		"$1" "${4:-}" > "$1.ext"
	o x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$2" \
		"-${3:-sha256}" -extfile "$1.ext" -out "$1.pem"
}
leaf www.sample.test 10
leaf api.sample.test 200
leaf wild.sample.test 90 sha256 ",DNS:*.sample.test"
leaf legacy.sample.test 365 sha1
cat www.sample.test.pem ca.pem > "$out/etc/nginx/tls/www.fullchain.pem"
install -m 600 www.sample.test.key "$out/etc/nginx/tls/www.key"
cp api.sample.test.pem "$out/etc/nginx/tls/api.crt"
install -m 644 api.sample.test.key "$out/etc/ssl/private/api.key"   # a finding: world-readable
o x509 -in wild.sample.test.pem -outform DER -out "$out/etc/nginx/tls/wild.der"
cp legacy.sample.test.pem "$out/opt/app/legacy.pem"
o pkcs12 -export -in api.sample.test.pem -inkey api.sample.test.key -certfile ca.pem \
	-passout pass: -out "$out/opt/app/api.p12"
o req -x509 -newkey rsa:2048 -nodes -keyout self.key -out "$out/opt/app/selfsigned.crt" \
	-days 30 -subj "/CN=selfsigned.sample.test"
cd "$out"
rm -rf .ca
