/* Network discovery: feeder, resolvers, epoll workers and a writer. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "core/buf.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/util.h"
#include "discover/certcache.h"
#include "discover/net.h"
#include "discover/starttls.h"
#include "discover/tlslib.h"
#include "discover/verify.h"

#define PB_N 64                 /* probes per batch */
#define MAX_CHAIN 12            /* certificates kept per endpoint */
#define RESULT_WEIGHT_MAX 8192  /* certificates parsed, not yet written */
#define TXN_RESULTS 1000        /* results per transaction */
#define TXN_NSEC 300000000L
#define EVENTS 256
#define CACHED_ISSUERS 1024    /* parsed issuer certificates kept per scan */

/* PH_WAIT: connected, waiting for a handshake slot (no timeout runs) */
enum phase { PH_CONNECT, PH_STARTTLS, PH_HANDSHAKE, PH_WAIT, PH_COUNT };
#define PH_TIMED PH_WAIT   /* the phases before it have deadlines */

enum probe_flags {
	PF_EXPLICIT = 1 << 0,  /* the user named HOST:PORT */
	PF_ALPN = 1 << 1,      /* offer h2/http1.1 */
};

struct probe {
	struct cl_addr addr;
	uint16_t port;
	uint8_t proto;         /* CL_STLS_* */
	uint8_t flags;
	uint8_t tries;
	const char *sni;       /* borrowed from the targets; NULL = none */
	const char *host;      /* target host name or NULL */
};

struct pbatch {
	size_t n;
	struct pbatch *next;   /* on the returned list */
	struct probe p[PB_N];
};

struct result {
	struct probe p;
	const char *status;
	bool connected;
	char error[200];
	char version[16], cipher[96], group[32], alpn[32];
	int stapled;
	const char *verify;
	char verify_detail[400];
	struct cl_cert *certs[MAX_CHAIN];
	bool lent[MAX_CHAIN];  /* certs[i] belongs to the issuer cache */
	size_t ncerts;
	STACK_OF(X509) *x509;  /* presented chain, until a chain thread parses it */
	bool want_verify;
};

struct conn {
	int fd;
	uint8_t phase;
	bool connected, cert_requested, in_tls;
	SSL *ssl;
	struct cl_stls *stls;
	struct probe p;
	int64_t deadline;
	struct conn *prev, *next;   /* in a phase's timer list, or the free list */
};

struct list {
	struct conn *head, *tail;
};

struct net;

struct worker {
	struct net *n;
	pthread_t tid;
	int id, ep;
	struct conn *conns;
	size_t cap, active;
	struct conn *free;
	struct list timers[PH_COUNT];
	struct probe *retry;
	size_t nretry, capretry;
	struct pbatch *cur;
	size_t curpos;
	double tokens, rate;
	int64_t refilled;
	bool started;
	size_t tls_active, tls_cap;   /* handshakes in flight, and their limit */
};

struct net {
	struct cl_store *s;
	const struct cl_net_opts *o;
	struct cl_net_stats *st;
	const struct cl_targets *t;
	OSSL_LIB_CTX *lib;          /* of the SSL_CTXs (tlslib.h); NULL = the default */
	SSL_CTX *ctx, *ctx_alpn;
	struct cl_verifier *verifier;
	struct cl_certcache *issuers;  /* parsed issuer certificates, lent to results */
	struct cl_queue probes, chains, results;
	pthread_t *chain_tids;
	int nchain;
	int64_t run_id, now;
	struct worker *w;
	int nworkers;
	pthread_t feeder, *resolvers, writer;
	int nresolvers;
	atomic_size_t next_host;
	atomic_int producers;       /* feeder + resolvers still queueing */
	atomic_ulong probes_done;
	atomic_long tls_done, found;
	atomic_int stop;            /* internal stop: store failure or Ctrl-C */
	/* probes a busy worker gave back, for idle ones to take */
	pthread_mutex_t ret_mu;
	struct pbatch *returned;
	atomic_int nreturned;
	int store_rc;
	struct timespec t0;
	size_t *hosts;              /* indexes of host specs */
	size_t nhosts;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool stopping(struct net *n)
{
	if (atomic_load_explicit(&n->stop, memory_order_relaxed))
		return true;
	if (n->o->stop && *n->o->stop) {
		atomic_store(&n->stop, 1);
		return true;
	}
	return false;
}

/* ---- probes: feeder and resolvers ---------------------------------------- */

static int probe_proto(struct net *n, uint16_t port)
{
	return n->o->starttls >= 0 ? n->o->starttls : cl_stls_for_port(port);
}

/* Mail, directory and database ports speak their own protocol inside TLS:
 * offering HTTP's ALPN there could make a strict server refuse. */
static bool wants_alpn(uint16_t port, int proto)
{
	switch (port) {
	case 465: case 636: case 993: case 995: case 853: case 3269: case 5223:
		return false;
	default:
		return proto == CL_STLS_NONE;
	}
}

struct emitter {
	struct net *n;
	struct pbatch *b;
};

static struct pbatch *batch_new(void)
{
	struct pbatch *b = malloc(sizeof *b);

