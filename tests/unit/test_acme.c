/*
 * The ACME client's pure parts and solvers: base64url, JWK thumbprints
 * and JWS against RFC 7638 / RFC 7515 examples, the External Account
 * Binding, problem documents and sanitising, Link and Retry-After headers,
 * directory / order / authorization / renewalInfo parsing, the RFC 9773
 * CertID of the RFC's example certificate, CSRs and keys, DNS UPDATE and
 * TSIG against bytes from an independent encoder, and the solvers (hook
 * contract and input checks, web root, HTTP-01 and TLS-ALPN-01 listeners).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "testutil.h"
#include "acme/acme_int.h"
#include "acme/dnsmsg.h"

/* ---------------------------------------------------------------- helpers --- */

static unsigned char *b64d(const char *s, size_t *n)
{
	unsigned char *out = NULL;

	assert_int_equal(cl_acme_b64_decode(s, strlen(s), true, &out, n), CL_OK);
	return out;
}

static BIGNUM *bn64(const char *s)
{
	size_t n;
	unsigned char *b = b64d(s, &n);
	BIGNUM *bn = BN_bin2bn(b, (int)n, NULL);

	free(b);
	assert_non_null(bn);
	return bn;
}

static EVP_PKEY *fromdata(const char *type, OSSL_PARAM_BLD *bld, int selection)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;

	assert_non_null(params);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, selection, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

/* RFC 7638 3.1 (the RFC 7517 A.1 RSA key). */
static const char rfc7638_n[] =
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPe"
	"bWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368"
	"QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4"
	"lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

static EVP_PKEY *rfc7638_key(void)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n = bn64(rfc7638_n), *e = bn64("AQAB");
	EVP_PKEY *pk;

	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
	pk = fromdata("RSA", bld, EVP_PKEY_PUBLIC_KEY);
	BN_free(n);
	BN_free(e);
	return pk;
}

/* RFC 7515 A.3: the ES256 example key, signing input and signature. */
static const char a3_x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
static const char a3_y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
static const char a3_d[] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
static const char a3_input[] =
	"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv"
	"bS9pc19yb290Ijp0cnVlfQ";
static const char a3_sig[] =
	"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

static EVP_PKEY *a3_key(void)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	unsigned char pub[65], *x, *y;
	size_t xn, yn;
	BIGNUM *d = bn64(a3_d);
	EVP_PKEY *pk;

	x = b64d(a3_x, &xn);
	y = b64d(a3_y, &yn);
	assert_int_equal(xn, 32);
	assert_int_equal(yn, 32);
	pub[0] = 4;
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	assert_int_equal(
		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d), 1);
	pk = fromdata("EC", bld, EVP_PKEY_KEYPAIR);
	BN_free(d);
	free(x);
	free(y);
	return pk;
}

/* Decodes the base64url member k of a JWS object into a JSON value. */
static json_t *jws_part(json_t *jws, const char *k)
{
	size_t n;
	unsigned char *b = b64d(json_string_value(json_object_get(jws, k)), &n);
	json_error_t e;
	json_t *j = json_loadb((const char *)b, n, 0, &e);

	free(b);
	return j;
}

/* ---------------------------------------------------------------- base64 --- */

static void test_b64url(void **state)
{
	static const struct { const char *in; size_t n; const char *out; } t[] = {
		{ "", 0, "" }, { "f", 1, "Zg" }, { "fo", 2, "Zm8" }, { "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg" }, { "fooba", 5, "Zm9vYmE" }, { "foobar", 6, "Zm9vYmFy" },
		{ "\xfb\xff", 2, "-_8" }, { "\xfb\xef\xbe", 3, "----" }, { "\xff\xff\xff", 3, "____" },
	};
	static const struct { const char *in; bool url; int ok; } bad[] = {
		{ "Zg==", true, 0 }, { "Z", true, 0 }, { "Zm9v!", true, 0 }, { "a+b/", true, 0 },
		{ "Zm 9", true, 0 }, { "Zg==", false, 1 }, { "Zg=", false, 0 }, { "Zm8=", false, 1 },
		{ "-_8", false, 0 }, { "+/8=", false, 1 }, { "=Zg=", false, 0 }, { "Zg", false, 1 },
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		char *e = cl_acme_b64url(t[i].in, t[i].n);
		unsigned char *d = NULL;

		assert_string_equal(e, t[i].out);
		assert_int_equal(cl_acme_b64_decode(e, strlen(e), true, &d, &n), CL_OK);
		assert_int_equal(n, t[i].n);
		assert_memory_equal(d, t[i].in, n);
		free(d);
		free(e);
	}
	for (i = 0; i < CL_ARRAY_LEN(bad); i++) {
		unsigned char *d = NULL;
		int rc = cl_acme_b64_decode(bad[i].in, strlen(bad[i].in), bad[i].url, &d, &n);

		assert_int_equal(rc, bad[i].ok ? CL_OK : CL_ERR_PARSE);
		free(d);
	}
	assert_true(cl_acme_is_b64url("abc-_09", 10));
	assert_false(cl_acme_is_b64url("abc=", 10));
	assert_false(cl_acme_is_b64url("", 10));
	assert_false(cl_acme_is_b64url("abcdef", 5));
	assert_false(cl_acme_is_b64url("../x", 10));
}

/* ------------------------------------------------------------------ JOSE --- */

