#!/usr/bin/env python3
"""A stand-in ACME server offering only what an ACME Renewal Information
(RFC 9773) client reads, for tests/e2e/0060-acme-pebble.sh while Pebble's
packaged version has no renewalInfo:

    acme_ari_stub.py --port P --cert CHAIN --key KEY --log FILE --ready FILE

GET /dir is a directory with renewalInfo; GET /renewal-info/ID answers a
fixed suggestedWindow, an explanationURL and Retry-After: 21600, and appends
ID to --log; anything else is a 404 problem document. Listens on 127.0.0.1.
"""
import argparse
import http.server
import json
import ssl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()
    base = "https://127.0.0.1:%d" % a.port

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def answer(self, code, obj, ctype="application/json", extra=()):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/dir":
                self.answer(200, {"newNonce": base + "/nonce", "newAccount": base + "/acct",
                                  "newOrder": base + "/order",
                                  "renewalInfo": base + "/renewal-info"})
            elif self.path.startswith("/renewal-info/"):
                with open(a.log, "a", encoding="utf-8") as f:
                    f.write(self.path[len("/renewal-info/"):] + "\n")
                self.answer(200, {"suggestedWindow": {"start": "2030-01-02T03:04:05Z",
                                                      "end": "2030-01-03T03:04:05.5Z"},
                                  "explanationURL": "https://ca.example/why\u0007"},
                            extra=[("Retry-After", "21600")])
            else:
                self.answer(404, {"type": "urn:ietf:params:acme:error:malformed",
                                  "detail": "no such resource"}, "application/problem+json")

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(a.ready, "w", encoding="utf-8") as f:
        f.write("ready\n")
    srv.serve_forever()


if __name__ == "__main__":
    main()
