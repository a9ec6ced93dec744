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
echo "valgrind: clean"
