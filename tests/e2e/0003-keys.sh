#!/usr/bin/env bash
# Private keys: matched to their certificates and described (path, mode,
# container), a group/world-readable key is a finding, and the key material
# never reaches the store or any output.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

make_fixtures
need strings

assert_rc 0 "$CERTLEDGER" --db "$DB" discover files --password-file "$PWFILE" "$FX"
printf '%s\n%s\n' "$OUT" "$ERR" >"$T/outputs.txt"

# ---- what must never appear ---------------------------------------------------------
# Base64 lines of every PEM private key of the tree (plain and encrypted), and
# the private components of every key (as their bytes would sit in a binary
# column): RSA d, p, q, dP, dQ, qInv; the EC/EdDSA/DSA private value; and the
# ciphertext of the encrypted key.
: >"$T/b64-lines"
: >"$T/der-keys"
mkdir -p "$T/priv"
tail -n +2 "$FX_KEYS" | while IFS=$'\t' read -r path mode fp _enc; do
    name=$(basename "$path")
    # full lines only: a short last line could occur in any base64 by chance
    sed -n '/-----BEGIN .*PRIVATE KEY-----/,/-----END .*PRIVATE KEY-----/{/-----/d;/:/d;/^$/d;p}' "$path" |
        awk 'length($0) >= 40' >>"$T/b64-lines"
    # (wild-key-pass: the fixture's password of its one encrypted key)
    openssl pkey -in "$path" -passin pass:wild-key-pass -noout -text >"$T/priv/$name.txt" 2>&1 ||
        fail "openssl cannot read $path: $(cat "$T/priv/$name.txt")"
    "$PY" - "$T/priv/$name.txt" "$T/priv/$name" >/dev/null <<'EOF' || fail "no private components found in $path"
import re, sys
text, out = sys.argv[1], sys.argv[2]
private = {"priv", "privateExponent", "prime1", "prime2", "exponent1", "exponent2", "coefficient"}
sect, parts = None, {}
for line in open(text):
    if re.match(r"^[A-Za-z][A-Za-z0-9 ]*:\s*$", line):
        sect = line.strip().rstrip(":")
    elif sect in private and re.match(r"^\s+[0-9a-f]{2}(:[0-9a-f]{2})*:?\s*$", line):
        parts.setdefault(sect, []).append(line.strip().rstrip(":"))
    elif not line.startswith(" "):
        sect = None
n = 0
for k, v in parts.items():
    b = bytes.fromhex("".join(v).replace(":", "")).lstrip(b"\0")
    if len(b) >= 24:
        open("%s.%s.bin" % (out, k), "wb").write(b)
        print("%s.%s.bin" % (out, k))
        n += 1
sys.exit(0 if n else 1)
EOF
done
ls "$T/priv/"*.bin >"$T/der-keys"
# the ciphertext of the encrypted key (past its PBES2 parameters)
WILD_KEY=$FX/etc/nginx/tls/wild.example.test.key
sed '/-----/d' "$WILD_KEY" | base64 -d | tail -c +160 >"$T/priv/wild-ciphertext.bin"
echo "$T/priv/wild-ciphertext.bin" >>"$T/der-keys"
[[ $(wc -l <"$T/b64-lines") -ge 20 ]] || fail "expected key material to look for, got $(wc -l <"$T/b64-lines") lines"
# 6 key files: 2 RSA (6 components each) + 4 single-valued keys + the ciphertext
assert_eq 17 "$(wc -l <"$T/der-keys")" "private components to look for"

