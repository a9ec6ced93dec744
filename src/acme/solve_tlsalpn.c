/*
 * TLS-ALPN-01 standalone solver (RFC 8737, RFC 8738 for IP addresses): a
 * TLS 1.2+ listener in a thread of its own that accepts only ALPN
 * "acme-tls/1" and answers the SNI of a presented challenge with a
 * self-signed certificate naming that identifier alone and carrying the
 * critical acmeIdentifier extension (id-pe-acmeIdentifier,
 * 1.3.6.1.5.5.7.1.31: an OCTET STRING holding SHA-256 of the key
 * authorization). Connections are handled one at a time with socket
 * timeouts; a validation is one short handshake.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "acme/acme_int.h"
#include "core/util.h"

#define ACME_TLS_1 "acme-tls/1"
#define OID_ACME_IDENTIFIER "1.3.6.1.5.5.7.1.31"
#define IO_TIMEOUT_S 5
#define MAX_CERTS 4096

struct alpn_cert {
	char *sni;      /* lowercase name, or the reverse-mapping name of an address */
	X509 *x;
	unsigned refs;
};

struct tlsalpn {
	pthread_mutex_t mu;
	struct alpn_cert *v;
	size_t n, cap;
	SSL_CTX *ctx;
	EVP_PKEY *key;
	int lfd, wake[2];
	pthread_t thread;
	bool running;
	unsigned port;
};

/* The SNI a validation of identifier uses: the name itself (lowercase),
 * or for an address its in-addr.arpa / ip6.arpa name (RFC 8738 6). */
static int sni_of(const struct cl_acme_chall *c, char *out, size_t len)
{
	unsigned char a[16];
	size_t i, k = 0;

	if (c->id_type == CL_ACME_ID_DNS) {
		if (strlen(c->identifier) >= len)
			return CL_ERR_PARSE;
		for (i = 0; c->identifier[i]; i++)
			out[i] = (char)((c->identifier[i] >= 'A' && c->identifier[i] <= 'Z')
			                    ? c->identifier[i] + 32
			                    : c->identifier[i]);
		out[i] = '\0';
		return CL_OK;
	}
	if (inet_pton(AF_INET, c->identifier, a) == 1) {
		snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return CL_OK;
	}
	if (inet_pton(AF_INET6, c->identifier, a) == 1 && len >= 74) {
		for (i = 16; i-- > 0;)
			k += (size_t)snprintf(out + k, len - k, "%x.%x.", a[i] & 0xf, a[i] >> 4);
		snprintf(out + k, len - k, "ip6.arpa");
		return CL_OK;
	}
	return CL_ERR_PARSE;
}

