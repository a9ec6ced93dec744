#!/usr/bin/env bash
# discover net with STARTTLS: a real SMTP server (aiosmtpd, STARTTLS required),
# a real PostgreSQL 15 (ssl=on), and small servers speaking the IMAP, POP3,
# FTP (AUTH TLS), XMPP and LDAP (StartTLS extended operation) dialects before
# a real TLS handshake. Each is scanned with --starttls PROTO; the row says
# which upgrade was used and carries the served certificate. Servers that
# refuse the upgrade give status starttls (and a tls.starttls finding); the
# dialect is chosen by port when --starttls is not given (as root: servers on
# the standard ports of a random 127/8 address).
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib_net.sh"

net_pki
PROTOS=(imap pop3 ftp xmpp ldap)
for p in smtp postgres "${PROTOS[@]}"; do net_leaf "$p" ec "DNS:$p.net.test"; done

net_ports 14
P_SMTPD=${PORTS[0]} P_PG=${PORTS[1]}
declare -A PP
i=2
for p in "${PROTOS[@]}"; do
    PP[$p]=${PORTS[i]}
    net_fake "$p" "${PP[$p]}" "$p"
    i=$((i + 1))
done
declare -A REFUSE
for p in smtp imap ldap xmpp pop3 ftp; do
    REFUSE[$p]=${PORTS[i]}
    net_fake "$p" "${REFUSE[$p]}" "$p" --refuse
    i=$((i + 1))
done
net_smtpd "$P_SMTPD" smtp
net_postgres "$P_PG" postgres

L=127.0.0.1
# exp_upgraded PROTO PORT: an ok row upgraded with PROTO, serving $PKI/CERT.pem
exp_upgraded() {
    exp_row $L "$2" "" status=ok error= starttls="$1" verify=ok leaf="$PKI/$3.pem" \
        chain="$PKI/$3.full.pem" location="tls:$L:$2"
}

# ---- each dialect, told with --starttls ----------------------------------------------------------
ALL=$T/expect-all.jsonl
: >"$ALL"
for p in "${PROTOS[@]}"; do
    scan --starttls "$p" --output "$T/$p.json" "$L:${PP[$p]}"
    exp_reset
    exp_upgraded "$p" "${PP[$p]}" "$p"
    soft check_rows "$T/$p.json" --exact
    cat "$EXPECT" >>"$ALL"
done
scan --starttls smtp --output "$T/smtpd.json" "$L:$P_SMTPD"
exp_reset
exp_upgraded smtp "$P_SMTPD" smtp
soft check_rows "$T/smtpd.json" --exact
cat "$EXPECT" >>"$ALL"
scan --starttls postgres --output "$T/postgres.json" "$L:$P_PG"
exp_reset
exp_upgraded postgres "$P_PG" postgres
soft check_rows "$T/postgres.json" --exact
cat "$EXPECT" >>"$ALL"

# ---- upgrades refused ----------------------------------------------------------------------------
# smtp: EHLO without STARTTLS, then 454; imap: STARTTLS advertised, answered
# "BAD STARTTLS not available"; ldap: protocolError; xmpp: no <starttls/>
# feature; pop3: -ERR; ftp: 534.
exp_reset
for p in "${!REFUSE[@]}"; do
    scan --starttls "$p" --output "$T/refused-$p.json" "$L:${REFUSE[$p]}"
done
"$PY" -c 'import json,sys; print(json.dumps([r for f in sys.argv[1:] for r in json.load(open(f))]))' \
    "$T"/refused-*.json >"$T/refused.json"
for p in "${!REFUSE[@]}"; do
    exp_row $L "${REFUSE[$p]}" "" status=starttls starttls="$p" verify= leaf_fingerprint= \
        tls_version=
done
exp_row $L "${REFUSE[imap]}" "" error~="STARTTLS not available"
soft check_rows "$T/refused.json" --exact
cat "$EXPECT" >>"$ALL"

# The wrong dialect, or none, against a STARTTLS service.
scan --starttls none --output "$T/none.json" "$L:${PP[imap]}"
exp_reset
exp_row $L "${PP[imap]}" "" status=not-tls verify= leaf_fingerprint=
soft check_rows "$T/none.json" --exact
scan --starttls smtp --output "$T/wrong.json" "$L:${PP[pop3]}"
exp_reset
exp_row $L "${PP[pop3]}" "" status=starttls starttls=smtp verify= leaf_fingerprint=
soft check_rows "$T/wrong.json" --exact

# ---- findings: tls.starttls for the refused upgrades ----------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" findings --format json
findings_starttls() {
    pyassert '
want = sorted("tls:127.0.0.1:%s" % p for p in args)
got = sorted(f["target"] for f in d if f["rule"] == "tls.starttls")
check(got == want, "tls.starttls findings:\n got  %r\n want %r" % (got, want))
check(not [f for f in d if f["rule"].startswith("tls.verify.")], "verify findings: %r" % d)
' "${REFUSE[@]}" "${PP[pop3]}"
}
soft findings_starttls

# ---- the dialect by port (needs the privileged ports: root only) ----------------------------------
if is_root; then
    A=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 2))
    declare -A STD=([25]=smtp [587]=smtp [110]=pop3 [143]=imap [389]=ldap [5222]=xmpp [21]=ftp)
    for port in "${!STD[@]}"; do
        p=${STD[$port]}
        tag="fake-$p-$A-$port"
        net_bg "$tag" "$PY" "$NET_PY" starttls "$p" --host "$A" --port "$port" \
            --ready "$T/.ready-$tag" --cert "$PKI/$p.full.pem" --key "$PKI/$p.key"
        net_wait_file "$tag" "$NET_PID" "$T/.ready-$tag"
    done
    DB=$T/db/byport.db
    # the default ports (21 is not one of them: given explicitly)
    scan --output "$T/byport.json" "$A" "$A:21"
    exp_reset
    for port in "${!STD[@]}"; do
        exp_row "$A" "$port" "" status=ok starttls="${STD[$port]}" \
            leaf="$PKI/${STD[$port]}.pem" verify=ok
    done
    soft check_rows "$T/byport.json" --exact
else
    echo "($TEST_NAME: not root, the dialect-by-port case is not run)" >&2
fi

finish