# no_key_material WHAT FILE...: none of the base64 lines, nor any 24-byte
# window of a key's DER, occurs in FILE (or in strings of FILE).
no_key_material() {
    local what=$1; shift
    local f hit
    for f in "$@"; do
        [[ -e $f ]] || continue
        if hit=$(grep -a -F -f "$T/b64-lines" -- "$f" | head -n 3) && [[ -n $hit ]]; then
            fail "$what ($f) contains private key base64: $hit"
        fi
        if hit=$(strings -a -n 16 -- "$f" | grep -F -f "$T/b64-lines" | head -n 3) && [[ -n $hit ]]; then
            fail "strings of $what ($f) contain private key base64: $hit"
        fi
    done
    "$PY" - "$T/der-keys" "$@" <<'EOF' || fail "$what contains private key DER bytes"
import sys
keys = [open(p, "rb").read() for p in open(sys.argv[1]).read().split()]
for f in sys.argv[2:]:
    try:
        data = open(f, "rb").read()
    except FileNotFoundError:
        continue
    for k in keys:
        for off in range(0, len(k) - 24 + 1, 8):
            if k[off:off + 24] in data:
                print("%s: bytes %d..%d of a private key" % (f, off, off + 24), file=sys.stderr)
                sys.exit(1)
EOF
}

no_key_material "discover output" "$T/outputs.txt"

# Every read-side view of the inventory.
: >"$T/views.txt"
for cmd in "ls --state all --format json" "ls --state all --format csv" "ls --state all" \
           "summary" "summary --format json" "findings --all --format json" "findings --all" \
           "events --format json" "events --format csv"; do
    # shellcheck disable=SC2086
    run "$CERTLEDGER" --db "$DB" $cmd
    assert_eq 0 "$RC" "exit status of $cmd"
    printf '%s\n%s\n' "$OUT" "$ERR" >>"$T/views.txt"
done
for fp in $(tail -n +2 "$FX_MANIFEST" | cut -f1 | sort -u); do
    for opts in "" "--format json" "--pem"; do
        # shellcheck disable=SC2086
        run "$CERTLEDGER" --db "$DB" show $opts "$fp"
        assert_eq 0 "$RC" "exit status of show $opts $fp"
        printf '%s\n%s\n' "$OUT" "$ERR" >>"$T/views.txt"
    done
done
for path in "$FX/etc/nginx/tls/privkey.pem" "$FX/etc/ssl/private/ec256.example.test.key"; do
    run "$CERTLEDGER" --db "$DB" show "$path"
    printf '%s\n%s\n' "$OUT" "$ERR" >>"$T/views.txt"
done
no_key_material "query output" "$T/views.txt"

# The store itself: the database file, its WAL and shared memory, and a dump.
no_key_material "the store" "$DB" "$DB-wal" "$DB-shm"
"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join(c.iterdump()))' "$DB" >"$T/dump.sql"
no_key_material "an SQL dump of the store" "$T/dump.sql"
assert_not_contains "$(cat "$T/dump.sql")" "PRIVATE KEY" "SQL dump of the store"

# ---- keys matched to certificates: show FP names the key file and its mode -------------
tail -n +2 "$FX_KEYS" | while IFS=$'\t' read -r path mode fp _enc; do
    [[ $fp != - ]] || continue
    run "$CERTLEDGER" --db "$DB" show "$fp"
    assert_eq 0 "$RC" "show $fp"
    case $mode in
        0600) extra="" ;;
        0640) extra=" — readable by its group" ;;
        0644) extra=" — readable by everyone" ;;
        *) fail "unexpected mode $mode in manifest-keys.tsv" ;;
    esac
    assert_contains "$OUT" "  key present at $path, mode $mode$extra (PEM, present)" "show $fp (key $path)"
    run "$CERTLEDGER" --db "$DB" show --format json "$fp"
    pyassert '
path, mode = args
check(len(d) == 1, "one certificate expected, got %d" % len(d))
keys = [k for k in d[0]["keys"] if k["where"] == path]
check(len(keys) == 1, "key %s not in show --format json: %r" % (path, d[0]["keys"]))
k = keys[0]
check(k["mode"] == mode, "mode %r, expected %r" % (k["mode"], mode))
check(k["state"] == "present", k)
check(k["container"] == "PEM", k)
check(k["encrypted"] is False, k)
check(k["readable_by_others"] is (mode != "0600"), k)
check(set(k) == {"where", "mode", "state", "readable_by_others", "encrypted", "container"},
      "unexpected key fields %r" % sorted(k))
