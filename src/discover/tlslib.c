/* The scanner's library context: see tlslib.h. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bio.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include "core/buf.h"
#include "core/cl.h"
#include "discover/tlslib.h"

#define PROXY_NAME "certledger-tls"

/*
 * What the proxy offers of the operations it narrows: the default
 * provider's algorithms with one of these names. Found by logging every
 * call into the provider during scans of the loopback farm and of
 * `openssl s_server` endpoints with every key type, group, version and
 * suite, and by reading where libssl 3.0 and X509_verify_cert fetch:
 *
 *   - digests: the transcript and PRF hashes, the sigalgs' hashes, and
 *     every hash a certificate signature can name (X509_verify_cert
 *     fetches it here, in the certificate's context);
 *   - ciphers: those of the cipher suites (ssl_ciph.c: the cipher table,
 *     the stitched CBC+HMAC variants, "NULL"); those only the legacy
 *     provider has are listed for completeness, the proxy runs when the
 *     default provider is alone;
 *   - HMAC (TLS 1.2 record MACs, TLS 1.3 Finished) and the TLS KDFs;
 *   - the DRBG libcrypto makes for each context, and its seed;
 *   - key managers: every key type a certificate can hold that the
 *     default provider decodes (a key that does not decode fails the
 *     handshake differently), and HMAC keys (TLS 1.2 record MACs);
 *   - key exchanges of the TLS groups, the signatures of the TLS sigalgs
 *     and of certificates, RSA encryption (RSA key exchange), no KEM.
 *
 * Encoders, store loaders and capabilities pass through unchanged.
 */
static const char *const digests[] = {
	"MD5", "MD5-SHA1", "SHA1", "SHA2-224", "SHA2-256", "SHA2-384", "SHA2-512",
	"SHA2-512/224", "SHA2-512/256", "SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512",
	"RIPEMD-160", "SM3",
};
static const char *const ciphers[] = {
	"NULL", "AES-128-CBC", "AES-256-CBC", "AES-128-GCM", "AES-256-GCM", "AES-128-CCM",
	"AES-256-CCM", "ChaCha20-Poly1305", "ARIA-128-GCM", "ARIA-256-GCM", "CAMELLIA-128-CBC",
	"CAMELLIA-256-CBC", "DES-EDE3-CBC", "AES-128-CBC-HMAC-SHA1", "AES-256-CBC-HMAC-SHA1",
	"AES-128-CBC-HMAC-SHA256", "AES-256-CBC-HMAC-SHA256",
	"DES-CBC", "RC4", "RC4-HMAC-MD5", "RC2-CBC", "IDEA-CBC", "SEED-CBC",
};
static const char *const macs[] = { "HMAC" };
static const char *const kdfs[] = { "TLS1-PRF", "HKDF", "TLS13-KDF" };
static const char *const rands[] = { "CTR-DRBG", "SEED-SRC" };
static const char *const keymgmts[] = {
	"RSA", "RSA-PSS", "EC", "X25519", "X448", "ED25519", "ED448", "DH", "DHX", "DSA", "SM2",
	"HMAC",
};
static const char *const keyexchs[] = { "ECDH", "X25519", "X448", "DH" };
static const char *const signatures[] = {
	"RSA", "ECDSA", "ED25519", "ED448", "DSA", "SM2", "HMAC",
};
static const char *const asym_ciphers[] = { "RSA" };

