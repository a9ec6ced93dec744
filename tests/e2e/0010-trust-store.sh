#!/usr/bin/env bash
# The system trust store (/etc/ssl/certs): at least 100 CA certificates, each
# stored once, recorded at their real paths (the hash links and *.pem links
# resolved), mostly self-signed roots.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

STORE=/etc/ssl/certs
if [[ ! -d $STORE ]] || [[ -z $(ls -A "$STORE" 2>/dev/null) ]]; then
    echo "SKIP [$TEST_NAME]: no system trust store at $STORE" >&2
    exit 77
fi

assert_rc 0 timeout 120 "$CERTLEDGER" --db "$DB" discover files "$STORE"
[[ $OUT =~ ([0-9]+)\ certificates\ \(([0-9]+)\ new,\ ([0-9]+)\ seen\) ]] || fail "summary line: $OUT"
NEW=${BASH_REMATCH[2]}

assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json
printf '%s' "$OUT" >"$T/ls.json"
# What the store holds, by real path: every regular file reachable from it.
find -L "$STORE" -type f -print0 | xargs -0 -r realpath -z -- | sort -zu >"$T/real-paths"

pyassert -f "$T/ls.json" '
import os
new, store = int(args[0]), args[1]
real = set(open(args[2], "rb").read().decode().split("\0")) - {""}
fps = [c["fingerprint_sha256"] for c in d]
check(len(fps) == len(set(fps)), "a fingerprint is listed more than once")
check(len(d) == new, "ls lists %d certificates, discover said %d new" % (len(d), new))
check(len(d) >= 100, "only %d certificates in %s" % (len(d), store))
not_ca = [c["subject"] for c in d if not c["is_ca"]]
check(not not_ca, "not CA certificates: %r" % not_ca[:10])
ss = sum(c["self_signed"] for c in d)
check(ss >= 0.9 * len(d), "only %d of %d self-signed" % (ss, len(d)))
for c in d:
    check(c["locations"], "%s has no location" % c["subject"])
    wheres = [l["where"] for l in c["locations"]]
    check(len(wheres) == len(set(wheres)), "%s: a location twice: %r" % (c["subject"], wheres))
    for l in c["locations"]:
        w = l["where"]
        check(l["kind"] == "file" and l["state"] == "present", l)
        check(os.path.realpath(w) == w, "%s: location %s is not a real path" % (c["subject"], w))
        check(not os.path.islink(w), "%s: location %s is a symlink" % (c["subject"], w))
        check(w in real, "%s: location %s is not a file reachable from %s" % (c["subject"], w, store))
# the c_rehash links (e.g. 02265526.0) never appear as locations
hashed = [l["where"] for c in d for l in c["locations"] if l["where"].rsplit(".", 1)[-1].isdigit()]
check(not hashed, "hash links recorded: %r" % hashed[:5])
' "$NEW" "$STORE" "$T/real-paths"

# PEM certificate links of the store (up to 40, for time) map to a
# certificate whose location is the link's target.
assert_rc 0 "$CERTLEDGER" --db "$DB" ls --format json --state all
printf '%s' "$OUT" >"$T/all.json"
n=0
for link in "$STORE"/*.pem; do
    ((n < 40)) || break
    [[ -L $link ]] || continue
    target=$(realpath -- "$link")
    [[ $(grep -c -- '-----BEGIN CERTIFICATE-----' "$target") == 1 ]] || continue
    fp=$(fingerprint "$target")
    printf '%s\t%s\n' "$fp" "$target" >>"$T/links.tsv"
    n=$((n + 1))
done
if ((n > 0)); then
    pyassert -f "$T/all.json" '
by = {c["fingerprint_sha256"]: c for c in d}
for line in open(args[0]):
    fp, target = line.rstrip("\n").split("\t")
    check(fp in by, "certificate %s (%s) not recorded" % (fp, target))
    check(target in [l["where"] for l in by[fp]["locations"]],
          "%s not a location of %s: %r" % (target, fp, by[fp]["locations"]))
' "$T/links.tsv"
fi

# A re-run finds the same certificates, all seen.
assert_rc 0 timeout 120 "$CERTLEDGER" --db "$DB" discover files "$STORE"
assert_contains "$OUT" "(0 new, " "re-running over $STORE"

finish
