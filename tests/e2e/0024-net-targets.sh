#!/usr/bin/env bash
# discover net target forms: CIDR blocks, ranges (long and short), @FILE with
# comments, --exclude (address, CIDR, range, @FILE; the excluded address's
# server never sees a connection), a hostname (localhost: every address it
# resolves to, SNI = the name), IPv6, --sni @FILE; more than 65,536 addresses
# refused without --yes (exit 2, nothing scanned); usage errors (exit 2, a
# message naming the problem, nothing scanned); discover net --help.
# Servers listen on a random 127.x.y.16/28 block (all of 127/8 is loopback).
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"
need nginx

net_pki
net_leaf multi ec DNS:multi.net.test
net_leaf localhost ec DNS:localhost,IP:127.0.0.1,IP:::1
net_leaf rsa ec DNS:rsa.net.test
net_leaf ecdsa ec DNS:ecdsa.net.test

BASE=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
X() { printf '%s.%d' "$BASE" $((16 + $1)); }
net_ports 3
P=${PORTS[0]} P_LH=${PORTS[1]} P_SNI=${PORTS[2]}
# TLS on X1 X2 X5 X6; on X3 and X4 a listener that notes every connection.
NGX_ADDRS=("$(X 1)" "$(X 2)" "$(X 5)" "$(X 6)")
net_nginx_block "$P" multi.net.test "$PKI/multi.full.pem" "$PKI/multi.key"
NGX_ADDRS=(127.0.0.1)
if ((NET_V6)); then NGX_ADDRS+=("[::1]"); fi
net_nginx_block "$P_LH" localhost "$PKI/localhost.full.pem" "$PKI/localhost.key"
NGX_ADDRS=(127.0.0.1)
net_nginx_block "$P_SNI" rsa.net.test "$PKI/rsa.full.pem" "$PKI/rsa.key"
net_nginx_block "$P_SNI" ecdsa.net.test "$PKI/ecdsa.full.pem" "$PKI/ecdsa.key"
net_nginx_start
M3=$T/marker-x3 M4=$T/marker-x4
net_marker "$P" "$M3" "$(X 3)"
net_marker "$P" "$M4" "$(X 4)"

# scan_set NAME EXPECTED-ADDRESSES ARGS...: a scan into a fresh inventory;
# its rows are exactly those addresses on port P, each ok with the multi cert.
scan_set() {
    local name=$1 want=$2 a
    shift 2
    DB=$T/db/$name.db
    scan --output "$T/$name.json" "$@"
    exp_reset
    for a in $want; do
        exp_row "$a" "$P" "" status=ok leaf="$PKI/multi.pem" verify=ok
    done
    soft check_rows "$T/$name.json" --exact
}

# ---- CIDR, ranges, @FILE, --exclude -------------------------------------------------------------
scan_set cidr "$(X 1) $(X 2)" --ports "$P" "$(X 0)/30" --exclude "$(X 3)"
scan_set range-short "$(X 5) $(X 6)" --ports "$P" "$(X 4)-$((16 + 6))" --exclude "$(X 4)"
printf '# addresses never to probe\n\n%s\n# %s\n' "$(X 4)" "$(X 5)" >"$T/exclude.txt"
scan_set range-long "$(X 5) $(X 6)" --ports "$P" "$(X 4)-$(X 6)" --exclude "@$T/exclude.txt"
printf '# targets\n\n%s:%s\n%s\n\n# %s\n' "$(X 1)" "$P" "$(X 5)" "$(X 6)" >"$T/targets.txt"
scan_set file "$(X 1) $(X 5)" --ports "$P" "@$T/targets.txt"
scan_set excl-cidr "$(X 1) $(X 5) $(X 6)" --ports "$P" "$(X 0)/29" --exclude "$(X 2)/31" \
    --exclude "$(X 4)-$(X 4)"
# The excluded listeners were never connected to.
[[ ! -e $M3 && ! -e $M4 ]] || fail "an excluded address was connected to: $(cat "$M3" "$M4" 2>/dev/null)"

