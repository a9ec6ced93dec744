#!/usr/bin/env bash
# The walk is safe: FIFOs, sockets and devices are never opened, symlink
# loops end, --max-depth / --exclude / --max-file-size are honoured, pseudo
# file systems are skipped, a missing path is reported and the walk goes on.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

make_fixtures
BAD=$FX/srv/bad
FIFO=$BAD/pipe.pem
[[ -p $FIFO ]] || fail "the fixture FIFO is missing"

# locations DBPATH: sorted "where" of every location (one per line)
locations() {
    run "$CERTLEDGER" --db "$1" ls --state all --format json
    if [[ $RC == 1 ]]; then return 0; fi
    [[ $RC == 0 ]] || fail "ls on $1: exit $RC: $ERR"
    pyjson 'print("\n".join(sorted(l["where"] for c in d for l in c["locations"])))'
}
# manifest_where PREDICATE: the manifest locations (escaped like certledger)
# of rows whose path (relative to $FX, as bytes) satisfies PREDICATE on `rel`
manifest_where() {
    "$PY" - "$FX_MANIFEST" "$FX" "$1" <<'EOF'
import sys
manifest, fx, pred = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
out = []
for line in open(manifest, "rb").read().split(b"\n")[1:]:
    if not line:
        continue
    path = line.split(b"\t")[1]
    rel = path[len(fx) + 1:]
    if eval(pred):
        out.append(path.replace(b"\xe9", b"\\xe9").decode())
print("\n".join(sorted(out)))
EOF
}

# ---- FIFO, socket, devices: never opened ------------------------------------------------
# A socket and a symlink to a device join the fixture's FIFO.
"$PY" -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$BAD/socket.pem"
ln -s /dev/zero "$BAD/zero.pem"
ln -s /dev/urandom "$BAD/random.crt"

# Watch the FIFO with inotify (stdlib ctypes): any open of it is recorded.
cat >"$T/watch.py" <<'EOF'
import ctypes, os, select, sys
path, ready, flag = sys.argv[1:]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
if fd < 0 or libc.inotify_add_watch(fd, path.encode(), 0x20) < 0:   # IN_OPEN
    sys.exit(3)
open(ready, "w").close()
while True:
    if select.select([fd], [], [], 0.1)[0]:
        os.read(fd, 4096)
        open(flag, "a").write("opened\n")
EOF
start_watch() {
    rm -f "$T/watch.ready" "$T/watch.flag"
    "$PY" "$T/watch.py" "$FIFO" "$T/watch.ready" "$T/watch.flag" &
    WATCHER=$!
    CL_BG_PIDS+=("$WATCHER")
    for _ in $(seq 100); do [[ -e $T/watch.ready ]] && break; kill -0 "$WATCHER" 2>/dev/null || break; sleep 0.05; done
    [[ -e $T/watch.ready ]]
}
stop_watch() { sleep 0.3; kill "$WATCHER" 2>/dev/null || true; wait "$WATCHER" 2>/dev/null || true; }

WATCH=0
if start_watch; then
    # positive control: a non-blocking open is seen
    "$PY" -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK))' "$FIFO"
    sleep 0.3
    if [[ -e $T/watch.flag ]]; then WATCH=1; fi
    stop_watch
fi
((WATCH)) || echo "note [$TEST_NAME]: inotify unavailable; FIFO opens are not observed" >&2

((WATCH)) && start_watch
run timeout 60 "$CERTLEDGER" --db "$DB" discover files --password-file "$PWFILE" "$FX"
((WATCH)) && stop_watch
[[ $RC != 124 ]] || fail "discover did not finish within 60s (blocked on the FIFO?)"
assert_eq 0 "$RC" "exit status of discover over a tree with a FIFO, a socket and devices: $ERR"
if ((WATCH)); then
    [[ ! -e $T/watch.flag ]] || fail "discover opened the FIFO $FIFO"
fi
for f in pipe.pem socket.pem zero.pem random.crt; do
    assert_not_contains "$ERR" "$BAD/$f" "stderr about $f"