	if (b)
		b->n = 0;
	return b;
}

static bool emit(struct emitter *e, const struct probe *p)
{
	if (!e->b && !(e->b = batch_new()))
		return false;
	e->b->p[e->b->n++] = *p;
	if (e->b->n == PB_N) {
		cl_queue_push(&e->n->probes, e->b, 1);
		e->b = NULL;
	}
	return true;
}

static void emit_flush(struct emitter *e)
{
	if (e->b && e->b->n && !stopping(e->n))
		cl_queue_push(&e->n->probes, e->b, 1);
	else
		free(e->b);
	e->b = NULL;
}

/* Queues the probes of one address: every port, every name. */
static bool emit_addr(struct emitter *e, const struct cl_spec *sp, const struct cl_addr *ad,
                      const char *host)
{
	struct net *n = e->n;
	const struct cl_targets *t = n->t;
	const uint16_t *ports = sp->port ? &sp->port : t->ports;
	size_t nports = sp->port ? 1 : t->nports, i, k, nnames;
	struct probe p = { .addr = *ad, .host = host };

	nnames = host || t->nsnis == 0 ? 1 : t->nsnis;
	for (i = 0; i < nports; i++) {
		p.port = ports[i];
		p.proto = (uint8_t)probe_proto(n, p.port);
		p.flags = (uint8_t)((sp->port ? PF_EXPLICIT : 0) |
		                    (wants_alpn(p.port, p.proto) ? PF_ALPN : 0));
		for (k = 0; k < nnames; k++) {
			p.sni = host ? host : t->nsnis ? t->snis[k] : NULL;
			if (stopping(n) || !emit(e, &p))
				return false;
		}
	}
	return true;
}

static void producer_done(struct net *n)
{
	if (atomic_fetch_sub(&n->producers, 1) == 1)
		cl_queue_close(&n->probes);
}

static void *feeder_main(void *arg)
{
	struct net *n = arg;
	struct emitter e = { .n = n };
	size_t i;

	pthread_setname_np(pthread_self(), "cl-feed");
	for (i = 0; i < n->t->nspecs && !stopping(n); i++) {
		const struct cl_spec *sp = &n->t->specs[i];
		struct cl_addr cur = sp->lo;
		if (sp->kind != CL_SPEC_RANGE)
			continue;
		do {
			if (cl_targets_excluded(n->t, &cur))
				continue;
			if (!emit_addr(&e, sp, &cur, NULL))
				break;
		} while (cl_addr_next(&cur, &sp->hi));
	}
	emit_flush(&e);
	producer_done(n);
	return NULL;
}

static void *resolver_main(void *arg)
{
	struct net *n = arg;
	struct emitter e = { .n = n };
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	size_t i;

	pthread_setname_np(pthread_self(), "cl-resolve");
	while (!stopping(n) && (i = atomic_fetch_add(&n->next_host, 1)) < n->nhosts) {
		const struct cl_spec *sp = &n->t->specs[n->hosts[i]];
		struct addrinfo *res = NULL, *ai;
		struct cl_addr seen[32];
		size_t nseen = 0, k;
		int rc = getaddrinfo(sp->host, NULL, &hints, &res);

		if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY || rc == EAI_NODATA)
			rc = getaddrinfo(sp->host, NULL, &(struct addrinfo){ .ai_socktype = SOCK_STREAM },
			                 &res);
		if (rc != 0) {
			if (!n->o->quiet)
				cl_log(CL_LOG_WARN, "%s%s%s: cannot resolve: %s", sp->origin ? sp->origin : "",
				       sp->origin ? ": " : "", sp->host, gai_strerror(rc));
			__atomic_add_fetch(&n->st->unresolved, 1, __ATOMIC_RELAXED);
			continue;
		}
		for (ai = res; ai; ai = ai->ai_next) {
			struct cl_addr ad = { .family = ai->ai_family };
			if (ai->ai_family == AF_INET)
				memcpy(ad.a, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
			else if (ai->ai_family == AF_INET6)
				memcpy(ad.a, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
			else
				continue;
			for (k = 0; k < nseen; k++)
				if (seen[k].family == ad.family && cl_addr_cmp(&seen[k], &ad) == 0)
					break;
			if (k < nseen || nseen == CL_ARRAY_LEN(seen))
				continue;
			seen[nseen++] = ad;
			if (cl_targets_excluded(n->t, &ad))
				continue;
			if (!emit_addr(&e, sp, &ad, sp->host))
				break;
		}
		freeaddrinfo(res);
	}
	emit_flush(&e);
	producer_done(n);
	return NULL;
}

/* ---- TLS ------------------------------------------------------------------ */

static int client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
	struct conn *c = SSL_get_app_data(ssl);

	(void)x509;
	(void)pkey;
	if (c)
		c->cert_requested = true;
	return 0;  /* no certificate: the scanner has none */
}

/* Stands in for libssl's X509_verify_cert(): the result is recorded by
 * cl_verify_chain() on a chain thread, not by the handshake. */
static int no_chain_check(X509_STORE_CTX *x, void *arg)
{
	(void)x;
	(void)arg;
	return 1;
}

static SSL_CTX *make_ctx(OSSL_LIB_CTX *lib, bool alpn)
{
	static const unsigned char protos[] = "\x02h2\x08http/1.1";
	SSL_CTX *ctx = SSL_CTX_new_ex(lib, NULL, TLS_client_method());

	if (!ctx)
		return NULL;
	/* see what is deployed, however old: TLS 1.0 up, every cipher */
	SSL_CTX_set_security_level(ctx, 0);
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, 0) ||
	    !SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL:@SECLEVEL=0") ||
	    (alpn && SSL_CTX_set_alpn_protos(ctx, protos, sizeof protos - 1) != 0)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_NO_COMPRESSION |
	                    SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_read_ahead(ctx, 1);  /* whole records per read(): fewer syscalls */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* libssl would build and verify the chain again only to ignore the
	 * result (SSL_VERIFY_NONE); the chain threads verify it once */
	SSL_CTX_set_cert_verify_callback(ctx, no_chain_check, NULL);
	SSL_CTX_set_tlsext_status_type(ctx, TLSEXT_STATUSTYPE_ocsp);
	SSL_CTX_set_client_cert_cb(ctx, client_cert_cb);
	return ctx;
}

/* RFC 8446 names of TLS alerts. */
static const char *alert_name(int d)
{
	static const struct { int d; const char *name; } tab[] = {
		{ 0, "close_notify" }, { 10, "unexpected_message" }, { 20, "bad_record_mac" },
		{ 21, "decryption_failed" }, { 22, "record_overflow" },
		{ 30, "decompression_failure" }, { 40, "handshake_failure" },
		{ 41, "no_certificate" }, { 42, "bad_certificate" },
		{ 43, "unsupported_certificate" }, { 44, "certificate_revoked" },
		{ 45, "certificate_expired" }, { 46, "certificate_unknown" },
		{ 47, "illegal_parameter" }, { 48, "unknown_ca" }, { 49, "access_denied" },
		{ 50, "decode_error" }, { 51, "decrypt_error" }, { 60, "export_restriction" },
		{ 70, "protocol_version" }, { 71, "insufficient_security" },
		{ 80, "internal_error" }, { 86, "inappropriate_fallback" },
		{ 90, "user_canceled" }, { 100, "no_renegotiation" },
		{ 109, "missing_extension" }, { 110, "unsupported_extension" },
		{ 111, "certificate_unobtainable" }, { 112, "unrecognized_name" },
		{ 113, "bad_certificate_status_response" }, { 114, "bad_certificate_hash_value" },
		{ 115, "unknown_psk_identity" }, { 116, "certificate_required" },
		{ 120, "no_application_protocol" },
	};
	size_t i;

	for (i = 0; i < CL_ARRAY_LEN(tab); i++)
		if (tab[i].d == d)
			return tab[i].name;
	return NULL;
}