static void test_thumbprint_rfc7638(void **state)
{
	EVP_PKEY *k = rfc7638_key();
	char *tp = cl_acme_jwk_thumbprint(k);
	json_t *jwk = cl_acme_jwk(k);
	char *txt = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);

	(void)state;
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	assert_string_equal(cl_acme_jws_alg(k), "RS256");
	assert_non_null(strstr(txt, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7ag"));
	free(txt);
	free(tp);
	json_decref(jwk);
	EVP_PKEY_free(k);
}

static void test_es256_rfc7515(void **state)
{
	EVP_PKEY *k = a3_key();
	json_t *jwk = cl_acme_jwk(k);
	unsigned char *sig, *mine = NULL;
	size_t n, mlen = 0;

	(void)state;
	assert_string_equal(cl_acme_jws_alg(k), "ES256");
	assert_string_equal(json_string_value(json_object_get(jwk, "x")), a3_x);
	assert_string_equal(json_string_value(json_object_get(jwk, "y")), a3_y);
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
	assert_null(json_object_get(jwk, "d"));
	/* the RFC's signature (raw R||S) verifies; a changed bit does not */
	sig = b64d(a3_sig, &n);
	assert_int_equal(n, 64);
	assert_true(cl_acme_jws_verify_raw(k, a3_input, strlen(a3_input), sig, n));
	sig[10] ^= 1;
	assert_false(cl_acme_jws_verify_raw(k, a3_input, strlen(a3_input), sig, n));
	assert_false(cl_acme_jws_verify_raw(k, a3_input, strlen(a3_input), sig, 63));
	/* ours is raw R||S too, and verifies */
	assert_int_equal(cl_acme_jws_sign_raw(k, a3_input, strlen(a3_input), &mine, &mlen), CL_OK);
	assert_int_equal(mlen, 64);
	assert_true(cl_acme_jws_verify_raw(k, a3_input, strlen(a3_input), mine, mlen));
	free(mine);
	free(sig);
	json_decref(jwk);
	EVP_PKEY_free(k);
}

static void test_jws_shapes(void **state)
{
	static const enum cl_acme_keytype types[] = { CL_ACME_KEY_EC256, CL_ACME_KEY_EC384,
	                                              CL_ACME_KEY_RSA2048 };
	static const char *const algs[] = { "ES256", "ES384", "RS256" };
	static const size_t siglens[] = { 64, 96, 256 };
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(types); i++) {
		EVP_PKEY *k = NULL;
		json_t *jws, *prot, *pl;
		unsigned char *sig;
		size_t n;
		char *input;
		const char *p64, *pl64;

		assert_int_equal(cl_acme_key_new(&k, types[i]), CL_OK);
		/* with a jwk (new account), with a kid, POST-as-GET */
		jws = cl_acme_jws(k, NULL, "bm9uY2U", "https://ca.test/new-acct", "{\"a\":1}");
		prot = jws_part(jws, "protected");
		assert_string_equal(json_string_value(json_object_get(prot, "alg")), algs[i]);
		assert_string_equal(json_string_value(json_object_get(prot, "nonce")), "bm9uY2U");
		assert_string_equal(json_string_value(json_object_get(prot, "url")),
		                    "https://ca.test/new-acct");
		assert_true(json_is_object(json_object_get(prot, "jwk")));
		assert_null(json_object_get(prot, "kid"));
		pl = jws_part(jws, "payload");
		assert_int_equal(json_integer_value(json_object_get(pl, "a")), 1);
		p64 = json_string_value(json_object_get(jws, "protected"));
		pl64 = json_string_value(json_object_get(jws, "payload"));
		input = malloc(strlen(p64) + strlen(pl64) + 2);
		sprintf(input, "%s.%s", p64, pl64);
		sig = b64d(json_string_value(json_object_get(jws, "signature")), &n);
		assert_int_equal(n, siglens[i]);
		assert_true(cl_acme_jws_verify_raw(k, input, strlen(input), sig, n));
		free(sig);
		free(input);
		json_decref(pl);
		json_decref(prot);
		json_decref(jws);
		jws = cl_acme_jws(k, "https://ca.test/acct/1", "bm9uY2U", "https://ca.test/x", "");
		prot = jws_part(jws, "protected");
		assert_string_equal(json_string_value(json_object_get(prot, "kid")),
		                    "https://ca.test/acct/1");
		assert_null(json_object_get(prot, "jwk"));
		assert_string_equal(json_string_value(json_object_get(jws, "payload")), "");
		json_decref(prot);
		json_decref(jws);
		EVP_PKEY_free(k);
	}
}

static void test_eab(void **state)
{
	EVP_PKEY *k = a3_key();
	size_t klen;
	unsigned char *mac_key =
		b64d("zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W", &klen);
	json_t *eab = cl_acme_eab_jws(k, "kid-1", mac_key, klen, "https://ca.test/new-acct");
	json_t *prot = jws_part(eab, "protected"), *pl = jws_part(eab, "payload");
	json_t *jwk = cl_acme_jwk(k);
	const char *p64 = json_string_value(json_object_get(eab, "protected"));
	const char *pl64 = json_string_value(json_object_get(eab, "payload"));
	unsigned char want[32];
	size_t wlen = 0;
	char input[1024], *w64;

	(void)state;
	assert_int_equal(klen, 48);
	assert_int_equal(json_object_size(prot), 3);
	assert_string_equal(json_string_value(json_object_get(prot, "alg")), "HS256");
	assert_string_equal(json_string_value(json_object_get(prot, "kid")), "kid-1");
	assert_string_equal(json_string_value(json_object_get(prot, "url")),
	                    "https://ca.test/new-acct");
	assert_null(json_object_get(prot, "nonce"));
	assert_true(json_equal(pl, jwk));   /* the payload is the account's JWK */
	snprintf(input, sizeof input, "%s.%s", p64, pl64);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, mac_key, klen,
	                          (unsigned char *)input, strlen(input), want, sizeof want, &wlen));
	w64 = cl_acme_b64url(want, wlen);
	assert_string_equal(json_string_value(json_object_get(eab, "signature")), w64);
	free(w64);
	free(mac_key);
	json_decref(jwk);
	json_decref(pl);
	json_decref(prot);
	json_decref(eab);
	EVP_PKEY_free(k);
}

static void test_chall_prepare(void **state)
{
	struct cl_acme_authz z = { .id = { CL_ACME_ID_DNS, "www.example.test" }, .wildcard = true };
	struct cl_acme_challenge ch = { .type = CL_ACME_DNS01, .token = (char *)"tok-_en" };
	struct cl_acme_chall_buf cb;
	unsigned char md[32];
	char *v;

	(void)state;
	assert_int_equal(cl_acme_chall_prepare(&cb, &z, &ch, "THUMB"), CL_OK);
	assert_string_equal(cb.c.key_authz, "tok-_en.THUMB");
	assert_string_equal(cb.c.txt_name, "_acme-challenge.www.example.test");
	assert_true(cb.c.wildcard);
	SHA256((const unsigned char *)"tok-_en.THUMB", 13, md);
	assert_memory_equal(cb.c.digest, md, 32);
	v = cl_acme_b64url(md, 32);
	assert_string_equal(cb.c.txt_value, v);
	assert_int_equal(strlen(v), 43);
	free(v);
	cl_acme_chall_release(&cb);
	ch.token = NULL;
	assert_int_equal(cl_acme_chall_prepare(&cb, &z, &ch, "THUMB"), CL_ERR_PARSE);
}

/* ---------------------------------------------------- what the CA sends --- */

static void test_sanitize(void **state)
{
	static const struct { const char *in; size_t max; const char *out; } t[] = {
		{ "plain text", 100, "plain text" },
		{ "a\x1b[31mred\x1b[0m", 100, "a[31mred[0m" },
		{ "line\r\nbreak\ttab", 100, "line break tab" },
		{ "\n\nlead", 100, "lead" },
		{ "bell\x07 del\x7f nul", 100, "bell del nul" },
		{ "caf\xc3\xa9", 100, "caf\xc3\xa9" },
		{ "bad \xff\xfe utf8", 100, "bad ?? utf8" },
		{ "over\xc0\xaflong", 100, "over??long" },
		{ "c1\xc2\x9b" "x", 100, "c1x" },
		{ "rlo\xe2\x80\xae" "evil", 100, "rloevil" },
		{ "0123456789abcdef", 10, "0123456..." },
		{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 9, "\xc3\xa9\xc3\xa9\xc3\xa9..." },
	};
	char out[128];
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		cl_acme_sanitize(out, t[i].max + 1, t[i].in, strlen(t[i].in));
		assert_string_equal(out, t[i].out);
	}
}

