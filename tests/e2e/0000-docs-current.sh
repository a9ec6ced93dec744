#!/usr/bin/env bash
# docs/cli.md is generated from the help texts; fail when it is stale.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$CL_SRC/scripts" "$tmp/"
mkdir -p "$tmp/docs"
bash "$tmp/scripts/gendocs.sh" "$CERTLEDGER"
if ! diff -u "$CL_SRC/docs/cli.md" "$tmp/docs/cli.md"; then
	echo "docs/cli.md is stale: run scripts/gendocs.sh build/certledger" >&2
	exit 1
fi