done
assert_not_contains "$(locations "$DB")" "/dev/" "locations (a device was read)"
# given directly as PATHs, too
((WATCH)) && start_watch
run timeout 20 "$CERTLEDGER" --db "$T/direct.db" discover files "$FIFO" "$BAD/socket.pem" /dev/zero "$BAD/zero.pem"
((WATCH)) && stop_watch
assert_eq 0 "$RC" "discover files FIFO SOCKET DEVICE: $ERR"
assert_contains "$OUT" "discovered 0 files read, 0 certificates" "discover files FIFO SOCKET DEVICE"
if ((WATCH)); then [[ ! -e $T/watch.flag ]] || fail "discover files $FIFO opened the FIFO"; fi

# ---- symlinks: followed once, loops end, real paths recorded ----------------------------------
ALL_WHERE=$(manifest_where 'True')
assert_eq "$ALL_WHERE" "$(locations "$DB" | grep -v '/srv/bad/noperm.pem$' || true)" \
    "locations of the full walk (the loop srv/bad/loop/back -> .. must not add any)"
mkdir -p "$T/loops/d"
ln -s a "$T/loops/b"
ln -s b "$T/loops/a"                  # a -> b -> a: ELOOP
ln -s . "$T/loops/d/self"             # a directory containing itself
ln -s "$T/loops" "$T/loops/d/up"      # and its parent
ln -s "$FX/etc/nginx/tls" "$T/loops/d/tls"
mkcert loop '/CN=loop.example.test' 30
cp "$T/certs/loop.pem" "$T/loops/d/loop.pem"
assert_rc 0 timeout 30 "$CERTLEDGER" --db "$T/loops.db" discover files "$T/loops"
assert_eq "$FX/etc/nginx/tls/fullchain.pem
$FX/etc/nginx/tls/fullchain.pem
$FX/etc/nginx/tls/rsa2048.example.test.crt
$FX/etc/nginx/tls/wild.example.test.pem
$T/loops/d/loop.pem" "$(locations "$T/loops.db")" "locations reached through symlinks (real paths, once each)"

# ---- --max-depth --------------------------------------------------------------------------------
mkdir -p "$T/depth/s1/s2"
mkcert top '/CN=top.example.test' 30
mkcert one '/CN=one.example.test' 30
mkcert two '/CN=two.example.test' 30
cp "$T/certs/top.pem" "$T/depth/"
cp "$T/certs/one.pem" "$T/depth/s1/"
cp "$T/certs/two.pem" "$T/depth/s1/s2/"
for n in 0 1 2; do
    assert_rc 0 "$CERTLEDGER" --db "$T/depth$n.db" discover files --max-depth "$n" "$T/depth"
done
assert_eq "$T/depth/top.pem" "$(locations "$T/depth0.db")" "--max-depth 0: only the files in PATH"
assert_eq "$T/depth/s1/one.pem
$T/depth/top.pem" "$(locations "$T/depth1.db")" "--max-depth 1"
assert_eq 3 "$(locations "$T/depth2.db" | wc -l)" "--max-depth 2"
# on the fixture tree: depth counted in directories below PATH
for n in 0 1 2 3; do
    assert_rc 0 "$CERTLEDGER" --db "$T/fxdepth$n.db" discover files --password-file "$PWFILE" --max-depth "$n" "$FX"
    want=$(manifest_where "rel.count(b'/') <= $n or ($n >= 2 and rel == b'etc/nginx/tls/rsa2048.example.test.crt')")
    # (at depth 2 the walk meets srv/bad/link-to-rsa2048.pem, whose target is recorded)
    assert_eq "$want" "$(locations "$T/fxdepth$n.db" | grep -v '/srv/bad/noperm.pem$' || true)" "--max-depth $n over the fixtures"
done
assert_rc 2 "$CERTLEDGER" --db "$T/x.db" discover files --max-depth -1 "$T/depth"
assert_rc 2 "$CERTLEDGER" --db "$T/x.db" discover files --max-depth deep "$T/depth"

# ---- --exclude -------------------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$T/ex.db" discover files --password-file "$PWFILE" --exclude '*.p12' "$FX"
assert_eq "$(manifest_where "not rel.endswith(b'.p12')")" "$(locations "$T/ex.db" | grep -v '/srv/bad/noperm.pem$' || true)" \
    "--exclude '*.p12'"
