#!/usr/bin/env bash
# CLI basics: help texts, version, usage errors, store selection
# (--db, CERTLEDGER_DB, XDG_DATA_HOME, ~/.local/share).
# shellcheck disable=SC2317  # functions run through `soft`
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

COMMANDS=(discover ls show summary tag events findings help version)

# cmd_help_is CMD FLAG TEXT: `certledger CMD FLAG` prints TEXT, finish
cmd_help_is() {
    assert_rc 0 "$CERTLEDGER" "$1" "$2"
    assert_eq "$3" "$OUT" "'certledger $1 $2' vs 'certledger help $1'"
}

# ---- top-level help ----------------------------------------------------------
for h in --help -h; do
    assert_rc 0 "$CERTLEDGER" "$h"
    assert_contains "$OUT" "usage: certledger [--db PATH]" "certledger $h"
    for c in "${COMMANDS[@]}"; do
        assert_contains "$OUT" "  $c " "certledger $h lists command $c"
    done
    assert_contains "$OUT" "Exit codes: 0 success, 1 nothing matched" "certledger $h"
    assert_eq "" "$ERR" "stderr of certledger $h"
done
TOP_HELP=$OUT

# No command at all: the overview, but as a usage error.
assert_rc 2 "$CERTLEDGER"
assert_eq "$TOP_HELP" "$OUT" "certledger without a command prints the overview"

# `help` alone is the overview too.
assert_rc 0 "$CERTLEDGER" help
assert_eq "$TOP_HELP" "$OUT" "certledger help"

# ---- per-command help: help CMD and CMD --help give the same text ------------
for c in "${COMMANDS[@]}"; do
    assert_rc 0 "$CERTLEDGER" help "$c"
    [[ -n $OUT ]] || fail "help $c printed nothing"
    assert_eq "" "$ERR" "stderr of help $c"
    HELP_TEXT=$OUT
    case $c in
        help | version) assert_contains "$HELP_TEXT" "usage: certledger $c" "help $c" ;;
        discover) assert_contains "$HELP_TEXT" "certledger discover - " "help $c" ;;
        *) assert_contains "$HELP_TEXT" "certledger $c - " "help $c" ;;
    esac
    for h in --help -h; do
        if [[ $c == discover ]]; then
            # discover takes its kind first; both spellings must work
            assert_rc 0 "$CERTLEDGER" discover files "$h"
            assert_eq "$HELP_TEXT" "$OUT" "discover files $h vs help discover"
            assert_rc 0 "$CERTLEDGER" discover net "$h"
            assert_eq "$HELP_TEXT" "$OUT" "discover net $h vs help discover"
        fi
        soft cmd_help_is "$c" "$h" "$HELP_TEXT"
    done
done

# Exact details the manuals document.
run "$CERTLEDGER" help ls
for w in --expiring --expired --now --issuer --subject --san --key-type --min-key-bits \
         --max-key-bits --sig-alg --self-signed --ca --leaf --owner --location --state \
         --fingerprint --sort --format; do
    assert_contains "$OUT" "$w" "help ls documents $w"
done
run "$CERTLEDGER" help findings
for r in file.unreadable file.malformed file.unrecognized file.locked file.wrong-password \
         file.too-large file.name-encoding file.key-readable; do
    assert_contains "$OUT" "$r" "help findings documents rule $r"
done

# ---- version ------------------------------------------------------------------
assert_rc 0 "$CERTLEDGER" --version
VERSION=$OUT
[[ $VERSION =~ ^certledger\ [0-9]+\.[0-9]+\.[0-9]+\ \(OpenSSL\ .*,\ SQLite\ [0-9.]+,\ jansson\ [0-9.]+\)$ ]] ||
    fail "--version: unexpected format [$VERSION]"
assert_rc 0 "$CERTLEDGER" version
assert_eq "$VERSION" "$OUT" "certledger version vs --version"

