#!/usr/bin/python3
"""HTTP server for tests/unit/test_revocation.c, on 127.0.0.1 only.

GET /NAME serves DIR/NAME (404 when absent). Hostile paths, for GET and POST:
  /hang     reads the request and never answers
  /garbage  200 with a body of junk bytes
  /raw      junk bytes instead of an HTTP response, then closes
  /endless  200 without Content-Length, then an endless body
  /huge     200 announcing a 100 MiB body, sends a little, then stalls
Every request is appended to LOG as "METHOD PATH". The chosen port is
written to PORTFILE once listening.

Usage: revocation_server.py DIR PORTFILE LOG
"""
import http.server
import os
import sys
import threading
import time

DIR, PORTFILE, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
LOCK = threading.Lock()
JUNK = bytes((i * 37 + 11) & 0xFF for i in range(1000))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def note(self):
        with LOCK, open(LOG, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def handle_any(self):
        self.note()
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        path = self.path.split("?")[0]
        if path == "/hang":
            while True:
                time.sleep(3600)
        if path == "/raw":
            self.wfile.write(b"\x16\x03\x01junk that is not HTTP\r\n\r\n" + JUNK)
            return
        if path == "/garbage":
            self.reply(200, JUNK)
            return
        if path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-crl")
            self.end_headers()
            chunk = JUNK * 64
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                return
        if path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(100 << 20))
            self.end_headers()
            try:
                self.wfile.write(JUNK)
                self.wfile.flush()
                time.sleep(60)
            except OSError:
                pass
            return
        name = os.path.basename(path)
        full = os.path.join(DIR, name)
        if self.command != "GET" or not name or not os.path.isfile(full):
            self.reply(404, b"not found\n")
            return
        with open(full, "rb") as f:
            self.reply(200, f.read())

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = handle_any
    do_POST = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


srv = Server(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