/* Classifies a failed handshake from OpenSSL's error queue and errno. */
static void classify(struct result *r, const struct conn *c, int sslerr, int err)
{
	unsigned long e = ERR_peek_last_error();
	int reason = ERR_GET_REASON(e);
	const char *name;

	if (e && ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET &&
	    reason < SSL_AD_REASON_OFFSET + 256) {
		int d = reason - SSL_AD_REASON_OFFSET;
		r->status = "alert";
		name = alert_name(d);
		if (name)
			snprintf(r->error, sizeof r->error, "%s%s", name, c->cert_requested ?
			         " (the server asked for a client certificate)" : "");
		else
			snprintf(r->error, sizeof r->error, "alert %d", d);
	} else if (e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	           (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
	            reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST ||
	            reason == SSL_R_UNKNOWN_PROTOCOL || reason == SSL_R_RECORD_LENGTH_MISMATCH ||
	            reason == SSL_R_UNEXPECTED_RECORD || reason == SSL_R_LENGTH_TOO_SHORT ||
	            reason == SSL_R_BAD_PACKET_LENGTH)) {
		r->status = "not-tls";
		snprintf(r->error, sizeof r->error, "the server did not answer with TLS (%s)",
		         ERR_reason_error_string(e));
	} else if (e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	           reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		r->status = "reset";
		snprintf(r->error, sizeof r->error, "connection closed during the handshake");
	} else if (sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN) {
		r->status = "reset";
		if (err == ECONNRESET || err == EPIPE)
			snprintf(r->error, sizeof r->error, "connection reset during the handshake");
		else if (err)
			snprintf(r->error, sizeof r->error, "%s", strerror(err));
		else
			snprintf(r->error, sizeof r->error, "connection closed during the handshake");
	} else {
		r->status = "error";
		snprintf(r->error, sizeof r->error, "%s", e ? ERR_reason_error_string(e) ?
		         ERR_reason_error_string(e) : "TLS error" : "TLS error");
	}
	ERR_clear_error();
}

static void tls_params(struct result *r, SSL *ssl)
{
	const SSL_CIPHER *ci = SSL_get_current_cipher(ssl);
	const unsigned char *alpn = NULL, *ocsp = NULL;
	unsigned alen = 0;
	EVP_PKEY *tmp = NULL;
	int nid;

	snprintf(r->version, sizeof r->version, "%s", SSL_get_version(ssl));
	if (ci) {
		const char *std = SSL_CIPHER_standard_name(ci);
		snprintf(r->cipher, sizeof r->cipher, "%s", std ? std : SSL_CIPHER_get_name(ci));
	}
	nid = SSL_get_negotiated_group(ssl);
	if (nid != NID_undef && nid != 0) {
		const char *g = SSL_group_to_name(ssl, nid);
		snprintf(r->group, sizeof r->group, "%s", g ? g : OBJ_nid2sn(nid));
	} else if (SSL_get_peer_tmp_key(ssl, &tmp) == 1 && tmp) {
		if (EVP_PKEY_is_a(tmp, "DH"))
			snprintf(r->group, sizeof r->group, "dh%d", EVP_PKEY_get_bits(tmp));
		else
			snprintf(r->group, sizeof r->group, "%s", EVP_PKEY_get0_type_name(tmp));
		EVP_PKEY_free(tmp);
	}
	SSL_get0_alpn_selected(ssl, &alpn, &alen);
	if (alen && alen < sizeof r->alpn) {
		memcpy(r->alpn, alpn, alen);
		r->alpn[alen] = '\0';
	}
	r->stapled = SSL_get_tlsext_status_ocsp_resp(ssl, &ocsp) > 0 && ocsp;
}

/* Keeps the presented chain (references, no copy) for a chain thread. */
static void grab_chain(struct result *r, SSL *ssl, bool verify)
{
	STACK_OF(X509) *sk = SSL_get_peer_cert_chain(ssl);

	if (sk && sk_X509_num(sk) > 0)
		r->x509 = X509_chain_up_ref(sk);
	r->want_verify = verify;
}

/*
 * Chain threads: parse the chain each handshake kept and verify it, off
 * the event loops, which go back to handshaking at once (the parsed X509
 * objects of the handshake are reused, never decoded again). Issuers
 * come parsed from the cache when an earlier endpoint sent the same.
 */
static void parse_chain(struct net *n, struct result *r)
{
	const char *name = r->p.sni ? r->p.sni : r->p.host;
	int i, num = sk_X509_num(r->x509);

	for (i = 0; i < num && r->ncerts < MAX_CHAIN; i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(r->x509, i), &der), rc = CL_ERR;
		if (len > 0 && i > 0)
			rc = cl_certcache_parse(n->issuers, der, (size_t)len, &r->certs[r->ncerts],
			                        &r->lent[r->ncerts]);
		else if (len > 0)
			rc = cl_cert_parse_der(der, (size_t)len, &r->certs[r->ncerts], NULL);
		if (rc == CL_OK)
			r->ncerts++;
		OPENSSL_free(der);
	}
	if (r->want_verify && r->ncerts)
		r->verify = cl_verify_chain(n->verifier, r->x509,
		                            (const struct cl_cert *const *)r->certs, r->ncerts, name,
		                            n->now, r->verify_detail, sizeof r->verify_detail);
	if (strcmp(r->status, "ok") == 0 && r->ncerts == 0) {
		r->status = "error";
		snprintf(r->error, sizeof r->error, "the server's certificate could not be parsed");
	}
	sk_X509_pop_free(r->x509, X509_free);
	r->x509 = NULL;
	ERR_clear_error();
}