static void test_problem(void **state)
{
	static const char doc[] =
		"{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"Some of the "
		"identifiers requested were rejected\\u001b[0m\\nsee below\",\"status\":400,"
		"\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":"
		"\"Invalid underscore in DNS name \\\"_example.org\\\"\",\"identifier\":{\"type\":"
		"\"dns\",\"value\":\"_example.org\"}},{\"type\":\"urn:ietf:params:acme:error:"
		"rejectedIdentifier\",\"detail\":\"This CA will not issue for \\\"example.net\\\"\","
		"\"identifier\":{\"type\":\"dns\",\"value\":\"example.net\"}},{\"type\":\"urn:x\"}, 5]}";
	struct cl_acme_problem *p = cl_acme_problem_parse(doc, strlen(doc), 403);
	char txt[1024];
	size_t i;
	struct cl_buf big;

	(void)state;
	assert_non_null(p);
	assert_string_equal(p->type, "urn:ietf:params:acme:error:malformed");
	assert_string_equal(p->detail, "Some of the identifiers requested were rejected[0m see below");
	assert_int_equal(p->status, 400);
	assert_int_equal(p->nsub, 3);
	assert_string_equal(p->sub[0].id.value, "_example.org");
	assert_string_equal(p->sub[1].type, "urn:ietf:params:acme:error:rejectedIdentifier");
	assert_null(p->sub[2].id.value);
	cl_acme_problem_format(p, txt, sizeof txt);
	assert_string_equal(txt,
	                    "urn:ietf:params:acme:error:malformed: Some of the identifiers requested "
	                    "were rejected[0m see below; _example.org: urn:ietf:params:acme:error:"
	                    "malformed: Invalid underscore in DNS name \"_example.org\"; example.net: "
	                    "urn:ietf:params:acme:error:rejectedIdentifier: This CA will not issue for "
	                    "\"example.net\"; urn:x");
	cl_acme_problem_free(p);
	/* no "status": the HTTP one; not problems */
	{
		static const char bn[] = "{\"type\":\"urn:ietf:params:acme:error:badNonce\"}";

		p = cl_acme_problem_parse(bn, strlen(bn), 400);
	}
	assert_non_null(p);
	assert_int_equal(p->status, 400);
	assert_string_equal(p->detail, "");
	cl_acme_problem_free(p);
	assert_null(cl_acme_problem_parse("{\"status\":500}", 14, 500));
	assert_null(cl_acme_problem_parse("<html>oops</html>", 17, 500));
	assert_null(cl_acme_problem_parse("[1,2]", 5, 500));
	assert_null(cl_acme_problem_parse("", 0, 500));
	/* a huge detail is cut, many subproblems are capped */
	cl_buf_init(&big, 1 << 20);
	assert_int_equal(cl_buf_addstr(&big, "{\"type\":\"t\",\"detail\":\""), CL_OK);
	for (i = 0; i < 5000; i++)
		assert_int_equal(cl_buf_addc(&big, 'x'), CL_OK);
	assert_int_equal(cl_buf_addstr(&big, "\",\"subproblems\":["), CL_OK);
	for (i = 0; i < 100; i++)
		assert_int_equal(cl_buf_printf(&big, "%s{\"type\":\"s%zu\"}", i ? "," : "", i), CL_OK);
	assert_int_equal(cl_buf_addstr(&big, "]}"), CL_OK);
	p = cl_acme_problem_parse(big.data, big.len, 400);
	assert_non_null(p);
	assert_true(strlen(p->detail) <= CL_ACME_MAX_DETAIL);
	assert_string_equal(p->detail + strlen(p->detail) - 3, "...");
	assert_int_equal(p->nsub, CL_ACME_MAX_SUB);
	cl_acme_problem_free(p);
	cl_buf_free(&big);
}

static void test_link(void **state)
{
	static const struct { const char *hdr; const char *rel; const char *want; } t[] = {
		{ "<https://ca/cert/1/1>;rel=\"alternate\", <https://ca/cert/1/2>; rel=alternate, "
		  "<https://ca/issuer>;rel=\"up\"",
		  "alternate", "https://ca/cert/1/1 https://ca/cert/1/2" },
		{ "<https://ca/issuer>;rel=\"up\"", "alternate", "" },
		{ "<https://ca/dir>;rel=\"index\", <https://ca/a>;REL=\"Alternate\"", "alternate",
		  "https://ca/a" },
		{ "<https://ca/a>; title=\"x, y; z\"; rel=\"up alternate\"", "alternate", "https://ca/a" },
		{ "<https://ca/a>;rel=\"alternates\"", "alternate", "" },
		{ "garbage, <https://ca/b>;rel=alternate", "alternate", "https://ca/b" },
		{ "<https://ca/c>;rel=alternate;", "alternate", "https://ca/c" },
		{ "<https://ca/unterminated;rel=alternate", "alternate", "" },
		{ "<>;rel=alternate", "alternate", "" },
		{ "<https://ca/d>;rel=\"alternate", "alternate", "https://ca/d" },
		{ "", "alternate", "" },
		{ "<https://ca/a b>;rel=alternate, <https://ca/\x01>;rel=alternate", "alternate", "" },
	};
	size_t i, k, n;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		char **v = NULL, got[512] = "";

		assert_int_equal(cl_acme_link_parse(t[i].hdr, strlen(t[i].hdr), t[i].rel, &v, &n), CL_OK);
		for (k = 0; k < n; k++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? " " : "", v[k]);
		assert_string_equal(got, t[i].want);
		cl_acme_strv_free(v, n);
	}
}

