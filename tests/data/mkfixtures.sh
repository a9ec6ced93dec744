#!/usr/bin/env bash
# mkfixtures.sh [-v] OUTDIR
#
# Generates a realistic tree of certificate material for the
# `certledger discover files` end-to-end tests, plus manifests:
#   OUTDIR/manifest.tsv       one row per certificate-location the scanner must find
#   OUTDIR/manifest-bad.tsv   files the scanner must report (path, reason keyword)
#   OUTDIR/manifest-keys.tsv  private-key files (path, mode, matching cert fp, encrypted)
# The manifests live in OUTDIR itself and contain no certificate material.
#
# Everything is generated fresh (openssl 3.0 CLI + keytool); the structure is
# identical on every run, keys/serials/fingerprints differ. OUTDIR is wiped
# first (only if it is empty or looks like a previous fixture tree).
# Silent on success unless -v is given.
set -euo pipefail
umask 022

VERBOSE=0
if [[ ${1:-} == -v ]]; then VERBOSE=1; shift; fi
if [[ $# -ne 1 || -z $1 ]]; then
    echo "usage: $0 [-v] OUTDIR" >&2
    exit 2
fi

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
CNF=$HERE/openssl-ca.cnf
MLDSA_TMPL=$HERE/mldsa.asn1.in
OPENSSL=${OPENSSL:-openssl}
KEYTOOL=${KEYTOOL:-keytool}
STOREPASS=changeit

log() { if ((VERBOSE)); then echo "mkfixtures: $*" >&2; fi; return 0; }
die() { echo "mkfixtures: $*" >&2; exit 1; }

command -v "$OPENSSL" >/dev/null || die "openssl not found"
command -v "$KEYTOOL" >/dev/null || die "keytool not found"
[[ -r $CNF && -r $MLDSA_TMPL ]] || die "missing $CNF or $MLDSA_TMPL"

# ---------------------------------------------------------------- OUTDIR ---
OUT=$1
case $(realpath -m -- "$OUT") in
    / | /etc | /usr | /var | /home | /root | /tmp | /opt | /srv) die "refusing to use $OUT" ;;
esac
if [[ -e $OUT || -L $OUT ]]; then
    [[ -d $OUT && ! -L $OUT ]] || die "$OUT exists and is not a directory"
    if [[ -n $(ls -A -- "$OUT") && ! -e $OUT/manifest.tsv ]]; then
        die "$OUT is not empty and has no manifest.tsv: refusing to wipe it"
    fi
    rm -rf -- "$OUT"
fi
mkdir -p -- "$OUT"
OUT=$(realpath -- "$OUT")   # manifests record real paths

W=$(mktemp -d "${TMPDIR:-/tmp}/mkfixtures.XXXXXX")
trap 'rm -rf -- "$W"' EXIT
mkdir -p "$W/ca/newcerts" "$W/c" "$W/k" "$W/err"
: >"$W/ca/index.txt"
export CL_CA_DIR=$W/ca CL_SAN=DNS:placeholder.example.test
export OPENSSL_CONF=$CNF
unset SAN

# q CMD...: run quietly; on failure show the command and its stderr.
q() {
    local errf
    errf=$(mktemp "$W/err/XXXXXX")
    if ! "$@" >"$errf.out" 2>"$errf"; then
        echo "mkfixtures: command failed: $*" >&2
        cat "$errf.out" "$errf" >&2
        return 1
    fi
}

# ------------------------------------------------------------------ keys ---
genkey() { # NAME ALG [pkeyopt...]
    local name=$1 alg=$2; shift 2
    local opts=()
    for o in "$@"; do opts+=(-pkeyopt "$o"); done
    q "$OPENSSL" genpkey -algorithm "$alg" "${opts[@]}" -out "$W/k/$name.key"
}

log "generating keys"
# Slow keys run in the background while everything else is built.
( genkey rsa4096 RSA rsa_keygen_bits:4096 ) & PID_RSA4096=$!
( q "$OPENSSL" genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 \
        -pkeyopt dsa_paramgen_q_bits:256 -out "$W/k/dsa.param" &&
  q "$OPENSSL" genpkey -paramfile "$W/k/dsa.param" -out "$W/k/dsa.key" ) & PID_DSA=$!

genkey root EC ec_paramgen_curve:P-384
genkey int EC ec_paramgen_curve:P-256
genkey rsa2048 RSA rsa_keygen_bits:2048
genkey selfsigned RSA rsa_keygen_bits:2048
genkey sha1 RSA rsa_keygen_bits:2048
genkey ec256 EC ec_paramgen_curve:P-256
genkey wild EC ec_paramgen_curve:P-256
genkey orphan EC ec_paramgen_curve:P-256
genkey ed25519 ED25519
genkey ed448 ED448
genkey shared EC ec_paramgen_curve:P-256   # reused by leaves whose key is never inspected

# ---------------------------------------------------------- certificates ---
SUBJ_O="/O=Certledger Test"

# selfsign NAME CN SECTION DAYS DIGEST [SAN]
selfsign() {
    local name=$1 cn=$2 sect=$3 days=$4 md=$5 san=${6:-DNS:$2}
    CL_SAN=$san q "$OPENSSL" req -new -x509 -key "$W/k/$name.key" -subj "$SUBJ_O/CN=$cn" \
        -days "$days" "-$md" -extensions "$sect" -out "$W/c/$name.pem"
}

# issue NAME CN KEYNAME SECTION [openssl-ca validity/digest args...]
# Leaf signed by the intermediate; SAN defaults to DNS:CN (override: SAN=...).
issue() {
    local name=$1 cn=$2 key=$3 sect=$4; shift 4
    q "$OPENSSL" req -new -key "$W/k/$key.key" -subj "$SUBJ_O/CN=$cn" -out "$W/c/$name.csr"
    CL_SAN=${SAN:-DNS:$cn} q "$OPENSSL" ca -batch -notext -extensions "$sect" \
        -in "$W/c/$name.csr" -out "$W/c/$name.pem" "$@"
}

log "building PKI"
selfsign root "Example Test Root CA" v3_root 3650 sha384
q "$OPENSSL" req -new -key "$W/k/int.key" -subj "$SUBJ_O/CN=Example Test Intermediate CA" \
    -out "$W/c/int.csr"
q "$OPENSSL" x509 -req -in "$W/c/int.csr" -CA "$W/c/root.pem" -CAkey "$W/k/root.key" \
    -set_serial "0x$("$OPENSSL" rand -hex 12)" -days 1825 -sha384 \
    -extfile "$CNF" -extensions v3_int -out "$W/c/int.pem"
cp "$W/c/int.pem" "$W/ca/int.pem"
cp "$W/k/int.key" "$W/ca/int.key"

ymd() { date -u -d "$1" +%Y%m%d%H%M%SZ; }

SAN="DNS:rsa2048.example.test,DNS:www.rsa2048.example.test,IP:192.0.2.10,IP:2001:db8::10,email:admin@example.test,URI:https://rsa2048.example.test/" \
    issue rsa2048 rsa2048.example.test rsa2048 v3_leaf_full -days 365
issue ec256 ec256.example.test ec256 v3_leaf -days 365
issue ed25519 ed25519.example.test ed25519 v3_leaf -days 365
issue ed448 ed448.example.test ed448 v3_leaf -days 365
SAN="DNS:*.wild.example.test,DNS:wild.example.test" \
    issue wild wild.example.test wild v3_leaf -days 365
issue expired expired.example.test shared v3_leaf -startdate 20200101000000Z -enddate 20210101000000Z
issue future future.example.test shared v3_leaf -startdate "$(ymd '+365 days')" -enddate "$(ymd '+730 days')"
issue expiring expiring-soon.example.test shared v3_leaf -days 10
issue sha1 sha1.example.test sha1 v3_leaf -days 365 -md sha1
issue long long.example.test shared v3_leaf -days 825
issue locked locked-p12.example.test shared v3_leaf -days 365
issue noperm noperm.example.test shared v3_leaf -days 365
issue huge huge.example.test shared v3_leaf -days 365
issue cafe cafe-latin1.example.test shared v3_leaf -days 365
selfsign selfsigned selfsigned.example.test v3_selfsigned 365 sha256

wait "$PID_DSA"
selfsign dsa dsa.example.test v3_selfsigned 365 sha256

# ML-DSA-65 certificate assembled from the ASN.1 template.
sed -e "s/@SERIAL@/0x01$("$OPENSSL" rand -hex 15)/" \
    -e "s/@PUBKEY_HEX@/$("$OPENSSL" rand -hex 1952)/" \
    -e "s/@SIG_HEX@/$("$OPENSSL" rand -hex 3309)/" "$MLDSA_TMPL" >"$W/mldsa.cnf"
q "$OPENSSL" asn1parse -genconf "$W/mldsa.cnf" -noout -out "$W/c/mldsa.der"
q "$OPENSSL" x509 -inform DER -in "$W/c/mldsa.der" -out "$W/c/mldsa.pem"

# ------------------------------------------------------ certificate meta ---
declare -A FP CN KT KB SIG SS CA NA
meta() { # NAME CN
    local name=$1 f=$W/c/$1.pem txt alg
    CN[$name]=$2
    FP[$name]=$("$OPENSSL" x509 -in "$f" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
    NA[$name]=$("$OPENSSL" x509 -in "$f" -noout -enddate -dateopt iso_8601 | sed -E 's/^notAfter=([0-9-]+) ([0-9:]+)Z$/\1T\2Z/')
    if [[ $name == mldsa ]]; then
        # OpenSSL 3.0 prints the raw OID; 3.5+ long name is ML-DSA-65.
        KT[$name]=ML-DSA-65 KB[$name]=0 SIG[$name]=ML-DSA-65 SS[$name]=0 CA[$name]=0
        return
    fi
    txt=$("$OPENSSL" x509 -in "$f" -noout -text)
    SIG[$name]=$(sed -n 's/^ *Signature Algorithm: //p' <<<"$txt" | head -n1)
    alg=$(sed -n 's/^ *Public Key Algorithm: //p' <<<"$txt")
    case $alg in
        rsaEncryption) KT[$name]=RSA ;;
        id-ecPublicKey) KT[$name]=EC ;;
        dsaEncryption) KT[$name]=DSA ;;
        ED25519) KT[$name]=Ed25519 KB[$name]=253 ;;
        ED448) KT[$name]=Ed448 KB[$name]=456 ;;
        *) die "unexpected key algorithm '$alg' in $name" ;;
    esac
    if [[ -z ${KB[$name]:-} ]]; then
        KB[$name]=$(sed -nE 's/^ *(RSA )?Public-Key: \(([0-9]+) bit\).*/\2/p' <<<"$txt" | head -n1)
    fi
    [[ -n ${KB[$name]} ]] || die "no key size for $name"
    if [[ $("$OPENSSL" x509 -in "$f" -noout -subject -nameopt RFC2253 | sed 's/^subject=//') == \
          $("$OPENSSL" x509 -in "$f" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//') ]]; then
        SS[$name]=1
    else
        SS[$name]=0
    fi
    if grep -q 'CA:TRUE' <<<"$txt"; then CA[$name]=1; else CA[$name]=0; fi
}

ROWS=()
row() { # NAME ABSPATH FORMAT
    local n=$1
    [[ -n ${FP[$n]:-} ]] || die "row for unknown cert $n"
    ROWS+=("${FP[$n]}	$2	$3	${CN[$n]}	${KT[$n]}	${KB[$n]}	${SIG[$n]}	${SS[$n]}	${CA[$n]}	${NA[$n]}")
}
BAD=()
bad() { BAD+=("$1	$2"); }
KEYS=()
keyrow() { # PATH MODE CERTNAME|- ENCRYPTED
    local fp=-
    [[ $3 != - ]] && fp=${FP[$3]}
    chmod "$2" "$1"
    KEYS+=("$1	$2	$fp	$4")
}

# ------------------------------------------------------------ the tree ---
log "writing tree"
C=$W/c
d() { mkdir -p "$@"; }
pem() { cp "$C/$1.pem" "$2"; }
der() { q "$OPENSSL" x509 -in "$C/$1.pem" -outform DER -out "$2"; }

ETC=$OUT/etc
d "$ETC/pki/ca" "$ETC/nginx/tls" "$ETC/ssl/certs" "$ETC/ssl/private" "$ETC/ssl/selfsigned" \
  "$ETC/ssl/legacy" "$ETC/ssl/dsa" "$OUT/opt/app/keystore" "$OUT/opt/app/certs" "$OUT/opt/app/bin" \
  "$OUT/opt/pq" "$OUT/srv/bad/loop"

# PKI material
pem root "$ETC/pki/ca/root-ca.pem"
der int "$ETC/pki/ca/intermediate-ca.der"
q "$OPENSSL" crl2pkcs7 -nocrl -certfile "$C/int.pem" -certfile "$C/root.pem" -out "$ETC/pki/ca/ca-chain.p7b"

# nginx site: leaf, full chain with human text, PKCS#8 key
pem rsa2048 "$ETC/nginx/tls/rsa2048.example.test.crt"
{
    echo "# Full chain for rsa2048.example.test (leaf first, then intermediate)"
    echo "# generated by certledger tests/data/mkfixtures.sh"
    echo
    "$OPENSSL" x509 -in "$C/rsa2048.pem" -text
    echo
    echo "Intermediate follows:"
    "$OPENSSL" x509 -in "$C/int.pem" -text
    echo
    echo "# end of chain"
} >"$ETC/nginx/tls/fullchain.pem"
q "$OPENSSL" pkey -in "$W/k/rsa2048.key" -out "$ETC/nginx/tls/privkey.pem"
pem wild "$ETC/nginx/tls/wild.example.test.pem"
q "$OPENSSL" pkey -in "$W/k/wild.key" -aes256 -passout pass:wild-key-pass \
    -out "$ETC/nginx/tls/wild.example.test.key"
cat >"$ETC/nginx/nginx.conf" <<'EOF'
user www-data;
worker_processes auto;
events { worker_connections 768; }
http {
    server {
        listen 443 ssl;
        server_name rsa2048.example.test;
        ssl_certificate     /etc/nginx/tls/fullchain.pem;
        ssl_certificate_key /etc/nginx/tls/privkey.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
    }
}
EOF

# /etc/ssl: DER .cer, PEM named .txt, DER named .pem, keys in private/
der ec256 "$ETC/ssl/certs/ec256.example.test.cer"
q "$OPENSSL" pkey -in "$W/k/ec256.key" -traditional -out "$ETC/ssl/private/ec256.example.test.key"
pem ed25519 "$ETC/ssl/certs/ed25519.example.test.txt"
q "$OPENSSL" pkey -in "$W/k/ed25519.key" -out "$ETC/ssl/private/ed25519.example.test.key"
der ed448 "$ETC/ssl/certs/ed448.example.test.pem"
q "$OPENSSL" pkey -in "$W/k/orphan.key" -out "$ETC/ssl/private/orphan.key"
pem selfsigned "$ETC/ssl/selfsigned/selfsigned.example.test.crt"
q "$OPENSSL" pkey -in "$W/k/selfsigned.key" -traditional -out "$ETC/ssl/selfsigned/selfsigned.example.test.key"
pem sha1 "$ETC/ssl/legacy/sha1.example.test.pem"
pem dsa "$ETC/ssl/dsa/dsa.example.test.pem"

# /opt/app: PKCS#7 DER, PKCS#12 variants, Java keystores, ordinary files
q "$OPENSSL" crl2pkcs7 -nocrl -certfile "$C/ec256.pem" -certfile "$C/int.pem" -outform DER \
    -out "$OUT/opt/app/certs/ec256-chain.p7c"
cat "$C/int.pem" "$C/root.pem" >"$W/chain-int-root.pem"
KS=$OUT/opt/app/keystore
q "$OPENSSL" pkcs12 -export -in "$C/future.pem" -inkey "$W/k/shared.key" -certfile "$W/chain-int-root.pem" \
    -name future -passout pass: -out "$KS/app-nopass.p12"
q "$OPENSSL" pkcs12 -export -in "$C/expiring.pem" -inkey "$W/k/shared.key" -certfile "$C/int.pem" \
    -name expiring -passout "pass:$STOREPASS" -out "$KS/app-changeit.p12"
q "$OPENSSL" pkcs12 -export -legacy -in "$C/expired.pem" -inkey "$W/k/shared.key" \
    -name expired -passout "pass:$STOREPASS" -out "$KS/app-legacy.p12"
q "$OPENSSL" pkcs12 -export -in "$C/locked.pem" -inkey "$W/k/shared.key" \
    -name locked -passout pass:s3cret-not-given -out "$KS/locked.p12"

# Java keystores: key entry (leaf + intermediate chain) + trusted root.
kt() { q "$KEYTOOL" -J-Xshare:auto -J-XX:TieredStopAtLevel=1 "$@"; }
javastore() { # TYPE DEST CERTNAME KEYNAME ALIAS
    local type=$1 dest=$2 cert=$3 key=$4 alias=$5
    q "$OPENSSL" pkcs12 -export -in "$C/$cert.pem" -inkey "$W/k/$key.key" -certfile "$C/int.pem" \
        -name "$alias" -passout "pass:$STOREPASS" -out "$W/$alias.p12"
    kt -importkeystore -noprompt -srckeystore "$W/$alias.p12" -srcstoretype PKCS12 \
        -srcstorepass "$STOREPASS" -destkeystore "$dest" -deststoretype "$type" \
        -deststorepass "$STOREPASS" -destkeypass "$STOREPASS"
    kt -importcert -noprompt -alias example-root-ca -file "$C/root.pem" \
        -keystore "$dest" -storetype "$type" -storepass "$STOREPASS"
}
log "building Java keystores"
( javastore JKS "$KS/keystore.jks" long shared long ) & PID_JKS=$!
( kt -genseckey -alias aes-data-key -keyalg AES -keysize 256 -keystore "$KS/secrets.jceks" \
        -storetype JCEKS -storepass "$STOREPASS" -keypass "$STOREPASS" &&
  kt -importcert -noprompt -alias example-root-ca -file "$C/root.pem" \
        -keystore "$KS/secrets.jceks" -storetype JCEKS -storepass "$STOREPASS" ) & PID_SECRETS=$!

wait "$PID_RSA4096"
issue rsa4096 rsa4096.example.test rsa4096 v3_leaf -days 365
javastore JCEKS "$KS/keystore.jceks" rsa4096 rsa4096 rsa4096
wait "$PID_JKS"
wait "$PID_SECRETS"

printf 'Example application.\nTLS material lives in keystore/ (storepass: changeit).\n' >"$OUT/opt/app/README"
cp /bin/true "$OUT/opt/app/bin/app"

# Post-quantum
cp "$C/mldsa.der" "$OUT/opt/pq/mldsa.example.test.der"

# /srv/bad
B=$OUT/srv/bad
{
    head -n1 "$C/noperm.pem"
    body=$(sed '1d;$d' "$C/noperm.pem")
    n=$(wc -l <<<"$body")
    head -n $((n / 2)) <<<"$body"
} >"$B/truncated.pem"
head -c 3072 /dev/zero | "$OPENSSL" enc -aes-128-ctr -nosalt \
    -K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000 >"$B/garbage.pem"
: >"$B/empty.crt"
cp "$C/huge.pem" "$B/huge.pem"
truncate -s $((6 * 1024 * 1024)) "$B/huge.pem"
{
    printf '\x30\x82\x04\x00'
    head -c 1024 /dev/zero | "$OPENSSL" enc -aes-128-ctr -nosalt \
        -K 0f0e0d0c0b0a09080706050403020100 -iv 00000000000000000000000000000001
} >"$B/blob.der"
CAFE=$B/$'caf\xe9.pem'
pem cafe "$CAFE"
pem noperm "$B/noperm.pem"
chmod 000 "$B/noperm.pem"
ln -s .. "$B/loop/back"
ln -s ../../etc/nginx/tls/rsa2048.example.test.crt "$B/link-to-rsa2048.pem"
mkfifo "$B/pipe.pem"
printf 'Broken and hostile inputs for the discovery scanner.\n' >"$B/README"

# ------------------------------------------------------------- manifests ---
log "writing manifests"
meta root "Example Test Root CA"
meta int "Example Test Intermediate CA"
for n in rsa2048 ec256 ed25519 ed448 rsa4096 wild expired future sha1 long selfsigned dsa mldsa; do
    meta "$n" "$n.example.test"
done
meta expiring expiring-soon.example.test
meta cafe cafe-latin1.example.test

row root "$ETC/pki/ca/root-ca.pem" PEM
row int "$ETC/pki/ca/intermediate-ca.der" DER
row int "$ETC/pki/ca/ca-chain.p7b" PKCS7
row root "$ETC/pki/ca/ca-chain.p7b" PKCS7
row rsa2048 "$ETC/nginx/tls/rsa2048.example.test.crt" PEM   # also reached via srv/bad/link-to-rsa2048.pem
row rsa2048 "$ETC/nginx/tls/fullchain.pem" PEM
row int "$ETC/nginx/tls/fullchain.pem" PEM
row wild "$ETC/nginx/tls/wild.example.test.pem" PEM
row ec256 "$ETC/ssl/certs/ec256.example.test.cer" DER
row ed25519 "$ETC/ssl/certs/ed25519.example.test.txt" PEM
row ed448 "$ETC/ssl/certs/ed448.example.test.pem" DER
row selfsigned "$ETC/ssl/selfsigned/selfsigned.example.test.crt" PEM
row sha1 "$ETC/ssl/legacy/sha1.example.test.pem" PEM
row dsa "$ETC/ssl/dsa/dsa.example.test.pem" PEM
row ec256 "$OUT/opt/app/certs/ec256-chain.p7c" PKCS7
row int "$OUT/opt/app/certs/ec256-chain.p7c" PKCS7
row future "$KS/app-nopass.p12" PKCS12
row int "$KS/app-nopass.p12" PKCS12
row root "$KS/app-nopass.p12" PKCS12
row expiring "$KS/app-changeit.p12" PKCS12
row int "$KS/app-changeit.p12" PKCS12
row expired "$KS/app-legacy.p12" PKCS12
row long "$KS/keystore.jks" JKS
row int "$KS/keystore.jks" JKS
row root "$KS/keystore.jks" JKS
row rsa4096 "$KS/keystore.jceks" JCEKS
row int "$KS/keystore.jceks" JCEKS
row root "$KS/keystore.jceks" JCEKS
row root "$KS/secrets.jceks" JCEKS
row mldsa "$OUT/opt/pq/mldsa.example.test.der" DER
row cafe "$CAFE" PEM

bad "$KS/locked.p12" locked
bad "$B/noperm.pem" permission
bad "$B/huge.pem" "too large"
bad "$B/truncated.pem" truncated
bad "$B/empty.crt" empty
bad "$B/garbage.pem" "not a certificate"
bad "$B/blob.der" "not a certificate"

keyrow "$ETC/nginx/tls/privkey.pem" 0600 rsa2048 0
keyrow "$ETC/nginx/tls/wild.example.test.key" 0600 - 1
keyrow "$ETC/ssl/private/ec256.example.test.key" 0640 ec256 0
keyrow "$ETC/ssl/private/ed25519.example.test.key" 0600 ed25519 0
keyrow "$ETC/ssl/private/orphan.key" 0600 - 0
keyrow "$ETC/ssl/selfsigned/selfsigned.example.test.key" 0644 selfsigned 0

{
    printf 'fingerprint_sha256\tpath\tformat\tcn\tkey_type\tkey_bits\tsig_alg\tself_signed\tis_ca\tnot_after\n'
    printf '%s\n' "${ROWS[@]}"
} >"$OUT/manifest.tsv"
{
    printf 'path\treason_keyword\n'
    printf '%s\n' "${BAD[@]}"
} >"$OUT/manifest-bad.tsv"
{
    printf 'path\tmode\tmatches_fingerprint\tencrypted\n'
    printf '%s\n' "${KEYS[@]}"
} >"$OUT/manifest-keys.tsv"

# ------------------------------------------------------------ self-check ---
nrows=$(($(wc -l <"$OUT/manifest.tsv") - 1))
((nrows > 25)) || die "self-check: only $nrows manifest rows"
while IFS=$'\t' read -r fp path _; do
    [[ $fp == fingerprint_sha256 ]] && continue
    [[ $fp =~ ^[0-9a-f]{64}$ ]] || die "self-check: bad fingerprint '$fp'"
    [[ -f $path && ! -L $path ]] || die "self-check: missing $path"
done <"$OUT/manifest.tsv"
[[ $(head -c 27 "$ETC/nginx/tls/privkey.pem") == "-----BEGIN PRIVATE KEY-----" ]] || die "self-check: privkey.pem not PKCS#8"
grep -q 'BEGIN RSA PRIVATE KEY' "$ETC/ssl/selfsigned/selfsigned.example.test.key" || die "self-check: no traditional RSA key"
grep -q 'BEGIN EC PRIVATE KEY' "$ETC/ssl/private/ec256.example.test.key" || die "self-check: no SEC1 key"
grep -q 'BEGIN ENCRYPTED PRIVATE KEY' "$ETC/nginx/tls/wild.example.test.key" || die "self-check: no encrypted key"
[[ -p $B/pipe.pem ]] || die "self-check: no FIFO"
log "done: $nrows certificate locations, ${#BAD[@]} bad files, ${#KEYS[@]} keys in $OUT"
