"""Loopback servers for the `discover net` end-to-end tests (run by lib_net.sh).

Standard library only, except `smtpd` (Debian's python3-aiosmtpd). Every
server listens on 127.0.0.1 (or the --host given, always a loopback address),
writes its --ready file once it accepts connections, and runs until killed.

  ports N                     print N distinct free TCP ports (free on 127.0.0.1
                              and ::1 at the time of the call)
  have-v6                     exit 0 when ::1 can be bound
  starttls PROTO ...          plain-text dialect, then a real TLS handshake:
                              PROTO is imap, pop3, ftp, xmpp, ldap or smtp;
                              --refuse answers the upgrade command with an error
  silent ...                  accepts and never answers (a handshake timeout)
  marker ...                  appends a line to --marker on every accepted
                              connection, then closes it
  http ...                    answers every connection with HTTP/1.1 400
  smtpd ...                   aiosmtpd with STARTTLS (required)
"""

import argparse
import os
import socket
import ssl
import sys
import threading
import time

IO_TIMEOUT = 20.0


def listen(host, port, backlog=64):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(backlog)
    return s


def ready(path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(tmp, path)


def serve(lsock, handler):
    while True:
        conn, _ = lsock.accept()
        t = threading.Thread(target=guarded, args=(handler, conn), daemon=True)
        t.start()


def guarded(handler, conn):
    try:
        conn.settimeout(IO_TIMEOUT)
        handler(conn)
    except (OSError, ValueError, ssl.SSLError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


# ------------------------------------------------------------------ ports ---
def have_v6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def cmd_ports(a):
    socks, ports = [], []
    v6 = have_v6()
    while len(ports) < a.n:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        socks.append(s)
        if v6:
            try:
                s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                s6.bind(("::1", p))
                socks.append(s6)
            except OSError:
                continue
        ports.append(p)
    print(" ".join(str(p) for p in ports))
    for s in socks:
        s.close()


# --------------------------------------------------------------- STARTTLS ---
class Lines:
    """Line reader over a plain socket that never reads past a line end,
    so that the TLS ClientHello that follows stays in the socket."""

    def __init__(self, conn):
        self.conn = conn

    def line(self):
        buf = b""
        while not buf.endswith(b"\n"):
            c = self.conn.recv(1)
            if not c:
                raise ValueError("closed")
            buf += c
            if len(buf) > 4096:
                raise ValueError("line too long")
        return buf.decode("latin-1").rstrip("\r\n")


def tls_wrap(conn, ctx):
    tconn = ctx.wrap_socket(conn, server_side=True)
    # Hold the session until the client goes away.
    try:
        while tconn.recv(4096):
            pass
    except (OSError, ssl.SSLError):
        pass
    try:
        tconn.close()
    except OSError:
        pass


def dialect_imap(conn, ctx, refuse):
    r = Lines(conn)
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] test IMAP ready\r\n")
    while True:
        parts = r.line().split(None, 2)
        if len(parts) < 2:
            conn.sendall(b"* BAD syntax\r\n")
            continue
        tag, cmd = parts[0], parts[1].upper()
        if cmd == "CAPABILITY":
            conn.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n"
                         + tag.encode() + b" OK CAPABILITY completed\r\n")
        elif cmd == "STARTTLS":
            if refuse:
                conn.sendall(tag.encode() + b" BAD STARTTLS not available\r\n")
                continue
            conn.sendall(tag.encode() + b" OK Begin TLS negotiation now\r\n")
            return tls_wrap(conn, ctx)
        elif cmd == "LOGOUT":
            conn.sendall(b"* BYE\r\n" + tag.encode() + b" OK LOGOUT completed\r\n")
            return None
        else:
            conn.sendall(tag.encode() + b" BAD unknown command\r\n")