static void test_retry_after(void **state)
{
	int64_t date = 1445412480;   /* Wed, 21 Oct 2015 07:28:00 GMT */

	(void)state;
	assert_int_equal(cl_acme_retry_after_parse("120", 0), 120);
	assert_int_equal(cl_acme_retry_after_parse(" 5 ", 0), 5);
	assert_int_equal(cl_acme_retry_after_parse("0", 0), 0);
	assert_int_equal(cl_acme_retry_after_parse("-1", 0), -1);
	assert_int_equal(cl_acme_retry_after_parse("5s", 0), -1);
	assert_int_equal(cl_acme_retry_after_parse("99999999999999999999", 0), -1);
	assert_int_equal(cl_acme_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", date - 30), 30);
	assert_int_equal(cl_acme_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", date + 30), 0);
	assert_int_equal(cl_acme_retry_after_parse("tomorrow-ish", 0), -1);
	assert_int_equal(cl_acme_retry_after_parse(NULL, 0), -1);
}

static void test_directory(void **state)
{
	static const char good[] =
		"{\"newNonce\":\"https://ca/nonce\",\"newAccount\":\"https://ca/acct\","
		"\"newOrder\":\"https://ca/order\",\"revokeCert\":\"https://ca/revoke\","
		"\"keyChange\":\"https://ca/key\",\"renewalInfo\":\"https://ca/ari/\","
		"\"meta\":{\"termsOfService\":\"https://ca/tos\\u0007\",\"externalAccountRequired\":true},"
		"\"x-unknown\":[1]}";
	static const char *const bad[] = {
		"{\"newNonce\":\"https://ca/nonce\",\"newAccount\":\"https://ca/acct\"}",
		"{\"newNonce\":\"http://ca/nonce\",\"newAccount\":\"https://ca/acct\","
		"\"newOrder\":\"https://ca/order\"}",
		"{\"newNonce\":\"https://ca/nonce\",\"newAccount\":\"https://ca/a b\","
		"\"newOrder\":\"https://ca/order\"}",
		"{\"newNonce\":\"https://ca/nonce\",\"newAccount\":\"https://ca/acct\","
		"\"newOrder\":\"https://ca/order\",\"keyChange\":5}",
		"{\"newNonce\":\"https://ca/n\",\"newNonce\":\"https://ca/n\",\"newAccount\":"
		"\"https://ca/a\",\"newOrder\":\"https://ca/o\"}",
		"[]", "", "{",
	};
	struct cl_acme_dir d;
	size_t i;

	(void)state;
	assert_int_equal(cl_acme_dir_parse(good, strlen(good), &d), CL_OK);
	assert_string_equal(d.new_order, "https://ca/order");
	assert_string_equal(d.renewal_info, "https://ca/ari/");
	assert_string_equal(d.tos, "https://ca/tos");
	assert_true(d.eab_required);
	cl_acme_dir_clear(&d);
	for (i = 0; i < CL_ARRAY_LEN(bad); i++)
		assert_int_equal(cl_acme_dir_parse(bad[i], strlen(bad[i]), &d), CL_ERR_PARSE);
}

static void test_order_authz(void **state)
{
	static const char order[] =
		"{\"status\":\"invalid\",\"expires\":\"2030-01-01T00:00:00Z\",\"identifiers\":["
		"{\"type\":\"dns\",\"value\":\"*.example.test\"},{\"type\":\"ip\",\"value\":"
		"\"2001:DB8:0:0::1\"}],\"authorizations\":[\"https://ca/authz/1\",\"https://ca/authz/2\"],"
		"\"finalize\":\"https://ca/finalize/1\",\"error\":{\"type\":\"urn:ietf:params:acme:error:"
		"badCSR\",\"detail\":\"no\"}}";
	static const char *const bad_orders[] = {
		"{\"status\":\"weird\",\"identifiers\":[],\"authorizations\":[],"
		"\"finalize\":\"https://c/f\"}",
		"{\"status\":\"pending\",\"identifiers\":[],\"authorizations\":[\"http://c/a\"],"
		"\"finalize\":\"https://c/f\"}",
		"{\"status\":\"pending\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"a b\"}],"
		"\"authorizations\":[],\"finalize\":\"https://c/f\"}",
		"{\"status\":\"pending\",\"identifiers\":[{\"type\":\"email\",\"value\":\"a@b\"}],"
		"\"authorizations\":[],\"finalize\":\"https://c/f\"}",
		"{\"status\":\"pending\",\"identifiers\":[],\"authorizations\":[]}",
	};
	static const char authz[] =
		"{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"example.test\"},"
		"\"wildcard\":true,\"challenges\":[{\"type\":\"dns-01\",\"url\":\"https://ca/ch/1\","
		"\"token\":\"abc_-1\",\"status\":\"pending\"},{\"type\":\"http-01\",\"url\":"
		"\"https://ca/ch/2\",\"token\":\"../../etc\",\"status\":\"pending\"},{\"type\":"
		"\"x-new-01\",\"url\":\"https://ca/ch/3\",\"status\":\"invalid\",\"error\":{\"type\":"
		"\"urn:ietf:params:acme:error:connection\",\"detail\":\"refused\"}},{\"type\":"
		"\"dns-01\",\"url\":\"ftp://ca/ch/4\"}]}";
	struct cl_acme_order *o = NULL;
	struct cl_acme_authz *z = NULL;
	size_t i;

	(void)state;
	assert_int_equal(cl_acme_order_parse(order, strlen(order), "https://ca/order/1", &o), CL_OK);
	assert_int_equal(o->status, CL_ACME_ST_INVALID);
	assert_int_equal(o->expires, 1893456000);
	assert_int_equal(o->nids, 2);
	assert_string_equal(o->ids[0].value, "*.example.test");
	assert_int_equal(o->ids[1].type, CL_ACME_ID_IP);
	assert_string_equal(o->ids[1].value, "2001:db8::1");
	assert_int_equal(o->nauthz, 2);
	assert_null(o->certificate);
	assert_non_null(o->error);
	assert_string_equal(o->error->type, "urn:ietf:params:acme:error:badCSR");
	cl_acme_order_free(o);
	for (i = 0; i < CL_ARRAY_LEN(bad_orders); i++)
		assert_int_equal(cl_acme_order_parse(bad_orders[i], strlen(bad_orders[i]), NULL, &o),
		                 CL_ERR_PARSE);
	assert_int_equal(cl_acme_authz_parse(authz, strlen(authz), "https://ca/authz/1", &z), CL_OK);
	assert_true(z->wildcard);
	assert_string_equal(z->id.value, "example.test");
	assert_int_equal(z->nch, 3);   /* the ftp one is dropped */
	assert_int_equal(z->ch[0].type, CL_ACME_DNS01);
	assert_string_equal(z->ch[0].token, "abc_-1");
	assert_null(z->ch[1].token);   /* not base64url: never used */
	assert_int_equal(z->ch[2].type, CL_ACME_CHALL_OTHER);
	assert_string_equal(z->ch[2].error->detail, "refused");
	cl_acme_authz_free(z);
	{
		static const char wz[] = "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
		                         "\"value\":\"*.x.test\"},\"challenges\":[]}";

		assert_int_equal(cl_acme_authz_parse(wz, strlen(wz), NULL, &z), CL_ERR_PARSE);
	}
}

static void test_names(void **state)
{
	static const struct { const char *n; bool wild, single, ok; } t[] = {
		{ "example.com", false, false, true }, { "a-b.c0.example", false, false, true },
		{ "*.example.com", true, false, true }, { "*.example.com", false, false, false },
		{ "localhost", false, true, true }, { "localhost", false, false, false },
		{ "-a.com", false, false, false }, { "a-.com", false, false, false },
		{ "a..com", false, false, false }, { "a.com.", false, false, false },
		{ "a_b.com", false, false, false }, { "a.com;id", false, false, false },
		{ "$(id).com", false, false, false }, { "a b.com", false, false, false },
		{ "*.*.com", true, false, false }, { "", false, true, false },
		{ "xn--bcher-kva.example", false, false, true },
	};
	char long_label[80], ip[64];
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++)
		assert_int_equal(cl_acme_dns_name_ok(t[i].n, t[i].wild, t[i].single), t[i].ok);
	memset(long_label, 'a', 64);
	strcpy(long_label + 64, ".com");
	assert_false(cl_acme_dns_name_ok(long_label, false, false));
	assert_int_equal(cl_acme_ip_norm("192.0.2.1", ip, sizeof ip), CL_OK);
	assert_string_equal(ip, "192.0.2.1");
	assert_int_equal(cl_acme_ip_norm("2001:DB8::0:1", ip, sizeof ip), CL_OK);
	assert_string_equal(ip, "2001:db8::1");
	assert_int_equal(cl_acme_ip_norm("192.0.2.256", ip, sizeof ip), CL_ERR_PARSE);
	assert_int_equal(cl_acme_ip_norm("1.2.3", ip, sizeof ip), CL_ERR_PARSE);
}

/* --------------------------------------------------------- keys, CSR, ARI --- */

/* RFC 9773 Appendix A: the example certificate and its CertID. */
static const char rfc9773_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt\n"
	"cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS\n"
	"BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu\n"
	"7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf\n"
	"qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B\n"
	"yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb\n"
	"+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK\n"
	"-----END CERTIFICATE-----\n";

static unsigned char *pem_to_der(const char *pem, size_t *len)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	unsigned char *der = NULL;
	int n = x ? i2d_X509(x, &der) : -1;

	assert_true(n > 0);
	*len = (size_t)n;
	X509_free(x);
	BIO_free(b);
	return der;
}

