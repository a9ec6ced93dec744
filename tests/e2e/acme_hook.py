#!/usr/bin/env python3
"""DNS-01 hook for tests/e2e/0060-acme-pebble.sh, following the contract in
docs/acme.md:

    acme_hook.py present|cleanup DOMAIN TOKEN VALUE

sets (present) or clears (cleanup) the TXT record _acme-challenge.DOMAIN at
pebble-challtestsrv's management API ($ACME_CTS_MGMT) and appends its
arguments to $ACME_HOOK_LOG. ACME_HOOK_FAIL=1 makes it fail (exit 3) with a
message on stderr; ACME_HOOK_SLEEP=N makes it sleep first.
"""
import json
import os
import sys
import time
import urllib.request


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("present", "cleanup"):
        print("usage: acme_hook.py present|cleanup DOMAIN TOKEN VALUE", file=sys.stderr)
        return 2
    verb, domain, token, value = sys.argv[1:]
    with open(os.environ["ACME_HOOK_LOG"], "a", encoding="utf-8") as f:
        f.write(" ".join((verb, domain, token, value)) + "\n")
    if os.environ.get("ACME_HOOK_SLEEP"):
        time.sleep(float(os.environ["ACME_HOOK_SLEEP"]))
    if os.environ.get("ACME_HOOK_FAIL") == "1":
        print("the DNS provider said no\x1b[31m (colour)", file=sys.stderr)
        return 3
    host = "_acme-challenge." + domain + "."
    if verb == "present":
        path, body = "/set-txt", {"host": host, "value": value}
    else:
        path, body = "/clear-txt", {"host": host}
    req = urllib.request.Request(os.environ["ACME_CTS_MGMT"] + path,
                                 data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
