"""Checks endpoint rows of `certledger discover net --output` and
`certledger endpoints --format json|csv` (used by lib_net.sh; stdlib only).

  net_check.py FILE [--expect EXPECT.jsonl] [--exact] [--extra FIELD]...
               [--window T0 T1]

FILE is a JSON array or a CSV file (by extension, or --csv). Every row must
have exactly the contract's fields, in order (then, optionally, the --extra
ones), and be consistent: location built from address/port/sni, the chain
starting with the leaf, lowercase SHA-256 fingerprints, RFC 3339 times,
days_left the floor of the days from a time of the window [T0, T1] (epoch
seconds) to not_after, handshake fields empty when there was no handshake.

EXPECT holds one JSON object per line with "address", "port", "sni" and the
fields whose values must match exactly. --exact: the rows are exactly the
expected endpoints. Prints every problem found; exits 1 when there is one.
"""

import argparse
import csv
import json
import re
import sys
from datetime import datetime, timezone

FIELDS = ["address", "port", "sni", "hostname", "status", "error", "starttls", "tls_version",
          "cipher", "group", "alpn", "ocsp_stapled", "leaf_fingerprint", "subject", "issuer",
          "not_after", "days_left", "verify", "verify_detail", "chain", "location",
          "first_seen", "last_seen", "unreachable_since"]
STATUS = {"ok", "refused", "timeout", "not-tls", "alert", "reset", "starttls", "error"}
VERIFY = {"ok", "expired", "not-yet-valid", "self-signed", "untrusted-root",
          "incomplete-chain", "wrong-order", "hostname-mismatch", "weak-signature"}
