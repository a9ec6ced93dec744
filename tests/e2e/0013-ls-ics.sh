#!/usr/bin/env bash
# ls --format ics: an RFC 5545 calendar of expiry dates. CRLF line ends,
# lines folded at 75 octets, one VEVENT per certificate (the same ones as
# ls), each on its expiry day with a reminder, TEXT values escaped.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
make_fixtures
assert_rc 0 cl discover files "$FX"
assert_rc 0 cl ls --format json
pyjson 'import json; json.dump({c["fingerprint_sha256"]: c["not_after"] for c in d}, open(args[0], "w"))' \
    "$T/expect.json"
cl ls --format ics >"$T/cal.ics" || fail "ls --format ics: exit $?"
"$PY" - "$T/cal.ics" "$T/expect.json" <<'PYEOF' || fail "ls --format ics"
import json, sys
raw = open(sys.argv[1], "rb").read()
expect = json.load(open(sys.argv[2]))
lines = raw.split(b"\r\n")
assert lines[-1] == b"" and b"\n" not in b"".join(lines), "every line ends in CRLF"
too_long = [l for l in lines if len(l) > 75]
assert not too_long, "lines over 75 octets: %r" % too_long[:3]
# unfold (a line starting with a space continues the previous one)
logical = []
for l in lines[:-1]:
    if l.startswith(b" "):
        logical[-1] += l[1:]
    else:
        logical.append(l)
text = [l.decode("utf-8") for l in logical]   # folding never splits UTF-8
assert text[0] == "BEGIN:VCALENDAR" and text[-1] == "END:VCALENDAR", (text[0], text[-1])
assert "VERSION:2.0" in text and any(t.startswith("PRODID:") for t in text)
events, cur = [], None
for t in text:
    if t == "BEGIN:VEVENT":
        cur = {}
    elif t == "END:VEVENT":
        events.append(cur)
        cur = None
    elif cur is not None and ":" in t and "ALARM" not in t:
        k, v = t.split(":", 1)
        cur.setdefault(k, v)
assert len(events) == len(expect), "%d events, %d certificates" % (len(events), len(expect))
uids = [e["UID"] for e in events]
assert len(set(uids)) == len(uids), "UIDs must be unique"
for e in events:
    fp = e["UID"].split("@")[0]
    na = expect[fp]
    assert e["DTSTART;VALUE=DATE"] == na[:10].replace("-", ""), (e, na)
    assert e["SUMMARY"].startswith("Certificate expires: "), e
    assert "SHA-256: " + fp in e["DESCRIPTION"].replace("\\n", "\n"), e
    # TEXT escaping: the subject's commas are escaped
    assert "," not in e["DESCRIPTION"].replace("\\,", ""), e["DESCRIPTION"]
assert raw.count(b"TRIGGER:-P7D") == len(events)
PYEOF
# filters apply; nothing matched is exit 1 with an empty calendar
assert_rc 1 cl ls --format ics --issuer 'nobody-at-all'
assert_contains "$OUT" "BEGIN:VCALENDAR"
assert_not_contains "$OUT" "BEGIN:VEVENT"
assert_rc 2 cl summary --format ics
finish
