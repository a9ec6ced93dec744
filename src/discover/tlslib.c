/* The scanner's library context: see tlslib.h. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include "discover/tlslib.h"

#define PROXY_NAME "certledger-tls"

/*
 * The ciphers libssl 3.0 fetches for cipher suites (ssl_ciph.c: the
 * cipher table, the stitched CBC+HMAC variants, "NULL"). Those only the
 * legacy provider has are listed for completeness: the proxy runs when
 * the default provider is alone.
 */
static const char *const suite_ciphers[] = {
	"NULL", "AES-128-CBC", "AES-256-CBC", "AES-128-GCM", "AES-256-GCM", "AES-128-CCM",
	"AES-256-CCM", "ChaCha20-Poly1305", "ARIA-128-GCM", "ARIA-256-GCM", "CAMELLIA-128-CBC",
	"CAMELLIA-256-CBC", "DES-EDE3-CBC", "AES-128-CBC-HMAC-SHA1", "AES-256-CBC-HMAC-SHA1",
	"AES-128-CBC-HMAC-SHA256", "AES-256-CBC-HMAC-SHA256",
	"DES-CBC", "RC4", "RC4-HMAC-MD5", "RC2-CBC", "IDEA-CBC", "SEED-CBC",
};

/*
 * One context for the process, shared by concurrent scans and freed with
 * the last reference. The proxy's functions read it without the lock: it
 * is filled before the proxy is loaded and cleared after the context that
 * holds the proxy is freed.
 */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int refs;
	OSSL_LIB_CTX *outer;        /* holds the proxy: handed out */
	OSSL_LIB_CTX *inner;        /* holds the default provider the proxy forwards to */
	OSSL_PROVIDER *def, *proxy;
	OSSL_ALGORITHM *decoders;   /* the default provider's, filtered */
	OSSL_ALGORITHM *ciphers;
} g;

static const OSSL_ALGORITHM *proxy_query(void *provctx, int op, int *no_cache)
{
	(void)provctx;
	switch (op) {
	case OSSL_OP_DECODER:
		*no_cache = 0;
		return g.decoders;
	case OSSL_OP_CIPHER:
		*no_cache = 0;
		return g.ciphers;
	default:
		return OSSL_PROVIDER_query_operation(g.def, op, no_cache);
	}
}

static void proxy_unquery(void *provctx, int op, const OSSL_ALGORITHM *algs)
{
	(void)provctx;
	if (op != OSSL_OP_DECODER && op != OSSL_OP_CIPHER)
		OSSL_PROVIDER_unquery_operation(g.def, op, algs);
}

static int proxy_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb,
                              void *arg)
{
	(void)provctx;
	return OSSL_PROVIDER_get_capabilities(g.def, capability, cb, arg);
}

static const OSSL_PARAM *proxy_gettable(void *provctx)
{
	(void)provctx;
	return OSSL_PROVIDER_gettable_params(g.def);
}

static int proxy_get_params(void *provctx, OSSL_PARAM params[])
{
	(void)provctx;
	return OSSL_PROVIDER_get_params(g.def, params);
}

static void proxy_teardown(void *provctx)
{
	(void)provctx;  /* the context is the default provider's, freed with it */
}

static const OSSL_DISPATCH proxy_dispatch[] = {
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))proxy_query },
	{ OSSL_FUNC_PROVIDER_UNQUERY_OPERATION, (void (*)(void))proxy_unquery },
	{ OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))proxy_capabilities },
	{ OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))proxy_gettable },
	{ OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))proxy_get_params },
	{ OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))proxy_teardown },
	{ 0, NULL },
};

/* The algorithms run with the default provider's own provider context. */
static int proxy_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                      const OSSL_DISPATCH **out, void **provctx)
{
	(void)handle;
	(void)in;
	if (!g.def || !g.decoders || !g.ciphers)
		return 0;
	*provctx = OSSL_PROVIDER_get0_provider_ctx(g.def);
	*out = proxy_dispatch;
	return 1;
}

static bool is_decoder_kept(const OSSL_ALGORITHM *a)
{
	const char *pd = a->property_definition;

	return pd && strstr(pd, "input=der") && strstr(pd, "structure=SubjectPublicKeyInfo");
}

/* Whether one of the names "a:b:c" is a suite cipher. */
static bool is_cipher_kept(const OSSL_ALGORITHM *a)
{
	const char *p = a->algorithm_names, *end;
	size_t i, len;

	for (; p && *p; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		len = (size_t)(end - p);
		for (i = 0; i < sizeof suite_ciphers / sizeof *suite_ciphers; i++)
			if (strlen(suite_ciphers[i]) == len && strncasecmp(p, suite_ciphers[i], len) == 0)
				return true;
	}
	return false;
}

