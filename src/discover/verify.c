/* Chain verification and classification: see verify.h. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include "core/cl.h"
#include "discover/verify.h"

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define SYSTEM_DIR "/etc/ssl/certs"

/*
 * Endpoints behind one CA present the same intermediates: the issuer part
 * of a chain is verified once (its problems are kept here, keyed by the
 * fingerprints of the certificates above the leaf), then each leaf is
 * verified against the already-checked issuer as a partial-chain anchor.
 * That saves a signature verification and the chain building per
 * endpoint, and gives the same answers.
 */
#define CACHE_SLOTS 1024
#define CACHE_ISSUERS 4

struct issuer_entry {
	size_t n;                           /* 0: empty slot */
	unsigned char fps[CACHE_ISSUERS][CL_SHA256_LEN];
	unsigned mask;                      /* problems above the leaf */
	char text[300];
	X509 *anchor;                       /* the leaf's issuer */
};

struct cl_verifier {
	X509_STORE *store;
	pthread_mutex_t mu;
	struct issuer_entry *cache;
};

/* In priority order: the first problem found names the result. */
enum problem {
	P_EXPIRED, P_NOT_YET_VALID, P_HOSTNAME, P_SELF_SIGNED, P_UNTRUSTED_ROOT,
	P_INCOMPLETE, P_WEAK_SIG, P_WRONG_ORDER, P_ERROR, P_COUNT
};

static const char *const problem_names[P_COUNT] = {
	"expired", "not-yet-valid", "hostname-mismatch", "self-signed", "untrusted-root",
	"incomplete-chain", "weak-signature", "wrong-order", "error",
};

/* Problems found, apart for the leaf (depth 0) and the issuers above it. */
struct collect {
	unsigned mask[2];
	char text[2][300];
	size_t tlen[2];
	bool leaf_only;   /* the issuers' part comes from the cache */
};

int cl_verifier_new(struct cl_verifier **out, const char *ca_bundle, char *err, size_t errlen)
{
	struct cl_verifier *v = calloc(1, sizeof *v);
	const char *path = ca_bundle ? ca_bundle : SYSTEM_BUNDLE;
	int ok;

	*out = NULL;
	if (!v || !(v->cache = calloc(CACHE_SLOTS, sizeof *v->cache)) ||
	    !(v->store = X509_STORE_new())) {
		if (v)
			free(v->cache);
		free(v);
		snprintf(err, errlen, "out of memory");
		return CL_ERR_NOMEM;
	}
	ERR_clear_error();
	if (ca_bundle) {
		struct stat sb;
		/* a hashed directory, else a file; adding a directory that does
		 * not exist "succeeds" (it is read lazily): check first */
		if (stat(path, &sb) != 0) {
			snprintf(err, errlen, "%s: cannot read the trust anchors: %s", path,
			         strerror(errno));
			X509_STORE_free(v->store);
			free(v->cache);
			free(v);
			return CL_ERR_USAGE;
		}
		ok = S_ISDIR(sb.st_mode) ? X509_STORE_load_path(v->store, path) == 1
		                         : X509_STORE_load_file(v->store, path) == 1;
	} else {
		/* the hashed directory loads an anchor when a chain needs it:
		 * parsing the whole bundle up front costs more than a small scan */
		ok = X509_STORE_load_path(v->store, SYSTEM_DIR) == 1 ||
		     X509_STORE_load_file(v->store, path) == 1 ||
		     X509_STORE_set_default_paths(v->store) == 1;
	}
	if (!ok) {
		unsigned long e = ERR_peek_last_error();
		snprintf(err, errlen, "%s: cannot load trust anchors: %s", path,
		         e ? ERR_reason_error_string(e) : "no certificates");
		ERR_clear_error();
		X509_STORE_free(v->store);
		free(v->cache);
		free(v);
		return ca_bundle ? CL_ERR_USAGE : CL_ERR_IO;
	}
	ERR_clear_error();
	pthread_mutex_init(&v->mu, NULL);
	*out = v;
	return CL_OK;
}

