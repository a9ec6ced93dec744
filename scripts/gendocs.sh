#!/usr/bin/env bash
# gendocs.sh BINARY - writes docs/cli.md from the binary's own help texts,
# so the manual and `certledger help CMD` never disagree. ctest checks
# that docs/cli.md is current (tests/e2e/0000-docs-current.sh).
set -euo pipefail
bin=${1:?usage: $0 BINARY}
cd "$(dirname "$0")/.."
{
	echo "# certledger manual"
	echo
	echo "Generated from \`certledger help\` by scripts/gendocs.sh; do not edit by hand."
	echo
	echo '```'
	"$bin" --help
	echo '```'
	for cmd in $("$bin" --help | awk '/^Commands:/{f=1;next} /^$/{f=0} f{print $1}'); do
		case $cmd in help|version) continue ;; esac
		echo
		echo "## certledger $cmd"
		echo
		echo '```'
		"$bin" help "$cmd"
		echo '```'
	done
} > docs/cli.md
