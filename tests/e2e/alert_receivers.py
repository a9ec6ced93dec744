"""Loopback receivers for the notifier end-to-end test (tests/e2e/0041-notify.sh).

Run with /usr/bin/python3 (Debian's python3-aiosmtpd is installed there).
Each receiver binds 127.0.0.1 only, records what it receives as JSON lines
in LOGFILE, prints "ready" (and writes --ready FILE) once it listens, and
exits on SIGTERM.

  http PORT LOGFILE [--fail N] [--fail-at K,...] [--status CODE] [--get-body JSON]
       [--delay SECONDS] [--ready FILE]
      Records every request as {"method", "path", "headers", "body",
      "body_b64"} (headers with lower-case names).
      Answers CODE (default 500) to the first N requests and to the K-th
      ones (counting from 1), to the others 202 to
      /v2/enqueue (PagerDuty), 201 to other POSTs under /api/now/ and
      /rest/api/ (ServiceNow, Jira), 200 to the rest; a GET gets
      --get-body (default {"result": []}). --delay waits that long before
      answering each request (after recording it): a slow receiver.

  smtp PORT LOGFILE --cert C --key K [--auth USER:PASS] [--reject ADDR]...
       [--tempfail ADDR]... [--ready FILE]
      aiosmtpd with STARTTLS required, and AUTH (LOGIN, PLAIN, only after
      STARTTLS) required when --auth is given. Every message is recorded as
      {"mail_from", "rcpt_tos", "data", "login"}. RCPT TO a --reject address
      is answered 550, a --tempfail address 451.
"""

import argparse
import base64
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"


def announce(ready):
    if ready:
        tmp = ready + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, ready)
    print("ready", flush=True)


def on_term(*_):
    sys.stdout.flush()
    os._exit(0)


class Log:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.count = 0

    def record(self, obj):
        with self.lock:
            self.count += 1
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(obj, sort_keys=True) + "\n")
                f.flush()
            return self.count


# ------------------------------------------------------------------- http ---
def cmd_http(a):
    log = Log(a.logfile)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n > 0 else b""
            count = log.record({
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "body_b64": base64.b64encode(body).decode(),
            })
            if a.delay:
                time.sleep(a.delay)
            if count <= a.fail or count in a.fail_at:
                code = a.status
                # a control character and a line break: the sender must
                # quote the answer sanitised
                out = ("receiver failure %d\n\x01 try later" % count).encode()
                ctype = "text/plain"
            elif self.command == "GET":
                code, out, ctype = 200, a.get_body.encode(), "application/json"
            else:
                if self.path.startswith("/v2/enqueue"):
                    code = 202
                elif self.command == "POST" and (self.path.startswith("/api/now/") or
                                                 self.path.startswith("/rest/api/")):
                    code = 201
                else:
                    code = 200
                out = json.dumps({"status": "success", "count": count}).encode()
                ctype = "application/json"
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    srv = ThreadingHTTPServer((HOST, a.port), Handler)
    srv.daemon_threads = True
    announce(a.ready)
    srv.serve_forever()


# ------------------------------------------------------------------- smtp ---
def cmd_smtp(a):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    log = Log(a.logfile)
    user, _, password = (a.auth or "").partition(":")

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in a.reject:
                return "550 5.1.1 no such user here"
            if address in a.tempfail:
                return "451 4.3.0 try again later"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            login = session.auth_data if session.authenticated else None
            log.record({
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "data": envelope.content.decode("utf-8", "replace"),
                "login": login,
                "tls": session.ssl is not None,
            })
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode("utf-8", "replace")
        ok = login == user and auth_data.password.decode("utf-8", "replace") == password
        # handled=False: aiosmtpd answers 535 itself
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    kw = {}
    if a.auth:
        kw = dict(authenticator=authenticator, auth_required=True, auth_require_tls=True)
    ctl = Controller(Handler(), hostname=HOST, port=a.port, tls_context=ctx,
                     require_starttls=True, server_hostname="smtp.notify.test",
                     decode_data=False, ready_timeout=30, **kw)
    ctl.start()
    announce(a.ready)
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("http")
    sp.add_argument("port", type=int)
    sp.add_argument("logfile")
    sp.add_argument("--fail", type=int, default=0)
    sp.add_argument("--fail-at", type=lambda v: {int(x) for x in v.split(",") if x},
                    default=set())
    sp.add_argument("--status", type=int, default=500)
    sp.add_argument("--get-body", default='{"result": []}')
    sp.add_argument("--delay", type=float, default=0)
    sp.add_argument("--ready")
    sp = sub.add_parser("smtp")
    sp.add_argument("port", type=int)
    sp.add_argument("logfile")
    sp.add_argument("--cert", required=True)
    sp.add_argument("--key", required=True)
    sp.add_argument("--auth")
    sp.add_argument("--reject", action="append", default=[])
    sp.add_argument("--tempfail", action="append", default=[])
    sp.add_argument("--ready")
    a = p.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    {"http": cmd_http, "smtp": cmd_smtp}[a.cmd](a)


if __name__ == "__main__":
    main()
