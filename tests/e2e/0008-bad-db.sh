#!/usr/bin/env bash
# A store that cannot be used: locked by another process, read-only, written
# by a newer certledger, not SQLite, not certledger's, not a file. Each is a
# clear message and exit 3, and the data is left intact.
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
need openssl

mkdir -p "$T/in"
mkcert a '/CN=a.example.test' 30
mkcert b '/CN=b.example.test' 60
cp "$T/certs/a.pem" "$T/certs/b.pem" "$T/in/"
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files "$T/in"
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json --state all
BASELINE=$OUT
[[ $(pyjson 'print(len(d))') == 2 ]] || fail "baseline inventory should hold 2 certificates"

# intact DBPATH [AS...]: ls lists exactly the baseline certificates
intact() {
    local db=$1; shift
    run "$@" "$CERTLEDGER" --db "$db" ls --format json --state all
    [[ $RC == 0 ]] || fail "ls on $db after a failure: exit $RC: $ERR"
    printf '%s' "$BASELINE" >"$T/baseline.json"
    pyassert '
import json
base = json.load(open(args[0]))
key = lambda c: (c["fingerprint_sha256"], [(l["where"], l["state"]) for l in c["locations"]])
check(sorted(map(key, d)) == sorted(map(key, base)), "inventory changed: %r" % d)' "$T/baseline.json"
}
# sqlite_copy SRC DST: a consistent copy (through SQLite's backup API)
sqlite_copy() {
    "$PY" -c 'import sqlite3, sys
s = sqlite3.connect(sys.argv[1]); d = sqlite3.connect(sys.argv[2]); s.backup(d); d.close(); s.close()' "$1" "$2"
}
sqlite_copy "$DB" "$T/pristine.db"

# ---- locked by another process -------------------------------------------------------
"$PY" -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(5)' "$DB" "$T/locked" &
CL_BG_PIDS+=($!)
LOCKER=$!
for _ in $(seq 100); do [[ -e $T/locked ]] && break; sleep 0.05; done
[[ -e $T/locked ]] || fail "the python lock holder did not start"

export CERTLEDGER_BUSY_TIMEOUT_MS=200
START=$(date +%s%N)
assert_rc 3 "$CERTLEDGER" --db "$DB" discover files "$T/in"
ELAPSED_MS=$((($(date +%s%N) - START) / 1000000))
assert_contains "$ERR" "locked" "discover on a locked store"
assert_contains "$ERR" "$DB" "discover on a locked store names it"
assert_eq "" "$OUT" "stdout of discover on a locked store"
((ELAPSED_MS < 4000)) || fail "discover waited ${ELAPSED_MS}ms despite CERTLEDGER_BUSY_TIMEOUT_MS=200"
assert_rc 3 "$CERTLEDGER" --db "$DB" tag --location "$T/in/*" --owner someone
assert_contains "$ERR" "locked" "tag on a locked store"
# readers are not blocked by a writer (WAL)
intact "$DB"
kill "$LOCKER" 2>/dev/null || true
wait "$LOCKER" 2>/dev/null || true
unset CERTLEDGER_BUSY_TIMEOUT_MS
intact "$DB"
assert_rc 0 "$CERTLEDGER" --db "$DB" discover files "$T/in"
assert_contains "$OUT" "2 certificates (0 new, 2 seen)" "discover once the lock is gone"
assert_rc 1 "$CERTLEDGER" --db "$DB" ls --owner someone

# ---- read-only ----------------------------------------------------------------------------------
# (root ignores file modes: the store is nobody's and nobody runs certledger)
mkdir -p "$T/ro"
sqlite_copy "$DB" "$T/ro/inv.db"
give_to_nobody "$T/ro"
chmod 0444 "$T/ro/inv.db"
assert_rc 3 as_nobody "$CERTLEDGER" --db "$T/ro/inv.db" discover files "$T/in"
assert_contains "$ERR" "read-only" "discover on a read-only file"
assert_contains "$ERR" "$T/ro/inv.db" "the read-only error names the store"
assert_rc 3 as_nobody "$CERTLEDGER" --db "$T/ro/inv.db" tag --location "$T/in/*" --owner someone
assert_contains "$ERR" "read-only" "tag on a read-only file"
# reading still works
intact "$T/ro/inv.db" as_nobody
# read-only directory, writable file
chmod 0644 "$T/ro/inv.db"
rm -f "$T/ro/inv.db-wal" "$T/ro/inv.db-shm"
chmod 0555 "$T/ro"
assert_rc 3 as_nobody "$CERTLEDGER" --db "$T/ro/inv.db" discover files "$T/in"
assert_contains "$ERR" "read-only" "discover with a read-only directory"
chmod 0755 "$T/ro"
intact "$T/ro/inv.db"
# a store that cannot be created
mkdir -p "$T/rodir"
give_to_nobody "$T/rodir"
chmod 0555 "$T/rodir"
assert_rc 3 as_nobody "$CERTLEDGER" --db "$T/rodir/sub/inv.db" discover files "$T/in"
assert_contains "$ERR" "$T/rodir/sub/inv.db" "a store that cannot be created is named"
[[ ! -e $T/rodir/sub ]] || fail "created $T/rodir/sub in a read-only directory"

