#!/usr/bin/env bash
# valgrind.sh BINARY - runs the CLI paths the tests exercise under
# valgrind's memcheck; fails on any error or definite/indirect leak.
set -euo pipefail
bin=$(readlink -f "${1:?usage: $0 BINARY}")
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$here/scripts/sample-tree.sh" "$tmp/tree"
vg() {
	valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect "$bin" --db "$tmp/inv.db" "$@"
}
run() {
	local rc=0
	vg "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -eq 99 ] || grep -q '==[0-9]*==' "$tmp/err"; then
		grep '==[0-9]*==' "$tmp/err" | head -60
		echo "valgrind: errors in: certledger $*" >&2
		exit 1
	fi
}
echo changeit > "$tmp/pw"
run discover files --workers 2 --password-file "$tmp/pw" "$tmp/tree"
run discover files "$tmp/tree"
run ls
run ls --format json --expiring 400d
run ls --format csv --san '*.sample.test'
run ls --format ics
run summary
run summary --format json
fp=$("$bin" --db "$tmp/inv.db" ls --format csv | awk -F, 'NR==2{print $1}')
run show "$fp"
run show --format json "$fp"
run show --pem "$fp"
run show "$tmp/tree/etc/nginx/tls/www.fullchain.pem"
run tag "$fp" --owner team-x --env prod --tag pci
run tag --location "file:$tmp/tree/opt/*" --owner app
run events --since 1h
run events --format json
run findings
run findings --format csv --all
run ls --bogus
run help ls
# network discovery against servers on loopback: TLS, a closed port,
# plain text (not TLS), and a timeout
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/k.pem" \
	-out "$tmp/c.pem" -days 30 -subj /CN=vg.test -addext subjectAltName=DNS:vg.test 2>/dev/null
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(4)]
for x in s: x.bind(("127.0.0.1",0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r p_tls p_closed p_text p_silent <<<"$ports"
openssl s_server -accept "127.0.0.1:$p_tls" -cert "$tmp/c.pem" -key "$tmp/k.pem" -quiet \
	>/dev/null 2>&1 &
srv=$!
python3 -c 'import socket,sys,time
a=socket.socket(); a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
a.bind(("127.0.0.1", int(sys.argv[1]))); a.listen(8)
b=socket.socket(); b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
b.bind(("127.0.0.1", int(sys.argv[2]))); b.listen(8)
a.settimeout(0.05); b.settimeout(0.05); keep=[]; end=time.time()+120
while time.time() < end:
    for s, text in ((a, True), (b, False)):
        try:
            c, _ = s.accept()
        except OSError:
            continue
        if text:
            c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
        keep.append(c)' "$p_text" "$p_silent" &
txt=$!
trap 'kill $srv $txt 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 50); do
	if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$p_tls" 2>/dev/null; then break; fi
	sleep 0.1
done
run discover net --handshake-timeout 500ms --sni vg.test --output "$tmp/net.csv" \
	"127.0.0.1:$p_tls" "127.0.0.1:$p_closed" "127.0.0.1:$p_text" "127.0.0.1:$p_silent"
run discover net --format json --ports "$p_tls,$p_closed" 127.0.0.1 localhost
run endpoints
run endpoints --format json --failing
run discover net 127.0.0.0/8   # refused without --yes: nothing is sent
# policy: lint in every format, check (with its findings), explain, policy
printf 'version: 1\nprofiles:\n  - name: web\n    match: {location: ["tls:*"]}\n    validity: {cabf: true}\n' >"$tmp/policy.yaml"
run lint "$tmp/tree/etc/nginx/tls/www.fullchain.pem" "$tmp/c.pem"
run lint --format json --policy "$tmp/policy.yaml" "$tmp/c.pem"
run lint --format sarif "$tmp/c.pem"
run lint --format junit --profile web --policy "$tmp/policy.yaml" "$tmp/c.pem"
run lint --profile nope "$tmp/c.pem"
run check
run check --policy "$tmp/policy.yaml" --format json
run check --format csv --issuer '*'
run explain
run explain key.size
run policy show-default
run policy validate "$tmp/policy.yaml"
# the monitoring daemon: one round (jobs, policy check, evaluation, delivery to a
# file and to a closed port: retried), the listing, a test alert, then a daemon
# with its HTTP endpoints, a reload and SIGTERM
cat >"$tmp/serve.yaml" <<EOF
store: $tmp/inv.db
listen: "127.0.0.1:$p_silent"
policy: $tmp/policy.yaml
jobs:
  - name: tree
    files: [$tmp/tree]
    every: 1h
  - name: net
    net: { targets: ["127.0.0.1:$p_tls", "127.0.0.1:$p_closed"], timeout: 500ms }
    every: 1h
alerts:
  watch_domains: ["*.sample.test"]
routes:
  - notify: [file, hook]
notifiers:
  - name: file
    type: jsonl
    path: $tmp/alerts.jsonl
  - name: hook
    type: webhook
    url: http://127.0.0.1:$p_closed/hook
    secret: s3cret
EOF
run serve --once --config "$tmp/serve.yaml" --now "$(date -u -d '+300 days' +%Y-%m-%dT%H:%M:%SZ)"
run serve --once --skip-jobs --config "$tmp/serve.yaml"
run alerts
run alerts --format json --state firing
run alerts test file --config "$tmp/serve.yaml"
run alerts test hook --config "$tmp/serve.yaml"
printf 'jobs: [\n' >"$tmp/broken.yaml"
run serve --once --config "$tmp/broken.yaml"
kill "$txt" 2>/dev/null || true   # frees the port the daemon listens on
wait "$txt" 2>/dev/null || true
sleep 0.2
valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect "$bin" --db "$tmp/inv.db" serve \
	--config "$tmp/serve.yaml" >"$tmp/out" 2>"$tmp/err" &
vgd=$!
for _ in $(seq 1 300); do
	if python3 -c 'import sys, urllib.request
urllib.request.urlopen("http://127.0.0.1:%s/healthz" % sys.argv[1], timeout=5)' "$p_silent" 2>/dev/null; then break; fi
	sleep 0.2
done
python3 -c 'import sys, urllib.request
for p in ("/metrics", "/calendar.ics", "/healthz", "/nope"):
    try:
        urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], p), timeout=60).read()
    except Exception:
        pass' "$p_silent"
