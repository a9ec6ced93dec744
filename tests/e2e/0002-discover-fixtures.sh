#!/usr/bin/env bash
# discover files over the generated fixture tree: every certificate-location
# of manifest.tsv is recorded with its exact fields and nothing else is; the
# summary line counts; bad files get one stderr line each and the walk goes
# on; PKCS#12 passwords (locked / wrong password).
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

make_fixtures

# The tree and the store belong to nobody, who runs the scan: everything is
# readable except srv/bad/noperm.pem (mode 000), which must be "permission
# denied". (Not root: noperm.pem is unreadable for us anyway.)
if is_root; then chown -R -h "$NOBODY:$NOBODY" "$FX" "$T/db"; fi

assert_rc 0 as_nobody "$CERTLEDGER" --db "$DB" discover files --password-file "$PWFILE" "$FX"
DISCOVER_OUT=$OUT
DISCOVER_ERR=$ERR

# ---- the summary line ---------------------------------------------------------
ROWS=$(($(wc -l <"$FX_MANIFEST") - 1))
UNIQUE=$(tail -n +2 "$FX_MANIFEST" | cut -f1 | sort -u | wc -l)
NKEYFILES=$(($(wc -l <"$FX_KEYS") - 1))
# keys: the key files, plus one key entry in each of app-nopass.p12,
# app-changeit.p12, app-legacy.p12 (opened with changeit), keystore.jks and
# keystore.jceks
NKEYS=$((NKEYFILES + 5))
[[ $DISCOVER_OUT =~ ^discovered\ ([0-9]+)\ files\ read,\ ([0-9]+)\ certificates\ \(([0-9]+)\ new,\ ([0-9]+)\ seen\),\ ([0-9]+)\ keys,\ ([0-9]+)\ unreadable,\ ([0-9]+)\ problems,\ ([0-9]+)\ gone\ in\ [0-9.]+s$ ]] ||
    fail "summary line has an unexpected format: [$DISCOVER_OUT]"
assert_eq "$ROWS" "${BASH_REMATCH[2]}" "certificates in the summary line (one per manifest row)"
assert_eq "$UNIQUE" "${BASH_REMATCH[3]}" "new certificates in the summary line (distinct fingerprints)"
assert_eq "$((ROWS - UNIQUE))" "${BASH_REMATCH[4]}" "seen certificates in the summary line"
assert_eq "$NKEYS" "${BASH_REMATCH[5]}" "keys in the summary line"
assert_eq 1 "${BASH_REMATCH[6]}" "unreadable files in the summary line (noperm.pem)"
assert_eq 0 "${BASH_REMATCH[8]}" "gone in the summary line of a first run"

# ---- every manifest row, exactly, and nothing else ---------------------------------
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --state all --format json
printf '%s' "$OUT" >"$T/all.json"
pyassert -f "$T/all.json" '
import re
fx_manifest, = args

def esc(b):
    """certledger'"'"'s cl_escape_bytes: invalid UTF-8, backslash, controls -> \\xNN"""
    out, i = [], 0
    while i < len(b):
        c = b[i]
        n = 1 if c < 0x80 else 2 if 0xc2 <= c <= 0xdf else 3 if 0xe0 <= c <= 0xef else \
            4 if 0xf0 <= c <= 0xf4 else 0
        s = None
        if n and c != 0x5c and c >= 0x20 and c != 0x7f and i + n <= len(b):
            try:
                s = b[i:i + n].decode("utf-8")
            except UnicodeDecodeError:
                s = None
        if s is None:
            out.append("\\x%02x" % c); i += 1
        else:
            out.append(s); i += n
    return "".join(out)

by_fp = {}
for c in d:
    check(c["fingerprint_sha256"] not in by_fp, "fingerprint listed twice: %s" % c["fingerprint_sha256"])
    by_fp[c["fingerprint_sha256"]] = c

MLDSA = ("ML-DSA-65", "2.16.840.1.101.3.4.3.18")
want_pairs = set()
with open(fx_manifest, "rb") as f:
    lines = f.read().split(b"\n")
header = lines[0].decode().split("\t")
check(header == ["fingerprint_sha256", "path", "format", "cn", "key_type", "key_bits",
                 "sig_alg", "self_signed", "is_ca", "not_after"], "manifest header %r" % header)