' "$path" "$mode"
done

# The rsa2048 leaf specifically: its key is privkey.pem, mode 0600.
RSA_FP=$(fp_of rsa2048.example.test)
run "$CERTLEDGER" --db "$DB" show "$RSA_FP"
assert_contains "$OUT" "Private keys
  key present at $FX/etc/nginx/tls/privkey.pem, mode 0600 (PEM, present)" "show of the rsa2048 leaf"

# A certificate without a key says so in its "Private keys" section.
run "$CERTLEDGER" --db "$DB" show "$(fp_of sha1.example.test)"
assert_contains "$OUT" "Private keys
  none found

Events" "show of a certificate without a key"

# The encrypted and the orphan key are still recorded (as key.new events).
assert_rc 0 "$CERTLEDGER" --db "$DB" events --type key.new --format json
pyassert '
fx = args[0]
by_loc = {e["location"]: e for e in d}
for name, enc in (("etc/nginx/tls/wild.example.test.key", True), ("etc/ssl/private/orphan.key", False)):
    e = by_loc.get("file:%s/%s" % (fx, name))
    check(e is not None, "no key.new event for %s: %r" % (name, sorted(by_loc)))
    check(e["detail"].get("encrypted") is enc, "%s: detail %r" % (name, e["detail"]))
    check(e["detail"].get("mode") == "0600", "%s: detail %r" % (name, e["detail"]))
' "$FX"

# ---- readable keys are findings ----------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" findings --rule file.key-readable --format json
pyassert '
fx, keys_tsv = args
rows = [l.rstrip("\n").split("\t") for l in open(keys_tsv)][1:]
by_target = {}
for x in d:
    by_target.setdefault(x["target"], []).append(x)
for path, mode, fp, enc in rows:
    t = "file:" + path
    got = by_target.get(t, [])
    if mode == "0600":
        check(not got, "%s (mode 0600) must not be a key-readable finding: %r" % (path, got))
        continue
    check(len(got) == 1, "%s (mode %s): expected one file.key-readable finding, got %r" % (path, mode, got))
    f = got[0]
    sev, who = ("error", "everyone") if mode == "0644" else ("warning", "its group")
    check(f["severity"] == sev, "%s: severity %r, expected %r" % (path, f["severity"], sev))
    check(who in f["message"] and mode in f["message"], "%s: message %r" % (path, f["message"]))
    check(f["resolved_at"] is None, f)
' "$FX" "$FX_KEYS"
SELF_KEY=$FX/etc/ssl/selfsigned/selfsigned.example.test.key
assert_eq 0644 "$(stat -c %04a "$SELF_KEY")" "mode of the fixture's world-readable key"
assert_contains "$(cat "$T/outputs.txt")" "$SELF_KEY: private key readable by everyone (mode 0644)" "discover stderr for the 0644 key"

# Fixing the mode resolves the finding (kept, with resolved_at).
chmod 0600 "$SELF_KEY"
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files --password-file "$PWFILE" "$FX"
assert_not_contains "$ERR" "$SELF_KEY" "discover stderr after chmod 600"
run "$CERTLEDGER" --db "$DB" findings --rule file.key-readable --target "$SELF_KEY" --format json
pyassert 'check(d == [], "finding still open after chmod 600: %r" % d)'
assert_rc 0 "$CERTLEDGER" --db "$DB" findings --all --rule file.key-readable --target "$SELF_KEY" --format json
pyassert 'check(len(d) == 1 and d[0]["resolved_at"] is not None, "resolved finding expected: %r" % d)'
run "$CERTLEDGER" --db "$DB" show "$(fp_of selfsigned.example.test)"
assert_contains "$OUT" "key present at $SELF_KEY, mode 0600 (PEM, present)" "show after chmod 600"
no_key_material "the store after a rescan" "$DB" "$DB-wal"

finish
