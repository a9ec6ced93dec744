#!/usr/bin/env bash
# quickstart.sh - on a fresh Debian 12 machine: install what is missing,
# build certledger, discover the system trust store and a sample tree into
# the default inventory ($XDG_DATA_HOME/certledger/inventory.db, else
# ~/.local/share/certledger/inventory.db) and print the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCL_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
sample=${XDG_CACHE_HOME:-$HOME/.cache}/certledger/sample-tree
scripts/sample-tree.sh "$sample"
roots=("$sample")
for d in /etc/ssl/certs /usr/share/ca-certificates /etc/pki/tls/certs; do
	[ -d "$d" ] && roots+=("$d")
done
./build/certledger discover files "${roots[@]}"
./build/certledger summary
echo
echo "Expiring within 30 days:"
./build/certledger ls --expiring 30d || echo "  (none)"
echo
echo "Next: ./build/certledger ls --help, ./build/certledger findings"
