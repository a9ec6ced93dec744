#!/usr/bin/env bash
# deps.sh [--list] build|test|bench - install the Debian 12 packages
# certledger needs for that purpose, only those missing (sudo when not
# root); --list only prints their names.
set -euo pipefail

build=(build-essential cmake pkg-config libssl-dev libsqlite3-dev libjansson-dev
       libyaml-dev libcurl4-openssl-dev libevent-dev zlib1g-dev openssl ca-certificates)
test=("${build[@]}" libcmocka-dev clang libclang-rt-14-dev default-jre-headless python3
      valgrind util-linux procps
      nginx python3-aiosmtpd postgresql-15    # servers for the discover net tests
      prometheus prometheus-alertmanager rsyslog rsyslog-openssl   # receivers (serve)
      pebble bind9 bind9-dnsutils)            # ACME tests: Pebble, RFC 2136 through named
bench=("${build[@]}" libmbedtls-dev hyperfine time python3
       nginx nmap sslscan curl libevent-dev iproute2    # the network benchmark
       certbot lego pebble)                             # the ACME benchmark

list=0
if [ "${1:-}" = "--list" ]; then
	list=1
	shift
fi

case "${1:-build}" in
build) want=("${build[@]}") ;;
test) want=("${test[@]}") ;;
bench) want=("${bench[@]}") ;;
*) echo "usage: $0 [--list] build|test|bench" >&2; exit 2 ;;
esac
if [ "$list" = 1 ]; then
	echo "${want[*]}"
	exit 0
fi

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	SUDO=sudo
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