def dialect_pop3(conn, ctx, refuse):
    r = Lines(conn)
    conn.sendall(b"+OK test POP3 ready\r\n")
    while True:
        cmd = r.line().strip().upper()
        if cmd == "CAPA":
            conn.sendall(b"+OK Capability list follows\r\nUSER\r\nSTLS\r\n.\r\n")
        elif cmd == "STLS":
            if refuse:
                conn.sendall(b"-ERR STLS not available\r\n")
                continue
            conn.sendall(b"+OK Begin TLS negotiation\r\n")
            return tls_wrap(conn, ctx)
        elif cmd == "QUIT":
            conn.sendall(b"+OK bye\r\n")
            return None
        else:
            conn.sendall(b"-ERR unknown command\r\n")


def dialect_ftp(conn, ctx, refuse):
    r = Lines(conn)
    conn.sendall(b"220 test FTP ready\r\n")
    while True:
        cmd = r.line().strip().upper()
        if cmd == "FEAT":
            conn.sendall(b"211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n")
        elif cmd in ("AUTH TLS", "AUTH SSL"):
            if refuse:
                conn.sendall(b"534 AUTH TLS not available\r\n")
                continue
            conn.sendall(b"234 AUTH TLS successful\r\n")
            return tls_wrap(conn, ctx)
        elif cmd == "QUIT":
            conn.sendall(b"221 bye\r\n")
            return None
        else:
            conn.sendall(b"502 command not implemented\r\n")


def dialect_smtp(conn, ctx, refuse):
    r = Lines(conn)
    conn.sendall(b"220 test.invalid ESMTP test ready\r\n")
    while True:
        cmd = r.line().strip().upper()
        if cmd.startswith("EHLO"):
            if refuse:
                conn.sendall(b"250-test.invalid\r\n250 8BITMIME\r\n")
            else:
                conn.sendall(b"250-test.invalid\r\n250-8BITMIME\r\n250 STARTTLS\r\n")
        elif cmd.startswith("HELO"):
            conn.sendall(b"250 test.invalid\r\n")
        elif cmd == "STARTTLS":
            if refuse:
                conn.sendall(b"454 4.7.0 TLS not available\r\n")
                continue
            conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
            return tls_wrap(conn, ctx)
        elif cmd == "QUIT":
            conn.sendall(b"221 2.0.0 bye\r\n")
            return None
        else:
            conn.sendall(b"502 5.5.2 command not recognized\r\n")


def read_until(conn, marks, limit=65536):
    """Reads until one of the byte strings in marks was received."""
    buf = b""
    while not any(m in buf for m in marks):
        c = conn.recv(1)
        if not c:
            raise ValueError("closed")
        buf += c
        if len(buf) > limit:
            raise ValueError("too long")
    return buf