assert_not_contains "$ERR" "locked.p12" "stderr with --exclude '*.p12'"
assert_rc 0 "$CERTLEDGER" --db "$T/ex2.db" discover files --password-file "$PWFILE" \
    --exclude keystore --exclude "$FX/etc/pki/*" "$FX"
assert_eq "$(manifest_where "not rel.startswith(b'opt/app/keystore/') and not rel.startswith(b'etc/pki/')")" \
    "$(locations "$T/ex2.db" | grep -v '/srv/bad/noperm.pem$' || true)" "--exclude DIRNAME --exclude PATH-GLOB"

# ---- --max-file-size ------------------------------------------------------------------------------------
run "$CERTLEDGER" --db "$DB" ls --subject huge.example.test
assert_eq 1 "$RC" "huge.pem (6 MiB) is not read with the default 4M limit"
assert_rc 0 "$CERTLEDGER" --db "$T/big.db" discover files --max-file-size 10M "$BAD"
assert_not_contains "$ERR" "huge.pem" "stderr with --max-file-size 10M"
assert_rc 0 "$CERTLEDGER" --db "$T/big.db" ls --format json --subject huge.example.test
pyassert 'check([l["where"] for c in d for l in c["locations"]] == [args[0]], d)' "$BAD/huge.pem"
assert_rc 0 "$CERTLEDGER" --db "$T/small.db" discover files --max-file-size 1k "$FX/etc/ssl"
SHA1_LINE=$(grep -F -- "$FX/etc/ssl/legacy/sha1.example.test.pem: " <<<"$ERR" || true)
assert_eq 1 "$(grep -c . <<<"$SHA1_LINE")" "stderr lines for a file above a small --max-file-size"
assert_contains "$SHA1_LINE" "too large" "stderr for a file above --max-file-size"
assert_contains "$SHA1_LINE" "--max-file-size" "stderr for a file above --max-file-size"
run "$CERTLEDGER" --db "$T/small.db" ls --subject sha1.example.test
assert_eq 1 "$RC" "a certificate above --max-file-size is not recorded"
for bad in 10Q 0 -1 3G; do
    assert_rc 2 "$CERTLEDGER" --db "$T/x.db" discover files --max-file-size "$bad" "$T/depth"
done

# ---- pseudo file systems -----------------------------------------------------------------------------------
for p in /proc/self /sys/kernel /proc; do
    [[ -d $p ]] || continue
    START=$(date +%s)
    run timeout 30 "$CERTLEDGER" --db "$T/pseudo.db" discover files "$p"
    [[ $RC != 124 ]] || fail "discover files $p did not finish within 30s"
    assert_eq 0 "$RC" "discover files $p: $ERR"
    (($(date +%s) - START <= 10)) || fail "discover files $p took $(($(date +%s) - START))s"
    assert_contains "$OUT" "0 certificates" "discover files $p"
    assert_contains "$ERR" "pseudo file system" "discover files $p"
done
run "$CERTLEDGER" --db "$T/pseudo.db" ls --state all
assert_eq 1 "$RC" "nothing recorded from /proc or /sys"
# a pseudo file system met during a walk is skipped too
mkdir -p "$T/withproc"
ln -s /proc "$T/withproc/proc"
cp "$T/certs/top.pem" "$T/withproc/"
assert_rc 0 timeout 30 "$CERTLEDGER" --db "$T/withproc.db" discover files "$T/withproc"
assert_eq "$T/withproc/top.pem" "$(locations "$T/withproc.db")" "a walk through a symlink to /proc"

# ---- a path that does not exist ---------------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --db "$T/missing.db" discover files "$T/does/not/exist" "$T/depth"
assert_eq 1 "$(grep -c -F "$T/does/not/exist" <<<"$ERR")" "stderr lines naming the missing path"
assert_contains "$ERR" "$T/does/not/exist: cannot list directory: No such file or directory" "missing path"
assert_contains "$OUT" "1 unreadable" "summary line with a missing path"
assert_eq 3 "$(locations "$T/missing.db" | wc -l)" "the other PATH is still walked"

# The same tree given twice (and nested): each file once.
assert_rc 0 "$CERTLEDGER" --db "$T/twice.db" discover files "$T/depth" "$T/depth/s1" "$T/depth"
assert_contains "$OUT" "3 certificates (3 new, 0 seen)" "a tree given twice"

finish