for line in lines[1:]:
    if not line:
        continue
    fp, path, fmt, cn, kt, kb, sig, ss, ca, na = line.split(b"\t")
    fp, fmt, cn, kt, kb, sig, ss, ca, na = (x.decode() for x in (fp, fmt, cn, kt, kb, sig, ss, ca, na))
    where = esc(path)
    what = "%s at %s" % (cn, where)
    check(fp in by_fp, "%s: fingerprint %s not in the inventory" % (what, fp))
    c = by_fp[fp]
    locs = [l for l in c["locations"] if l["kind"] == "file" and l["where"] == where]
    check(len(locs) == 1, "%s: expected one location file:%s, got %r" % (what, where, c["locations"]))
    l = locs[0]
    check(l["state"] == "present", "%s: location state %r" % (what, l["state"]))
    check(l["detail"] is not None and l["detail"].split(" ")[0] == fmt,
          "%s: container detail %r, expected %s" % (what, l["detail"], fmt))
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", l["first_seen"] or "") and
          l["first_seen"] == l["last_seen"], "%s: first/last seen %r %r" % (what, l["first_seen"], l["last_seen"]))
    want_pairs.add((fp, where))
    check(c["subject_cn"] == cn, "%s: subject_cn %r" % (what, c["subject_cn"]))
    check(c["key_type"] == kt, "%s: key_type %r, expected %r" % (what, c["key_type"], kt))
    check(c["key_bits"] == (None if kb == "0" else int(kb)),
          "%s: key_bits %r, expected %s" % (what, c["key_bits"], "null" if kb == "0" else kb))
    if sig in MLDSA:
        check(c["sig_alg"] in MLDSA, "%s: sig_alg %r, expected one of %r" % (what, c["sig_alg"], MLDSA))
    else:
        check(c["sig_alg"] == sig, "%s: sig_alg %r, expected %r" % (what, c["sig_alg"], sig))
    check(c["self_signed"] is (ss == "1"), "%s: self_signed %r, expected %s" % (what, c["self_signed"], ss))
    check(c["is_ca"] is (ca == "1"), "%s: is_ca %r, expected %s" % (what, c["is_ca"], ca))
    check(c["not_after"] == na, "%s: not_after %r, expected %r" % (what, c["not_after"], na))

got_pairs = {(c["fingerprint_sha256"], l["where"]) for c in d for l in c["locations"]}
kinds = {l["kind"] for c in d for l in c["locations"]}
check(kinds == {"file"}, "location kinds %r" % kinds)
extra = sorted(got_pairs - want_pairs)
check(not extra, "not in the manifest but in the inventory: %r" % extra)
check(set(by_fp) == {fp for fp, _ in want_pairs},
      "certificates not in the manifest: %r" % sorted(set(by_fp) - {fp for fp, _ in want_pairs}))
' "$FX_MANIFEST"

# The non-UTF-8 name is recorded escaped, byte for byte.
pyassert -f "$T/all.json" '
w = args[0] + "/srv/bad/caf\\xe9.pem"
check(any(l["where"] == w for c in d for l in c["locations"]), "no location %r" % w)
' "$FX"

# The symlinked copy of the rsa2048 leaf is not a location of its own.
assert_not_contains "$(cat "$T/all.json")" "link-to-rsa2048" "inventory (symlink recorded by its own name)"

# ---- stderr: one line per bad file, with the reason; the run went on -----------
# (the summary line above proves the walk finished; rows behind the bad files,
# e.g. srv/bad/caf\xe9.pem, were checked above)
printf '%s\n' "$DISCOVER_ERR" >"$T/stderr.txt"
check_bad_lines() {
"$PY" - "$FX_BAD" "$T/stderr.txt" >"$T/bad-check.txt" 2>&1 <<'EOF' || fail "stderr of discover: $(cat "$T/bad-check.txt")"
import sys
bad, errf = sys.argv[1], sys.argv[2]
with open(errf, "rb") as f:
    lines = f.read().decode("utf-8", "replace").splitlines()
problems = []
with open(bad) as f:
    rows = [l.rstrip("\n").split("\t") for l in f][1:]
for path, keyword in rows:
    if path.endswith("/locked.p12"):
        keyword = "wrong password"   # a password was given, but not locked.p12's
    mine = [l for l in lines if (": " + path + ": ") in l or l.startswith(path + ": ")]
    if len(mine) != 1:
        problems.append("%s: expected exactly one stderr line, got %r" % (path, mine))
        continue
    msg = mine[0].split(path + ": ", 1)[1]
    if keyword.lower() not in msg.lower():
        problems.append("%s: stderr line %r does not give the reason %r" % (path, mine[0], keyword))
if problems:
    print("\n".join(problems))
    print("--- full stderr ---")
    print("\n".join(lines))
    sys.exit(1)
EOF
}
soft check_bad_lines