static void *chain_main(void *arg)
{
	struct net *n = arg;
	void *batch[32];
	size_t k, i;

	pthread_setname_np(pthread_self(), "cl-chain");
	while ((k = cl_queue_pop(&n->chains, batch, CL_ARRAY_LEN(batch), NULL, NULL)) > 0)
		for (i = 0; i < k; i++) {
			struct result *r = batch[i];
			parse_chain(n, r);
			cl_queue_push(&n->results, r, 1 + r->ncerts);
		}
	return NULL;
}

/* ---- workers --------------------------------------------------------------- */

static void list_push(struct list *l, struct conn *c)
{
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
}

static void list_del(struct list *l, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
}

static void set_phase(struct worker *w, struct conn *c, enum phase ph)
{
	const struct cl_net_opts *o = w->n->o;
	int ms = ph == PH_CONNECT ? o->connect_ms : ph == PH_STARTTLS ? o->starttls_ms
	                                                              : o->handshake_ms;

	list_del(&w->timers[c->phase], c);
	c->phase = (uint8_t)ph;
	c->deadline = mono_ms() + ms;
	list_push(&w->timers[ph], c);
}

static void conn_release(struct worker *w, struct conn *c)
{
	list_del(&w->timers[c->phase], c);
	if (c->in_tls) {
		w->tls_active--;
		c->in_tls = false;
	}
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	free(c->stls);
	c->stls = NULL;
	c->next = w->free;
	w->free = c;
	w->active--;
}

static struct result *result_new(const struct conn *c)
{
	struct result *r = calloc(1, sizeof *r);

	if (r) {
		r->p = c->p;
		r->connected = c->connected;
		r->stapled = -1;
	}
	return r;
}

static void deliver(struct worker *w, struct result *r)
{
	atomic_fetch_add_explicit(&w->n->probes_done, 1, memory_order_relaxed);
	if (!r)
		return;
	if (!r->x509) {
		cl_queue_push(&w->n->results, r, 1);
		return;
	}
	if (strcmp(r->status, "ok") == 0)
		atomic_fetch_add_explicit(&w->n->tls_done, 1, memory_order_relaxed);
	cl_queue_push(&w->n->chains, r, 1 + (size_t)sk_X509_num(r->x509));
}

/* Ends a probe with a failure (status, printf-style error). */
static void finish_fail(struct worker *w, struct conn *c, const char *status, const char *fmt,
                        ...) CL_PRINTF(4, 5);
static void finish_fail(struct worker *w, struct conn *c, const char *status, const char *fmt,
                        ...)
{
	struct result *r = result_new(c);
	va_list ap;

	if (r) {
		r->status = status;
		va_start(ap, fmt);
		vsnprintf(r->error, sizeof r->error, fmt, ap);
		va_end(ap);
	}
	conn_release(w, c);
	deliver(w, r);
}

static void finish_tls(struct worker *w, struct conn *c, int sslerr, int err)
{
	struct result *r = result_new(c);

	if (r) {
		if (sslerr == 0) {
			r->status = "ok";
			tls_params(r, c->ssl);
			grab_chain(r, c->ssl, true);
			if (!r->x509) {  /* anonymous suites: nothing to inventory */
				r->status = "error";
				snprintf(r->error, sizeof r->error, "the server sent no certificate");
			}
		} else {
			classify(r, c, sslerr, err);
			/* TLS 1.2 servers that want a client certificate fail after
			 * sending theirs: keep what was seen */
			grab_chain(r, c->ssl, false);
			if (r->x509)
				tls_params(r, c->ssl);
		}
	}
	ERR_clear_error();
	conn_release(w, c);
	deliver(w, r);
}

static void drive_tls(struct worker *w, struct conn *c)
{
	int rc, e;

	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		finish_tls(w, c, 0, 0);
		return;
	}
	e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return;  /* edge-triggered: woken when the socket is ready */
	finish_tls(w, c, e, errno);
}

static void start_tls(struct worker *w, struct conn *c)
{
	struct net *n = w->n;

	/* OpenSSL holds ~40 KiB per handshake in flight: beyond the limit a
	 * connected socket waits (cheaply) for a slot */
	if (w->tls_active >= w->tls_cap) {
		set_phase(w, c, PH_WAIT);
		return;
	}
	w->tls_active++;
	c->in_tls = true;
	if (!(c->ssl = SSL_new(c->p.flags & PF_ALPN ? n->ctx_alpn : n->ctx)) ||
	    !SSL_set_fd(c->ssl, c->fd)) {
		finish_fail(w, c, "error", "out of memory");
		return;
	}
	SSL_set_app_data(c->ssl, c);
	SSL_set_connect_state(c->ssl);
	if (c->p.sni)
		SSL_set_tlsext_host_name(c->ssl, c->p.sni);
	set_phase(w, c, PH_HANDSHAKE);
	drive_tls(w, c);
}

static bool send_all(int fd, const char *p, size_t len)
{
	ssize_t k = send(fd, p, len, MSG_NOSIGNAL);

	/* dialogue lines are tiny: a fresh socket never takes them in part */
	return k == (ssize_t)len;
}

static void drive_starttls(struct worker *w, struct conn *c)
{
	uint8_t buf[2048];
	const char *out;
	size_t outlen;
	ssize_t k;
	int step;

	for (;;) {
		k = recv(c->fd, buf, sizeof buf, 0);
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			finish_fail(w, c, errno == ECONNRESET ? "reset" : "error",
			            "%s during STARTTLS (%s)", errno == ECONNRESET ? "connection reset"
			            : "read error", strerror(errno));
			return;
		}
		if (k == 0) {
			finish_fail(w, c, "starttls", "connection closed during the %s STARTTLS "
			            "dialogue", cl_stls_name(c->p.proto));
			return;
		}
		step = cl_stls_feed(c->stls, buf, (size_t)k, &out, &outlen);
		switch (step) {
		case CL_STLS_SEND:
			if (!send_all(c->fd, out, outlen)) {
				finish_fail(w, c, "reset", "connection lost during STARTTLS");
				return;
			}
			break;
		case CL_STLS_TLS:
			free(c->stls);
			c->stls = NULL;
			start_tls(w, c);
			return;
		case CL_STLS_FAIL:
			finish_fail(w, c, "starttls", "%s: %s", cl_stls_name(c->p.proto), c->stls->err);
			return;
		default:
			break;
		}
	}
}