/* The challenge certificate for c, signed by key. NULL on failure. */
static X509 *make_cert(EVP_PKEY *key, const struct cl_acme_chall *c)
{
	X509 *x = NULL;
	X509_NAME *name = NULL;
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *g = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	ASN1_OCTET_STRING *ip = NULL, *inner = NULL, *val = NULL;
	ASN1_OBJECT *obj = NULL;
	X509_EXTENSION *ext = NULL;
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = NULL;
	unsigned char *der = NULL;
	int n, ok = 0;

	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 || (bn = BN_new()) == NULL ||
	    BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL || X509_set_serialNumber(x, serial) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400) == NULL ||
	    (name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                               (const unsigned char *)"ACME TLS-ALPN-01 challenge", -1, -1,
	                               0) != 1 ||
	    X509_set_subject_name(x, name) != 1 || X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, key) != 1 || (gens = GENERAL_NAMES_new()) == NULL ||
	    (g = GENERAL_NAME_new()) == NULL)
		goto out;
	if (c->id_type == CL_ACME_ID_DNS) {
		if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(ia5, c->identifier, (int)strlen(c->identifier)) != 1)
			goto out;
		GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
		ia5 = NULL;
	} else {
		if ((ip = a2i_IPADDRESS(c->identifier)) == NULL)
			goto out;
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		ip = NULL;
	}
	if (sk_GENERAL_NAME_push(gens, g) <= 0)
		goto out;
	g = NULL;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
		goto out;
	/* extnValue: DER of OCTET STRING (32 bytes) */
	if ((inner = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(inner, c->digest, sizeof c->digest) != 1 ||
	    (n = i2d_ASN1_OCTET_STRING(inner, &der)) <= 0 || (val = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(val, der, n) != 1 ||
	    (obj = OBJ_txt2obj(OID_ACME_IDENTIFIER, 1)) == NULL ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, val)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1 || X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
out:
	if (!ok) {
		X509_free(x);
		x = NULL;
		ERR_clear_error();
	}
	X509_NAME_free(name);
	GENERAL_NAMES_free(gens);
	GENERAL_NAME_free(g);
	ASN1_IA5STRING_free(ia5);
	ASN1_OCTET_STRING_free(ip);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OCTET_STRING_free(val);
	ASN1_OBJECT_free(obj);
	X509_EXTENSION_free(ext);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	OPENSSL_free(der);
	return x;
}

static int on_servername(SSL *ssl, int *alert, void *ud)
{
	struct tlsalpn *t = ud;
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	int rc = SSL_TLSEXT_ERR_ALERT_FATAL;
	size_t i;

	*alert = SSL_AD_UNRECOGNIZED_NAME;
	if (sni == NULL)
		return rc;
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->n; i++) {
		if (strcasecmp(t->v[i].sni, sni) == 0) {
			if (SSL_use_certificate(ssl, t->v[i].x) == 1 &&
			    SSL_use_PrivateKey(ssl, t->key) == 1)
				rc = SSL_TLSEXT_ERR_OK;
			break;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

/* true when an ALPN extension (RFC 7301: a 2-byte list length, then
 * 1-byte-length names) lists acme-tls/1. */
static bool offers_acme_tls(const unsigned char *p, size_t n)
{
	size_t i = 2, len;

	if (n < 2 || (len = (size_t)p[0] << 8 | p[1]) != n - 2)
		return false;
	while (i < n) {
		size_t k = p[i];

		if (i + 1 + k > n)
			return false;
		if (k == sizeof ACME_TLS_1 - 1 && memcmp(p + i + 1, ACME_TLS_1, k) == 0)
			return true;
		i += 1 + k;
	}
	return false;
}

/* Refuses a hello that does not ask for acme-tls/1: without ALPN the
 * ALPN callback would not run, and the challenge certificate is for
 * validations only. */
static int on_hello(SSL *ssl, int *alert, void *ud)
{
	const unsigned char *p = NULL;
	size_t n = 0;

	(void)ud;
	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
	                              &n) != 1 ||
	    !offers_acme_tls(p, n)) {
		*alert = SSL_AD_NO_APPLICATION_PROTOCOL;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *ud)
{
	unsigned i = 0;

	(void)ssl;
	(void)ud;
	while (i < inlen) {
		unsigned n = in[i];

		if (i + 1 + n > inlen)
			break;
		if (n == sizeof ACME_TLS_1 - 1 && memcmp(in + i + 1, ACME_TLS_1, n) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;   /* this listener serves nothing else */
}

static void serve_one(struct tlsalpn *t, int fd)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	SSL *ssl;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if ((ssl = SSL_new(t->ctx)) != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1)
		(void)SSL_shutdown(ssl);
	SSL_free(ssl);
	ERR_clear_error();
	close(fd);
}

static void *loop(void *ud)
{
	struct tlsalpn *t = ud;

	for (;;) {
		struct pollfd p[2] = { { t->lfd, POLLIN, 0 }, { t->wake[0], POLLIN, 0 } };
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			if ((fd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
				serve_one(t, fd);
		}
	}
	return NULL;
}

static int ta_present(void *state, const struct cl_acme_chall *c, char *err, size_t errlen)
{
	struct tlsalpn *t = state;
	char sni[128];
	X509 *x = NULL;
	size_t i;
	int rc = CL_OK;

	if (sni_of(c, sni, sizeof sni) != CL_OK) {
		cl_acme_errf(err, errlen, "cannot derive the SNI name of the identifier");
		return CL_ERR_PARSE;
	}
	if ((x = make_cert(t->key, c)) == NULL) {
		cl_acme_errf(err, errlen, "cannot make the challenge certificate");
		return CL_ERR;
	}
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].sni, sni) == 0) {   /* a new challenge for it replaces the old */
			X509_free(t->v[i].x);
			t->v[i].x = x;
			t->v[i].refs++;
			x = NULL;
			goto out;
		}
	}
	if (t->n == MAX_CERTS || CL_GROW(t->v, t->cap, t->n + 1) != CL_OK ||
	    (t->v[t->n].sni = strdup(sni)) == NULL) {
		cl_acme_errf(err, errlen, "out of memory");
		rc = CL_ERR_NOMEM;
		goto out;
	}
	t->v[t->n].x = x;
	t->v[t->n].refs = 1;
	t->n++;
	x = NULL;
out:
	pthread_mutex_unlock(&t->mu);
	X509_free(x);
	return rc;
}