kill -HUP "$vgd"
sleep 1
kill -TERM "$vgd"
rc=0
wait "$vgd" || rc=$?
if [ "$rc" -ne 0 ] || grep -q '==[0-9]*==' "$tmp/err"; then
	grep '==[0-9]*==' "$tmp/err" | head -60
	echo "valgrind: errors in: certledger serve (daemon), exit $rc" >&2
	exit 1
fi
# the internal CA: init, issue (generated key, CSR, batch, refusals), revoke,
# both CRLs, list, show
printf 'valgrind passphrase\n' >"$tmp/ca.pw"
chmod 600 "$tmp/ca.pw"
run ca init "$tmp/ca" --org Valgrind --permit-dns vg.test --permit-ip 127.0.0.0/8 \
	--exclude-dns secret.vg.test --crl-url http://127.0.0.1:9/ca.crl --passphrase-file "$tmp/ca.pw"
run ca init "$tmp/ca-bad" --permit-ip 10.1.0.0/8 --no-passphrase
run ca issue "$tmp/ca" --dns www.vg.test --ip 127.0.0.1 --out "$tmp/ca-www" --record \
	--passphrase-file "$tmp/ca.pw"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca-app.key" \
	-subj /CN=app.vg.test -addext subjectAltName=DNS:app.vg.test -out "$tmp/ca-app.csr" 2>/dev/null
run ca issue "$tmp/ca" --csr "$tmp/ca-app.csr" --days 10 --out "$tmp/ca-app" \
	--passphrase-file "$tmp/ca.pw"
run ca issue "$tmp/ca" --dns www.other.test --out "$tmp/ca-no" --passphrase-file "$tmp/ca.pw"
run ca issue "$tmp/ca" --csr "$tmp/ca-app.key" --out "$tmp/ca-no" --passphrase-file "$tmp/ca.pw"
CERTLEDGER_CA_PASSPHRASE=wrong run ca issue "$tmp/ca" --dns x.vg.test --out "$tmp/ca-no"
printf '%s\n' "$tmp/ca-b1 b1.vg.test" "$tmp/ca-b2 b2.vg.test 127.0.0.2" \
	"$tmp/ca-b3 bad.other.test" >"$tmp/ca-batch"
run ca issue "$tmp/ca" --batch "$tmp/ca-batch" --workers 2 --passphrase-file "$tmp/ca.pw"
run ca revoke "$tmp/ca" --cert "$tmp/ca-www.pem" --reason keyCompromise \
	--passphrase-file "$tmp/ca.pw"
run ca revoke "$tmp/ca" 0123abcd --passphrase-file "$tmp/ca.pw"
run ca crl "$tmp/ca" --out "$tmp/ca.crl" --passphrase-file "$tmp/ca.pw"
run ca crl "$tmp/ca" --root --der --out "$tmp/ca-root.crl" --passphrase-file "$tmp/ca.pw"
run ca list "$tmp/ca"
run ca list "$tmp/ca" --format json --state revoked
run ca list "$tmp/ca" --format csv
run ca show "$tmp/ca"
run ca show "$tmp/ca" --format json
run ca issue --help
# managed certificates: apply (issue and deploy with a PKCS#12 file, hooks that
# succeed and fail), re-apply, --dry-run, renew --force, a failing issuer,
# rollback, revoke (replace first, and --no-renew), the listing, a spec with an error
printf 'managed vg\n' >"$tmp/mca.pw"
chmod 600 "$tmp/mca.pw"
run ca init "$tmp/mca" --permit-dns mg.test --passphrase-file "$tmp/mca.pw"
cat >"$tmp/managed.yaml" <<EOF2
kind: Issuer
metadata: {name: ca}
spec:
  ca: {dir: $tmp/mca, passphrase: {env: VG_CA_PASS}}
---
kind: Certificate
metadata: {name: web}
spec:
  dnsNames: [www.mg.test]
  issuerRef: {name: ca}
  duration: 10d
  output:
    dir: $tmp/mtls
    cert: web.pem
    key: web.key
    pkcs12: {file: web.p12, password: {env: VG_CA_PASS}}
  hooks: {deploy: ["true"]}
---
kind: Certificate
metadata: {name: api}
spec:
  dnsNames: [api.mg.test]
  issuerRef: {name: ca}
  privateKey: {size: 384, rotationPolicy: Never}
  output: {dir: $tmp/mtls}
  hooks: {deploy: ["exit 3"]}
EOF2
export VG_CA_PASS="managed vg"
run apply "$tmp/managed.yaml"
run apply "$tmp/managed.yaml"
run apply --dry-run "$tmp/managed.yaml"
run renew --dry-run
run renew --force --workers 2
VG_CA_PASS=wrong run renew --force web
run rollback web
run rollback nosuch
run revoke web --reason keyCompromise
run revoke web --no-renew
run revoke nosuch
run account show nosuch
run managed
run managed --format json
run managed --format csv
printf 'kind: Certificate\nmetadata: {name: x}\nspec: {dnsNames: [a]}\n' >"$tmp/bad-managed.yaml"
run apply "$tmp/bad-managed.yaml"
echo "valgrind: clean"
