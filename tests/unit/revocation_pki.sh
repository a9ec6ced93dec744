#!/bin/sh
# Builds the PKI used by tests/unit/test_revocation.c in DIR:
#   ca.pem/ca.key          the issuer (its index.txt feeds `openssl ocsp`)
#   responder.pem/key      delegated OCSP responder (issued by ca, OCSPSigning EKU)
#   noeku.pem/key          issued by ca, no OCSPSigning EKU
#   other.pem/key          another CA; otherresp.pem/key its OCSP responder
#   evil.pem/key           same subject name as ca, another key
#   leaf-NAME.pem/.der     leaves whose AIA OCSP / CRL DP point at 127.0.0.1
#   ca.crl (DER), ca-pem.crl (PEM), wrongkey.crl, expired.crl, delta.crl,
#   onlyca.crl, other.crl  CRLs
# Usage: revocation_pki.sh DIR HTTP_PORT OCSP_PORT REFUSED_PORT
set -eu
dir=$1 http=$2 ocsp=$3 refused=$4
mkdir -p "$dir"
cd "$dir"

H="http://127.0.0.1:$http"
O="http://127.0.0.1:$ocsp/"
R="http://127.0.0.1:$refused"
export OCSP_URL="$O" CRL_URL="$H/ca.crl" CA_NAME=ca

cat > ca.cnf <<'EOF'
[req]
distinguished_name = dn
prompt             = no
[dn]
CN = placeholder

[ca]
default_ca = this_ca
[this_ca]
dir              = .
database         = ./$ENV::CA_NAME.db/index.txt
crlnumber        = ./$ENV::CA_NAME.db/crlnumber
new_certs_dir    = ./$ENV::CA_NAME.db
certificate      = ./$ENV::CA_NAME.pem
private_key      = ./$ENV::CA_NAME.key
rand_serial      = yes
default_md       = sha256
default_crl_days = 30
policy           = policy_any
unique_subject   = no
email_in_dn      = no
copy_extensions  = none
[policy_any]
commonName = supplied

[v3_ca]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
[v3_responder]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = OCSPSigning
[v3_noeku]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
[v3_both]
basicConstraints       = critical, CA:FALSE
authorityInfoAccess    = OCSP;URI:$ENV::OCSP_URL
crlDistributionPoints  = URI:$ENV::CRL_URL
[v3_ocsp]
basicConstraints       = critical, CA:FALSE
authorityInfoAccess    = OCSP;URI:$ENV::OCSP_URL
[v3_crl]
basicConstraints       = critical, CA:FALSE
crlDistributionPoints  = URI:$ENV::CRL_URL
[v3_none]
basicConstraints       = critical, CA:FALSE
[crl_delta]
deltaCRL = critical, DER:02:01:01
[crl_onlyca]
issuingDistributionPoint = critical, @idp_onlyca
[idp_onlyca]
onlyCA = TRUE
EOF

# mkca NAME SUBJECT: a self-signed EC CA (backdated to 2020) with its own database
mkca() {
	mkdir -p "$1.db"
	: > "$1.db/index.txt"
	echo 1000 > "$1.db/crlnumber"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "$2" -config ca.cnf 2>/dev/null
	CA_NAME=$1 openssl ca -batch -selfsign -config ca.cnf -keyfile "$1.key" \
		-extensions v3_ca -in "$1.csr" -out "$1.pem" -notext \
		-startdate 20200101000000Z -enddate 20991231000000Z 2>/dev/null
	rm -f "$1.csr"
}

# issue CA NAME EXT [OCSP_URL CRL_URL]: a leaf issued by CA (backdated to 2020)
issue() {
	CA_NAME=$1 OCSP_URL=${4:-$O} CRL_URL=${5:-$H/ca.crl}
	export CA_NAME OCSP_URL CRL_URL
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$2.key" -out "$2.csr" -subj "/CN=$2.revocation.test" -config ca.cnf 2>/dev/null
	openssl ca -batch -config ca.cnf -extensions "$3" -in "$2.csr" -out "$2.pem" -notext \
		-startdate 20200101000000Z -enddate 20991231000000Z 2>/dev/null
	openssl x509 -in "$2.pem" -outform DER -out "$2.der"
	rm -f "$2.csr"
	export CA_NAME=ca
}

mkca ca "/CN=certledger revocation test CA"
mkca other "/CN=certledger other CA"
mkca evil "/CN=certledger revocation test CA"
openssl x509 -in ca.pem -outform DER -out ca.der
openssl x509 -in other.pem -outform DER -out other.der

issue ca responder v3_responder
issue ca noeku v3_noeku
issue other otherresp v3_responder

issue ca leaf-good v3_both
issue ca leaf-revoked v3_both
issue ca leaf-fallback-good v3_both "$R/"
issue ca leaf-fallback-revoked v3_both "$R/"
issue ca leaf-refused v3_ocsp "$R/"
issue ca leaf-pem v3_crl "" "$H/ca-pem.crl"
issue ca leaf-wrongkey v3_crl "" "$H/wrongkey.crl"
issue ca leaf-expired v3_crl "" "$H/expired.crl"
issue ca leaf-crl-garbage v3_crl "" "$H/garbage"
issue ca leaf-crl-raw v3_crl "" "$H/raw"
issue ca leaf-crl-404 v3_crl "" "$H/missing.crl"
issue ca leaf-crl-hang v3_crl "" "$H/hang"
issue ca leaf-crl-endless v3_crl "" "$H/endless"
issue ca leaf-crl-huge v3_crl "" "$H/huge"
issue ca leaf-ocsp-hang v3_ocsp "$H/hang"
issue ca leaf-ocsp-garbage v3_ocsp "$H/garbage"
issue ca leaf-ocsp-endless v3_ocsp "$H/endless"
issue ca leaf-ldap v3_crl "" "ldap://127.0.0.1/cn=crl"
issue ca leaf-none v3_none
issue other leaf-other v3_crl "" "$H/other.crl"

# leaf-unknown is recorded in a side database: the responder does not know it
cp ca.db/index.txt index.keep
issue ca leaf-unknown v3_ocsp
cp index.keep ca.db/index.txt

openssl ca -config ca.cnf -revoke leaf-revoked.pem -crl_reason keyCompromise 2>/dev/null
openssl ca -config ca.cnf -revoke leaf-fallback-revoked.pem -crl_reason superseded 2>/dev/null
openssl ca -config ca.cnf -revoke leaf-pem.pem -crl_reason affiliationChanged 2>/dev/null

openssl ca -config ca.cnf -gencrl -out ca-pem.crl 2>/dev/null
openssl crl -in ca-pem.crl -outform DER -out ca.crl
openssl ca -config ca.cnf -gencrl -crl_lastupdate 20200101000000Z \
	-crl_nextupdate 20200201000000Z -out expired.pem 2>/dev/null
openssl crl -in expired.pem -outform DER -out expired.crl
openssl ca -config ca.cnf -gencrl -crlexts crl_delta -out delta.crl 2>/dev/null
openssl ca -config ca.cnf -gencrl -crlexts crl_onlyca -out onlyca.crl 2>/dev/null
CA_NAME=evil openssl ca -config ca.cnf -gencrl -out wrongkey.pem 2>/dev/null
openssl crl -in wrongkey.pem -outform DER -out wrongkey.crl
CA_NAME=other openssl ca -config ca.cnf -gencrl -out other.pem.crl 2>/dev/null
openssl crl -in other.pem.crl -outform DER -out other.crl
cp ca.db/index.txt index.txt
