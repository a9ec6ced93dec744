/*
 * STARTTLS dialogues: the plain-text exchange that upgrades a connection
 * to TLS for SMTP, IMAP, POP3, FTP, LDAP, PostgreSQL and XMPP.
 *
 * Each dialogue is a small state machine fed with whatever bytes arrived;
 * it never touches a socket, so the scanner drives it from its event loop
 * and the fuzzer drives it with random bytes. Server replies are bounded
 * (CL_STLS_BUF): a server that talks too much fails the dialogue.
 */
#ifndef CL_DISCOVER_STARTTLS_H
#define CL_DISCOVER_STARTTLS_H

#include <stddef.h>
#include <stdint.h>

enum cl_stls_proto {
	CL_STLS_NONE = 0,  /* implicit TLS */
	CL_STLS_SMTP,
	CL_STLS_IMAP,
	CL_STLS_POP3,
	CL_STLS_FTP,
	CL_STLS_LDAP,
	CL_STLS_POSTGRES,
	CL_STLS_XMPP,
	CL_STLS_COUNT
};

/* Outcome of a step. */
enum cl_stls_step {
	CL_STLS_WAIT,   /* need more bytes from the server */
	CL_STLS_SEND,   /* send *out, then wait */
	CL_STLS_TLS,    /* the server is ready: start the TLS handshake */
	CL_STLS_FAIL,   /* the upgrade was refused or the reply made no sense */
};

#define CL_STLS_BUF 4096

struct cl_stls {
	int proto;
	int state;
	size_t len;                 /* bytes held in buf */
	char host[256];             /* for XMPP's to= */
	char out[512];              /* what to send next */
	char err[160];              /* why it failed */
	uint8_t buf[CL_STLS_BUF];   /* server bytes not yet consumed */
};

/* "smtp" → CL_STLS_SMTP; "none" → CL_STLS_NONE; -1 when unknown. */
int cl_stls_parse(const char *name);
/* CL_STLS_SMTP → "smtp"; NULL for CL_STLS_NONE. */
const char *cl_stls_name(int proto);
/* The dialogue used by default on a port (CL_STLS_NONE: implicit TLS). */
int cl_stls_for_port(uint16_t port);

/*
 * Starts a dialogue. host names the server (XMPP needs it; may be an
 * address). Returns CL_STLS_SEND (the client speaks first: *out, *outlen
 * set) or CL_STLS_WAIT (the server greets first).
 */
int cl_stls_begin(struct cl_stls *st, int proto, const char *host, const char **out,
                  size_t *outlen);

/*
 * Feeds n bytes received from the server. Returns the next step; on
 * CL_STLS_SEND *out, *outlen hold the bytes to send; on CL_STLS_FAIL
 * st->err says why (with the server's words, sanitised).
 */
int cl_stls_feed(struct cl_stls *st, const uint8_t *p, size_t n, const char **out,
                 size_t *outlen);

#endif