static void test_cert_id(void **state)
{
	size_t len;
	unsigned char *der = pem_to_der(rfc9773_pem, &len);
	char *id = NULL, path[4096];
	unsigned char *self;
	size_t slen;
	const char *dir = tu_tmpdir();

	(void)state;
	assert_int_equal(cl_acme_cert_id(der, len, &id), CL_OK);
	assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	free(id);
	assert_int_equal(cl_acme_cert_id(der, len - 1, &id), CL_ERR_PARSE);
	assert_int_equal(cl_acme_cert_id((const unsigned char *)"\x30\x03\x02\x01\x01", 5, &id),
	                 CL_ERR_PARSE);
	OPENSSL_free(der);
	/* no Authority Key Identifier; a serial below 0x80 has no leading zero */
	snprintf(path, sizeof path, "%s/self", dir);
	tu_sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
	      "-subj /CN=self -days 1 -set_serial 0x7f -addext authorityKeyIdentifier=none "
	      "-outform DER -out %s.der 2>/dev/null", path, path);
	snprintf(path + strlen(path), sizeof path - strlen(path), ".der");
	self = tu_read(path, &slen);
	assert_int_equal(cl_acme_cert_id(self, slen, &id), CL_ERR_NOTFOUND);
	free(self);
}

static void test_ari_parse(void **state)
{
	static const char good[] = "{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\","
	                           "\"end\":\"2025-01-03T04:00:00Z\"},\"explanationURL\":"
	                           "\"https://acme.example.com/docs/ari\"}";
	static const char *const bad[] = {
		"{\"suggestedWindow\":{\"start\":\"2025-01-03T04:00:00Z\","
		"\"end\":\"2025-01-02T04:00:00Z\"}}",
		"{\"suggestedWindow\":{\"start\":\"2025-01-02T04:00:00Z\"}}",
		"{\"suggestedWindow\":{\"start\":\"soon\",\"end\":\"later\"}}",
		"{}", "null",
	};
	struct cl_acme_renewal_info ri;
	size_t i;

	(void)state;
	assert_int_equal(cl_acme_ari_parse(good, strlen(good), &ri), CL_OK);
	assert_int_equal(ri.start, 1735790400);
	assert_int_equal(ri.end, 1735876800);
	assert_string_equal(ri.explanation_url, "https://acme.example.com/docs/ari");
	free(ri.explanation_url);
	for (i = 0; i < CL_ARRAY_LEN(bad); i++)
		assert_int_equal(cl_acme_ari_parse(bad[i], strlen(bad[i]), &ri), CL_ERR_PARSE);
}

static void test_keys_csr(void **state)
{
	static const struct cl_acme_ident ids[] = {
		{ CL_ACME_ID_DNS, "www.example.test" }, { CL_ACME_ID_DNS, "*.example.test" },
		{ CL_ACME_ID_IP, "192.0.2.7" }, { CL_ACME_ID_IP, "2001:db8::7" },
	};
	static const struct cl_acme_ident bad[] = { { CL_ACME_ID_DNS, "bad name" } };
	const char *dir = tu_tmpdir();
	char path[4096], sans[512];
	EVP_PKEY *k = NULL, *back = NULL, *k2 = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	struct stat st;
	bool created = false;
	X509_REQ *req;
	BIO *b;
	enum cl_acme_keytype t;

	(void)state;
	assert_int_equal(cl_acme_keytype_parse("RSA3072", &t), CL_OK);
	assert_int_equal(t, CL_ACME_KEY_RSA3072);
	assert_int_equal(cl_acme_keytype_parse("ed25519", &t), CL_ERR_USAGE);
	snprintf(path, sizeof path, "%s/acct.key", dir);
	assert_int_equal(cl_acme_key_load_or_new(&k, path, CL_ACME_KEY_EC256, &created), CL_OK);
	assert_true(created);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(cl_acme_key_load_or_new(&back, path, CL_ACME_KEY_RSA2048, &created), CL_OK);
	assert_false(created);
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	snprintf(path, sizeof path, "%s/ed.key", dir);
	tu_sh("openssl genpkey -algorithm ed25519 -out %s 2>/dev/null", path);
	assert_int_equal(cl_acme_key_load(&back, path), CL_ERR_UNSUPPORTED);
	snprintf(path, sizeof path, "%s/junk.key", dir);
	tu_sh("echo junk > %s", path);
	assert_int_equal(cl_acme_key_load(&back, path), CL_ERR_PARSE);
	assert_int_equal(cl_acme_key_load(&back, "/nonexistent/x.key"), CL_ERR_IO);

	assert_int_equal(cl_acme_csr_new(k, ids, CL_ARRAY_LEN(ids), &der, &len), CL_OK);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, k), 1);
	b = BIO_new(BIO_s_mem());
	X509_REQ_print_ex(b, req, XN_FLAG_ONELINE, 0);
	memset(sans, 0, sizeof sans);
	{
		char all[8192] = "";
		int n = BIO_read(b, all, sizeof all - 1);

		assert_true(n > 0);
		all[n] = '\0';
		assert_non_null(strstr(all, "Subject: CN = www.example.test"));
		assert_non_null(strstr(all, "DNS:www.example.test, DNS:*.example.test, "
		                            "IP Address:192.0.2.7, IP Address:2001:DB8:0:0:0:0:0:7"));
	}
	BIO_free(b);
	X509_REQ_free(req);
	OPENSSL_free(der);
	assert_int_equal(cl_acme_csr_new(k, bad, 1, &der, &len), CL_ERR_USAGE);
	assert_int_equal(cl_acme_csr_new(k, ids, 0, &der, &len), CL_ERR_USAGE);
	/* P-384 keys sign with SHA-384 */
	assert_int_equal(cl_acme_key_new(&k2, CL_ACME_KEY_EC384), CL_OK);
	assert_int_equal(cl_acme_csr_new(k2, ids, 1, &der, &len), CL_OK);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_int_equal(X509_REQ_get_signature_nid(req), NID_ecdsa_with_SHA384);
	X509_REQ_free(req);
	OPENSSL_free(der);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k);
}

static void test_client_args(void **state)
{
	struct cl_acme *a = NULL;
	struct cl_acme_opts o = { .timeout_ms = 1000 };
	EVP_PKEY *k = NULL;

	(void)state;
	assert_int_equal(cl_acme_new(&a, "http://ca.test/dir", NULL), CL_ERR_USAGE);
	assert_int_equal(cl_acme_new(&a, "https://ca.test/a b", NULL), CL_ERR_USAGE);
	assert_int_equal(cl_acme_new(&a, NULL, NULL), CL_ERR_USAGE);
	/* a closed port: the step and URL are named */
	assert_int_equal(cl_acme_new(&a, "https://127.0.0.1:9/dir", &o), CL_OK);
	assert_int_equal(cl_acme_directory(a), CL_ERR_IO);
	assert_non_null(strstr(cl_acme_get0_error(a), "fetch directory https://127.0.0.1:9/dir: "));
	assert_null(cl_acme_get0_problem(a));
	assert_int_equal(cl_acme_account(a, NULL, NULL), CL_ERR_USAGE);   /* no key */
	assert_int_equal(cl_acme_key_new(&k, CL_ACME_KEY_EC256), CL_OK);
	assert_int_equal(cl_acme_set1_account_key(a, k), CL_OK);
	assert_int_equal(cl_acme_deactivate_account(a), CL_ERR_USAGE);   /* no account yet */
	EVP_PKEY_free(k);
	cl_acme_free(a);
}