static void connected(struct worker *w, struct conn *c)
{
	const char *out;
	size_t outlen;
	char abuf[64];

	c->connected = true;
	if (c->p.proto == CL_STLS_NONE) {
		start_tls(w, c);
		return;
	}
	if (!(c->stls = malloc(sizeof *c->stls))) {
		finish_fail(w, c, "error", "out of memory");
		return;
	}
	set_phase(w, c, PH_STARTTLS);
	if (cl_stls_begin(c->stls, c->p.proto, c->p.sni ? c->p.sni : c->p.host ? c->p.host :
	                  cl_addr_str(&c->p.addr, abuf, sizeof abuf), &out, &outlen) ==
	    CL_STLS_SEND && !send_all(c->fd, out, outlen)) {
		finish_fail(w, c, "reset", "connection lost during STARTTLS");
		return;
	}
	drive_starttls(w, c);  /* the greeting may be there already */
}

static void on_event(struct worker *w, struct conn *c, uint32_t ev)
{
	int err = 0;
	socklen_t len = sizeof err;

	switch (c->phase) {
	case PH_CONNECT:
		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0 && (ev & (EPOLLERR | EPOLLHUP)))
			err = ECONNREFUSED;
		if (err) {
			finish_fail(w, c, err == ECONNREFUSED ? "refused" : err == ETIMEDOUT ?
			            "timeout" : "error", "%s", err == ECONNREFUSED ? "connection refused"
			            : strerror(err));
			return;
		}
		connected(w, c);
		return;
	case PH_STARTTLS:
		drive_starttls(w, c);
		return;
	case PH_WAIT:
		return;  /* looked at once its handshake starts */
	default:
		drive_tls(w, c);
		return;
	}
}

static void start_probe(struct worker *w, const struct probe *p)
{
	struct sockaddr_storage ss;
	socklen_t sl = cl_addr_sockaddr(&p->addr, p->port, &ss);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct epoll_event ev;
	struct conn *c = w->free;
	int fd, one = 1;

	w->free = c->next;
	w->active++;
	memset(c, 0, sizeof *c);
	c->p = *p;
	c->fd = -1;
	c->phase = PH_CONNECT;
	c->deadline = mono_ms() + w->n->o->connect_ms;
	list_push(&w->timers[PH_CONNECT], c);
	fd = socket(p->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		finish_fail(w, c, "error", "socket: %s", strerror(errno));
		return;
	}
	c->fd = fd;
	/* abortive close: no TIME_WAIT pile-up on the scanner when sweeping */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.ptr = c;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		int e = errno;
		finish_fail(w, c, e == ECONNREFUSED ? "refused" : "error", "%s",
		            e == ECONNREFUSED ? "connection refused" : strerror(e));
		return;
	}
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		finish_fail(w, c, "error", "epoll: %s", strerror(errno));
}

static void on_timeout(struct worker *w, struct conn *c)
{
	static const char *const what[PH_COUNT] = {
		[PH_CONNECT] = "connect timed out",
		[PH_STARTTLS] = "no answer during the STARTTLS dialogue",
		[PH_HANDSHAKE] = "no answer to the TLS handshake",
	};
	struct probe p = c->p;
	enum phase ph = c->phase;

	if (p.tries == 0 && !stopping(w->n) &&
	    CL_GROW(w->retry, w->capretry, w->nretry + 1) == CL_OK) {
		p.tries = 1;  /* one retry: a lost SYN or a busy server */
		w->retry[w->nretry++] = p;
		conn_release(w, c);
		return;
	}
	finish_fail(w, c, "timeout", "%s (after %d ms, tried twice)", what[ph],
	            ph == PH_CONNECT ? w->n->o->connect_ms : ph == PH_STARTTLS
	            ? w->n->o->starttls_ms : w->n->o->handshake_ms);
}

/* Next probe to start, or NULL (none available right now). */
static const struct probe *next_probe(struct worker *w, bool *exhausted)
{
	void *item;

	*exhausted = false;
	if (w->nretry)
		return &w->retry[--w->nretry];
	if (w->cur && w->curpos < w->cur->n)
		return &w->cur->p[w->curpos++];
	free(w->cur);
	w->cur = NULL;
	if (atomic_load_explicit(&w->n->nreturned, memory_order_relaxed) > 0) {
		pthread_mutex_lock(&w->n->ret_mu);
		if ((w->cur = w->n->returned) != NULL) {
			w->n->returned = w->cur->next;
			atomic_fetch_sub(&w->n->nreturned, 1);
		}
		pthread_mutex_unlock(&w->n->ret_mu);
		if (w->cur) {
			w->curpos = 1;
			return &w->cur->p[0];
		}
	}
	if (cl_queue_trypop(&w->n->probes, &item, 1) == 1) {
		w->cur = item;
		w->curpos = 1;
		return &w->cur->p[0];
	}
	*exhausted = cl_queue_finished(&w->n->probes) &&
	             atomic_load(&w->n->nreturned) == 0;
	return NULL;
}

/* A worker without free slots gives the rest of its batch back, so that
 * another worker with room starts them now rather than after timeouts. */
