/* STARTTLS dialogues: see starttls.h. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "core/cl.h"
#include "discover/starttls.h"

static const char *const names[CL_STLS_COUNT] = {
	[CL_STLS_NONE] = "none", [CL_STLS_SMTP] = "smtp", [CL_STLS_IMAP] = "imap",
	[CL_STLS_POP3] = "pop3", [CL_STLS_FTP] = "ftp", [CL_STLS_LDAP] = "ldap",
	[CL_STLS_POSTGRES] = "postgres", [CL_STLS_XMPP] = "xmpp",
};

int cl_stls_parse(const char *name)
{
	int i;

	for (i = 0; i < CL_STLS_COUNT; i++)
		if (strcasecmp(name, names[i]) == 0)
			return i;
	if (strcasecmp(name, "postgresql") == 0)
		return CL_STLS_POSTGRES;
	return -1;
}

const char *cl_stls_name(int proto)
{
	return proto > CL_STLS_NONE && proto < CL_STLS_COUNT ? names[proto] : NULL;
}

int cl_stls_for_port(uint16_t port)
{
	switch (port) {
	case 25: case 587: return CL_STLS_SMTP;
	case 143: return CL_STLS_IMAP;
	case 110: return CL_STLS_POP3;
	case 21: return CL_STLS_FTP;
	case 389: return CL_STLS_LDAP;
	case 5432: return CL_STLS_POSTGRES;
	case 5222: return CL_STLS_XMPP;
	default: return CL_STLS_NONE;
	}
}

/* The LDAP StartTLS ExtendedRequest (RFC 4511 4.14.1), message id 1. */
static const uint8_t ldap_starttls[] = {
	0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16,
	'1', '.', '3', '.', '6', '.', '1', '.', '4', '.', '1', '.', '1', '4', '6', '6', '.',
	'2', '0', '0', '3', '7',
};

/* PostgreSQL SSLRequest: length 8, code 80877103. */
static const uint8_t pg_sslrequest[] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };

static int send_str(struct cl_stls *st, const char *s, const char **out, size_t *outlen)
{
	snprintf(st->out, sizeof st->out, "%s", s);
	*out = st->out;
	*outlen = strlen(st->out);
	return CL_STLS_SEND;
}

static int send_bin(struct cl_stls *st, const uint8_t *p, size_t n, const char **out,
                    size_t *outlen)
{
	memcpy(st->out, p, n);
	*out = st->out;
	*outlen = n;
	return CL_STLS_SEND;
}

/* Copies up to one line of server text into st->err, printable only. */
static int fail(struct cl_stls *st, const char *what, const uint8_t *text, size_t n)
{
	char said[100];
	size_t i, j = 0;

	for (i = 0; i < n && j + 1 < sizeof said && text[i] != '\r' && text[i] != '\n'; i++)
		said[j++] = isprint(text[i]) ? (char)text[i] : '?';
	said[j] = '\0';
	if (j)
		snprintf(st->err, sizeof st->err, "%s: server said \"%s\"", what, said);
	else
		snprintf(st->err, sizeof st->err, "%s", what);
	return CL_STLS_FAIL;
}

static void consume(struct cl_stls *st, size_t n)
{
	memmove(st->buf, st->buf + n, st->len - n);
	st->len -= n;
}

/* Length of the first complete line (with its '\n'), 0 when incomplete. */
static size_t line_len(const struct cl_stls *st, size_t from)
{
	const uint8_t *nl = memchr(st->buf + from, '\n', st->len - from);

	return nl ? (size_t)(nl - (st->buf + from)) + 1 : 0;
}

/*
 * A complete SMTP/FTP reply ("250-a", "250 b"): returns its length and
 * the code of its last line in *code, 0 when incomplete. A line that is
 * not "DDD[ -]..." ends the reply with code -1.
 */
static size_t reply(const struct cl_stls *st, int *code, size_t *last)
{
	size_t off = 0, n;

	while ((n = line_len(st, off)) != 0) {
		const uint8_t *l = st->buf + off;
		if (n < 4 || !isdigit(l[0]) || !isdigit(l[1]) || !isdigit(l[2])) {
			*code = -1;
			*last = off;
			return off + n;
		}
		if (l[3] != '-') {
			*code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
			*last = off;
			return off + n;
		}
		off += n;
	}
	return 0;
}

/* Case-insensitive search for needle in the held bytes. */
static bool holds(const struct cl_stls *st, size_t upto, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= upto; i++)
		if (strncasecmp((const char *)st->buf + i, needle, n) == 0)
			return true;
	return false;
}

/* After the go-ahead nothing may follow: a server that already sends
 * more is broken (or someone injects plain text into the TLS stream). */