void cl_verifier_free(struct cl_verifier *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		X509_free(v->cache[i].anchor);
	pthread_mutex_destroy(&v->mu);
	X509_STORE_free(v->store);
	free(v->cache);
	free(v);
}

/* The cache slot for the issuers certs[1..n). */
static struct issuer_entry *slot(struct cl_verifier *v, const struct cl_cert *const *certs,
                                 size_t n)
{
	uint64_t h = 1469598103934665603ULL, w;
	size_t i;

	for (i = 1; i < n; i++) {
		memcpy(&w, certs[i]->fp, sizeof w);
		h = (h ^ w) * 1099511628211ULL;
	}
	return &v->cache[h % CACHE_SLOTS];
}

static bool same_issuers(const struct issuer_entry *e, const struct cl_cert *const *certs,
                         size_t n)
{
	size_t i;

	if (e->n != n - 1)
		return false;
	for (i = 1; i < n; i++)
		if (memcmp(e->fps[i - 1], certs[i]->fp, CL_SHA256_LEN) != 0)
			return false;
	return true;
}

static void note(struct collect *c, enum problem p, const char *what, int depth)
{
	int k, up = depth > 0;
	char *t = c->text[up];
	size_t *tl = &c->tlen[up];

	if (up && c->leaf_only)
		return;
	if (*tl < sizeof c->text[up] - 1 && !(c->mask[up] & (1u << p))) {
		k = snprintf(t + *tl, sizeof c->text[up] - *tl, "%s%s (depth %d)", *tl ? "; " : "",
		             what, depth);
		if (k > 0)
			*tl = *tl + (size_t)k >= sizeof c->text[up] ? sizeof c->text[up] - 1
			                                             : *tl + (size_t)k;
	}
	c->mask[up] |= 1u << p;
}

static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	struct collect *c = X509_STORE_CTX_get_app_data(ctx);
	int e, depth;
	const char *text;
	X509 *cur;
	enum problem p;

	if (ok)
		return 1;
	e = X509_STORE_CTX_get_error(ctx);
	depth = X509_STORE_CTX_get_error_depth(ctx);
	cur = X509_STORE_CTX_get_current_cert(ctx);
	text = X509_verify_cert_error_string(e);  /* OpenSSL's words, as users search them */
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED: p = P_EXPIRED; break;
	case X509_V_ERR_CERT_NOT_YET_VALID: p = P_NOT_YET_VALID; break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: p = P_SELF_SIGNED; break;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: p = P_UNTRUSTED_ROOT; break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		/* a CA whose issuer is unknown: the root is not trusted; a leaf
		 * whose issuer was not sent: the server's chain is incomplete */
		p = cur && (X509_get_extension_flags(cur) & EXFLAG_CA) ? P_UNTRUSTED_ROOT
		                                                      : P_INCOMPLETE;
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH: p = P_HOSTNAME; break;
	case X509_V_ERR_CA_MD_TOO_WEAK: p = P_WEAK_SIG; break;
	default: p = P_ERROR; break;
	}
	note(c, p, text, depth);
	return 1;  /* go on: collect every problem */
}

static bool weak_alg(const char *sig)
{
	return sig && (strstr(sig, "sha1") || strstr(sig, "SHA1") || strstr(sig, "md5") ||
	               strstr(sig, "MD5") || strstr(sig, "md2") || strstr(sig, "md4"));
}