static const struct narrowed {
	int op;
	const char *const *names;   /* kept; decoders are kept by property */
	size_t n;
} narrowed[] = {
	{ OSSL_OP_DIGEST, digests, CL_ARRAY_LEN(digests) },
	{ OSSL_OP_CIPHER, ciphers, CL_ARRAY_LEN(ciphers) },
	{ OSSL_OP_MAC, macs, CL_ARRAY_LEN(macs) },
	{ OSSL_OP_KDF, kdfs, CL_ARRAY_LEN(kdfs) },
	{ OSSL_OP_RAND, rands, CL_ARRAY_LEN(rands) },
	{ OSSL_OP_KEYMGMT, keymgmts, CL_ARRAY_LEN(keymgmts) },
	{ OSSL_OP_KEYEXCH, keyexchs, CL_ARRAY_LEN(keyexchs) },
	{ OSSL_OP_SIGNATURE, signatures, CL_ARRAY_LEN(signatures) },
	{ OSSL_OP_ASYM_CIPHER, asym_ciphers, CL_ARRAY_LEN(asym_ciphers) },
	{ OSSL_OP_KEM, NULL, 0 },
	{ OSSL_OP_DECODER, NULL, 0 },
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
	OSSL_ALGORITHM *algs[OSSL_OP__HIGHEST + 1];  /* the narrowed operations' */
	bool narrow[OSSL_OP__HIGHEST + 1];
} g;

static const OSSL_ALGORITHM *proxy_query(void *provctx, int op, int *no_cache)
{
	(void)provctx;
	if (op >= 0 && op <= OSSL_OP__HIGHEST && g.narrow[op]) {
		*no_cache = 0;
		return g.algs[op];
	}
	return OSSL_PROVIDER_query_operation(g.def, op, no_cache);
}

static void proxy_unquery(void *provctx, int op, const OSSL_ALGORITHM *algs)
{
	(void)provctx;
	if (op < 0 || op > OSSL_OP__HIGHEST || !g.narrow[op])
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
	size_t i;

	(void)handle;
	(void)in;
	if (!g.def)
		return 0;
	for (i = 0; i < CL_ARRAY_LEN(narrowed); i++)
		if (!g.algs[narrowed[i].op])
			return 0;
	*provctx = OSSL_PROVIDER_get0_provider_ctx(g.def);
	*out = proxy_dispatch;
	return 1;
}

/* Decoders: those that read DER SubjectPublicKeyInfo, the only input a
 * certificate's key decoding feeds them. */
static bool is_decoder_kept(const OSSL_ALGORITHM *a)
{
	const char *pd = a->property_definition;

	return pd && strstr(pd, "input=der") && strstr(pd, "structure=SubjectPublicKeyInfo");
}

/* Whether one of the names "a:b:c" is in names[0..n). */
static bool is_named(const OSSL_ALGORITHM *a, const char *const *names, size_t n)
{
	const char *p = a->algorithm_names, *end;
	size_t i, len;

	for (; p && *p; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		len = (size_t)(end - p);
		for (i = 0; i < n; i++)
			if (strlen(names[i]) == len && strncasecmp(p, names[i], len) == 0)
				return true;
	}
	return false;
}

/* The default provider's algorithms of nw->op that it keeps, in order
 * (possibly none), or NULL on failure. */