# ---- usage errors: exit 2 with a message ----------------------------------------
assert_rc 2 "$CERTLEDGER" frobnicate
assert_contains "$ERR" "'frobnicate' is not a command" "unknown command"
assert_eq "" "$OUT" "stdout of an unknown command"

assert_rc 2 "$CERTLEDGER" --frobnicate ls
assert_contains "$ERR" "unknown option '--frobnicate'" "unknown global option"

assert_rc 2 "$CERTLEDGER" help frobnicate
assert_contains "$ERR" "no command 'frobnicate'" "help for an unknown command"

for c in ls summary events findings show tag; do
    assert_rc 2 "$CERTLEDGER" --db "$T/never.db" "$c" --frobnicate
    assert_contains "$ERR" "certledger $c: unknown option" "$c --frobnicate"
done
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" discover files --frobnicate "$T"
assert_contains "$ERR" "unknown option" "discover files --frobnicate"
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" discover
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" discover tls example.org
assert_contains "$ERR" "unknown kind 'tls'" "discover with an unsupported kind"
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" discover files
assert_contains "$ERR" "give at least one PATH" "discover files without a PATH"
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" ls --format yaml
assert_contains "$ERR" "--format must be" "ls --format yaml"
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" ls unexpected-arg
assert_contains "$ERR" "unexpected argument 'unexpected-arg'" "ls with a stray argument"
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" show
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" show abc
assert_contains "$ERR" "at least 4 hex digits" "show with a short prefix"
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" show not-hex-nor-file
assert_contains "$ERR" "neither a file nor a fingerprint" "show with garbage"
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" tag abcd
assert_contains "$ERR" "nothing to change" "tag without edits"
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" tag --owner x
assert_contains "$ERR" "either a fingerprint" "tag without a target"
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" tag abcd --owner 'bad owner!'
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" events --since yesterday
assert_contains "$ERR" "--since" "events --since yesterday"
assert_rc 2 "$CERTLEDGER" --db "$T/never.db" findings --severity loud
# None of the usage errors may have created a store.
[[ ! -e $T/never.db ]] || fail "a usage error created the store $T/never.db"

# ---- store selection ------------------------------------------------------------
mkdir -p "$T/empty"
EMPTY=$T/empty

# Read-only commands on a missing store: runtime error naming the path, no file made.
assert_rc 3 "$CERTLEDGER" --db "$T/missing.db" ls
assert_contains "$ERR" "$T/missing.db" "ls on a missing store names it"
assert_contains "$ERR" "no inventory here yet" "ls on a missing store"
[[ ! -e $T/missing.db ]] || fail "ls created $T/missing.db"

# --db PATH (also --db=PATH and after the command), directories created.
assert_rc 0 "$CERTLEDGER" --db "$T/a/b/c/one.db" discover files "$EMPTY"
assert_contains "$OUT" "discovered 0 files read, 0 certificates (0 new, 0 seen)" "discover of an empty dir"
[[ -f $T/a/b/c/one.db ]] || fail "--db did not create $T/a/b/c/one.db"
assert_rc 0 "$CERTLEDGER" --db="$T/two.db" discover files "$EMPTY"
[[ -f $T/two.db ]] || fail "--db=PATH did not create $T/two.db"
assert_rc 0 "$CERTLEDGER" discover files --db "$T/three.db" "$EMPTY"
[[ -f $T/three.db ]] || fail "discover files --db PATH did not create $T/three.db"
assert_rc 0 "$CERTLEDGER" --db "$T/two.db" summary --format json
pyassert 'check(d["database"] == args[0], "summary database %r" % d["database"]); check(d["certificates"] == 0, d)' "$T/two.db"