/* The default provider's algorithms of op that keep() selects, in order. */
static OSSL_ALGORITHM *filtered(int op, bool (*keep)(const OSSL_ALGORITHM *))
{
	int no_cache = 0;
	const OSSL_ALGORITHM *all = OSSL_PROVIDER_query_operation(g.def, op, &no_cache);
	OSSL_ALGORITHM *out;
	size_t n = 0, k = 0, i;

	if (!all || no_cache)
		return NULL;
	while (all[n].algorithm_names)
		n++;
	if (!(out = calloc(n + 1, sizeof *out)))
		return NULL;
	for (i = 0; i < n; i++)
		if (keep(&all[i]))
			out[k++] = all[i];
	if (k == 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int count_provider(OSSL_PROVIDER *p, void *arg)
{
	int *n = arg;

	/* any other provider: -1 for good */
	*n = *n < 0 || strcmp(OSSL_PROVIDER_get0_name(p), "default") != 0 ? -1 : *n + 1;
	return 1;
}

/* A client context offering every suite and version, made in lib. */
static SSL_CTX *widest_ctx(OSSL_LIB_CTX *lib)
{
	SSL_CTX *ctx = SSL_CTX_new_ex(lib, NULL, TLS_client_method());

	if (ctx) {
		SSL_CTX_set_security_level(ctx, 0);
		if (!SSL_CTX_set_min_proto_version(ctx, 0) || !SSL_CTX_set_max_proto_version(ctx, 0) ||
		    !SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL:@SECLEVEL=0") ||
		    !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
		                              "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:"
		                              "TLS_AES_128_CCM_8_SHA256")) {
			SSL_CTX_free(ctx);
			ctx = NULL;
		}
	}
	return ctx;
}

/* Whether a client in lib can offer exactly the suites of one in the
 * default context. */
static bool same_suites(OSSL_LIB_CTX *lib)
{
	SSL_CTX *a = widest_ctx(lib), *b = widest_ctx(NULL);
	STACK_OF(SSL_CIPHER) *sa = a ? SSL_CTX_get_ciphers(a) : NULL;
	STACK_OF(SSL_CIPHER) *sb = b ? SSL_CTX_get_ciphers(b) : NULL;
	bool same = sa && sb && sk_SSL_CIPHER_num(sa) == sk_SSL_CIPHER_num(sb);
	int i;

	for (i = 0; same && i < sk_SSL_CIPHER_num(sa); i++)
		same = SSL_CIPHER_get_id(sk_SSL_CIPHER_value(sa, i)) ==
		       SSL_CIPHER_get_id(sk_SSL_CIPHER_value(sb, i));
	SSL_CTX_free(a);
	SSL_CTX_free(b);
	return same;
}

static void release(void)
{
	if (g.proxy)
		OSSL_PROVIDER_unload(g.proxy);
	OSSL_LIB_CTX_free(g.outer);
	if (g.def)
		OSSL_PROVIDER_unload(g.def);
	OSSL_LIB_CTX_free(g.inner);
	free(g.decoders);
	free(g.ciphers);
	memset(&g, 0, sizeof g);
}

OSSL_LIB_CTX *cl_tlslib_get1(void)
{
	OSSL_LIB_CTX *lib = NULL;
	int nprov = 0;

	pthread_mutex_lock(&mu);
	if (g.refs > 0) {
		g.refs++;
		lib = g.outer;
		goto out;
	}
	if (OPENSSL_version_major() != 3 || OPENSSL_version_minor() != 0 ||
	    !OSSL_PROVIDER_do_all(NULL, count_provider, &nprov) || nprov != 1 ||
	    EVP_default_properties_is_fips_enabled(NULL))
		goto out;
	ERR_set_mark();
	if (!(g.inner = OSSL_LIB_CTX_new()) || !(g.def = OSSL_PROVIDER_load(g.inner, "default")) ||
	    !(g.decoders = filtered(OSSL_OP_DECODER, is_decoder_kept)) ||
	    !(g.ciphers = filtered(OSSL_OP_CIPHER, is_cipher_kept)) ||
	    !(g.outer = OSSL_LIB_CTX_new()) ||
	    !OSSL_PROVIDER_add_builtin(g.outer, PROXY_NAME, proxy_init) ||
	    !(g.proxy = OSSL_PROVIDER_load(g.outer, PROXY_NAME)) || !same_suites(g.outer)) {
		release();
		ERR_pop_to_mark();
		goto out;
	}
	ERR_pop_to_mark();
	g.refs = 1;
	lib = g.outer;
out:
	pthread_mutex_unlock(&mu);
	return lib;
}

void cl_tlslib_put(OSSL_LIB_CTX *lib)
{
	if (!lib)
		return;
	pthread_mutex_lock(&mu);
	if (lib == g.outer && g.refs > 0 && --g.refs == 0)
		release();
	pthread_mutex_unlock(&mu);
}