static OSSL_ALGORITHM *filtered(const struct narrowed *nw)
{
	int no_cache = 0;
	const OSSL_ALGORITHM *all = OSSL_PROVIDER_query_operation(g.def, nw->op, &no_cache);
	OSSL_ALGORITHM *out;
	size_t n = 0, k = 0, i;

	if (no_cache)
		return NULL;
	while (all && all[n].algorithm_names)
		n++;
	if (!(out = calloc(n + 1, sizeof *out)))
		return NULL;
	for (i = 0; i < n; i++)
		if (nw->op == OSSL_OP_DECODER ? is_decoder_kept(&all[i])
		                              : is_named(&all[i], nw->names, nw->n))
			out[k++] = all[i];
	if (nw->op == OSSL_OP_DECODER && k == 0) {
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

/* Whether lib offers name for op (fetching it the way libcrypto does). */
static bool offers(OSSL_LIB_CTX *lib, int op, const char *name)
{
#define FETCHED(type, fetch, release) \
	{ \
		type *x = fetch(lib, name, NULL); \
		bool ok = x != NULL; \
		release(x); \
		return ok; \
	}
	switch (op) {
	case OSSL_OP_DIGEST: FETCHED(EVP_MD, EVP_MD_fetch, EVP_MD_free)
	case OSSL_OP_MAC: FETCHED(EVP_MAC, EVP_MAC_fetch, EVP_MAC_free)
	case OSSL_OP_KDF: FETCHED(EVP_KDF, EVP_KDF_fetch, EVP_KDF_free)
	case OSSL_OP_RAND: FETCHED(EVP_RAND, EVP_RAND_fetch, EVP_RAND_free)
	case OSSL_OP_KEYMGMT: FETCHED(EVP_KEYMGMT, EVP_KEYMGMT_fetch, EVP_KEYMGMT_free)
	case OSSL_OP_KEYEXCH: FETCHED(EVP_KEYEXCH, EVP_KEYEXCH_fetch, EVP_KEYEXCH_free)
	case OSSL_OP_SIGNATURE: FETCHED(EVP_SIGNATURE, EVP_SIGNATURE_fetch, EVP_SIGNATURE_free)
	case OSSL_OP_ASYM_CIPHER: FETCHED(EVP_ASYM_CIPHER, EVP_ASYM_CIPHER_fetch, EVP_ASYM_CIPHER_free)
	default:
		return false;
	}
#undef FETCHED
}

/*
 * Whether lib offers every name of the lists (a name the default provider
 * does not know, or spells otherwise, would leave its algorithm out). The
 * cipher list names legacy ciphers too: libssl's own check of its suites
 * covers it (same_offer).
 */
static bool offers_all(OSSL_LIB_CTX *lib)
{
	size_t i, k;

	for (i = 0; i < CL_ARRAY_LEN(narrowed); i++)
		for (k = 0; k < narrowed[i].n; k++)
			if (narrowed[i].op != OSSL_OP_CIPHER &&
			    !offers(lib, narrowed[i].op, narrowed[i].names[k]))
				return false;
	return true;
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

/* A bounds-checked reader of TLS vectors. */
struct rd {
	const unsigned char *p, *end;
};

static bool rd_num(struct rd *r, size_t bytes, size_t *v)
{
	if ((size_t)(r->end - r->p) < bytes)
		return false;
	for (*v = 0; bytes > 0; bytes--)
		*v = *v << 8 | *r->p++;
	return true;
}

/* A vector with a length prefix of lenbytes: *in covers its content. */
static bool rd_vec(struct rd *r, size_t lenbytes, struct rd *in)
{
	const unsigned char *start = r->p;
	size_t len;

	if (!rd_num(r, lenbytes, &len) || (size_t)(r->end - r->p) < len) {
		r->p = start;
		return false;
	}
	in->p = r->p;
	in->end = r->p + len;
	r->p += len;
	return true;
}

/* What a ClientHello offers. */
struct offer {
	struct cl_buf shape;        /* see hello_offer */
	uint16_t groups[64], sigalgs[128];
	size_t ngroups, nsigalgs;
};

/* Appends the 2-byte code points of the vector v to list[*n..max). */
static bool code_points(struct rd v, uint16_t *list, size_t *n, size_t max)
{
	size_t cp;

	while (v.p < v.end) {
		if (*n == max || !rd_num(&v, 2, &cp))
			return false;
		list[(*n)++] = (uint16_t)cp;
	}
	return true;
}

/*
 * Reads what the ClientHello record rec[0..len) offers into o: in
 * o->shape version, cipher suites, compression and the extensions in
 * order, without what changes from one hello to the next (random, session
 * id, the public keys of the key shares: their groups and sizes are
 * kept); the supported groups and signature algorithms apart.
 */
static bool hello_offer(const unsigned char *rec, size_t len, struct offer *o)
{
	struct rd r = { rec, rec + len }, frag, hs, v, exts, ext, shares, key;
	size_t type, ver, hstype, etype, group;
	const unsigned char *mark;

	if (!rd_num(&r, 1, &type) || type != 22 || !rd_num(&r, 2, &ver) || !rd_vec(&r, 2, &frag) ||
	    !rd_num(&frag, 1, &hstype) || hstype != 1 || !rd_vec(&frag, 3, &hs))
		return false;
	mark = hs.p;
	if (!rd_num(&hs, 2, &ver) || (size_t)(hs.end - hs.p) < 32)
		return false;
	hs.p += 32;  /* random */
	if (cl_buf_add(&o->shape, mark, 2) != CL_OK || !rd_vec(&hs, 1, &v))  /* session id */
		return false;
	mark = hs.p;
	if (!rd_vec(&hs, 2, &v) || !rd_vec(&hs, 1, &v) ||  /* suites, compression */
	    cl_buf_add(&o->shape, mark, (size_t)(hs.p - mark)) != CL_OK)
		return false;
	if (hs.p == hs.end)
		return true;
	if (!rd_vec(&hs, 2, &exts) || hs.p != hs.end)
		return false;
	while (exts.p < exts.end) {
		mark = exts.p;
		if (!rd_num(&exts, 2, &etype) || !rd_vec(&exts, 2, &ext))
			return false;
		if ((etype == 10 && (!rd_vec(&ext, 2, &v) ||  /* supported_groups */
		                     !code_points(v, o->groups, &o->ngroups,
		                                  CL_ARRAY_LEN(o->groups)))) ||
		    (etype == 13 && (!rd_vec(&ext, 2, &v) ||  /* signature_algorithms */
		                     !code_points(v, o->sigalgs, &o->nsigalgs,
		                                  CL_ARRAY_LEN(o->sigalgs)))))
			return false;
		if (etype != 51) {  /* key_share */
			if (cl_buf_add(&o->shape, mark, (size_t)(exts.p - mark)) != CL_OK)
				return false;
			continue;
		}
		if (cl_buf_add(&o->shape, mark, 2) != CL_OK || !rd_vec(&ext, 2, &shares) ||
		    ext.p != ext.end)
			return false;
		while (shares.p < shares.end) {
			unsigned char gl[4];
			if (!rd_num(&shares, 2, &group) || !rd_vec(&shares, 2, &key))
				return false;
			gl[0] = (unsigned char)(group >> 8);
			gl[1] = (unsigned char)group;
			gl[2] = (unsigned char)((size_t)(key.end - key.p) >> 8);
			gl[3] = (unsigned char)(key.end - key.p);
			if (cl_buf_add(&o->shape, gl, sizeof gl) != CL_OK)
				return false;
		}
	}
	return true;
}

/* What the ClientHello of a client made in lib offers (hello_offer). */
static bool client_offer(OSSL_LIB_CTX *lib, struct offer *o)
{
	SSL_CTX *ctx = widest_ctx(lib);
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	char *rec = NULL;
	long len;
	bool ok = false;

	if (!ssl || !rb || !wb) {
		BIO_free(rb);
		BIO_free(wb);
		goto out;
	}
	SSL_set_bio(ssl, rb, wb);  /* the SSL owns them now */
	SSL_set_connect_state(ssl);
	if (SSL_do_handshake(ssl) == -1 && SSL_get_error(ssl, -1) == SSL_ERROR_WANT_READ &&
	    (len = BIO_get_mem_data(wb, &rec)) > 0)
		ok = hello_offer((const unsigned char *)rec, (size_t)len, o);
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return ok;
}

/* The key exchange a TLS group (RFC 8446 4.2.7, 8422, 7919) runs. */
static const char *group_keyexch(uint16_t group)
{
	if ((group >= 0x0001 && group <= 0x001c) || (group >= 0x001f && group <= 0x0021))
		return "ECDH";
	if (group == 0x001d)
		return "X25519";
	if (group == 0x001e)
		return "X448";
	if (group >= 0x0100 && group <= 0x01ff)
		return "DH";
	return NULL;
}

/* The signature algorithm of a TLS SignatureScheme (RFC 8446 4.2.3,
 * and the TLS 1.2 hash/signature pairs of RFC 5246 7.4.1.4.1). */
static const char *sigalg_signature(uint16_t s)
{
	unsigned hi = s >> 8, lo = s & 0xff;

	if (hi >= 1 && hi <= 6)
		return lo == 1 ? "RSA" : lo == 2 ? "DSA" : lo == 3 ? "ECDSA" : NULL;
	if (hi == 8 && ((lo >= 0x04 && lo <= 0x06) || (lo >= 0x09 && lo <= 0x0b)))
		return "RSA";
	if (hi == 8 && lo >= 0x1a && lo <= 0x1c)
		return "ECDSA";
	return s == 0x0807 ? "ED25519" : s == 0x0808 ? "ED448" : s == 0x0708 ? "SM2" : NULL;
}

/*
 * Whether a client in lib offers exactly what one in the default context
 * offers (suites, versions, groups, signature algorithms: libssl enables
 * a group or a sigalg when its key manager and hash can be fetched), and
 * lib has the key exchange of every group and the signature algorithm of
 * every sigalg offered.
 */
static bool same_offer(OSSL_LIB_CTX *lib)
{
	struct offer *a = calloc(2, sizeof *a), *b = a + 1;
	bool same = false;
	size_t i;
	const char *name;

	if (!a)
		return false;
	cl_buf_init(&a->shape, 1 << 16);
	cl_buf_init(&b->shape, 1 << 16);
	if (!client_offer(lib, a) || !client_offer(NULL, b) || a->shape.len != b->shape.len ||
	    a->shape.len == 0 || memcmp(a->shape.data, b->shape.data, a->shape.len) != 0 ||
	    a->ngroups == 0 || a->nsigalgs == 0)
		goto out;
	for (i = 0; i < a->ngroups; i++)
		if (!(name = group_keyexch(a->groups[i])) || !offers(lib, OSSL_OP_KEYEXCH, name))
			goto out;
	for (i = 0; i < a->nsigalgs; i++)
		if (!(name = sigalg_signature(a->sigalgs[i])) || !offers(lib, OSSL_OP_SIGNATURE, name))
			goto out;
	same = true;
out:
	cl_buf_free(&a->shape);
	cl_buf_free(&b->shape);
	free(a);
	return same;
}

static void release(void)
{
	size_t i;

	if (g.proxy)
		OSSL_PROVIDER_unload(g.proxy);
	OSSL_LIB_CTX_free(g.outer);
	if (g.def)
		OSSL_PROVIDER_unload(g.def);
	OSSL_LIB_CTX_free(g.inner);
	for (i = 0; i < CL_ARRAY_LEN(g.algs); i++)
		free(g.algs[i]);
	memset(&g, 0, sizeof g);
}

/* Makes g: the default provider in inner, the proxy in outer. */
static bool make(void)
{
	size_t i;

	if (!(g.inner = OSSL_LIB_CTX_new()) || !(g.def = OSSL_PROVIDER_load(g.inner, "default")))
		return false;
	for (i = 0; i < CL_ARRAY_LEN(narrowed); i++) {
		if (!(g.algs[narrowed[i].op] = filtered(&narrowed[i])))
			return false;
		g.narrow[narrowed[i].op] = true;
	}
	return (g.outer = OSSL_LIB_CTX_new()) &&
	       OSSL_PROVIDER_add_builtin(g.outer, PROXY_NAME, proxy_init) &&
	       (g.proxy = OSSL_PROVIDER_load(g.outer, PROXY_NAME)) && offers_all(g.outer) &&
	       same_offer(g.outer);
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
	if (!make()) {
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