# ---- written by a newer certledger ---------------------------------------------------------
sqlite_copy "$DB" "$T/v99.db"
"$PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA user_version=99"); c.commit(); c.close()' "$T/v99.db"
cp "$T/v99.db" "$T/v99.orig"
for cmd in "discover files $T/in" "ls" "summary" "events" "tag --location $T/in/a.pem --owner x"; do
    # shellcheck disable=SC2086
    assert_rc 3 "$CERTLEDGER" --db "$T/v99.db" $cmd
    assert_contains "$ERR" "newer" "$cmd on a store of schema version 99"
    assert_contains "$ERR" "99" "$cmd on a store of schema version 99"
done
"$PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("PRAGMA user_version").fetchone()[0] == 99, "user_version changed"
assert c.execute("SELECT count(*) FROM certs").fetchone()[0] == 2, "certificates changed"' "$T/v99.db" ||
    fail "the newer store was modified"
cmp -s "$T/v99.db" "$T/v99.orig" || fail "the newer store's file was modified"

# ---- not SQLite --------------------------------------------------------------------------------------
head -c 8192 /dev/urandom >"$T/random.db"
printf 'certificates:\n  - this is YAML, not SQLite\n' >"$T/text.db"
for f in random text; do
    cp "$T/$f.db" "$T/$f.orig"
    for cmd in "discover files $T/in" "ls"; do
        # shellcheck disable=SC2086
        assert_rc 3 "$CERTLEDGER" --db "$T/$f.db" $cmd
        assert_contains "$ERR" "not a" "$cmd on a $f file"
        assert_contains "$ERR" "database" "$cmd on a $f file"
        assert_contains "$ERR" "$T/$f.db" "$cmd on a $f file names it"
    done
    cmp -s "$T/$f.db" "$T/$f.orig" || fail "the $f file given as --db was modified"
    [[ ! -e $T/$f.db-wal && ! -e $T/$f.db-journal ]] || fail "journal files next to the $f file"
done

# Another application's SQLite database: refused, and left as it was.
"$PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("CREATE TABLE notes(x)"); c.execute("INSERT INTO notes VALUES (42)")
c.execute("PRAGMA user_version=3"); c.commit(); c.close()' "$T/other.db"
cp "$T/other.db" "$T/other.orig"
assert_rc 3 "$CERTLEDGER" --db "$T/other.db" discover files "$T/in"
assert_contains "$ERR" "not a certledger inventory" "discover on another application's database"
assert_rc 3 "$CERTLEDGER" --db "$T/other.db" ls
"$PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert [r[0] for r in c.execute("SELECT name FROM sqlite_master")] == ["notes"], "tables changed"
assert c.execute("SELECT x FROM notes").fetchall() == [(42,)], "rows changed"' "$T/other.db" ||
    fail "another application's database was modified"
other_unchanged() {
    cmp -s "$T/other.db" "$T/other.orig" ||
        fail "another application's database file was modified by a refused open (cmp: $(cmp "$T/other.db" "$T/other.orig" 2>&1))"
}
soft other_unchanged

# A directory, and a path below a regular file.
assert_rc 3 "$CERTLEDGER" --db "$T/in" ls
assert_contains "$ERR" "not a regular file" "--db naming a directory"
assert_rc 3 "$CERTLEDGER" --db "$T/in" discover files "$T/in"
assert_contains "$ERR" "not a regular file" "discover --db naming a directory"
assert_rc 3 "$CERTLEDGER" --db "$T/in/a.pem/inv.db" discover files "$T/in"
assert_contains "$ERR" "$T/in/a.pem/inv.db" "--db below a regular file"

# The original store went through all of it untouched.
intact "$DB"
intact "$T/pristine.db"

finish