# The selected store really is the one used: put one certificate in each.
mkcert one '/CN=one.example.test' 30
mkcert two '/CN=two.example.test' 30
mkdir -p "$T/in1" "$T/in2"
cp "$T/certs/one.pem" "$T/in1/"
cp "$T/certs/two.pem" "$T/in2/"
assert_rc 0 "$CERTLEDGER" --db "$T/sel-db.db" discover files "$T/in1"
CERTLEDGER_DB=$T/sel-env.db assert_rc 0 "$CERTLEDGER" discover files "$T/in2"
[[ -f $T/sel-env.db ]] || fail "CERTLEDGER_DB did not select $T/sel-env.db"
assert_rc 0 "$CERTLEDGER" --db "$T/sel-db.db" ls --format json
pyassert 'check([c["subject_cn"] for c in d] == ["one.example.test"], d)'
CERTLEDGER_DB=$T/sel-env.db assert_rc 0 "$CERTLEDGER" ls --format json
pyassert 'check([c["subject_cn"] for c in d] == ["two.example.test"], d)'
# --db wins over CERTLEDGER_DB
CERTLEDGER_DB=$T/sel-env.db assert_rc 0 "$CERTLEDGER" --db "$T/sel-db.db" ls --format json
pyassert 'check([c["subject_cn"] for c in d] == ["one.example.test"], "--db must win over CERTLEDGER_DB: %r" % d)'
# CERTLEDGER_DB wins over XDG_DATA_HOME; nothing written under XDG/HOME
[[ ! -e $XDG_DATA_HOME && -z $(ls -A "$HOME") ]] || fail "a store was created under XDG_DATA_HOME or HOME"

# Default: $XDG_DATA_HOME/certledger/inventory.db (directories created).
assert_rc 0 "$CERTLEDGER" discover files "$T/in1"
[[ -f $XDG_DATA_HOME/certledger/inventory.db ]] ||
    fail "default store not created at \$XDG_DATA_HOME/certledger/inventory.db"
assert_rc 0 "$CERTLEDGER" summary --format json
pyassert 'check(d["database"] == args[0], "default database %r" % d["database"]); check(d["certificates"] == 1, d)' \
    "$XDG_DATA_HOME/certledger/inventory.db"
assert_rc 0 "$CERTLEDGER" summary
assert_contains "$OUT" "Inventory $XDG_DATA_HOME/certledger/inventory.db at " "summary header names the default store"
[[ -z $(ls -A "$HOME") ]] || fail "with XDG_DATA_HOME set, nothing may be created under HOME: $(ls -A "$HOME")"

# Without XDG_DATA_HOME (or with a relative one): ~/.local/share/certledger/inventory.db
for xdg in unset relative; do
    rm -rf -- "$HOME"
    mkdir -p "$HOME"
    if [[ $xdg == unset ]]; then
        (unset XDG_DATA_HOME; "$CERTLEDGER" discover files "$T/in2" >/dev/null 2>&1) ||
            fail "discover with XDG_DATA_HOME unset failed"
    else
        (cd "$T" && XDG_DATA_HOME=rel/xdg "$CERTLEDGER" discover files "$T/in2" >/dev/null 2>&1) ||
            fail "discover with a relative XDG_DATA_HOME failed"
        [[ ! -e $T/rel ]] || fail "a relative XDG_DATA_HOME must be ignored, but $T/rel was created"
    fi
    [[ -f $HOME/.local/share/certledger/inventory.db ]] ||
        fail "XDG_DATA_HOME $xdg: default store not created at ~/.local/share/certledger/inventory.db"
    run env -u XDG_DATA_HOME "$CERTLEDGER" ls --format json
    assert_eq 0 "$RC" "ls on the HOME default store"
    pyassert 'check([c["subject_cn"] for c in d] == ["two.example.test"], d)'
done

# -q silences warnings but keeps errors.
printf 'not a certificate\n' >"$T/in1/junk.pem"
assert_rc 0 "$CERTLEDGER" --db "$T/q.db" discover files "$T/in1"
assert_contains "$ERR" "junk.pem" "a bad file is reported without -q"
assert_rc 0 "$CERTLEDGER" -q --db "$T/q.db" discover files "$T/in1"
assert_eq "" "$ERR" "stderr with -q"
assert_rc 3 "$CERTLEDGER" -q --db "$T/missing.db" ls
assert_contains "$ERR" "no inventory here yet" "-q still prints errors"

finish