FP = re.compile(r"^[0-9a-f]{64}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def allowed(extra):
    """The lists of extra fields accepted after the contract's: any
    subsequence of extra (they are optional)."""
    out = [[]]
    for f in extra:
        out += [o + [f] for o in out]
    return out


def epoch(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def load_csv(path, extra):
    with open(path, newline="") as f:
        rd = csv.reader(f)
        head = next(rd, None)
        if head is None or head[:len(FIELDS)] != FIELDS or head[len(FIELDS):] not in allowed(extra):
            return None, ["CSV header %r, expected %r" % (head, FIELDS + extra)]
        rows = []
        for rec in rd:
            if len(rec) != len(head):
                return None, ["CSV record with %d fields: %r" % (len(rec), rec)]
            r = dict(zip(head, rec))
            errs = []
            for k, conv in (("port", int), ("days_left", int)):
                try:
                    r[k] = None if r[k] == "" else conv(r[k])
                except ValueError:
                    errs.append("CSV %s %r is not an integer" % (k, r[k]))
            if r["ocsp_stapled"] not in ("true", "false", ""):
                errs.append("CSV ocsp_stapled %r" % r["ocsp_stapled"])
            r["ocsp_stapled"] = {"true": True, "false": False}.get(r["ocsp_stapled"])
            r["chain"] = r["chain"].split(" ") if r["chain"] else []
            if errs:
                return None, errs
            rows.append(r)
        return rows, []


def load(path, is_csv, extra):
    if is_csv:
        return load_csv(path, extra)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        d = json.loads(raw)
    except ValueError as e:
        return None, ["not valid JSON (%s): %r" % (e, raw[:300])]
    if not isinstance(d, list):
        return None, ["not a JSON array: %r" % raw[:300]]
    return d, []


def location(r):
    host = "[%s]" % r["address"] if ":" in str(r["address"]) else r["address"]
    loc = "tls:%s:%s" % (host, r["port"])
    return loc + "/" + r["sni"] if r["sni"] else loc


def shape(r, extra, window, is_csv):
    e = []
    name = r.get("location") or repr((r.get("address"), r.get("port"), r.get("sni")))
    keys = list(r)
    if keys[:len(FIELDS)] != FIELDS or keys[len(FIELDS):] not in allowed(extra):
        e.append("fields %r, expected %r" % (keys, FIELDS + extra))
        if not set(FIELDS) <= set(keys):
            return e
    if not isinstance(r["port"], int) or isinstance(r["port"], bool):
        e.append("%s: port %r is not an integer" % (name, r["port"]))
    for k in ("address", "sni", "hostname", "status", "error", "starttls", "tls_version",
              "cipher", "group", "alpn", "leaf_fingerprint", "subject", "issuer", "not_after",
              "verify", "verify_detail", "location"):
        if not isinstance(r[k], str):
            e.append("%s: %s %r is not a string" % (name, k, r[k]))
    if e:
        return e
    if r["location"] != location(r):
        e.append("%s: location %r, expected %r" % (name, r["location"], location(r)))
    if r["status"] not in STATUS:
        e.append("%s: status %r" % (name, r["status"]))
    for k in ("first_seen", "last_seen"):
        if not RFC3339.match(r[k] or ""):
            e.append("%s: %s %r is not RFC 3339 UTC" % (name, k, r[k]))
    if not isinstance(r["chain"], list):
        e.append("%s: chain %r is not a list" % (name, r["chain"]))
        return e
    if r["status"] == "ok":
        if r["error"] != "":
            e.append("%s: status ok with error %r" % (name, r["error"]))
        if r["verify"] not in VERIFY:
            e.append("%s: verify %r" % (name, r["verify"]))
        if r["verify"] != "ok" and not r["verify_detail"]:
            e.append("%s: verify %s without verify_detail" % (name, r["verify"]))
        if r["tls_version"] not in ("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1"):
            e.append("%s: tls_version %r" % (name, r["tls_version"]))
        if not r["cipher"].startswith("TLS_"):
            e.append("%s: cipher %r is not an IANA name" % (name, r["cipher"]))
        if r["alpn"] not in ("", "h2", "http/1.1"):
            e.append("%s: alpn %r" % (name, r["alpn"]))
        if not isinstance(r["ocsp_stapled"], bool):
            e.append("%s: ocsp_stapled %r is not a boolean" % (name, r["ocsp_stapled"]))
        if not FP.match(r["leaf_fingerprint"]):
            e.append("%s: leaf_fingerprint %r" % (name, r["leaf_fingerprint"]))
        if not r["chain"] or r["chain"][0] != r["leaf_fingerprint"]:
            e.append("%s: chain %r does not start with the leaf" % (name, r["chain"]))
        bad = [c for c in r["chain"] if not FP.match(c)]
        if bad:
            e.append("%s: chain entries %r" % (name, bad))
        if not RFC3339.match(r["not_after"]):
            e.append("%s: not_after %r is not RFC 3339 UTC" % (name, r["not_after"]))
        elif not isinstance(r["days_left"], int) or isinstance(r["days_left"], bool):
            e.append("%s: days_left %r is not an integer" % (name, r["days_left"]))
        elif window:
            na = epoch(r["not_after"])
            ok = {int((na - window[1]) // 86400), int((na - window[0]) // 86400)}
            if r["days_left"] not in ok:
                e.append("%s: days_left %r, expected one of %r" % (name, r["days_left"], ok))
    else:
        if r["verify"] != "":
            e.append("%s: status %s with verify %r" % (name, r["status"], r["verify"]))
        if not r["error"]:
            e.append("%s: status %s without error" % (name, r["status"]))
        if r["status"] in ("refused", "timeout", "not-tls") and (r["tls_version"] or r["cipher"]):
            e.append("%s: status %s with tls_version/cipher %r/%r" % (
                name, r["status"], r["tls_version"], r["cipher"]))
        if r["status"] in ("refused", "timeout") and r["ocsp_stapled"] is not None:
            e.append("%s: no handshake, ocsp_stapled %r (expected null)" % (name, r["ocsp_stapled"]))
    return e


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--csv", action="store_true")
    p.add_argument("--expect")
    p.add_argument("--exact", action="store_true")
    p.add_argument("--extra", action="append", default=[])
    p.add_argument("--window", nargs=2, type=float)
    a = p.parse_args()
    is_csv = a.csv or a.file.endswith(".csv")
    try:
        open(a.file).close()
    except OSError as e:
        sys.exit("%s: %s" % (a.file, e.strerror))
    rows, errs = load(a.file, is_csv, a.extra)
    if rows is None:
        print("\n".join(errs))
        sys.exit(1)
    for r in rows:
        for x in shape(r, a.extra, a.window, is_csv):
            if x not in errs:  # a wrong field list once, not once per row
                errs.append(x)
    got = {}
    for r in rows:
        k = (r.get("address"), r.get("port"), r.get("sni"))
        if k in got:
            errs.append("endpoint %r listed twice" % (k,))
        got[k] = r
    want = []
    if a.expect:
        with open(a.expect) as f:
            want = [json.loads(line) for line in f if line.strip()]
    for w in want:
        k = (w["address"], w["port"], w["sni"])
        r = got.get(k)
        if r is None:
            errs.append("endpoint %r missing; rows: %r" % (k, sorted(got, key=str)))
            continue
        for f, v in w.items():
            if f == "verify_detail~":
                for part in v:
                    if part.lower() not in r["verify_detail"].lower():
                        errs.append("%s: verify_detail %r does not contain %r" % (
                            r["location"], r["verify_detail"], part))
            elif f == "error~":
                for part in v:
                    if part.lower() not in r["error"].lower():
                        errs.append("%s: error %r does not contain %r" % (
                            r["location"], r["error"], part))
            elif f.endswith("~"):
                errs.append("unknown pattern field %s" % f)
            elif r.get(f) != v:
                errs.append("%s: %s is %r, expected %r" % (r["location"], f, r.get(f), v))
    if a.exact:
        extra = sorted(set(got) - {(w["address"], w["port"], w["sni"]) for w in want}, key=str)
        if extra:
            errs.append("unexpected endpoints: %r" % [
                (k, got[k]["status"], got[k]["error"]) for k in extra])
    if errs:
        print("%s:\n  %s" % (a.file, "\n  ".join(errs)))
        sys.exit(1)


if __name__ == "__main__":
    main()