/* ------------------------------------------------------------------- DNS --- */

static const char upd_add_hex[] =
	"123428000001000000010001076578616d706c6503636f6d00000600010f5f61636d652d6368616c6c656e6765"
	"03777777076578616d706c6503636f6d00001000010000003c002c2b4c6f71586359563871354f4e624a517862"
	"6d52375343544e6f337469415844666f77796a78416a457558300861636d652d6b65790000fa00ff0000000000"
	"3d0b686d61632d7368613235360000006553f100012c00203acb78b08450ec8d687f06a305aec5512f17e3d5a0"
	"a012e57541207a35910a75123400000000";
static const char upd_del_hex[] =
	"123428000001000000010001076578616d706c6503636f6d00000600010f5f61636d652d6368616c6c656e6765"
	"03777777076578616d706c6503636f6d00001000fe00000000002c2b4c6f71586359563871354f4e624a517862"
	"6d52375343544e6f337469415844666f77796a78416a457558300861636d652d6b65790000fa00ff0000000000"
	"3d0b686d61632d7368613235360000006553f100012c0020b69ebd3a605eab9aa8dfd18eeb3baa53901e63d936"
	"913c2eaf93ec4215819d1a123400000000";
static const char answer_hex[] =
	"1234a8000001000000000001076578616d706c6503636f6d00000600010861636d652d6b65790000fa00ff0000"
	"0000003d0b686d61632d7368613235360000006553f101012c0020cb1d024ac2538b0609f8e9b406a728835baf"
	"dfab4dcb287132c0ed4dfa20beb8123400000000";

static unsigned char *unhex(const char *h, size_t *n)
{
	unsigned char *b = malloc(strlen(h) / 2 + 1);
	size_t i;

	for (i = 0; h[2 * i]; i++) {
		unsigned v;

		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		b[i] = (unsigned char)v;
	}
	*n = i;
	return b;
}

static void test_dns_update(void **state)
{
	static const char txt[] = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
	static const char secret[] = "secret-key-for-tests-only";
	struct cl_dns_tsig key = { "acme-key.", "hmac-sha256.", (const unsigned char *)secret,
	                           sizeof secret - 1 };
	struct cl_dnsw *w = malloc(sizeof *w);
	struct cl_dns_answer a;
	unsigned char mac[CL_DNS_MAX_MAC], *want, *ans;
	size_t maclen, n, alen;

	(void)state;
	/* bytes from an independent encoder (RFC 2136 + RFC 8945, time 1700000000) */
	assert_int_equal(cl_dns_update(w, 0x1234, "Example.COM", "_acme-challenge.www.example.com", 60,
	                               txt, true),
	                 CL_OK);
	assert_int_equal(cl_dns_tsig_sign(w, &key, 1700000000, mac, &maclen), CL_OK);
	want = unhex(upd_add_hex, &n);
	assert_int_equal(w->len, n);
	assert_memory_equal(w->buf, want, n);
	free(want);
	/* the answer, signed over the request's MAC, verifies; changed, it does not */
	ans = unhex(answer_hex, &alen);
	assert_int_equal(cl_dns_answer_parse(ans, alen, &key, mac, maclen, &a), CL_OK);
	assert_int_equal(a.id, 0x1234);
	assert_true(a.qr);
	assert_int_equal(a.opcode, 5);
	assert_int_equal(a.rcode, 0);
	assert_true(a.signed_);
	assert_true(a.tsig_ok);
	assert_int_equal(a.tsig_time, 1700000001);
	mac[0] ^= 1;   /* as if answering another request */
	assert_int_equal(cl_dns_answer_parse(ans, alen, &key, mac, maclen, &a), CL_OK);
	assert_false(a.tsig_ok);
	mac[0] ^= 1;
	ans[3] ^= 5;   /* the rcode */
	assert_int_equal(cl_dns_answer_parse(ans, alen, &key, mac, maclen, &a), CL_OK);
	assert_false(a.tsig_ok);
	ans[3] ^= 5;
	assert_int_equal(cl_dns_answer_parse(ans, alen - 1, &key, mac, maclen, &a), CL_ERR_PARSE);
	free(ans);
	/* the delete */
	assert_int_equal(cl_dns_update(w, 0x1234, "example.com.", "_acme-challenge.www.example.com",
	                               60, txt, false),
	                 CL_OK);
	assert_int_equal(cl_dns_tsig_sign(w, &key, 1700000000, mac, &maclen), CL_OK);
	want = unhex(upd_del_hex, &n);
	assert_int_equal(w->len, n);
	assert_memory_equal(w->buf, want, n);
	free(want);
	/* names that cannot be written */
	assert_int_equal(cl_dns_update(w, 1, "a..b", "x.a.b", 60, txt, true), CL_ERR_PARSE);
	assert_int_equal(cl_dns_update(w, 1, "a.b", "x y.a.b", 60, txt, true), CL_ERR_PARSE);
	assert_false(cl_dns_tsig_alg_ok("hmac-md5"));
	assert_true(cl_dns_tsig_alg_ok("HMAC-SHA512."));
	free(w);
}

static void test_dns_answer_edges(void **state)
{
	/* header + a name whose compression pointer points at itself (a loop),
	 * forward, past the end; counts larger than the message */
	static const char *const bad[] = {
		"123480000001000000000000c00c00060001",
		"123480000001000000000000c01000060001",
		"12348000000100000000000003616263",
		"1234800000000001000000000000",
		"123480",
		"123480000000000000000001" "00" "00fa00ff" "00000000" "0001" "00",
	};
	struct cl_dns_answer a;
	size_t i, n;
	char rb[24];

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(bad); i++) {
		unsigned char *b = unhex(bad[i], &n);

		assert_int_equal(cl_dns_answer_parse(b, n, NULL, NULL, 0, &a), CL_ERR_PARSE);
		free(b);
	}
	assert_string_equal(cl_dns_rcode_name(9, rb, sizeof rb), "NOTAUTH");
	assert_string_equal(cl_dns_rcode_name(16, rb, sizeof rb), "BADSIG");
	assert_string_equal(cl_dns_rcode_name(12, rb, sizeof rb), "RCODE 12");
}

/* --------------------------------------------------------------- solvers --- */

static struct cl_acme_chall_buf chall(enum cl_acme_chall_type t, enum cl_acme_id_type it,
                                      const char *id, const char *token)
{
	struct cl_acme_authz z = { .id = { it, id } };
	struct cl_acme_challenge ch = { .type = t, .token = (char *)token };
	struct cl_acme_chall_buf cb;

	assert_int_equal(cl_acme_chall_prepare(&cb, &z, &ch, "THUMBPRINT"), CL_OK);
	return cb;
}