def dialect_xmpp(conn, ctx, refuse):
    head = read_until(conn, [b"<stream:stream"])
    head += read_until(conn, [b">"])
    conn.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                 b"xmlns:stream='http://etherx.jabber.org/streams' id='t1' "
                 b"from='test.invalid' version='1.0'>"
                 b"<stream:features>"
                 + (b"" if refuse else
                    b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>")
                 + b"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                 b"<mechanism>PLAIN</mechanism></mechanisms></stream:features>")
    read_until(conn, [b"/>", b"</starttls>"])
    if refuse:
        conn.sendall(b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>")
        return None
    conn.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    return tls_wrap(conn, ctx)


STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


def ber_read(conn):
    """Reads one BER TLV from the socket: (tag, value bytes)."""
    def need(n):
        b = b""
        while len(b) < n:
            c = conn.recv(n - len(b))
            if not c:
                raise ValueError("closed")
            b += c
        return b
    tag = need(1)[0]
    ln = need(1)[0]
    if ln & 0x80:
        k = ln & 0x7F
        if k == 0 or k > 3:
            raise ValueError("bad length")
        ln = int.from_bytes(need(k), "big")
    return tag, need(ln)


def ber_tlv(tag, value):
    n = len(value)
    if n < 0x80:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + value


def ber_split(value):
    """Splits a constructed value into its (tag, value) children."""
    out, i = [], 0
    while i < len(value):
        tag, ln = value[i], value[i + 1]
        i += 2
        if ln & 0x80:
            k = ln & 0x7F
            ln = int.from_bytes(value[i:i + k], "big")
            i += k
        out.append((tag, value[i:i + ln]))
        i += ln
    return out


def dialect_ldap(conn, ctx, refuse):
    tag, msg = ber_read(conn)
    if tag != 0x30:
        raise ValueError("not an LDAPMessage")
    kids = ber_split(msg)
    if len(kids) < 2 or kids[0][0] != 0x02:
        raise ValueError("no messageID")
    msgid = kids[0][1]
    op_tag, op = kids[1]
    if op_tag != 0x77:  # [APPLICATION 23] ExtendedRequest
        raise ValueError("not an ExtendedRequest")
    name = [v for t, v in ber_split(op) if t == 0x80]
    if name != [STARTTLS_OID]:
        raise ValueError("not StartTLS")
    if refuse:  # protocolError (2), as servers without StartTLS answer
        result = ber_tlv(0x0A, b"\x02") + ber_tlv(0x04, b"") + \
            ber_tlv(0x04, b"StartTLS not supported")
    else:
        result = ber_tlv(0x0A, b"\x00") + ber_tlv(0x04, b"") + ber_tlv(0x04, b"") + \
            ber_tlv(0x8A, STARTTLS_OID)
    conn.sendall(ber_tlv(0x30, ber_tlv(0x02, msgid) + ber_tlv(0x78, result)))
    if refuse:
        return None
    return tls_wrap(conn, ctx)


DIALECTS = {"imap": dialect_imap, "pop3": dialect_pop3, "ftp": dialect_ftp,
            "smtp": dialect_smtp, "xmpp": dialect_xmpp, "ldap": dialect_ldap}


def server_ctx(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    return ctx


def cmd_starttls(a):
    ctx = server_ctx(a)
    dialect = DIALECTS[a.proto]
    s = listen(a.host, a.port)
    ready(a.ready)
    serve(s, lambda c: dialect(c, ctx, a.refuse))


# ------------------------------------------------------------------ others ---
def cmd_silent(a):
    s = listen(a.host, a.port)
    ready(a.ready)
    held = []
    while True:
        conn, _ = s.accept()
        held.append(conn)  # never answered, never closed


def cmd_marker(a):
    s = listen(a.host, a.port)
    ready(a.ready)
    while True:
        conn, peer = s.accept()
        with open(a.marker, "a") as f:
            f.write("%s %d\n" % (peer[0], time.time()))
        conn.close()


def cmd_http(a):
    def answer(conn):
        try:
            conn.recv(4096)
        except OSError:
            pass
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: 12\r\nConnection: close\r\n\r\nbad request\n")
    s = listen(a.host, a.port)
    ready(a.ready)
    serve(s, answer)


def cmd_smtpd(a):
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    ctx = server_ctx(a)
    ctl = Controller(Sink(), hostname=a.host, port=a.port, tls_context=ctx,
                     require_starttls=True, server_hostname="smtp.net.test",
                     ready_timeout=30)
    ctl.start()
    ready(a.ready)
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("ports")
    sp.add_argument("n", type=int)
    sub.add_parser("have-v6")
    for name in ("starttls", "silent", "marker", "http", "smtpd"):
        sp = sub.add_parser(name)
        if name == "starttls":
            sp.add_argument("proto", choices=sorted(DIALECTS))
            sp.add_argument("--refuse", action="store_true")
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--ready", required=True)
        if name in ("starttls", "smtpd"):
            sp.add_argument("--cert", required=True)
            sp.add_argument("--key", required=True)
        if name == "marker":
            sp.add_argument("--marker", required=True)
    a = p.parse_args()
    if a.cmd not in ("ports", "have-v6") and a.host not in ("127.0.0.1", "::1") and \
            not a.host.startswith("127."):
        sys.exit("net_servers.py: loopback addresses only")
    if a.cmd == "have-v6":
        sys.exit(0 if have_v6() else 1)
    {"ports": cmd_ports, "starttls": cmd_starttls, "silent": cmd_silent,
     "marker": cmd_marker, "http": cmd_http, "smtpd": cmd_smtpd}[a.cmd](a)


if __name__ == "__main__":
    main()