static void ta_cleanup(void *state, const struct cl_acme_chall *c)
{
	struct tlsalpn *t = state;
	char sni[128];
	size_t i;

	if (sni_of(c, sni, sizeof sni) != CL_OK)
		return;
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].sni, sni) == 0) {
			if (--t->v[i].refs == 0) {
				free(t->v[i].sni);
				X509_free(t->v[i].x);
				t->v[i] = t->v[--t->n];
			}
			break;
		}
	}
	pthread_mutex_unlock(&t->mu);
}

static void ta_free(void *state)
{
	struct tlsalpn *t = state;
	size_t i;

	if (t == NULL)
		return;
	if (t->running) {
		ssize_t w;

		do
			w = write(t->wake[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(t->thread, NULL);
	}
	if (t->lfd >= 0)
		close(t->lfd);
	if (t->wake[0] >= 0)
		close(t->wake[0]);
	if (t->wake[1] >= 0)
		close(t->wake[1]);
	for (i = 0; i < t->n; i++) {
		free(t->v[i].sni);
		X509_free(t->v[i].x);
	}
	free(t->v);
	SSL_CTX_free(t->ctx);
	EVP_PKEY_free(t->key);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static unsigned ta_port(const void *state)
{
	return ((const struct tlsalpn *)state)->port;
}

static const struct cl_acme_solver_ops tlsalpn_ops = {
	.name = "tls-alpn-01 standalone",
	.type = CL_ACME_TLSALPN01,
	.present = ta_present,
	.cleanup = ta_cleanup,
	.free = ta_free,
	.port = ta_port,
};

/* A listening socket on addr:port. */
static int listen_on(const char *addr, unsigned port, unsigned *bound)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char ps[8];
	int fd = -1, one = 1;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(ps, sizeof ps, "%u", port);
	if (getaddrinfo(addr, ps, &hints, &res) != 0 || res == NULL)
		return -1;
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		if (fd >= 0)
			close(fd);
		fd = -1;
	} else {
		*bound = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
		                                 : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	freeaddrinfo(res);
	return fd;
}

int cl_acme_solver_tlsalpn_standalone(struct cl_acme_solver **out, const char *addr,
                                      unsigned port, char *err, size_t errlen)
{
	struct cl_acme_solver *sv = NULL;
	struct tlsalpn *t = NULL;
	int rc = CL_ERR_NOMEM;

	*out = NULL;
	if (port > 65535) {
		cl_acme_errf(err, errlen, "port %u is out of range", port);
		return CL_ERR_USAGE;
	}
	if ((sv = calloc(1, sizeof *sv)) == NULL || (t = calloc(1, sizeof *t)) == NULL)
		goto fail;
	t->lfd = t->wake[0] = t->wake[1] = -1;
	pthread_mutex_init(&t->mu, NULL);
	rc = CL_ERR;
	if (cl_acme_key_new(&t->key, CL_ACME_KEY_EC256) != CL_OK ||
	    (t->ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1) {
		cl_acme_errf(err, errlen, "cannot set up TLS");
		goto fail;
	}
	SSL_CTX_set_tlsext_servername_callback(t->ctx, on_servername);
	SSL_CTX_set_tlsext_servername_arg(t->ctx, t);
	SSL_CTX_set_alpn_select_cb(t->ctx, on_alpn, t);
	SSL_CTX_set_client_hello_cb(t->ctx, on_hello, t);
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET);
	if (pipe2(t->wake, O_CLOEXEC) != 0) {
		cl_acme_errf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((t->lfd = listen_on(addr ? addr : "0.0.0.0", port, &t->port)) < 0) {
		cl_acme_errf(err, errlen, "cannot listen on %s port %u: %s", addr ? addr : "0.0.0.0",
		             port, strerror(errno));
		rc = CL_ERR_IO;
		goto fail;
	}
	if (cl_acme_thread_start(&t->thread, loop, t) != 0) {
		cl_acme_errf(err, errlen, "cannot start a thread");
		goto fail;
	}
	t->running = true;
	sv->ops = &tlsalpn_ops;
	sv->state = t;
	*out = sv;
	return CL_OK;
fail:
	if (rc == CL_ERR_NOMEM)
		cl_acme_errf(err, errlen, "out of memory");
	ERR_clear_error();
	ta_free(t);
	free(sv);
	return rc;
}