static void give_back(struct worker *w)
{
	struct pbatch *b;

	if (w->free || !w->cur || w->curpos >= w->cur->n || w->n->nworkers < 2)
		return;
	if (w->curpos == 0) {
		b = w->cur;
	} else {
		if (!(b = malloc(sizeof *b)))
			return;
		b->n = w->cur->n - w->curpos;
		memcpy(b->p, w->cur->p + w->curpos, b->n * sizeof *b->p);
		free(w->cur);
	}
	w->cur = NULL;
	w->curpos = 0;
	pthread_mutex_lock(&w->n->ret_mu);
	b->next = w->n->returned;
	w->n->returned = b;
	atomic_fetch_add(&w->n->nreturned, 1);
	pthread_mutex_unlock(&w->n->ret_mu);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct net *n = w->n;
	struct epoll_event evs[EVENTS];
	bool exhausted = false;
	int i, k, timeout;

	pthread_setname_np(pthread_self(), "cl-scan");
	for (;;) {
		int64_t now = mono_ms();
		bool want_more = false;

		if (stopping(n))
			break;
		if (w->rate > 0) {
			w->tokens += (double)(now - w->refilled) * w->rate / 1000.0;
			if (w->tokens > w->rate / 20 + 1)
				w->tokens = w->rate / 20 + 1;
			w->refilled = now;
		}
		while (w->free && (w->rate <= 0 || w->tokens >= 1)) {
			const struct probe *p = next_probe(w, &exhausted);
			if (!p) {
				want_more = !exhausted;
				break;
			}
			struct probe copy = *p;
			start_probe(w, &copy);
			if (w->rate > 0)
				w->tokens -= 1;
		}
		give_back(w);
		/* handshakes that waited for a slot */
		while (w->tls_active < w->tls_cap && w->timers[PH_WAIT].head)
			start_tls(w, w->timers[PH_WAIT].head);
		if (exhausted && w->active == 0 && w->nretry == 0)
			break;
		/* sleep until the first deadline, a new token or new probes */
		timeout = -1;
		for (k = 0; k < PH_TIMED; k++)
			if (w->timers[k].head) {
				int64_t d = w->timers[k].head->deadline - now;
				if (d < 0)
					d = 0;
				if (timeout < 0 || d < timeout)
					timeout = (int)d;
			}
		if (want_more || (w->free && w->rate > 0 && w->tokens < 1 && !exhausted))
			timeout = timeout < 0 || timeout > 5 ? 5 : timeout;
		if (timeout < 0 || timeout > 200)
			timeout = 200;  /* notice Ctrl-C */
		k = epoll_wait(w->ep, evs, EVENTS, timeout);
		for (i = 0; i < k; i++)
			on_event(w, evs[i].data.ptr, evs[i].events);
		now = mono_ms();
		for (k = 0; k < PH_TIMED; k++)
			while (w->timers[k].head && w->timers[k].head->deadline <= now)
				on_timeout(w, w->timers[k].head);
	}
	/* interrupted: what is in flight is dropped (workers_free), not recorded */
	return NULL;
}

/* ---- writer ---------------------------------------------------------------- */

static const char *chain_str(struct cl_buf *b, const struct result *r)
{
	char fp[2 * CL_SHA256_LEN + 1];
	size_t i;

	cl_buf_reset(b);
	for (i = 0; i < r->ncerts; i++) {
		cl_hex(fp, r->certs[i]->fp, CL_SHA256_LEN);
		cl_buf_printf(b, "%s%s", i ? " " : "", fp);
	}
	return b->data ? b->data : "";
}

static void result_free(struct result *r)
{
	size_t i;

	sk_X509_pop_free(r->x509, X509_free);
	for (i = 0; i < r->ncerts; i++)
		if (!r->lent[i])
			cl_cert_free(r->certs[i]);
	free(r);
}

static int record(struct net *n, struct result *r, struct cl_buf *cb)
{
	struct cl_net_stats *st = n->st;
	struct cl_endpoint_obs e = { 0 };
	char addr[64], leaf[2 * CL_SHA256_LEN + 1], loc[512];
	unsigned what;
	long cnew;
	int rc;

	e.r.address = cl_addr_str(&r->p.addr, addr, sizeof addr);
	e.r.port = r->p.port;
	e.r.sni = r->p.sni ? r->p.sni : "";
	e.r.hostname = r->p.host ? r->p.host : "";
	e.r.status = r->status;
	e.r.error = r->error[0] ? r->error : NULL;
	e.r.starttls = cl_stls_name(r->p.proto);
	e.r.ocsp_stapled = -1;
	if (r->ncerts) {
		cl_hex(leaf, r->certs[0]->fp, CL_SHA256_LEN);
		e.r.tls_version = r->version;
		e.r.cipher = r->cipher;
		e.r.group = r->group[0] ? r->group : NULL;
		e.r.alpn = r->alpn[0] ? r->alpn : NULL;
		e.r.ocsp_stapled = r->stapled;
		e.r.leaf_fp = leaf;
		e.r.subject = r->certs[0]->subject;
		e.r.issuer = r->certs[0]->issuer;
		e.r.not_after = r->certs[0]->not_after;
		e.r.verify = r->verify;
		e.r.verify_detail = r->verify_detail[0] ? r->verify_detail : NULL;
		e.r.chain = chain_str(cb, r);
	}
	e.certs = (const struct cl_cert *const *)r->certs;
	e.ncerts = r->ncerts;
	/* a port that accepts and never answers is recorded only when named
	 * or known, like a closed one */
	e.connected = r->connected && strcmp(r->status, "timeout") != 0;
	e.explicit_target = r->p.flags & PF_EXPLICIT;
	rc = cl_store_observe_endpoint(n->s, n->run_id, &e, n->now, loc, sizeof loc, &what, &cnew);
	if (rc != CL_OK)
		return rc;
	st->certs += (long)r->ncerts;
	st->certs_new += cnew;
	if (!(what & CL_EP_RECORDED)) {
		st->closed++;
		return CL_OK;
	}
	if (strcmp(r->status, "ok") == 0)
		st->tls++;
	else
		st->failed++;
	st->endpoints_new += !!(what & CL_EP_NEW);
	st->changed += !!(what & CL_EP_CHANGED);
	st->unreachable += !!(what & CL_EP_UNREACHABLE);
	st->back += !!(what & CL_EP_BACK);
	atomic_fetch_add_explicit(&n->found, 1, memory_order_relaxed);
	if (n->o->on_row)
		return n->o->on_row(n->o->row_arg, &e.r);
	return CL_OK;
}