static int go_tls(struct cl_stls *st)
{
	if (st->len)
		return fail(st, "the server sent data after agreeing to STARTTLS", NULL, 0);
	return CL_STLS_TLS;
}

static int smtp_ftp(struct cl_stls *st, const char **out, size_t *outlen)
{
	bool smtp = st->proto == CL_STLS_SMTP;
	size_t n, last;
	int code;

	while ((n = reply(st, &code, &last)) != 0) {
		const uint8_t *l = st->buf + last;
		switch (st->state) {
		case 0:  /* greeting */
			if (code != 220)
				return fail(st, smtp ? "no SMTP greeting" : "no FTP greeting", l, n - last);
			consume(st, n);
			st->state = 1;
			return send_str(st, smtp ? "EHLO certledger.invalid\r\n" : "AUTH TLS\r\n", out,
			                outlen);
		case 1:
			if (!smtp) {
				if (code != 234)
					return fail(st, "AUTH TLS refused", l, n - last);
				consume(st, n);
				return go_tls(st);
			}
			if (code != 250)
				return fail(st, "EHLO refused", l, n - last);
			if (!holds(st, n, "STARTTLS")) {
				consume(st, n);
				return fail(st, "the server does not offer STARTTLS", NULL, 0);
			}
			consume(st, n);
			st->state = 2;
			return send_str(st, "STARTTLS\r\n", out, outlen);
		default:
			if (code != 220)
				return fail(st, "STARTTLS refused", l, n - last);
			consume(st, n);
			return go_tls(st);
		}
	}
	return CL_STLS_WAIT;
}

static int imap(struct cl_stls *st, const char **out, size_t *outlen)
{
	size_t n;

	while ((n = line_len(st, 0)) != 0) {
		const char *l = (const char *)st->buf;
		if (st->state == 0) {
			if (n >= 4 && (strncasecmp(l, "* OK", 4) == 0 || strncasecmp(l, "* PREAUTH", 9) == 0)) {
				consume(st, n);
				st->state = 1;
				return send_str(st, "A1 STARTTLS\r\n", out, outlen);
			}
			return fail(st, "no IMAP greeting", st->buf, n);
		}
		if (l[0] == '*') {  /* untagged: capabilities and the like */
			consume(st, n);
			continue;
		}
		if (n >= 5 && strncasecmp(l, "A1 OK", 5) == 0) {
			consume(st, n);
			return go_tls(st);
		}
		return fail(st, "STARTTLS refused", st->buf, n);
	}
	return CL_STLS_WAIT;
}

static int pop3(struct cl_stls *st, const char **out, size_t *outlen)
{
	size_t n = line_len(st, 0);

	if (n == 0)
		return CL_STLS_WAIT;
	if (n < 3 || strncmp((const char *)st->buf, "+OK", 3) != 0)
		return fail(st, st->state == 0 ? "no POP3 greeting" : "STLS refused", st->buf, n);
	consume(st, n);
	if (st->state == 0) {
		st->state = 1;
		return send_str(st, "STLS\r\n", out, outlen);
	}
	return go_tls(st);
}

/* Reads a BER tag and length at p[*off..n); returns the content length or
 * -1 (incomplete or malformed: *bad set when malformed). */
static long ber_hdr(const uint8_t *p, size_t n, size_t *off, uint8_t *tag, bool *bad)
{
	size_t o = *off, k;
	long len;

	if (o + 2 > n)
		return -1;
	*tag = p[o++];
	len = p[o++];
	if (len & 0x80) {
		k = (size_t)(len & 0x7f);
		if (k == 0 || k > 4) {  /* OpenLDAP always sends 4 */
			*bad = true;
			return -1;
		}
		if (o + k > n)
			return -1;
		for (len = 0; k > 0; k--)
			len = (len << 8) | p[o++];
	}
	*off = o;
	return len;
}