static void test_hook(void **state)
{
	const char *dir = tu_tmpdir();
	char hook[4096], log[4096], err[512], marker[4096];
	struct cl_acme_solver *s = NULL;
	struct cl_acme_chall_buf cb;
	unsigned char *got;
	size_t n, i;
	time_t t0;
	static const char *const evil[] = {
		"a.com;touch MARK", "$(touch MARK).com", "`touch MARK`.com", "-rf", "a..com",
		"a.com\ntouch MARK", "a.com MARK", "",
	};

	(void)state;
	snprintf(hook, sizeof hook, "%s/hook.sh", dir);
	snprintf(log, sizeof log, "%s/hook.log", dir);
	snprintf(marker, sizeof marker, "%s/MARK", dir);
	tu_sh("printf '#!/bin/sh\\necho \"$# [$1] [$2] [$3] [$4]\" >> %s\\n"
	      "case $2 in slow.example.test) exec sleep 20;;"
	      " fail.example.test) echo \"no\\033 way\" >&2; exit 7;; esac\\nexit 0\\n'"
	      " > %s && chmod 0755 %s",
	      log, hook, hook);
	assert_int_equal(cl_acme_solver_dns_hook(&s, hook, 1), CL_OK);
	cb = chall(CL_ACME_DNS01, CL_ACME_ID_DNS, "www.example.test", "tok_1");
	assert_int_equal(s->ops->present(s->state, &cb.c, err, sizeof err), CL_OK);
	s->ops->cleanup(s->state, &cb.c);
	got = tu_read(log, &n);
	{
		char want[512];

		snprintf(want, sizeof want,
		         "4 [present] [www.example.test] [tok_1] [%s]\n"
		         "4 [cleanup] [www.example.test] [tok_1] [%s]\n",
		         cb.c.txt_value, cb.c.txt_value);
		assert_string_equal((char *)got, want);
	}
	free(got);
	cl_acme_chall_release(&cb);
	/* a failing hook: status and output (sanitised) */
	cb = chall(CL_ACME_DNS01, CL_ACME_ID_DNS, "fail.example.test", "tok_2");
	assert_int_equal(s->ops->present(s->state, &cb.c, err, sizeof err), CL_ERR);
	assert_non_null(strstr(err, "present exited with status 7: no way"));
	cl_acme_chall_release(&cb);
	/* too slow: killed after its time */
	cb = chall(CL_ACME_DNS01, CL_ACME_ID_DNS, "slow.example.test", "tok_3");
	t0 = time(NULL);
	assert_int_equal(s->ops->present(s->state, &cb.c, err, sizeof err), CL_ERR);
	assert_non_null(strstr(err, "timed out after 1 s"));
	assert_true(time(NULL) - t0 < 10);
	cl_acme_chall_release(&cb);
	/* input never reaches the hook unless checked */
	unlink(log);
	for (i = 0; i < CL_ARRAY_LEN(evil); i++) {
		struct cl_acme_chall c = { .type = CL_ACME_DNS01, .id_type = CL_ACME_ID_DNS,
		                           .identifier = evil[i], .token = "tok",
		                           .txt_value = "abc" };

		assert_int_equal(s->ops->present(s->state, &c, err, sizeof err), CL_ERR_PARSE);
	}
	{
		struct cl_acme_chall c = { .type = CL_ACME_DNS01, .id_type = CL_ACME_ID_DNS,
		                           .identifier = "ok.example.test", .token = "t;touch MARK",
		                           .txt_value = "abc" };

		assert_int_equal(s->ops->present(s->state, &c, err, sizeof err), CL_ERR_PARSE);
		c.token = "tok";
		c.txt_value = "a/b+c=";
		assert_int_equal(s->ops->present(s->state, &c, err, sizeof err), CL_ERR_PARSE);
		c.txt_value = "abc";
		c.id_type = CL_ACME_ID_IP;
		c.identifier = "192.0.2.1";
		assert_int_equal(s->ops->present(s->state, &c, err, sizeof err), CL_ERR_PARSE);
	}
	assert_int_equal(access(log, F_OK), -1);
	assert_int_equal(access(marker, F_OK), -1);
	cl_acme_solver_free(s);
	/* a hook that does not exist */
	assert_int_equal(cl_acme_solver_dns_hook(&s, "/nonexistent/hook", 5), CL_OK);
	cb = chall(CL_ACME_DNS01, CL_ACME_ID_DNS, "www.example.test", "tok_1");
	assert_int_equal(s->ops->present(s->state, &cb.c, err, sizeof err), CL_ERR);
	cl_acme_chall_release(&cb);
	cl_acme_solver_free(s);
}

static void test_webroot(void **state)
{
	const char *dir = tu_tmpdir();
	char root[4096], file[4096], err[512];
	struct cl_acme_solver *s = NULL;
	struct cl_acme_chall_buf cb;
	struct cl_acme_chall evil;
	unsigned char *got;
	struct stat st;
	size_t n;

	(void)state;
	snprintf(root, sizeof root, "%s/www/", dir);
	mkdir(root, 0755);
	assert_int_equal(cl_acme_solver_http_webroot(&s, root), CL_OK);
	cb = chall(CL_ACME_HTTP01, CL_ACME_ID_DNS, "www.example.test", "tok-en_1");
	assert_int_equal(s->ops->present(s->state, &cb.c, err, sizeof err), CL_OK);
	snprintf(file, sizeof file, "%s/www/.well-known/acme-challenge/tok-en_1", dir);
	got = tu_read(file, &n);
	assert_string_equal((char *)got, "tok-en_1.THUMBPRINT");
	free(got);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	s->ops->cleanup(s->state, &cb.c);
	assert_int_equal(access(file, F_OK), -1);
	cl_acme_chall_release(&cb);
	evil = (struct cl_acme_chall){ .token = "../../x", .key_authz = "x" };
	assert_int_equal(s->ops->present(s->state, &evil, err, sizeof err), CL_ERR_PARSE);
	cl_acme_solver_free(s);
}

static size_t sink(char *p, size_t size, size_t nmemb, void *ud)
{
	struct cl_buf *b = ud;

	assert_int_equal(cl_buf_add(b, p, size * nmemb), CL_OK);
	return size * nmemb;
}

static long http_get(unsigned port, const char *path, struct cl_buf *body)
{
	CURL *e = curl_easy_init();
	char url[256];
	long status = 0;

	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
	cl_buf_reset(body);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)body);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	assert_int_equal(curl_easy_perform(e), CURLE_OK);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	return status;
}

static void test_http_standalone(void **state)
{
	struct cl_acme_solver *s = NULL, *s2 = NULL;
	struct cl_acme_chall_buf cb;
	struct cl_buf body;
	char err[512];
	unsigned port;

	(void)state;
	cl_buf_init(&body, 1 << 16);
	assert_int_equal(cl_acme_curl_init(), CL_OK);
	assert_int_equal(cl_acme_solver_http_standalone(&s, "127.0.0.1", 0, err, sizeof err), CL_OK);
	port = cl_acme_solver_port(s);
	assert_true(port > 0);
	/* the same port again: refused with a reason */
	assert_int_equal(cl_acme_solver_http_standalone(&s2, "127.0.0.1", port, err, sizeof err),
	                 CL_ERR_IO);
	assert_non_null(strstr(err, "cannot listen on 127.0.0.1 port"));
	cb = chall(CL_ACME_HTTP01, CL_ACME_ID_DNS, "www.example.test", "tok_en-1");
	assert_int_equal(http_get(port, "/.well-known/acme-challenge/tok_en-1", &body), 404);
	assert_int_equal(s->ops->present(s->state, &cb.c, err, sizeof err), CL_OK);
	assert_int_equal(s->ops->present(s->state, &cb.c, err, sizeof err), CL_OK);   /* twice */
	assert_int_equal(http_get(port, "/.well-known/acme-challenge/tok_en-1", &body), 200);
	assert_string_equal(body.data, "tok_en-1.THUMBPRINT");
	assert_int_equal(http_get(port, "/.well-known/acme-challenge/other", &body), 404);
	assert_int_equal(http_get(port, "/.well-known/acme-challenge/../tok_en-1", &body), 404);
	assert_int_equal(http_get(port, "/", &body), 404);
	s->ops->cleanup(s->state, &cb.c);
	assert_int_equal(http_get(port, "/.well-known/acme-challenge/tok_en-1", &body), 200);
	s->ops->cleanup(s->state, &cb.c);
	assert_int_equal(http_get(port, "/.well-known/acme-challenge/tok_en-1", &body), 404);
	cl_acme_chall_release(&cb);
	cl_acme_solver_free(s);
	/* started and stopped at once */
	assert_int_equal(cl_acme_solver_http_standalone(&s, "127.0.0.1", 0, err, sizeof err), CL_OK);
	cl_acme_solver_free(s);
	cl_buf_free(&body);
}