const char *cl_verify_chain(struct cl_verifier *v, STACK_OF(X509) *x509,
                            const struct cl_cert *const *certs, size_t n, const char *name,
                            int64_t now, char *detail, size_t dlen)
{
	struct collect c = { 0 };
	struct issuer_entry *e = NULL;
	STACK_OF(X509) *anchors = NULL;
	X509 *anchor = NULL, *leaf;
	X509_STORE_CTX *ctx;
	X509_VERIFY_PARAM *param;
	unsigned mask;
	size_t i, len;
	int p, first = -1;

	detail[0] = '\0';
	if (n == 0 || sk_X509_num(x509) != (int)n)
		return NULL;
	leaf = sk_X509_value(x509, 0);
	if (n >= 2 && n - 1 <= CACHE_ISSUERS && strcmp(certs[1]->subject, certs[0]->issuer) == 0) {
		e = slot(v, certs, n);
		pthread_mutex_lock(&v->mu);
		if (same_issuers(e, certs, n) && X509_up_ref(e->anchor)) {
			anchor = e->anchor;
			c.mask[1] = e->mask;
			memcpy(c.text[1], e->text, sizeof c.text[1]);
			c.tlen[1] = strlen(c.text[1]);
		}
		pthread_mutex_unlock(&v->mu);
	}
	if (!(ctx = X509_STORE_CTX_new()) ||
	    !X509_STORE_CTX_init(ctx, v->store, leaf, anchor ? NULL : x509) ||
	    (anchor && (!(anchors = sk_X509_new_null()) || !sk_X509_push(anchors, anchor)))) {
		X509_STORE_CTX_free(ctx);
		sk_X509_free(anchors);
		X509_free(anchor);
		snprintf(detail, dlen, "error: out of memory");
		return "error";
	}
	X509_STORE_CTX_set_app_data(ctx, &c);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, (time_t)now);
	X509_VERIFY_PARAM_set_auth_level(param, 0);  /* weak algorithms: our own check */
	if (name && *name) {
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		X509_VERIFY_PARAM_set1_host(param, name, 0);
	}
	if (anchor) {
		/* the issuers were checked before: anchor the leaf at its issuer */
		c.leaf_only = true;
		X509_STORE_CTX_set0_trusted_stack(ctx, anchors);
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	}
	if (X509_verify_cert(ctx) <= 0 && c.mask[0] == 0 && c.mask[1] == 0)
		note(&c, P_ERROR, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)), 0);
	if (e && !anchor) {
		/* remember the issuers' verdict when the path went through them */
		STACK_OF(X509) *path = X509_STORE_CTX_get0_chain(ctx);
		X509 *up = path && sk_X509_num(path) > 1 ? sk_X509_value(path, 1) : NULL;
		if (up && X509_cmp(up, sk_X509_value(x509, 1)) == 0 && X509_up_ref(up)) {
			pthread_mutex_lock(&v->mu);
			X509_free(e->anchor);
			e->anchor = up;
			e->n = n - 1;
			for (i = 1; i < n; i++)
				memcpy(e->fps[i - 1], certs[i]->fp, CL_SHA256_LEN);
			e->mask = c.mask[1];
			memcpy(e->text, c.text[1], sizeof e->text);
			pthread_mutex_unlock(&v->mu);
		}
	}
	X509_STORE_CTX_free(ctx);
	sk_X509_free(anchors);
	X509_free(anchor);
	ERR_clear_error();

	c.leaf_only = false;
	/* presented order: each certificate issues the one before it */
	for (i = 1; i < n; i++) {
		size_t k;
		if (strcmp(certs[i]->subject, certs[i - 1]->issuer) == 0)
			continue;
		/* out of order when the issuer was sent, but later */
		for (k = i + 1; k < n; k++)
			if (strcmp(certs[k]->subject, certs[i - 1]->issuer) == 0)
				break;
		if (k < n) {
			note(&c, P_WRONG_ORDER, "certificates sent out of order", (int)i);
			break;
		}
	}
	for (i = 0; i < n; i++)
		if (!certs[i]->self_signed && weak_alg(certs[i]->sig_alg)) {
			/* OpenSSL's own words for it, though its check is off here */
			note(&c, P_WEAK_SIG, X509_verify_cert_error_string(X509_V_ERR_CA_MD_TOO_WEAK),
			     (int)i);
			break;
		}
	mask = c.mask[0] | c.mask[1];
	if (mask == 0)
		return "ok";
	len = 0;
	for (p = 0; p < P_COUNT; p++) {
		if (!(mask & (1u << p)))
			continue;
		if (first < 0)
			first = p;
		if (len < dlen)
			len += (size_t)snprintf(detail + len, dlen - len, "%s%s", len ? "," : "",
			                        problem_names[p]);
	}
	if (len < dlen)
		snprintf(detail + len, dlen - len, ": %s%s%s", c.text[0],
		         c.tlen[0] && c.text[1][0] ? "; " : "", c.text[1]);
	return problem_names[first];
}