# Each bad file is an open finding with a fitting rule.
assert_rc 0 "$CERTLEDGER" --db "$DB" findings --format json
pyassert '
import csv
rules = {"locked": {"file.wrong-password"}, "permission": {"file.unreadable"},
         "too large": {"file.too-large"}, "truncated": {"file.malformed"},
         "empty": {"file.unrecognized", "file.malformed"},
         "not a certificate": {"file.unrecognized", "file.malformed"}}
with open(args[0]) as f:
    rows = [l.rstrip("\n").split("\t") for l in f][1:]
for path, keyword in rows:
    mine = [x for x in d if x["target"] == "file:" + path and x["rule"].startswith("file.")
            and x["rule"] != "file.key-readable"]
    check(len(mine) == 1, "%s: expected one open file finding, got %r" % (path, mine))
    check(mine[0]["rule"] in rules[keyword], "%s: rule %r, expected one of %r" % (path, mine[0]["rule"], rules[keyword]))
    check(mine[0]["resolved_at"] is None, mine[0])
' "$FX_BAD"

# ---- PKCS#12 passwords ----------------------------------------------------------
KS=$FX/opt/app/keystore
line_for() { # FILE: the stderr line naming $1
    grep -F -- "$1: " <<<"$ERR" || true
}

# No password at all: the encrypted stores are "locked".
assert_rc 0 "$CERTLEDGER" --db "$T/nopw.db" discover files "$KS"
for f in locked.p12 app-changeit.p12 app-legacy.p12; do
    l=$(line_for "$KS/$f")
    assert_eq 1 "$(grep -c . <<<"$l")" "stderr lines for $f without a password"
    assert_contains "${l#*"$KS/$f: "}" "locked" "stderr for $f without a password"
done
assert_eq "" "$(line_for "$KS/app-nopass.p12")" "stderr for the password-less app-nopass.p12"
assert_rc 0 "$CERTLEDGER" --db "$T/nopw.db" findings --rule file.locked --format json
pyassert 'check(sorted(x["target"].rsplit("/", 1)[1] for x in d) == ["app-changeit.p12", "app-legacy.p12", "locked.p12"], d)'

# changeit given (file, or $CERTLEDGER_P12_PASSWORD): only locked.p12 stays shut.
for how in file env; do
    db=$T/pw-$how.db
    if [[ $how == file ]]; then
        assert_rc 0 "$CERTLEDGER" --db "$db" discover files --password-file "$PWFILE" "$KS"
    else
        CERTLEDGER_P12_PASSWORD=changeit assert_rc 0 "$CERTLEDGER" --db "$db" discover files "$KS"
    fi
    l=$(line_for "$KS/locked.p12")
    assert_eq 1 "$(grep -c . <<<"$l")" "stderr lines for locked.p12 (password by $how)"
    assert_contains "$l" "wrong password" "stderr for locked.p12 (password by $how)"
    assert_eq "" "$(line_for "$KS/app-changeit.p12")" "stderr for app-changeit.p12 (password by $how)"
    assert_eq "" "$(line_for "$KS/app-legacy.p12")" "stderr for app-legacy.p12 (password by $how)"
    assert_rc 0 "$CERTLEDGER" --db "$db" ls --format json --location "$KS/app-*.p12"
    pyassert 'check(sorted(c["subject_cn"] for c in d) == sorted(["future.example.test",
        "expiring-soon.example.test", "expired.example.test", "Example Test Intermediate CA",
        "Example Test Root CA"]), [c["subject_cn"] for c in d])'
    assert_rc 0 "$CERTLEDGER" --db "$db" findings --rule 'file.wrong-password' --format json
    pyassert 'check([x["target"] for x in d] == ["file:" + args[0]], d)' "$KS/locked.p12"
done

# The password never shows up in the store or the output.
# (app-changeit.p12 is a file name, not the password)
for f in "$T"/pw-file.db*; do
    if grep -a -P -q '(?<!app-)changeit' "$f"; then fail "the PKCS#12 password is in $f"; fi
done

# A missing password file is a usage error before anything is written.
assert_rc 2 "$CERTLEDGER" --db "$T/nofile.db" discover files --password-file "$T/does-not-exist" "$KS"
assert_contains "$ERR" "$T/does-not-exist" "missing --password-file is named"
[[ ! -e $T/nofile.db ]] || fail "a missing --password-file still created the store"

finish