/* A TLS handshake with SNI and ALPN; returns the peer's certificate or NULL. */
static X509 *alpn_connect(unsigned port, const char *sni, const char *alpn, char *selected)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned char protos[32];
	const unsigned char *sel = NULL;
	unsigned sellen = 0;
	X509 *peer = NULL;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	SSL_set_fd(ssl, fd);
	if (sni)
		SSL_set_tlsext_host_name(ssl, sni);
	if (alpn) {
		protos[0] = (unsigned char)strlen(alpn);
		memcpy(protos + 1, alpn, strlen(alpn));
		SSL_set_alpn_protos(ssl, protos, (unsigned)strlen(alpn) + 1);
	}
	if (SSL_connect(ssl) == 1) {
		peer = SSL_get1_peer_certificate(ssl);
		SSL_get0_alpn_selected(ssl, &sel, &sellen);
		snprintf(selected, 32, "%.*s", (int)sellen, sel ? (const char *)sel : "");
	}
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return peer;
}

static void test_tlsalpn(void **state)
{
	struct cl_acme_solver *s = NULL;
	struct cl_acme_chall_buf cb, cb6;
	char err[512], sel[32];
	unsigned port;
	X509 *peer;
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *v;
	GENERAL_NAMES *gens;
	int idx;

	(void)state;
	assert_int_equal(cl_acme_solver_tlsalpn_standalone(&s, "127.0.0.1", 0, err, sizeof err),
	                 CL_OK);
	port = cl_acme_solver_port(s);
	cb = chall(CL_ACME_TLSALPN01, CL_ACME_ID_DNS, "www.example.test", "tok_1");
	cb6 = chall(CL_ACME_TLSALPN01, CL_ACME_ID_IP, "2001:db8::1", "tok_2");
	assert_null(alpn_connect(port, "www.example.test", "acme-tls/1", sel));
	assert_int_equal(s->ops->present(s->state, &cb.c, err, sizeof err), CL_OK);
	assert_int_equal(s->ops->present(s->state, &cb6.c, err, sizeof err), CL_OK);
	peer = alpn_connect(port, "WWW.example.test", "acme-tls/1", sel);
	assert_non_null(peer);
	assert_string_equal(sel, "acme-tls/1");
	idx = X509_get_ext_by_OBJ(peer, oid, -1);
	assert_true(idx >= 0);
	ext = X509_get_ext(peer, idx);
	assert_int_equal(X509_EXTENSION_get_critical(ext), 1);
	v = X509_EXTENSION_get_data(ext);
	assert_int_equal(ASN1_STRING_length(v), 34);
	assert_memory_equal(ASN1_STRING_get0_data(v), "\x04\x20", 2);
	assert_memory_equal(ASN1_STRING_get0_data(v) + 2, cb.c.digest, 32);
	gens = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
	GENERAL_NAMES_free(gens);
	X509_free(peer);
	/* the IP identifier by its reverse name (RFC 8738) */
	peer = alpn_connect(port,
	                    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	                    "acme-tls/1", sel);
	assert_non_null(peer);
	X509_free(peer);
	/* no acme-tls/1, or another name: no certificate */
	assert_null(alpn_connect(port, "www.example.test", "http/1.1", sel));
	assert_null(alpn_connect(port, "www.example.test", NULL, sel));
	assert_null(alpn_connect(port, "other.example.test", "acme-tls/1", sel));
	s->ops->cleanup(s->state, &cb.c);
	assert_null(alpn_connect(port, "www.example.test", "acme-tls/1", sel));
	s->ops->cleanup(s->state, &cb6.c);
	cl_acme_chall_release(&cb);
	cl_acme_chall_release(&cb6);
	ASN1_OBJECT_free(oid);
	cl_acme_solver_free(s);
}

static void test_rfc2136_config(void **state)
{
	struct cl_acme_solver *s = NULL;
	struct cl_acme_rfc2136 c = { .server = "127.0.0.1", .zone = "example.test",
	                             .tsig_name = "k.", .tsig_secret = "c2VjcmV0" };
	struct cl_acme_chall_buf cb;
	char err[512];

	(void)state;
	assert_int_equal(cl_acme_solver_dns_rfc2136(&s, &c, err, sizeof err), CL_OK);
	cb = chall(CL_ACME_DNS01, CL_ACME_ID_DNS, "www.other.test", "tok");
	assert_int_equal(s->ops->present(s->state, &cb.c, err, sizeof err), CL_ERR_USAGE);
	assert_non_null(strstr(err, "is not in the zone example.test"));
	cl_acme_chall_release(&cb);
	cl_acme_solver_free(s);
	c.server = "ns.example.test";
	assert_int_equal(cl_acme_solver_dns_rfc2136(&s, &c, err, sizeof err), CL_ERR_USAGE);
	c.server = "::1";
	c.tsig_alg = "hmac-md5";
	assert_int_equal(cl_acme_solver_dns_rfc2136(&s, &c, err, sizeof err), CL_ERR_USAGE);
	c.tsig_alg = NULL;
	c.tsig_secret = "not base64!";
	assert_int_equal(cl_acme_solver_dns_rfc2136(&s, &c, err, sizeof err), CL_ERR_USAGE);
	c.tsig_secret = "c2VjcmV0";
	c.zone = "bad zone";
	assert_int_equal(cl_acme_solver_dns_rfc2136(&s, &c, err, sizeof err), CL_ERR_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_thumbprint_rfc7638),
		cmocka_unit_test(test_es256_rfc7515),
		cmocka_unit_test(test_jws_shapes),
		cmocka_unit_test(test_eab),
		cmocka_unit_test(test_chall_prepare),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_problem),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_order_authz),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_cert_id),
		cmocka_unit_test(test_ari_parse),
		cmocka_unit_test(test_keys_csr),
		cmocka_unit_test(test_client_args),
		cmocka_unit_test(test_dns_update),
		cmocka_unit_test(test_dns_answer_edges),
		cmocka_unit_test(test_hook),
		cmocka_unit_test(test_webroot),
		cmocka_unit_test(test_http_standalone),
		cmocka_unit_test(test_tlsalpn),
		cmocka_unit_test(test_rfc2136_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