static void *writer_main(void *arg)
{
	struct net *n = arg;
	struct timespec deadline;
	struct cl_buf cb;
	void *batch[64];
	bool in_txn = false, timed_out;
	long pending = 0;
	size_t k, i;
	int rc;

	pthread_setname_np(pthread_self(), "cl-write");
	cl_buf_init(&cb, 1 << 16);
	for (;;) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += TXN_NSEC;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		k = cl_queue_pop(&n->results, batch, CL_ARRAY_LEN(batch), &deadline, &timed_out);
		if (k == 0 && !timed_out)
			break;
		for (i = 0; i < k; i++) {
			struct result *r = batch[i];
			if (n->store_rc == CL_OK) {
				if (!in_txn && (rc = cl_store_begin(n->s)) != CL_OK)
					n->store_rc = rc;
				else
					in_txn = true;
				if (n->store_rc == CL_OK && (rc = record(n, r, &cb)) != CL_OK)
					n->store_rc = rc;
				pending++;
				if (n->store_rc != CL_OK)
					atomic_store(&n->stop, 1);
			}
			result_free(r);
		}
		if (in_txn && (pending >= TXN_RESULTS || timed_out || k == 0)) {
			if (n->store_rc == CL_OK && (rc = cl_store_commit(n->s)) != CL_OK) {
				n->store_rc = rc;
				atomic_store(&n->stop, 1);
			}
			in_txn = false;
			pending = 0;
		}
	}
	if (in_txn) {
		if (n->store_rc == CL_OK)
			n->store_rc = cl_store_commit(n->s);
		else
			cl_store_rollback(n->s);
	}
	cl_buf_free(&cb);
	return NULL;
}

/* ---- orchestration ----------------------------------------------------------- */

static double elapsed(const struct net *n)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - n->t0.tv_sec) + (double)(t.tv_nsec - n->t0.tv_nsec) / 1e9;
}

static void progress(struct net *n, bool final)
{
	unsigned long done = atomic_load(&n->probes_done);
	uint64_t total = n->st->planned;
	double t = elapsed(n), rate = t > 0 ? (double)done / t : 0;
	char eta[32] = "";

	if (final) {
		fputs("\r\033[K", stderr);
		return;
	}
	if (total < done)
		total = done;
	if (rate > 0 && total > done)
		snprintf(eta, sizeof eta, ", ETA %.0fs", (double)(total - done) / rate);
	fprintf(stderr, "\r\033[Kscan: %lu/%llu probes (%.0f%%), %.0f/s%s, %ld TLS endpoints found",
	        done, (unsigned long long)total, total ? 100.0 * (double)done / (double)total : 100.0,
	        rate, eta, atomic_load(&n->tls_done));
	fflush(stderr);
}

/* Raises the open-files limit as far as allowed; returns the usable count. */
static long fd_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

static int workers_init(struct net *n, int concurrency)
{
	int i;
	size_t j, per = ((size_t)concurrency + (size_t)n->nworkers - 1) / (size_t)n->nworkers;

	if (!(n->w = calloc((size_t)n->nworkers, sizeof *n->w)))
		return CL_ERR_NOMEM;
	for (i = 0; i < n->nworkers; i++) {
		struct worker *w = &n->w[i];
		w->n = n;
		w->id = i;
		w->cap = per;
		w->tls_cap = ((size_t)n->o->max_handshakes + (size_t)n->nworkers - 1) /
		             (size_t)n->nworkers;
		if (w->tls_cap == 0 || n->o->max_handshakes <= 0)
			w->tls_cap = per;
		w->rate = n->o->rate > 0 ? n->o->rate / n->nworkers : 0;
		w->tokens = w->rate > 0 ? 1 : 0;
		w->refilled = mono_ms();
		if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		    !(w->conns = calloc(per, sizeof *w->conns)))
			return CL_ERR_NOMEM;
		for (j = per; j-- > 0;) {
			w->conns[j].fd = -1;
			w->conns[j].next = w->free;
			w->free = &w->conns[j];
		}
	}
	return CL_OK;
}

static void workers_free(struct net *n)
{
	int i;
	size_t j;

	for (i = 0; n->w && i < n->nworkers; i++) {
		struct worker *w = &n->w[i];
		for (j = 0; w->conns && j < w->cap; j++) {
			struct conn *c = &w->conns[j];
			if (c->ssl)
				SSL_free(c->ssl);
			if (c->fd >= 0)
				close(c->fd);
			free(c->stls);
		}
		free(w->conns);
		free(w->retry);
		free(w->cur);
		if (w->ep >= 0)
			close(w->ep);
	}
	free(n->w);
}

static char *stats_json(const struct cl_net_stats *st)
{
	json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:f}",
	                      "probes", (json_int_t)st->probes, "tls", (json_int_t)st->tls,
	                      "failed", (json_int_t)st->failed, "closed", (json_int_t)st->closed,
	                      "unresolved", (json_int_t)st->unresolved,
	                      "new", (json_int_t)st->endpoints_new,
	                      "changed", (json_int_t)st->changed,
	                      "unreachable", (json_int_t)st->unreachable,
	                      "back", (json_int_t)st->back, "certificates", (json_int_t)st->certs,
	                      "certificates_new", (json_int_t)st->certs_new,
	                      "interrupted", st->interrupted, "seconds", st->seconds);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