static int ldap(struct cl_stls *st)
{
	size_t off = 0, end;
	uint8_t tag;
	bool bad = false;
	long len;

	/* LDAPMessage ::= SEQUENCE { messageID, extendedResp [APPLICATION 24] } */
	if ((len = ber_hdr(st->buf, st->len, &off, &tag, &bad)) < 0)
		return bad ? fail(st, "not an LDAP reply", NULL, 0) : CL_STLS_WAIT;
	if (tag != 0x30)
		return fail(st, "not an LDAP reply", NULL, 0);
	if ((size_t)len > sizeof st->buf - off)
		return fail(st, "LDAP reply too long", NULL, 0);
	if (off + (size_t)len > st->len)
		return CL_STLS_WAIT;
	end = off + (size_t)len;
	if ((len = ber_hdr(st->buf, end, &off, &tag, &bad)) < 0 || tag != 0x02 ||
	    off + (size_t)len > end)
		return fail(st, "malformed LDAP reply", NULL, 0);
	off += (size_t)len;
	if ((len = ber_hdr(st->buf, end, &off, &tag, &bad)) < 0 || tag != 0x78)
		return fail(st, "the LDAP server did not answer the StartTLS request", NULL, 0);
	if ((len = ber_hdr(st->buf, end, &off, &tag, &bad)) < 0 || tag != 0x0a || len < 1 ||
	    len > 4 || off + (size_t)len > end)
		return fail(st, "malformed LDAP reply", NULL, 0);
	if (st->buf[off] != 0 || len != 1) {
		long code = 0;
		for (long i = 0; i < len; i++)
			code = (code << 8) | st->buf[off + (size_t)i];
		snprintf(st->err, sizeof st->err, "StartTLS refused (LDAP resultCode %ld)", code);
		return CL_STLS_FAIL;
	}
	consume(st, end);
	return go_tls(st);
}

static int postgres(struct cl_stls *st)
{
	uint8_t c = st->buf[0];

	consume(st, 1);
	if (c == 'S')
		return go_tls(st);
	if (c == 'N')
		return fail(st, "the PostgreSQL server does not accept SSL", NULL, 0);
	return fail(st, "not a PostgreSQL reply to SSLRequest", NULL, 0);
}

static int xmpp(struct cl_stls *st, const char **out, size_t *outlen)
{
	if (holds(st, st->len, "<stream:error"))
		return fail(st, "XMPP stream error", NULL, 0);
	if (st->state == 0) {
		if (!holds(st, st->len, "</stream:features>") && !holds(st, st->len, "<stream:features/>"))
			return CL_STLS_WAIT;
		if (!holds(st, st->len, "urn:ietf:params:xml:ns:xmpp-tls")) {
			st->len = 0;
			return fail(st, "the XMPP server does not offer STARTTLS", NULL, 0);
		}
		st->len = 0;
		st->state = 1;
		return send_str(st, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", out, outlen);
	}
	if (holds(st, st->len, "<failure")) {
		st->len = 0;
		return fail(st, "STARTTLS refused", NULL, 0);
	}
	if (!holds(st, st->len, "<proceed"))
		return CL_STLS_WAIT;
	/* everything up to the end of <proceed .../> belongs to the dialogue */
	const uint8_t *gt = NULL;
	for (size_t i = 0; i + 8 <= st->len; i++)
		if (strncasecmp((const char *)st->buf + i, "<proceed", 8) == 0) {
			gt = memchr(st->buf + i, '>', st->len - i);
			break;
		}
	if (!gt)
		return CL_STLS_WAIT;
	consume(st, (size_t)(gt - st->buf) + 1);
	return go_tls(st);
}

int cl_stls_begin(struct cl_stls *st, int proto, const char *host, const char **out,
                  size_t *outlen)
{
	st->proto = proto;
	st->state = 0;
	st->len = 0;
	st->err[0] = '\0';
	snprintf(st->host, sizeof st->host, "%s", host ? host : "");
	switch (proto) {
	case CL_STLS_LDAP:
		return send_bin(st, ldap_starttls, sizeof ldap_starttls, out, outlen);
	case CL_STLS_POSTGRES:
		return send_bin(st, pg_sslrequest, sizeof pg_sslrequest, out, outlen);
	case CL_STLS_XMPP:
		snprintf(st->out, sizeof st->out,
		         "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
		         "xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>",
		         st->host);
		*out = st->out;
		*outlen = strlen(st->out);
		return CL_STLS_SEND;
	default:
		return CL_STLS_WAIT;
	}
}

int cl_stls_feed(struct cl_stls *st, const uint8_t *p, size_t n, const char **out,
                 size_t *outlen)
{
	if (n > sizeof st->buf - st->len)
		return fail(st, "the server's reply is too long", NULL, 0);
	memcpy(st->buf + st->len, p, n);
	st->len += n;
	if (st->len == 0)
		return CL_STLS_WAIT;
	switch (st->proto) {
	case CL_STLS_SMTP:
	case CL_STLS_FTP: return smtp_ftp(st, out, outlen);
	case CL_STLS_IMAP: return imap(st, out, outlen);
	case CL_STLS_POP3: return pop3(st, out, outlen);
	case CL_STLS_LDAP: return ldap(st);
	case CL_STLS_POSTGRES: return postgres(st);
	case CL_STLS_XMPP: return xmpp(st, out, outlen);
	default: return fail(st, "unknown STARTTLS protocol", NULL, 0);
	}
}