# ---- a hostname: every address it resolves to, SNI = the name -----------------------------------
mapfile -t LH_ADDRS < <("$PY" -c '
import socket
seen = []
for ai in socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM):
    a = ai[4][0]
    if a not in seen:
        seen.append(a)
print("\n".join(seen))')
for form in host hostport; do
    DB=$T/db/localhost-$form.db
    if [[ $form == host ]]; then
        scan --output "$T/lh-$form.json" --ports "$P_LH" localhost
    else
        scan --output "$T/lh-$form.json" "localhost:$P_LH"
    fi
    exp_reset
    for a in "${LH_ADDRS[@]}"; do
        h=$a
        [[ $a == *:* ]] && h="[$a]"
        exp_row "$a" "$P_LH" localhost status=ok hostname=localhost verify=ok \
            leaf="$PKI/localhost.pem" location="tls:$h:$P_LH/localhost"
    done
    soft check_rows "$T/lh-$form.json" --exact
done

# A hostname target keeps its own name even with --sni; --exclude applies to
# the addresses it resolves to.
DB=$T/db/localhost-sni.db
scan --output "$T/lh-sni.json" --sni rsa.net.test "localhost:$P_LH"
soft check_rows "$T/lh-sni.json" --exact
DB=$T/db/localhost-excl.db
scan --output "$T/lh-excl.json" --ports "$P_LH" --exclude 127.0.0.0/8 --exclude ::1 localhost
exp_reset
soft check_rows "$T/lh-excl.json" --exact

# ---- IPv6: a /128 and [::1]:PORT ---------------------------------------------------------------
if ((NET_V6)); then
    DB=$T/db/v6.db
    scan --output "$T/v6.json" --ports "$P_LH" ::1/128
    exp_reset
    exp_row ::1 "$P_LH" "" status=ok leaf="$PKI/localhost.pem" location="tls:[::1]:$P_LH" verify=ok
    soft check_rows "$T/v6.json" --exact
    scan --output "$T/v6b.json" "[::1]:$P_LH"
    soft check_rows "$T/v6b.json" --exact
else
    echo "($TEST_NAME: no ::1 on the loopback, the IPv6 cases are not run)" >&2
fi

# ---- --sni @FILE ------------------------------------------------------------------------------------
printf 'rsa.net.test\n# a comment\n\necdsa.net.test\n' >"$T/names.txt"
DB=$T/db/sni.db
scan --output "$T/sni.json" --sni "@$T/names.txt" "127.0.0.1:$P_SNI"
exp_reset
exp_row 127.0.0.1 "$P_SNI" rsa.net.test status=ok leaf="$PKI/rsa.pem" verify=ok \
    location="tls:127.0.0.1:$P_SNI/rsa.net.test" hostname=
exp_row 127.0.0.1 "$P_SNI" ecdsa.net.test status=ok leaf="$PKI/ecdsa.pem" verify=ok \
    location="tls:127.0.0.1:$P_SNI/ecdsa.net.test" hostname=
soft check_rows "$T/sni.json" --exact

# ---- one worker, one connection at a time, rate-limited: the same rows -----------------------
SECONDS=0
scan_set slow "$(X 1) $(X 2) $(X 5) $(X 6)" --ports "$P" --workers 1 --concurrency 1 --rate 20 \
    "$(X 0)/29" --exclude "$(X 3)" --exclude "$(X 4)"
((SECONDS < 30)) || fail "--rate 20 over 6 addresses took ${SECONDS}s"

# ---- more than 65,536 addresses: refused without --yes ----------------------------------------
# (timeout: should the scan start anyway, it is stopped; it is never let run)
DB=$T/db/big.db
big() { # EXPECTED-IN-STDERR TARGET...
    local want=$1
    shift
    assert_rc 2 timeout 20 "$CERTLEDGER" --db "$DB" discover net --no-progress --ports "$P" "$@"
    assert_contains "$ERR" "$want" "stderr of discover net $*"
    assert_contains "$ERR" "--yes" "stderr of discover net $*"
}
soft big 131072 127.0.0.0/15
soft big 65537 127.0.0.0-127.1.0.0