int cl_discover_net(struct cl_store *s, const struct cl_net_opts *o, struct cl_net_stats *st)
{
	struct net n = { .s = s, .o = o, .st = st, .t = o->targets };
	char err[512], *sj;
	long budget;
	int concurrency = o->concurrency > 0 ? o->concurrency : 1000, rc, i, nstarted = 0;
	bool feeder = false, writer = false;
	size_t k;

	memset(st, 0, sizeof *st);
	clock_gettime(CLOCK_MONOTONIC, &n.t0);
	n.now = cl_now();
	cl_targets_count(n.t, &st->planned);
	if ((rc = cl_verifier_new(&n.verifier, o->ca_bundle, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", err);
		return rc;
	}
	if ((rc = cl_certcache_new(&n.issuers, CACHED_ISSUERS)) != CL_OK)
		goto out;
	/* cheaper certificate decoding in the handshakes (OpenSSL 3.0): tlslib.h */
	n.lib = cl_tlslib_get1();
	if (!(n.ctx = make_ctx(n.lib, false)) || !(n.ctx_alpn = make_ctx(n.lib, true))) {
		cl_log_ossl(CL_LOG_ERROR, "cannot set up TLS");
		rc = CL_ERR;
		goto out;
	}
	budget = fd_budget() - 64;
	if (concurrency > budget) {
		cl_log(CL_LOG_WARN, "--concurrency %d is above the open-files limit; using %ld",
		       concurrency, budget);
		concurrency = (int)(budget > 1 ? budget : 1);
	}
	n.nworkers = o->workers > 0 ? o->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n.nworkers < 1)
		n.nworkers = 1;
	if (n.nworkers > concurrency)
		n.nworkers = concurrency;
	for (k = 0; k < n.t->nspecs; k++)
		if (n.t->specs[k].kind == CL_SPEC_HOST)
			n.nhosts++;
	if (n.nhosts && !(n.hosts = malloc(n.nhosts * sizeof *n.hosts))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	n.nhosts = 0;
	for (k = 0; k < n.t->nspecs; k++)
		if (n.t->specs[k].kind == CL_SPEC_HOST)
			n.hosts[n.nhosts++] = k;
	n.nresolvers = n.nhosts == 0 ? 0 : n.nhosts < 8 ? (int)n.nhosts : 8;
	cl_queue_init(&n.probes, 1, (size_t)(concurrency / PB_N + 4) * 2);
	cl_queue_init(&n.chains, 8, RESULT_WEIGHT_MAX);
	cl_queue_init(&n.results, 16, RESULT_WEIGHT_MAX);
	if ((rc = workers_init(&n, concurrency)) != CL_OK)
		goto out_queues;
	if ((rc = cl_store_run_begin(s, "discover-net", o->args, n.now, &n.run_id)) != CL_OK)
		goto out_queues;

	pthread_mutex_init(&n.ret_mu, NULL);
	atomic_store(&n.producers, 1 + n.nresolvers);
	if (!(n.resolvers = calloc((size_t)n.nresolvers + 1, sizeof *n.resolvers))) {
		rc = CL_ERR_NOMEM;
		goto out_queues;
	}
	if (pthread_create(&n.writer, NULL, writer_main, &n) != 0) {
		rc = CL_ERR;
		goto out_queues;
	}
	writer = true;
	/* as many chain threads as event loops: parsing and verifying runs
	 * beside the handshakes instead of between them */
	if (!(n.chain_tids = calloc((size_t)n.nworkers, sizeof *n.chain_tids))) {
		rc = CL_ERR_NOMEM;
		atomic_store(&n.stop, 1);
	}
	for (i = 0; n.chain_tids && i < n.nworkers; i++) {
		if (pthread_create(&n.chain_tids[i], NULL, chain_main, &n) != 0)
			break;
		n.nchain++;
	}
	if (n.nchain == 0) {
		cl_log(CL_LOG_ERROR, "cannot start threads");
		atomic_store(&n.stop, 1);
	}
	if (pthread_create(&n.feeder, NULL, feeder_main, &n) != 0) {
		atomic_store(&n.stop, 1);
		cl_queue_close(&n.probes);
	} else {
		feeder = true;
	}
	for (i = 0; i < n.nresolvers; i++)
		if (pthread_create(&n.resolvers[i], NULL, resolver_main, &n) != 0) {
			n.nresolvers = i;
			atomic_store(&n.stop, 1);
			break;
		}
	for (i = 0; i < n.nworkers; i++) {
		if (pthread_create(&n.w[i].tid, NULL, worker_main, &n.w[i]) != 0)
			break;
		n.w[i].started = true;
		nstarted++;
	}
	if (nstarted == 0)
		atomic_store(&n.stop, 1);
	/* the calling thread draws the progress line until the workers end */
	for (i = 0; i < nstarted; i++) {
		while (o->progress && pthread_tryjoin_np(n.w[i].tid, NULL) == EBUSY) {
			progress(&n, false);
			usleep(200000);
		}
		if (!o->progress)
			pthread_join(n.w[i].tid, NULL);
	}
	atomic_store(&n.stop, 1);  /* producers blocked on a full queue: let them go */
	{
		void *item;
		while (cl_queue_trypop(&n.probes, &item, 1) == 1)
			free(item);
	}
	cl_queue_close(&n.probes);
	if (feeder)
		pthread_join(n.feeder, NULL);
	for (i = 0; i < n.nresolvers; i++)
		pthread_join(n.resolvers[i], NULL);
	{
		void *item;
		while (cl_queue_trypop(&n.probes, &item, 1) == 1)
			free(item);
	}
	cl_queue_close(&n.chains);
	for (i = 0; i < n.nchain; i++)
		pthread_join(n.chain_tids[i], NULL);
	cl_queue_close(&n.results);
	if (writer)
		pthread_join(n.writer, NULL);
	if (o->progress)
		progress(&n, true);
	st->probes = atomic_load(&n.probes_done);
	st->interrupted = o->stop && *o->stop;
	st->seconds = elapsed(&n);
	rc = n.store_rc;
	sj = stats_json(st);
	if (rc == CL_OK)
		rc = cl_store_run_end(s, n.run_id, st->interrupted ? "interrupted" : "ok", sj,
		                      cl_now());
	else
		cl_store_run_end(s, n.run_id, "failed", sj, cl_now());
	free(sj);
out_queues:
	while (n.returned) {
		struct pbatch *b = n.returned;
		n.returned = b->next;
		free(b);
	}
	workers_free(&n);
	cl_queue_destroy(&n.probes);
	cl_queue_destroy(&n.chains);
	cl_queue_destroy(&n.results);
out:
	free(n.chain_tids);
	free(n.resolvers);
	free(n.hosts);
	SSL_CTX_free(n.ctx);
	SSL_CTX_free(n.ctx_alpn);
	cl_verifier_free(n.verifier);  /* may hold certificates made in n.lib */
	cl_tlslib_put(n.lib);
	cl_certcache_free(n.issuers);  /* every result is freed */
	return rc;
}