# ---- usage errors: exit 2, a message naming the problem, nothing scanned ----------------------
DB=$T/db/usage.db
X3=$(X 3)
usage() { # NEEDLE ARGS...
    local needle=$1
    shift
    assert_rc 2 timeout 20 "$CERTLEDGER" --db "$DB" discover net --no-progress "$@"
    [[ -n $ERR ]] || fail "discover net $*: nothing on stderr"
    assert_contains "$ERR" "$needle" "stderr of discover net $*"
    assert_eq "" "$OUT" "stdout of discover net $*"
}
soft usage "TARGET" --ports "$P"
soft usage "--ports" --ports 0 "$X3"
soft usage "--ports" --ports 65536 "$X3"
soft usage "--ports" --ports abc "$X3"
soft usage "--ports" --ports 10-5 "$X3"
soft usage "--ports" --ports "" "$X3"
soft usage "--starttls" --starttls gopher "$X3:$P"
soft usage "xyz" --connect-timeout xyz "$X3:$P"
soft usage "-1s" --handshake-timeout -1s "$X3:$P"
soft usage "--concurrency" --concurrency 0 "$X3:$P"
soft usage "--workers" --workers 0 "$X3:$P"
soft usage "--rate" --rate -5 "$X3:$P"
soft usage ".txt" --output "$T/x.txt" "$X3:$P"
soft usage "--format" --format yaml "$X3:$P"
soft usage "--exclude" --exclude not-an-address "$X3:$P"
soft usage "--sni" --sni 'bad name!' "$X3:$P"
soft usage "127.0.0.1/33" 127.0.0.1/33
soft usage "$X3-$(X 1)" "$X3-$(X 1)"
soft usage "$X3:0" "$X3:0"
soft usage "$X3:99999" "$X3:99999"
soft usage "[::1" "[::1:$P"
soft usage "$T/no-such-file" "@$T/no-such-file"
soft usage "--bogus" --bogus "$X3:$P"
[[ ! -e $M3 ]] || fail "a usage error connected to $X3: $(cat "$M3")"
[[ ! -e $T/x.txt ]] || fail "a usage error wrote the --output file"
if [[ -e $DB ]]; then
    endpoints_to "$T/usage-ep.json"
    soft pyassert -f "$T/usage-ep.json" 'check(d == [], "endpoints after usage errors: %r" % d)'
fi

# A store that cannot be opened is a runtime error (3), and nothing is probed.
: >"$T/not-a-dir"
soft assert_rc 3 timeout 20 "$CERTLEDGER" --db "$T/not-a-dir/x.db" discover net --no-progress "$X3:$P"
[[ ! -e $M3 ]] || fail "a scan with an unusable store connected to $X3: $(cat "$M3")"

# ---- --help ---------------------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" discover net --help
assert_eq "" "$ERR" "stderr of discover net --help"
help_text() {
    local o
    assert_contains "$OUT" "discover net" "discover net --help"
    for o in --ports --sni --exclude --yes --concurrency --rate --workers --connect-timeout \
        --handshake-timeout --starttls-timeout --starttls --ca-bundle --output --progress --format; do
        assert_contains "$OUT" "$o" "discover net --help"
    done
}
soft help_text

# ---- control: the marker listener does notice a probe ---------------------------------------------
DB=$T/db/control.db
scan --output "$T/control.json" "$X3:$P"
[[ -s $M3 ]] || fail "the listener on $X3 did not notice the probe: the exclusion checks prove nothing"
exp_reset
exp_row "$X3" "$P" "" status=reset leaf_fingerprint=
soft check_rows "$T/control.json" --exact

# a --ca-bundle that does not exist is a usage error before anything is sent
assert_rc 2 "$CERTLEDGER" --db "$DB" discover net --ca-bundle "$T/missing.pem" 127.0.0.1:9
assert_contains "$ERR" "missing.pem: cannot read the trust anchors"

finish
