/*
 * The policy: the rule table, the YAML loader (values, inheritance from
 * the defaults block, errors with line numbers), profile selection, and
 * every rule evaluated both ways on certificates built here with
 * OpenSSL's X509 API (exact notBefore/notAfter, key types and sizes,
 * digests, SANs, CA flag, SCTs) and parsed with cl_cert_parse_der, or on
 * a parsed certificate with one field changed where OpenSSL cannot make
 * the key (even RSA exponents, 2048-bit DSA without a slow paramgen).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "testutil.h"
#include "core/util.h"
#include "policy/policy.h"
#include "x509/cert.h"

#define DAY INT64_C(86400)

/* ---- keys and certificates ------------------------------------------------- */

static EVP_PKEY *k_ca, *k_ec256, *k_ec384, *k_k256, *k_ed25519, *k_x25519, *k_rsa2048,
                *k_rsa1024, *k_rsa_e3, *k_dsa1024, *k_rsa_e_even, *k_roca;
static X509 *ca_x;                   /* the test CA (self-signed, EC P-256) */
static struct cl_cert *ca_cert;
static int64_t NOW;

static EVP_PKEY *rsa_key(int bits, unsigned long e)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;
	BIGNUM *bn = BN_new();

	assert_non_null(pc);
	assert_non_null(bn);
	assert_int_equal(BN_set_word(bn, e), 1);
	assert_int_equal(EVP_PKEY_keygen_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(pc, bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(pc, bn), 1);
	assert_int_equal(EVP_PKEY_keygen(pc, &pk), 1);
	BN_free(bn);
	EVP_PKEY_CTX_free(pc);
	return pk;
}

/* A public-only RSA key with the given modulus and exponent. */
static EVP_PKEY *rsa_public(const BIGNUM *n, unsigned long e)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *bn = BN_new();
	OSSL_PARAM *p;
	EVP_PKEY *pk = NULL;

	assert_non_null(b);
	assert_non_null(pc);
	assert_int_equal(BN_set_word(bn, e), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, bn), 1);
	assert_non_null(p = OSSL_PARAM_BLD_to_param(b));
	assert_int_equal(EVP_PKEY_fromdata_init(pc), 1);
	assert_int_equal(EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, p), 1);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	EVP_PKEY_CTX_free(pc);
	return pk;
}

static EVP_PKEY *dsa_key(int bits, int qbits)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL), *kc;
	EVP_PKEY *params = NULL, *pk = NULL;

	assert_non_null(pc);
	assert_int_equal(EVP_PKEY_paramgen_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_dsa_paramgen_bits(pc, bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set_dsa_paramgen_q_bits(pc, qbits), 1);
	assert_int_equal(EVP_PKEY_paramgen(pc, &params), 1);
	assert_non_null(kc = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL));
	assert_int_equal(EVP_PKEY_keygen_init(kc), 1);
	assert_int_equal(EVP_PKEY_keygen(kc, &pk), 1);
	EVP_PKEY_CTX_free(kc);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(params);
	return pk;
}

struct spec {
	EVP_PKEY *key;          /* the subject's key (default: EC P-256) */
	const char *cn;         /* default "leaf.example.test" */
	const char *md;         /* "sha256" (default), "sha1", "md5", "none" (EdDSA) */
	int64_t nb, na;         /* default: NOW - 10 days, 90 days exactly */
	const char *san;        /* "DNS:a,IP:10.0.0.1"; default DNS:CN; "" none */
	const char *eku;        /* default serverAuth for leaves; "" none */
	bool ca;                /* basicConstraints CA:TRUE */
	bool self;              /* self-signed, else issued by the test CA */
	int scts;               /* embedded SCTs */
};

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A SignedCertificateTimestampList (RFC 6962 3.3) of n dummy SCTs. */
static void add_scts(X509 *x, int n)
{
	unsigned char list[512], der[520];
	size_t len = 2, i;
	ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.4.1.11129.2.4.2", 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	for (i = 0; i < (size_t)n; i++) {
		list[len++] = 0;
		list[len++] = 20;
		memset(list + len, 0x42 + (int)i, 20);
		len += 20;
	}
	list[0] = (unsigned char)((len - 2) >> 8);
	list[1] = (unsigned char)(len - 2);
	der[0] = 0x04;              /* the extnValue holds an OCTET STRING */
	der[1] = (unsigned char)len;
	memcpy(der + 2, list, len);
	assert_true(len < 128);
	assert_non_null(obj);
	assert_int_equal(ASN1_OCTET_STRING_set(os, der, (int)len + 2), 1);
	assert_non_null(e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
}

static X509 *make_x509(const struct spec *s0)
{
	struct spec s = *s0;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	ASN1_TIME *t;
	X509V3_CTX ctx;
	const EVP_MD *md = NULL;
	EVP_PKEY *signer;
	char san[300];
	static long serial = 1000;

	if (!s.key)
		s.key = k_ec256;
	if (!s.cn)
		s.cn = "leaf.example.test";
	if (!s.md)
		s.md = "sha256";
	if (!s.nb && !s.na) {
		s.nb = NOW - 10 * DAY;
		s.na = s.nb + 90 * DAY - 1;
	}
	if (!s.san) {
		snprintf(san, sizeof san, "DNS:%s", s.cn);
		s.san = san;
	}
	if (!s.eku)
		s.eku = s.ca ? "" : "serverAuth";
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	                 (const unsigned char *)"Certledger Test", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	                 (const unsigned char *)s.cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, s.self ? name : X509_get_subject_name(ca_x)), 1);
	X509_NAME_free(name);
	assert_non_null(t = ASN1_TIME_set(NULL, (time_t)s.nb));
	assert_int_equal(X509_set1_notBefore(x, t), 1);
	ASN1_TIME_free(t);
	assert_non_null(t = ASN1_TIME_set(NULL, (time_t)s.na));
	assert_int_equal(X509_set1_notAfter(x, t), 1);
	ASN1_TIME_free(t);
	assert_int_equal(X509_set_pubkey(x, s.key), 1);
	X509V3_set_ctx(&ctx, s.self ? x : ca_x, x, NULL, NULL, 0);
	add_ext(x, &ctx, NID_basic_constraints, s.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (*s.san)
		add_ext(x, &ctx, NID_subject_alt_name, s.san);
	if (*s.eku)
		add_ext(x, &ctx, NID_ext_key_usage, s.eku);
	add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (!s.self)
		add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	if (s.scts)
		add_scts(x, s.scts);
	signer = s.self ? s.key : k_ca;
	if (strcmp(s.md, "none") != 0)
		assert_non_null(md = EVP_get_digestbyname(s.md));
	if (X509_sign(x, signer, md) <= 0)
		fail_msg("X509_sign with %s failed", s.md);
	return x;
}

static struct cl_cert *from_x509(X509 *x)
{
	unsigned char *der = NULL;
	struct cl_cert *c = NULL;
	const char *why = NULL;
	int len = i2d_X509(x, &der);

	assert_true(len > 0);
	if (cl_cert_parse_der(der, (size_t)len, &c, &why) != CL_OK)
		fail_msg("cl_cert_parse_der: %s", why ? why : "?");
	OPENSSL_free(der);
	return c;
}

static struct cl_cert *make_cert(const struct spec *s)
{
	X509 *x = make_x509(s);
	struct cl_cert *c = from_x509(x);

	X509_free(x);
	return c;
}

static int setup(void **state)
{
	struct spec ca = { 0 };
	BIGNUM *n, *g, *k;
	BN_CTX *bc = BN_CTX_new();

	(void)state;
	NOW = cl_time_from_civil(2026, 6, 1, 12, 0, 0);
	k_ca = EVP_EC_gen("P-256");
	k_ec256 = EVP_EC_gen("P-256");
	k_ec384 = EVP_EC_gen("P-384");
	k_k256 = EVP_EC_gen("secp256k1");
	k_ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k_x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	k_rsa2048 = rsa_key(2048, 65537);
	k_rsa1024 = rsa_key(1024, 65537);
	k_rsa_e3 = rsa_key(2048, 3);
	k_dsa1024 = dsa_key(1024, 160);
	/* an even exponent (OpenSSL will not generate one): a public key only */
	n = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(k_rsa2048, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	k_rsa_e_even = rsa_public(n, 65538);
	BN_free(n);
	/* a modulus with the ROCA fingerprint: 65537^128 (2049 bits) lies in the
	 * subgroup generated by 65537 modulo every small prime */
	n = BN_new();
	g = BN_new();
	k = BN_new();
	assert_int_equal(BN_set_word(g, 65537), 1);
	assert_int_equal(BN_set_word(k, 128), 1);
	assert_int_equal(BN_exp(n, g, k, bc), 1);
	k_roca = rsa_public(n, 65537);
	BN_free(n);
	BN_free(g);
	BN_free(k);
	BN_CTX_free(bc);
	assert_non_null(k_ca);
	assert_non_null(k_ec256);
	assert_non_null(k_ec384);
	assert_non_null(k_k256);
	assert_non_null(k_ed25519);
	assert_non_null(k_x25519);
	ca.key = k_ca;
	ca.cn = "Policy Test CA";
	ca.ca = true;
	ca.self = true;
	ca.san = "";
	ca.nb = NOW - 365 * DAY;
	ca.na = NOW + 3650 * DAY;
	ca_x = make_x509(&ca);
	ca_cert = from_x509(ca_x);
	assert_true(ca_cert->self_signed);
	assert_true(ca_cert->is_ca);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(k_ca);
	EVP_PKEY_free(k_ec256);
	EVP_PKEY_free(k_ec384);
	EVP_PKEY_free(k_k256);
	EVP_PKEY_free(k_ed25519);
	EVP_PKEY_free(k_x25519);
	EVP_PKEY_free(k_rsa2048);
	EVP_PKEY_free(k_rsa1024);
	EVP_PKEY_free(k_rsa_e3);
	EVP_PKEY_free(k_dsa1024);
	EVP_PKEY_free(k_rsa_e_even);
	EVP_PKEY_free(k_roca);
	X509_free(ca_x);
	cl_cert_free(ca_cert);
	return 0;
}

/* ---- policies and evaluation ------------------------------------------------- */

static struct cl_policy *pol(const char *yaml)
{
	struct cl_policy *p = NULL;
	char err[600] = "";

	if (cl_policy_parse(&p, yaml, yaml ? strlen(yaml) : 0, "test.yaml", err, sizeof err) != CL_OK)
		fail_msg("policy did not load: %s\n%s", err, yaml ? yaml : "(default)");
	assert_non_null(p);
	return p;
}

struct res {
	int total;
	int count[CL_R_COUNT];
	enum cl_sev sev[CL_R_COUNT];
	char msg[CL_R_COUNT][512];
	char found[CL_R_COUNT][128];
	char limit[CL_R_COUNT][128];
	char where[CL_R_COUNT][256];
	int stop_after;     /* > 0: return CL_ERR after that many */
};

static int collect(void *arg, const struct cl_violation *v)
{
	struct res *r = arg;

	assert_true(v->rule >= 0 && v->rule < CL_R_COUNT);
	assert_true(v->severity != CL_SEV_OFF);
	assert_non_null(v->message);
	assert_non_null(v->fix);
	r->total++;
	r->count[v->rule]++;
	r->sev[v->rule] = v->severity;
	snprintf(r->msg[v->rule], sizeof r->msg[0], "%s", v->message);
	snprintf(r->found[v->rule], sizeof r->found[0], "%s", v->found ? v->found : "");
	snprintf(r->limit[v->rule], sizeof r->limit[0], "%s", v->limit ? v->limit : "");
	snprintf(r->where[v->rule], sizeof r->where[0], "%s", v->where ? v->where : "");
	if (r->stop_after > 0 && r->total >= r->stop_after)
		return CL_ERR;
	return CL_OK;
}

static void eval_at(struct res *r, const struct cl_profile *pr, const struct cl_cert *c,
                    int64_t now)
{
	struct cl_eval_ctx ctx = { .now = now, .key_mode = -1 };

	memset(r, 0, sizeof *r);
	assert_int_equal(cl_policy_eval(pr, c, &ctx, collect, r), CL_OK);
}

static void eval_ctx(struct res *r, const struct cl_profile *pr, const struct cl_cert *c,
                     const struct cl_eval_ctx *ctx)
{
	memset(r, 0, sizeof *r);
	assert_int_equal(cl_policy_eval(pr, c, ctx, collect, r), CL_OK);
}

static const char *listing(const struct res *r)
{
	static char buf[4096];
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < CL_R_COUNT && n < sizeof buf; i++)
		if (r->count[i])
			n += (size_t)snprintf(buf + n, sizeof buf - n, "\n    %s (%s): %s",
			                      cl_rules[i].name, cl_sev_name(r->sev[i]), r->msg[i]);
	return n ? buf : " none";
}

/* Asserts that rule fires (or not) in r. */
static void want(const struct res *r, enum cl_rule rule, bool fires, const char *what)
{
	if ((r->count[rule] > 0) != fires)
		fail_msg("%s: %s expected %s; findings:%s", what, cl_rules[rule].name,
		         fires ? "to fire" : "not to fire", listing(r));
}

static void want_none(const struct res *r, const char *what)
{
	if (r->total != 0)
		fail_msg("%s: expected no finding; got:%s", what, listing(r));
}

/* Evaluates c at NOW under pr and checks one rule. */
static void check_rule(const struct cl_profile *pr, const struct cl_cert *c, enum cl_rule rule,
                       bool fires, const char *what)
{
	struct res r;

	eval_at(&r, pr, c, NOW);
	want(&r, rule, fires, what);
}

/* ---- the rule table ----------------------------------------------------------- */

static void test_rule_table(void **state)
{
	static const struct { const char *name; enum cl_rule r; enum cl_sev sev; } t[] = {
		{ "key.type", CL_R_KEY_TYPE, CL_SEV_ERROR },
		{ "key.size", CL_R_KEY_SIZE, CL_SEV_ERROR },
		{ "key.exponent", CL_R_KEY_EXPONENT, CL_SEV_ERROR },
		{ "key.roca", CL_R_KEY_ROCA, CL_SEV_CRITICAL },
		{ "key.shared", CL_R_KEY_SHARED, CL_SEV_WARNING },
		{ "key.readable", CL_R_KEY_READABLE, CL_SEV_ERROR },
		{ "sig.forbidden", CL_R_SIG_FORBIDDEN, CL_SEV_ERROR },
		{ "sig.not-allowed", CL_R_SIG_NOT_ALLOWED, CL_SEV_WARNING },
		{ "issuer.not-approved", CL_R_ISSUER_NOT_APPROVED, CL_SEV_ERROR },
		{ "validity.max", CL_R_VALIDITY_MAX, CL_SEV_ERROR },
		{ "validity.cabf", CL_R_VALIDITY_CABF, CL_SEV_ERROR },
		{ "expiry.expired", CL_R_EXPIRY_EXPIRED, CL_SEV_CRITICAL },
		{ "expiry.critical", CL_R_EXPIRY_CRITICAL, CL_SEV_ERROR },
		{ "expiry.warning", CL_R_EXPIRY_WARNING, CL_SEV_WARNING },
		{ "expiry.not-yet-valid", CL_R_NOT_YET_VALID, CL_SEV_ERROR },
		{ "san.missing", CL_R_SAN_MISSING, CL_SEV_ERROR },
		{ "san.wildcard", CL_R_SAN_WILDCARD, CL_SEV_WARNING },
		{ "san.required", CL_R_SAN_REQUIRED, CL_SEV_ERROR },
		{ "san.forbidden", CL_R_SAN_FORBIDDEN, CL_SEV_ERROR },
		{ "cert.self-signed", CL_R_SELF_SIGNED, CL_SEV_ERROR },
		{ "ct.no-scts", CL_R_CT_NO_SCTS, CL_SEV_WARNING },
		{ "chain.incomplete", CL_R_CHAIN_INCOMPLETE, CL_SEV_ERROR },
		{ "chain.wrong-order", CL_R_CHAIN_WRONG_ORDER, CL_SEV_WARNING },
		{ "chain.untrusted-root", CL_R_CHAIN_UNTRUSTED_ROOT, CL_SEV_ERROR },
		{ "chain.intermediate-expiry", CL_R_CHAIN_INTERMEDIATE_EXPIRY, CL_SEV_ERROR },
		{ "revocation.revoked", CL_R_REVOKED, CL_SEV_CRITICAL },
		{ "revocation.unreachable", CL_R_REVOCATION_UNREACHABLE, CL_SEV_WARNING },
		{ "revocation.unknown", CL_R_REVOCATION_UNKNOWN, CL_SEV_WARNING },
	};
	char prefixed[64];
	enum cl_sev s;
	size_t i;

	(void)state;
	assert_int_equal(CL_ARRAY_LEN(t), CL_R_COUNT);
	assert_int_equal(CL_R_COUNT, 28);
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		const struct cl_rule_info *ri = &cl_rules[t[i].r];
		assert_string_equal(ri->name, t[i].name);
		assert_int_equal(ri->severity, t[i].sev);
		assert_int_equal(cl_rule_find(t[i].name), t[i].r);
		snprintf(prefixed, sizeof prefixed, "policy.%s", t[i].name);
		assert_int_equal(cl_rule_find(prefixed), t[i].r);
		assert_true(ri->summary && *ri->summary && ri->explain && *ri->explain &&
		            ri->fix && *ri->fix);
	}
	assert_int_equal(cl_rule_find("key.sise"), -1);
	assert_int_equal(cl_rule_find("policy."), -1);
	assert_int_equal(cl_rule_find(""), -1);
	assert_int_equal(cl_rule_find("KEY.SIZE"), -1);
	assert_int_equal(cl_sev_parse("info", &s), CL_OK);
	assert_int_equal(s, CL_SEV_INFO);
	assert_int_equal(cl_sev_parse("Critical", &s), CL_OK);
	assert_int_equal(s, CL_SEV_CRITICAL);
	assert_int_equal(cl_sev_parse("off", &s), CL_OK);
	assert_int_equal(s, CL_SEV_OFF);
	assert_int_equal(cl_sev_parse("fatal", &s), CL_ERR_PARSE);
	assert_int_equal(cl_sev_parse("", &s), CL_ERR_PARSE);
	assert_string_equal(cl_sev_name(CL_SEV_WARNING), "warning");
	assert_string_equal(cl_sev_name(CL_SEV_OFF), "off");
}

/* ---- the loader --------------------------------------------------------------- */

static void test_default_policy(void **state)
{
	struct cl_policy *p = NULL, *q;
	const struct cl_profile *b;
	char err[600];
	int i;

	(void)state;
	/* the built-in default, and the same text given as a file */
	assert_int_equal(cl_policy_load(&p, NULL, err, sizeof err), CL_OK);
	assert_string_equal(p->source, "built-in default");
	q = pol(cl_policy_default_yaml);
	assert_string_equal(q->source, "test.yaml");
	assert_int_equal(q->nprofiles, 0);
	assert_int_equal(p->nprofiles, 0);
	b = &p->base;
	assert_ptr_equal(cl_policy_profile(p, "default"), b);
	assert_null(cl_policy_profile(p, "prod"));
	assert_string_equal(b->name, "default");
	assert_int_equal(b->key_allow.n, 6);
	assert_int_equal(b->rsa_min_bits, 2048);
	assert_int_equal(b->dsa_min_bits, 2048);
	assert_int_equal(b->ec_curves.n, 3);
	assert_int_equal(b->rsa_min_exponent, 65537);
	assert_int_equal(b->sig_forbid.n, 4);
	assert_int_equal(b->sig_allow.n, 0);
	assert_int_equal(b->issuers.n, 0);
	assert_int_equal(b->max_validity_days, 0);
	assert_false(b->cabf);
	assert_int_equal(b->warn.seconds, 30 * DAY);
	assert_true(b->warn.share > 0.3299 && b->warn.share < 0.3301);
	assert_int_equal(b->crit.seconds, 7 * DAY);
	assert_true(b->crit.share > 0.0999 && b->crit.share < 0.1001);
	assert_int_equal(b->intermediate_expiry, 30 * DAY);
	assert_true(b->wildcards);
	assert_false(b->self_signed);
	assert_false(b->require_scts);
	assert_int_equal(b->san_required.n, 0);
	assert_int_equal(b->san_forbidden.n, 0);
	for (i = 0; i < CL_R_COUNT; i++) {
		enum cl_sev want_sev = i == CL_R_SELF_SIGNED ? CL_SEV_WARNING : cl_rules[i].severity;
		assert_int_equal(b->sev[i], want_sev);
		assert_int_equal(q->base.sev[i], want_sev);
	}
	cl_policy_free(p);
	cl_policy_free(q);
	cl_policy_free(NULL);
}

static void test_load_values(void **state)
{
	static const char y[] =
		"version: 1\n"
		"defaults:\n"
		"  key:\n"
		"    allow: EC            # a scalar is a list of one\n"
		"    rsa_min_bits: 3072\n"
		"    dsa_min_bits: 3072\n"
		"    ec_curves: [P-384]\n"
		"    rsa_min_exponent: 3\n"
		"  signature:\n"
		"    forbid: []\n"
		"    allow: ['*SHA384*', '*SHA512*']\n"
		"  issuers:\n"
		"    approve:\n"
		"      - 'CN=Policy Test CA*'\n"
		"      - fp:00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n"
		"  validity: {max_days: 90, cabf: yes}\n"
		"  expiry:\n"
		"    warning: 12h\n"
		"    critical: 50%\n"
		"  san: {wildcards: no, required: ['*.example.test'], forbidden: ['IP:10.*']}\n"
		"  self_signed: true\n"
		"  ct: {require_scts: true}\n"
		"  chain: {intermediate_expiry: 2w}\n"
		"  severity:\n"
		"    policy.key.size: critical   # with the prefix\n"
		"    san.wildcard: off\n"
		"    ct.no-scts: false\n"
		"    expiry.warning: info\n"
		"profiles: []\n";
	struct cl_policy *p = pol(y);
	const struct cl_profile *b = &p->base;

	(void)state;
	assert_int_equal(b->key_allow.n, 1);
	assert_string_equal(b->key_allow.v[0], "EC");
	assert_int_equal(b->rsa_min_bits, 3072);
	assert_int_equal(b->dsa_min_bits, 3072);
	assert_int_equal(b->ec_curves.n, 1);
	assert_string_equal(b->ec_curves.v[0], "P-384");
	assert_int_equal(b->rsa_min_exponent, 3);
	assert_int_equal(b->sig_forbid.n, 0);
	assert_int_equal(b->sig_allow.n, 2);
	assert_int_equal(b->issuers.n, 2);
	assert_int_equal(b->max_validity_days, 90);
	assert_true(b->cabf);
	assert_int_equal(b->warn.seconds, 12 * 3600);
	assert_true(b->warn.share < 0);      /* a single value replaces both parts */
	assert_int_equal(b->crit.seconds, -1);
	assert_true(b->crit.share > 0.4999 && b->crit.share < 0.5001);
	assert_false(b->wildcards);
	assert_int_equal(b->san_required.n, 1);
	assert_int_equal(b->san_forbidden.n, 1);
	assert_true(b->self_signed);
	assert_true(b->require_scts);
	assert_int_equal(b->intermediate_expiry, 14 * DAY);
	assert_int_equal(b->sev[CL_R_KEY_SIZE], CL_SEV_CRITICAL);
	assert_int_equal(b->sev[CL_R_SAN_WILDCARD], CL_SEV_OFF);
	assert_int_equal(b->sev[CL_R_CT_NO_SCTS], CL_SEV_OFF);
	assert_int_equal(b->sev[CL_R_EXPIRY_WARNING], CL_SEV_INFO);
	/* untouched: from the built-in default */
	assert_int_equal(b->sev[CL_R_SELF_SIGNED], CL_SEV_WARNING);
	assert_int_equal(b->sev[CL_R_KEY_TYPE], CL_SEV_ERROR);
	cl_policy_free(p);
}

/* Every error names the file and the line of the problem. */
static void test_load_errors(void **state)
{
	static const struct { const char *yaml; int line; const char *msg; } t[] = {
		/* unknown keys, at every level */
		{ "version: 1\ncolour: red\n", 2, "unknown key 'colour'" },
		{ "version: 1\ndefaults:\n  key:\n    rsa_bits: 2048\n", 4, "unknown key 'key.rsa_bits'" },
		{ "version: 1\ndefaults:\n  validity: {max_day: 3}\n", 3, "unknown key 'validity.max_day'" },
		{ "version: 1\ndefaults:\n  expiry:\n    notice: 30d\n", 4, "expiry.notice" },
		{ "version: 1\ndefaults:\n  colour: red\n", 3, "unknown key 'colour'" },
		{ "version: 1\nprofiles:\n  - name: x\n    match:\n      region: eu\n", 5,
		  "unknown key 'match.region'" },
		/* unknown rule and bad severity */
		{ "version: 1\ndefaults:\n  severity:\n    key.sise: error\n", 4,
		  "unknown rule 'key.sise'" },
		{ "version: 1\ndefaults:\n  severity:\n    key.size: fatal\n", 4, "severity.key.size" },
		{ "version: 1\nprofiles:\n  - name: p\n    severity:\n      nope: off\n", 5,
		  "unknown rule 'nope'" },
		/* negative days and malformed durations and shares */
		{ "version: 1\ndefaults:\n  validity:\n    max_days: -5\n", 4, "out of range" },
		{ "version: 1\ndefaults:\n  validity:\n    max_days: 30d\n", 4, "expected a number" },
		{ "version: 1\ndefaults:\n  expiry:\n    warning: -30d\n", 4, "'-30d' is not a duration" },
		{ "version: 1\ndefaults:\n  expiry:\n    warning: [30d, -5d]\n", 4, "'-5d'" },
		{ "version: 1\ndefaults:\n  expiry:\n    critical: 30x\n", 4, "'30x' is not a duration" },
		{ "version: 1\ndefaults:\n  expiry:\n    critical: 150%\n", 4, "'150%' is not a share" },
		{ "version: 1\ndefaults:\n  expiry:\n    critical: x%\n", 4, "'x%' is not a share" },
		{ "version: 1\ndefaults:\n  expiry:\n    critical: []\n", 4, "give a duration" },
		{ "version: 1\ndefaults:\n  chain:\n    intermediate_expiry: -1d\n", 4,
		  "'-1d' is not a duration" },
		{ "version: 1\ndefaults:\n  key:\n    rsa_min_bits: lots\n", 4, "expected a number" },
		{ "version: 1\ndefaults:\n  key:\n    rsa_min_bits: -1\n", 4, "out of range" },
		{ "version: 1\ndefaults:\n  key:\n    allow: {RSA: 1}\n", 4, "expected a list" },
		{ "version: 1\ndefaults:\n  key:\n    allow: [[RSA]]\n", 4, "list entries must be strings" },
		{ "version: 1\ndefaults:\n  self_signed: maybe\n", 3, "expected true or false" },
		/* version */
		{ "# no version\ndefaults:\n  self_signed: true\n", 2, "version: 1 is required" },
		{ "version: 2\n", 1, "only version 1" },
		{ "version: [1]\n", 1, "only version 1" },
		/* profiles */
		{ "version: 1\nprofiles:\n  - name: a\n  - name: b\n  - name: a\n", 5,
		  "profile 'a' is defined twice" },
		{ "version: 1\nprofiles:\n  - prod\n", 3, "expected a mapping" },
		{ "version: 1\nprofiles:\n  prod: {}\n", 3, "expected a list of profiles" },
		{ "version: 1\nprofiles:\n  - match: {environment: prod}\n", 3,
		  "a profile needs a name" },
		{ "version: 1\nprofiles:\n  - name: default\n", 3, "reserved" },
		{ "version: 1\nprofiles:\n  - name: ''\n", 3, "reserved or empty" },
		/* YAML syntax */
		{ "version: 1\ndefaults:\n  key: {allow: [RSA}\n", 3, "" },
		{ "version: 1\ndefaults:\n\tkey: 1\n", 3, "" },
		{ "version: 1\ndefaults:\n  key:\n    allow: 'RSA\n", 5, "" },
		{ "- version: 1\n", 1, "a policy is a mapping" },
		/* issuers: fp: and spki: need 64 hex digits */
		{ "version: 1\ndefaults:\n  issuers:\n    approve: ['fp:zz112233445566778899aabbccddeeff"
		  "00112233445566778899aabbccddeeff']\n", 4, "needs 64 hex digits" },
		{ "version: 1\ndefaults:\n  issuers:\n    approve: ['fp:0112233445566778899aabbccddeeff"
		  "00112233445566778899aabbccddeeff']\n", 4, "needs 64 hex digits" },
		{ "version: 1\ndefaults:\n  issuers:\n    approve:\n      - spki:abc\n", 5,
		  "needs 64 hex digits" },
		/* the line of the key, when its value is a block below it */
		{ "version: 1\ndefaults:\n  key:\n    allow: [RSA]\n  colour:\n    red: 1\n", 5,
		  "unknown key 'colour'" },
		{ "version: 1\ndefaults:\n  validity:\n    max_day:\n      - 3\n", 4,
		  "unknown key 'validity.max_day'" },
		{ "version: 1\nsettings:\n  a: 1\n", 2, "unknown key 'settings'" },
		/* the line of the entry of a block list */
		{ "version: 1\ndefaults:\n  expiry:\n    warning:\n      - 30d\n      - 5x\n", 6,
		  "'5x' is not a duration" },
		{ "version: 1\ndefaults:\n  expiry:\n    critical:\n      - 7d\n      - 110%\n", 6,
		  "'110%' is not a share" },
		{ "version: 1\ndefaults:\n  key:\n    allow:\n      - RSA\n      - [EC]\n", 6,
		  "list entries must be strings" },
		/* keys given twice, at every level */
		{ "version: 1\ndefaults: {}\nversion: 1\n", 3,
		  "key 'version' is given twice (lines 1 and 3)" },
		{ "version: 1\ndefaults:\n  key: {rsa_min_bits: 2048}\n  key: {dsa_min_bits: 2048}\n", 4,
		  "key 'key' is given twice (lines 3 and 4)" },
		{ "version: 1\ndefaults:\n  severity: {key.size: error, key.size: off}\n", 3,
		  "key 'severity.key.size' is given twice (both on line 3)" },
		{ "version: 1\nprofiles:\n  - name: a\n    match:\n      tag: x\n      tag: y\n", 6,
		  "key 'match.tag' is given twice (lines 5 and 6)" },
		{ "version: 1\nprofiles:\n  - name: a\n    name: b\n", 4,
		  "key 'name' is given twice (lines 3 and 4)" },
		/* YAML syntax: libyaml's context, with its line */
		{ "version: 1\ndefaults:\n  key:\n    allow: [RSA,\n      EC\n  san: {}\n", 6,
		  "(in the flow sequence started at line 4)" },
		{ "version: 1\ndefaults:\n  key:\n    allow: 'RSA\n", 5,
		  "(in the quoted scalar started at line 4)" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		struct cl_policy *p = (struct cl_policy *)1;
		char err[600] = "", prefix[32];
		int rc = cl_policy_parse(&p, t[i].yaml, strlen(t[i].yaml), "bad.yaml", err, sizeof err);
		if (rc != CL_ERR_PARSE)
			fail_msg("case %zu: expected CL_ERR_PARSE, got %d for:\n%s", i, rc, t[i].yaml);
		assert_null(p);
		snprintf(prefix, sizeof prefix, "bad.yaml:%d: ", t[i].line);
		if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, t[i].msg))
			fail_msg("case %zu: expected '%s...%s', got '%s' for:\n%s", i, prefix, t[i].msg,
			         err, t[i].yaml);
	}
}

/* Lines of keys and list entries, YAML null, keys given twice. */
static void test_load_lines_nulls_duplicates(void **state)
{
	struct cl_policy *p = NULL;
	char err[600] = "";
	int rc;
	static const char sans[] = "version: 1\ndefaults:\n  sans:\n    wildcards: false\n";
	static const char dup[] = "version: 1\ndefaults:\n  key:\n    rsa_min_bits: 2048\n"
	                          "    rsa_min_bits: 1024\n";
	static const char *const nulls[] = { "~", "null", "Null", "NULL", "" };
	size_t i;

	(void)state;
	/* an unknown section: the message names the line of 'sans' (3), not of its value */
	rc = cl_policy_parse(&p, sans, strlen(sans), "bad.yaml", err, sizeof err);
	assert_int_equal(rc, CL_ERR_PARSE);
	assert_null(p);
	assert_non_null(strstr(err, "unknown key 'sans'"));
	if (strncmp(err, "bad.yaml:3: ", 12) != 0)
		fail_msg("unknown section: expected line 3, got '%s'", err);
	/* a bad second entry of a block list: the message names its line (6) */
	{
		static const char entry[] = "version: 1\ndefaults:\n  issuers:\n    approve:\n"
		                            "      - 'CN=Policy Test CA,*'\n      - fp:nothex\n";
		rc = cl_policy_parse(&p, entry, strlen(entry), "bad.yaml", err, sizeof err);
		assert_int_equal(rc, CL_ERR_PARSE);
		assert_non_null(strstr(err, "fp:nothex"));
		if (strncmp(err, "bad.yaml:6: ", 12) != 0)
			fail_msg("bad list entry: expected line 6, got '%s'", err);
	}
	/* YAML null (unquoted ~, null, Null, NULL or nothing) is an empty list */
	for (i = 0; i < CL_ARRAY_LEN(nulls); i++) {
		char y[200];
		snprintf(y, sizeof y, "version: 1\ndefaults:\n  san:\n    required: %s\n"
		         "    forbidden: %s\n  key:\n    allow: %s\n", nulls[i], nulls[i], nulls[i]);
		p = pol(y);
		if (p->base.san_required.n != 0)
			fail_msg("required: %s gave %zu entries, the first '%s'", nulls[i],
			         p->base.san_required.n, p->base.san_required.v[0]);
		assert_int_equal(p->base.san_forbidden.n, 0);
		assert_int_equal(p->base.key_allow.n, 0);
		cl_policy_free(p);
		snprintf(y, sizeof y, "version: 1\nprofiles: %s\n", nulls[i]);
		p = pol(y);
		assert_int_equal(p->nprofiles, 0);
		cl_policy_free(p);
	}
	/* ...but a quoted '~' is the string "~" */
	p = pol("version: 1\ndefaults:\n  san:\n    required: '~'\n    forbidden: [\"null\"]\n");
	assert_int_equal(p->base.san_required.n, 1);
	assert_string_equal(p->base.san_required.v[0], "~");
	assert_int_equal(p->base.san_forbidden.n, 1);
	assert_string_equal(p->base.san_forbidden.v[0], "null");
	cl_policy_free(p);
	p = NULL;
	/* a key given twice is an error (YAML mapping keys are unique): both lines named */
	rc = cl_policy_parse(&p, dup, strlen(dup), "bad.yaml", err, sizeof err);
	assert_int_equal(rc, CL_ERR_PARSE);
	assert_null(p);
	assert_non_null(strstr(err, "bad.yaml:5: "));
	assert_non_null(strstr(err, "'key.rsa_min_bits'"));
	assert_non_null(strstr(err, "lines 4 and 5"));
}

/* A file: a policy_load of a missing file is an I/O error with the path. */
static void test_load_file(void **state)
{
	struct cl_policy *p = NULL;
	char err[600] = "", path[4200];
	FILE *f;

	(void)state;
	assert_int_equal(cl_policy_load(&p, "/nonexistent/policy.yaml", err, sizeof err), CL_ERR_IO);
	assert_null(p);
	assert_non_null(strstr(err, "/nonexistent/policy.yaml"));
	snprintf(path, sizeof path, "%s/policy.yaml", tu_tmpdir());
	assert_non_null(f = fopen(path, "w"));
	fputs("version: 1\nprofiles:\n  - name: prod\n    match: {environment: prod}\n"
	      "    key: {rsa_min_bits: 4096\n", f);
	fclose(f);
	assert_int_equal(cl_policy_load(&p, path, err, sizeof err), CL_ERR_PARSE);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ".yaml:6: ") ? strstr(err, ".yaml:6: ") : strstr(err, ".yaml:5: "));
	assert_non_null(f = fopen(path, "w"));
	fputs("version: 1\nprofiles:\n  - name: prod\n    match: {environment: prod}\n", f);
	fclose(f);
	assert_int_equal(cl_policy_load(&p, path, err, sizeof err), CL_OK);
	assert_string_equal(p->source, path);
	assert_int_equal(p->nprofiles, 1);
	assert_int_equal(p->profiles[0].line, 3);
	cl_policy_free(p);
}

/* A profile starts from the defaults block (built-in + file) and states
 * only its differences; profiles do not leak into each other or the base. */
static void test_inheritance(void **state)
{
	static const char y[] =
		"version: 1\n"
		"profiles:                 # before defaults: order does not matter\n"
		"  - name: prod\n"
		"    match: {environment: prod}\n"
		"    key: {ec_curves: [P-384]}\n"
		"    severity: {key.size: critical}\n"
		"  - name: lab\n"
		"    match: {environment: lab}\n"
		"    self_signed: true\n"
		"    severity: {expiry.warning: off}\n"
		"defaults:\n"
		"  key: {rsa_min_bits: 3072}\n"
		"  validity: {max_days: 200}\n"
		"  severity: {san.wildcard: error}\n"
		"  san: {wildcards: false}\n";
	struct cl_policy *p = pol(y);
	const struct cl_profile *prod, *lab, *b = &p->base;

	(void)state;
	assert_int_equal(p->nprofiles, 2);
	assert_non_null(prod = cl_policy_profile(p, "prod"));
	assert_non_null(lab = cl_policy_profile(p, "lab"));
	assert_int_equal(prod->line, 3);
	assert_int_equal(lab->line, 7);
	/* from the file's defaults */
	assert_int_equal(prod->rsa_min_bits, 3072);
	assert_int_equal(lab->rsa_min_bits, 3072);
	assert_int_equal(prod->max_validity_days, 200);
	assert_false(prod->wildcards);
	assert_int_equal(prod->sev[CL_R_SAN_WILDCARD], CL_SEV_ERROR);
	assert_int_equal(lab->sev[CL_R_SAN_WILDCARD], CL_SEV_ERROR);
	/* from the built-in default */
	assert_int_equal(prod->dsa_min_bits, 2048);
	assert_int_equal(prod->sig_forbid.n, 4);
	assert_int_equal(prod->warn.seconds, 30 * DAY);
	assert_int_equal(prod->sev[CL_R_SELF_SIGNED], CL_SEV_WARNING);
	/* their own */
	assert_int_equal(prod->ec_curves.n, 1);
	assert_int_equal(prod->sev[CL_R_KEY_SIZE], CL_SEV_CRITICAL);
	assert_false(prod->self_signed);
	assert_true(lab->self_signed);
	assert_int_equal(lab->sev[CL_R_EXPIRY_WARNING], CL_SEV_OFF);
	assert_int_equal(lab->ec_curves.n, 3);
	assert_int_equal(lab->sev[CL_R_KEY_SIZE], CL_SEV_ERROR);
	assert_int_equal(prod->sev[CL_R_EXPIRY_WARNING], CL_SEV_WARNING);
	/* and the base is untouched by them */
	assert_int_equal(b->ec_curves.n, 3);
	assert_false(b->self_signed);
	assert_int_equal(b->sev[CL_R_KEY_SIZE], CL_SEV_ERROR);
	assert_int_equal(b->sev[CL_R_EXPIRY_WARNING], CL_SEV_WARNING);
	assert_int_equal(b->rsa_min_bits, 3072);
	cl_policy_free(p);
}

/* ---- profile selection -------------------------------------------------------- */

static void test_select(void **state)
{
	static const char y[] =
		"version: 1\n"
		"profiles:\n"
		"  - name: pci-prod\n"
		"    match: {environment: prod, tag: pci}\n"
		"  - name: prod\n"
		"    match: {environment: ['prod', 'production*']}\n"
		"  - name: web-team\n"
		"    match: {owner: 'team-web*'}\n"
		"  - name: nginx\n"
		"    match: {location: ['file:/etc/nginx/*', 'tls:*:8443']}\n"
		"  - name: edge\n"
		"    match: {tag: [edge, cdn]}\n"
		"  - name: team-tags\n"
		"    match: {tag: 'team-*'}\n";
	static const char *const nginx[] = { "file:/srv/x.pem", "file:/etc/nginx/tls/a.pem" };
	static const char *const tls[] = { "tls:10.0.0.1:8443" };
	static const char *const other[] = { "file:/srv/x.pem" };
	struct cl_policy *p = pol(y);
	const struct cl_profile *pr;

	(void)state;
	assert_string_equal(cl_policy_select(p, "prod", NULL, ",pci,", NULL, 0)->name, "pci-prod");
	/* every criterion must hold: pci without prod is not pci-prod */
	assert_string_equal(cl_policy_select(p, "dev", NULL, ",pci,", NULL, 0)->name, "default");
	/* first match wins: prod + pci + owner team-web is pci-prod */
	assert_string_equal(cl_policy_select(p, "prod", "team-web", ",x,pci,", NULL, 0)->name,
	                    "pci-prod");
	assert_string_equal(cl_policy_select(p, "prod", "team-web", NULL, NULL, 0)->name, "prod");
	assert_string_equal(cl_policy_select(p, "PRODUCTION-eu", NULL, NULL, NULL, 0)->name, "prod");
	assert_string_equal(cl_policy_select(p, "staging", "team-web-eu", NULL, NULL, 0)->name,
	                    "web-team");
	assert_string_equal(cl_policy_select(p, NULL, NULL, NULL, nginx, 2)->name, "nginx");
	assert_string_equal(cl_policy_select(p, NULL, NULL, NULL, tls, 1)->name, "nginx");
	assert_string_equal(cl_policy_select(p, NULL, NULL, NULL, other, 1)->name, "default");
	assert_string_equal(cl_policy_select(p, NULL, NULL, ",cdn,", NULL, 0)->name, "edge");
	/* tags match whole tags: "edges" is not "edge" */
	assert_string_equal(cl_policy_select(p, NULL, NULL, ",edges,", NULL, 0)->name, "default");
	/* nothing known: the default */
	pr = cl_policy_select(p, NULL, NULL, NULL, NULL, 0);
	assert_ptr_equal(pr, &p->base);
	assert_string_equal(cl_policy_select(p, "dev", "ops", ",misc,", other, 1)->name, "default");
	/* a tag glob, as the documentation says match criteria are globs: any
	 * tag of the certificate against any glob */
	assert_string_equal(cl_policy_select(p, NULL, NULL, ",team-db,", NULL, 0)->name,
	                    "team-tags");
	assert_string_equal(cl_policy_select(p, NULL, NULL, ",misc,TEAM-web,", NULL, 0)->name,
	                    "team-tags");
	assert_string_equal(cl_policy_select(p, NULL, NULL, ",steam-db,", NULL, 0)->name,
	                    "default");
	assert_string_equal(cl_policy_select(p, NULL, NULL, ",,", NULL, 0)->name, "default");
	assert_string_equal(cl_policy_select(p, NULL, NULL, "", NULL, 0)->name, "default");
	cl_policy_free(p);
}

/* ---- key rules ----------------------------------------------------------------- */

static void test_rsa_roca_function(void **state)
{
	unsigned char buf[600];
	BIGNUM *n = BN_new(), *g = BN_new(), *e = BN_new(), *rnd = NULL;
	BN_CTX *bc = BN_CTX_new();
	int k, len;

	(void)state;
	assert_int_equal(BN_set_word(g, 65537), 1);
	for (k = 1; k <= 200; k += 7) {
		assert_int_equal(BN_set_word(e, (unsigned long)k), 1);
		assert_int_equal(BN_exp(n, g, e, bc), 1);
		len = BN_bn2bin(n, buf + 3);
		memset(buf, 0, 3);                      /* leading zeros are allowed */
		assert_true(cl_rsa_roca(buf + 3, (size_t)len));
		assert_true(cl_rsa_roca(buf, (size_t)len + 3));
	}
	/* a real (random) modulus does not have the fingerprint */
	assert_int_equal(EVP_PKEY_get_bn_param(k_rsa2048, OSSL_PKEY_PARAM_RSA_N, &rnd), 1);
	len = BN_bn2bin(rnd, buf);
	assert_int_equal(len, 256);
	assert_false(cl_rsa_roca(buf, (size_t)len));
	/* nor does 2 * 65537^k: 2 is outside the subgroup modulo 3 (65537 = 2 mod 3 has
	 * the subgroup {1, 2}), so take 65537^k * 11 instead, 11 mod 3 = 2 is inside...
	 * use a value that is 0 mod 3 instead: never in a multiplicative subgroup */
	assert_int_equal(BN_set_word(n, 3 * 65537), 1);
	len = BN_bn2bin(n, buf);
	assert_false(cl_rsa_roca(buf, (size_t)len));
	assert_false(cl_rsa_roca(buf, 0));
	memset(buf, 0, 8);
	assert_false(cl_rsa_roca(buf, 8));
	BN_free(n);
	BN_free(g);
	BN_free(e);
	BN_free(rnd);
	BN_CTX_free(bc);
}

static void test_key_rules(void **state)
{
	struct cl_policy *def = pol(NULL);
	struct cl_policy *ec_only = pol("version: 1\ndefaults:\n  key: {allow: [EC]}\n");
	struct cl_policy *any = pol("version: 1\ndefaults:\n  key: {allow: [], ec_curves: []}\n");
	const struct cl_profile *d = &def->base;
	struct cl_cert *ec256 = make_cert(&(struct spec){ .key = k_ec256 });
	struct cl_cert *ec384 = make_cert(&(struct spec){ .key = k_ec384 });
	struct cl_cert *k256 = make_cert(&(struct spec){ .key = k_k256 });
	struct cl_cert *ed = make_cert(&(struct spec){ .key = k_ed25519 });
	struct cl_cert *x25519 = make_cert(&(struct spec){ .key = k_x25519 });
	struct cl_cert *rsa2048 = make_cert(&(struct spec){ .key = k_rsa2048 });
	struct cl_cert *rsa1024 = make_cert(&(struct spec){ .key = k_rsa1024 });
	struct cl_cert *dsa1024 = make_cert(&(struct spec){ .key = k_dsa1024 });
	struct cl_cert dsa2048;
	struct res r;

	(void)state;
	assert_string_equal(ec256->key_type, "EC");
	assert_string_equal(ec256->curve, "P-256");
	assert_string_equal(rsa2048->key_type, "RSA");
	assert_int_equal(rsa2048->key_bits, 2048);
	assert_int_equal(rsa2048->rsa_e, 65537);
	assert_false(rsa2048->rsa_roca);
	assert_string_equal(dsa1024->key_type, "DSA");
	assert_int_equal(dsa1024->key_bits, 1024);
	assert_string_equal(ed->key_type, "Ed25519");
	assert_string_equal(x25519->key_type, "X25519");

	/* a clean certificate: no finding at all under the default policy */
	eval_at(&r, d, ec256, NOW);
	want_none(&r, "EC P-256 leaf, default policy");
	eval_at(&r, d, rsa2048, NOW);
	want_none(&r, "RSA 2048 leaf, default policy");
	eval_at(&r, d, ed, NOW);
	want_none(&r, "Ed25519 leaf, default policy");

	/* key.type */
	check_rule(d, x25519, CL_R_KEY_TYPE, true, "X25519 is not in the default allow list");
	check_rule(d, dsa1024, CL_R_KEY_TYPE, true, "DSA is not in the default allow list");
	check_rule(d, ec384, CL_R_KEY_TYPE, false, "EC is allowed");
	check_rule(&ec_only->base, rsa2048, CL_R_KEY_TYPE, true, "RSA under allow: [EC]");
	check_rule(&ec_only->base, ec256, CL_R_KEY_TYPE, false, "EC under allow: [EC]");
	check_rule(&any->base, x25519, CL_R_KEY_TYPE, false, "X25519 under allow: []");
	eval_at(&r, &ec_only->base, rsa2048, NOW);
	assert_string_equal(r.found[CL_R_KEY_TYPE], "RSA 2048");
	assert_string_equal(r.limit[CL_R_KEY_TYPE], "EC");
	assert_int_equal(r.sev[CL_R_KEY_TYPE], CL_SEV_ERROR);

	/* key.size: RSA bits, DSA bits, EC curves */
	check_rule(d, rsa1024, CL_R_KEY_SIZE, true, "RSA 1024");
	check_rule(d, rsa2048, CL_R_KEY_SIZE, false, "RSA 2048");
	eval_at(&r, d, rsa1024, NOW);
	assert_string_equal(r.found[CL_R_KEY_SIZE], "RSA 1024");
	assert_string_equal(r.limit[CL_R_KEY_SIZE], ">= 2048 bits");
	check_rule(d, dsa1024, CL_R_KEY_SIZE, true, "DSA 1024");
	dsa2048 = *dsa1024;
	dsa2048.key_bits = 2048;
	check_rule(d, &dsa2048, CL_R_KEY_SIZE, false, "DSA 2048");
	dsa2048.key_bits = 2047;
	check_rule(d, &dsa2048, CL_R_KEY_SIZE, true, "DSA 2047");
	check_rule(d, ec256, CL_R_KEY_SIZE, false, "P-256");
	check_rule(d, ec384, CL_R_KEY_SIZE, false, "P-384");
	check_rule(d, k256, CL_R_KEY_SIZE, true, "secp256k1 is not an allowed curve");
	eval_at(&r, d, k256, NOW);
	assert_non_null(strstr(r.msg[CL_R_KEY_SIZE], "secp256k1"));
	check_rule(&any->base, k256, CL_R_KEY_SIZE, false, "secp256k1 with ec_curves: []");
	check_rule(d, ed, CL_R_KEY_SIZE, false, "Ed25519 has no size rule");
	{
		struct cl_policy *big = pol("version: 1\ndefaults:\n  key: {rsa_min_bits: 3072, "
		                            "ec_curves: [p-384]}\n");
		check_rule(&big->base, rsa2048, CL_R_KEY_SIZE, true, "RSA 2048 with rsa_min_bits 3072");
		check_rule(&big->base, ec256, CL_R_KEY_SIZE, true, "P-256 with ec_curves [p-384]");
		check_rule(&big->base, ec384, CL_R_KEY_SIZE, false, "curve names are case-insensitive");
		cl_policy_free(big);
	}
	cl_cert_free(ec256);
	cl_cert_free(ec384);
	cl_cert_free(k256);
	cl_cert_free(ed);
	cl_cert_free(x25519);
	cl_cert_free(rsa2048);
	cl_cert_free(rsa1024);
	cl_cert_free(dsa1024);
	cl_policy_free(def);
	cl_policy_free(ec_only);
	cl_policy_free(any);
}

static void test_key_exponent_roca(void **state)
{
	struct cl_policy *def = pol(NULL);
	struct cl_policy *low = pol("version: 1\ndefaults:\n  key: {rsa_min_exponent: 3}\n");
	const struct cl_profile *d = &def->base;
	struct cl_cert *e3 = make_cert(&(struct spec){ .key = k_rsa_e3 });
	struct cl_cert *even = make_cert(&(struct spec){ .key = k_rsa_e_even });
	struct cl_cert *ok = make_cert(&(struct spec){ .key = k_rsa2048 });
	struct cl_cert *roca = make_cert(&(struct spec){ .key = k_roca });
	struct cl_cert *ec = make_cert(&(struct spec){ 0 });
	struct cl_cert c;
	struct res r;

	(void)state;
	assert_int_equal(e3->rsa_e, 3);
	assert_int_equal(even->rsa_e, 65538);
	check_rule(d, e3, CL_R_KEY_EXPONENT, true, "e=3");
	eval_at(&r, d, e3, NOW);
	assert_string_equal(r.found[CL_R_KEY_EXPONENT], "e=3");
	check_rule(d, even, CL_R_KEY_EXPONENT, true, "e=65538 (even)");
	check_rule(d, ok, CL_R_KEY_EXPONENT, false, "e=65537");
	check_rule(&low->base, e3, CL_R_KEY_EXPONENT, false, "e=3 with rsa_min_exponent 3");
	check_rule(&low->base, even, CL_R_KEY_EXPONENT, true, "an even exponent whatever the minimum");
	c = *ok;
	c.rsa_e = 4;
	check_rule(&low->base, &c, CL_R_KEY_EXPONENT, true, "e=4 with rsa_min_exponent 3");
	c.rsa_e = 65539;
	check_rule(d, &c, CL_R_KEY_EXPONENT, false, "e=65539");
	check_rule(d, ec, CL_R_KEY_EXPONENT, false, "not RSA");

	/* key.roca: parsed from a modulus with the fingerprint, and set directly */
	assert_true(roca->rsa_roca);
	assert_int_equal(roca->key_bits, 2049);
	eval_at(&r, d, roca, NOW);
	want(&r, CL_R_KEY_ROCA, true, "ROCA modulus");
	want(&r, CL_R_KEY_SIZE, false, "ROCA modulus of 2049 bits");
	assert_int_equal(r.sev[CL_R_KEY_ROCA], CL_SEV_CRITICAL);
	check_rule(d, ok, CL_R_KEY_ROCA, false, "a random modulus");
	c = *ok;
	c.rsa_roca = true;
	check_rule(d, &c, CL_R_KEY_ROCA, true, "rsa_roca set");
	cl_cert_free(e3);
	cl_cert_free(even);
	cl_cert_free(ok);
	cl_cert_free(roca);
	cl_cert_free(ec);
	cl_policy_free(def);
	cl_policy_free(low);
}

/* key.shared, key.readable, chain.* and revocation.*: from the context. */
static void test_context_rules(void **state)
{
	struct cl_policy *def = pol(NULL);
	const struct cl_profile *d = &def->base;
	struct cl_cert *c = make_cert(&(struct spec){ 0 });
	struct cl_eval_ctx x;
	struct res r;
	static const struct { int mode; bool fires; const char *who; } modes[] = {
		{ 0600, false, NULL }, { 0400, false, NULL }, { 0700, false, NULL },
		{ 0640, true, "its group" }, { 0604, true, "everyone" }, { 0644, true, "everyone" },
		{ 0660, true, "its group" }, { 0100600, false, NULL }, { 0100644, true, "everyone" },
	};
	size_t i;

	(void)state;
	/* nothing known: nothing found */
	memset(&x, 0, sizeof x);
	x.now = NOW;
	x.key_mode = -1;
	eval_ctx(&r, d, c, &x);
	want_none(&r, "empty context");

	/* key.shared */
	x.shared_certs = 2;
	eval_ctx(&r, d, c, &x);
	want(&r, CL_R_KEY_SHARED, true, "key in 2 other certificates");
	assert_int_equal(r.sev[CL_R_KEY_SHARED], CL_SEV_WARNING);
	assert_string_equal(r.found[CL_R_KEY_SHARED], "2 other certificates");
	x.shared_certs = 1;
	eval_ctx(&r, d, c, &x);
	assert_string_equal(r.found[CL_R_KEY_SHARED], "1 other certificate");
	x.shared_certs = 0;
	eval_ctx(&r, d, c, &x);
	want(&r, CL_R_KEY_SHARED, false, "key in no other certificate");

	/* key.readable */
	x.key_location = "file:/etc/ssl/private/a.key";
	for (i = 0; i < CL_ARRAY_LEN(modes); i++) {
		x.key_mode = modes[i].mode;
		eval_ctx(&r, d, c, &x);
		if ((r.count[CL_R_KEY_READABLE] > 0) != modes[i].fires)
			fail_msg("mode %o: key.readable %s", modes[i].mode,
			         modes[i].fires ? "expected" : "unexpected");
		if (modes[i].fires) {
			assert_non_null(strstr(r.msg[CL_R_KEY_READABLE], modes[i].who));
			assert_string_equal(r.where[CL_R_KEY_READABLE], "file:/etc/ssl/private/a.key");
			assert_int_equal(r.sev[CL_R_KEY_READABLE], CL_SEV_ERROR);
		}
	}
	x.key_mode = -1;
	x.key_location = NULL;

	/* chain.*: only with an endpoint */
	x.endpoint = "tls:192.0.2.1:443";
	x.verify = "ok";
	eval_ctx(&r, d, c, &x);
	want_none(&r, "verify ok");
	x.verify = "incomplete-chain";
	x.verify_detail = "issuer not sent";
	eval_ctx(&r, d, c, &x);
	want(&r, CL_R_CHAIN_INCOMPLETE, true, "incomplete-chain");
	want(&r, CL_R_CHAIN_WRONG_ORDER, false, "incomplete-chain only");
	assert_string_equal(r.where[CL_R_CHAIN_INCOMPLETE], "tls:192.0.2.1:443");
	assert_non_null(strstr(r.msg[CL_R_CHAIN_INCOMPLETE], "issuer not sent"));
	x.verify = "wrong-order,untrusted-root:self signed in chain";
	x.verify_detail = NULL;
	eval_ctx(&r, d, c, &x);
	want(&r, CL_R_CHAIN_WRONG_ORDER, true, "wrong-order in a list");
	want(&r, CL_R_CHAIN_UNTRUSTED_ROOT, true, "untrusted-root with a detail");
	want(&r, CL_R_CHAIN_INCOMPLETE, false, "not incomplete");
	assert_int_equal(r.sev[CL_R_CHAIN_WRONG_ORDER], CL_SEV_WARNING);
	x.verify = "not-wrong-order,expired";
	eval_ctx(&r, d, c, &x);
	want_none(&r, "words match whole: not-wrong-order is not wrong-order");
	x.verify = "incomplete-chain";
	x.endpoint = NULL;
	eval_ctx(&r, d, c, &x);
	want_none(&r, "a chain problem without an endpoint");
	x.verify = NULL;

	/* revocation.*: CL_REV_* + 1 */
	x.revocation = 1;
	eval_ctx(&r, d, c, &x);
	want_none(&r, "revocation good");
	x.revocation = 2;
	x.revocation_detail = "keyCompromise";
	eval_ctx(&r, d, c, &x);
	want(&r, CL_R_REVOKED, true, "revoked");
	assert_int_equal(r.sev[CL_R_REVOKED], CL_SEV_CRITICAL);
	assert_non_null(strstr(r.msg[CL_R_REVOKED], "keyCompromise"));
	x.revocation = 3;
	eval_ctx(&r, d, c, &x);
	want(&r, CL_R_REVOCATION_UNKNOWN, true, "unknown");
	want(&r, CL_R_REVOKED, false, "unknown is not revoked");
	x.revocation = 4;
	x.revocation_detail = NULL;
	eval_ctx(&r, d, c, &x);
	want(&r, CL_R_REVOCATION_UNREACHABLE, true, "unreachable");
	assert_int_equal(r.total, 1);
	x.revocation = 0;
	eval_ctx(&r, d, c, &x);
	want_none(&r, "revocation not checked");

	/* the context-only entry point reports the same, and nothing about the cert */
	x.shared_certs = 1;
	x.key_mode = 0644;
	x.key_location = "file:/k.pem";
	x.endpoint = "tls:h:443";
	x.verify = "incomplete-chain";
	x.revocation = 2;
	memset(&r, 0, sizeof r);
	assert_int_equal(cl_policy_eval_context(d, &x, collect, &r), CL_OK);
	assert_int_equal(r.total, 4);
	want(&r, CL_R_KEY_SHARED, true, "eval_context");
	want(&r, CL_R_KEY_READABLE, true, "eval_context");
	want(&r, CL_R_CHAIN_INCOMPLETE, true, "eval_context");
	want(&r, CL_R_REVOKED, true, "eval_context");
	cl_cert_free(c);
	cl_policy_free(def);
}

/* ---- signature and issuer ------------------------------------------------------- */

static void test_signature_rules(void **state)
{
	struct cl_policy *def = pol(NULL);
	struct cl_policy *allow = pol("version: 1\ndefaults:\n  signature:\n"
	                              "    allow: ['ecdsa-with-SHA384', '*sha512*']\n");
	const struct cl_profile *d = &def->base;
	struct cl_cert *sha1 = make_cert(&(struct spec){ .md = "sha1" });
	struct cl_cert *rsa_sha1 = make_cert(&(struct spec){ .key = k_rsa2048, .md = "sha1" });
	struct cl_cert *sha256 = make_cert(&(struct spec){ 0 });
	struct cl_cert *sha384 = make_cert(&(struct spec){ .md = "sha384" });
	struct cl_cert *root_sha1 = make_cert(&(struct spec){ .key = k_rsa2048, .md = "sha1",
	                                                     .cn = "Old Root", .ca = true,
	                                                     .self = true, .san = "" });
	struct cl_cert *self_sha1 = make_cert(&(struct spec){ .key = k_rsa2048, .md = "sha1",
	                                                     .self = true });
	struct cl_cert md5;
	struct res r;

	(void)state;
	assert_string_equal(sha1->sig_alg, "ecdsa-with-SHA1");
	assert_false(sha1->self_signed);
	assert_true(root_sha1->self_signed);
	check_rule(d, sha1, CL_R_SIG_FORBIDDEN, true, "ECDSA SHA-1 leaf");
	check_rule(d, rsa_sha1, CL_R_SIG_FORBIDDEN, true, "RSA SHA-1 leaf");
	/* OpenSSL 3 will not sign with MD5: the parsed SHA-256 leaf, renamed */
	md5 = *rsa_sha1;
	md5.sig_alg = "md5WithRSAEncryption";
	check_rule(d, &md5, CL_R_SIG_FORBIDDEN, true, "RSA MD5 leaf");
	check_rule(d, sha256, CL_R_SIG_FORBIDDEN, false, "SHA-256 leaf");
	eval_at(&r, d, sha1, NOW);
	assert_string_equal(r.found[CL_R_SIG_FORBIDDEN], "ecdsa-with-SHA1");
	assert_string_equal(r.limit[CL_R_SIG_FORBIDDEN], "*sha1*");
	eval_at(&r, d, root_sha1, NOW);
	want_none(&r, "a self-signed SHA-1 root is exempt");
	/* only CA roots are exempt: a self-signed leaf is not */
	assert_true(self_sha1->self_signed);
	assert_false(self_sha1->is_ca);
	check_rule(d, self_sha1, CL_R_SIG_FORBIDDEN, true, "self-signed SHA-1 leaf");
	check_rule(&allow->base, self_sha1, CL_R_SIG_NOT_ALLOWED, true, "self-signed SHA-1 leaf");
	check_rule(&allow->base, root_sha1, CL_R_SIG_NOT_ALLOWED, false, "self-signed SHA-1 root");

	/* sig.not-allowed */
	check_rule(d, sha256, CL_R_SIG_NOT_ALLOWED, false, "no allow list");
	check_rule(&allow->base, sha256, CL_R_SIG_NOT_ALLOWED, true, "SHA-256 not in allow");
	check_rule(&allow->base, sha384, CL_R_SIG_NOT_ALLOWED, false, "ECDSA SHA-384 allowed");
	eval_at(&r, &allow->base, sha256, NOW);
	assert_int_equal(r.sev[CL_R_SIG_NOT_ALLOWED], CL_SEV_WARNING);
	assert_string_equal(r.found[CL_R_SIG_NOT_ALLOWED], "ecdsa-with-SHA256");
	/* forbidden wins over allowed; both are reported */
	{
		struct cl_policy *both = pol("version: 1\ndefaults:\n  signature: {allow: ['*']}\n");
		check_rule(&both->base, sha1, CL_R_SIG_FORBIDDEN, true, "allow '*' keeps the forbid list");
		check_rule(&both->base, sha1, CL_R_SIG_NOT_ALLOWED, false, "allow '*'");
		cl_policy_free(both);
	}
	{
		struct cl_policy *none = pol("version: 1\ndefaults:\n  signature: {forbid: []}\n");
		check_rule(&none->base, sha1, CL_R_SIG_FORBIDDEN, false, "forbid: []");
		cl_policy_free(none);
	}
	cl_cert_free(sha1);
	cl_cert_free(rsa_sha1);
	cl_cert_free(sha256);
	cl_cert_free(sha384);
	cl_cert_free(root_sha1);
	cl_cert_free(self_sha1);
	cl_policy_free(def);
	cl_policy_free(allow);
}


static void test_issuer_rule(void **state)
{
	char y[1024], fp[65], spki[65], cafp[65];
	struct cl_policy *def = pol(NULL), *p;
	struct cl_cert *leaf = make_cert(&(struct spec){ 0 });
	struct cl_cert *self = make_cert(&(struct spec){ .self = true, .cn = "self.example.test" });
	struct res r;
	size_t i;

	(void)state;
	assert_true(self->self_signed);
	assert_string_equal(leaf->issuer, ca_cert->subject);
	assert_non_null(strstr(leaf->issuer, "CN=Policy Test CA"));
	check_rule(&def->base, leaf, CL_R_ISSUER_NOT_APPROVED, false, "approve: [] allows any");
	check_rule(&def->base, self, CL_R_ISSUER_NOT_APPROVED, false, "approve: [] allows any");

	/* subject globs on the issuer name */
	p = pol("version: 1\ndefaults:\n  issuers: {approve: ['CN=Policy Test CA,*']}\n");
	check_rule(&p->base, leaf, CL_R_ISSUER_NOT_APPROVED, false, "issuer glob matches");
	check_rule(&p->base, self, CL_R_ISSUER_NOT_APPROVED, true, "self-signed, another name");
	check_rule(&p->base, ca_cert, CL_R_ISSUER_NOT_APPROVED, false, "the CA itself by name");
	eval_at(&r, &p->base, self, NOW);
	assert_string_equal(r.found[CL_R_ISSUER_NOT_APPROVED], self->issuer);
	assert_int_equal(r.sev[CL_R_ISSUER_NOT_APPROVED], CL_SEV_ERROR);
	cl_policy_free(p);
	p = pol("version: 1\ndefaults:\n  issuers: {approve: ['cn=policy test ca*']}\n");
	check_rule(&p->base, leaf, CL_R_ISSUER_NOT_APPROVED, false, "globs are case-insensitive");
	cl_policy_free(p);
	p = pol("version: 1\ndefaults:\n  issuers: {approve: ['CN=R3,*', 'CN=E1,*']}\n");
	check_rule(&p->base, leaf, CL_R_ISSUER_NOT_APPROVED, true, "another CA");
	cl_policy_free(p);

	/* fp: and spki: approve self-signed certificates */
	cl_hex(fp, self->fp, CL_SHA256_LEN);
	cl_hex(spki, self->spki_sha256, CL_SHA256_LEN);
	cl_hex(cafp, ca_cert->fp, CL_SHA256_LEN);
	snprintf(y, sizeof y, "version: 1\ndefaults:\n  issuers: {approve: ['fp:%s']}\n", fp);
	p = pol(y);
	check_rule(&p->base, self, CL_R_ISSUER_NOT_APPROVED, false, "fp: of the self-signed cert");
	check_rule(&p->base, leaf, CL_R_ISSUER_NOT_APPROVED, true, "fp: of another certificate");
	cl_policy_free(p);
	for (i = 0; fp[i]; i++)
		if (fp[i] >= 'a' && fp[i] <= 'f')
			fp[i] = (char)(fp[i] - 32);
	snprintf(y, sizeof y, "version: 1\ndefaults:\n  issuers: {approve: ['fp:%s']}\n", fp);
	p = pol(y);
	check_rule(&p->base, self, CL_R_ISSUER_NOT_APPROVED, false, "fp: in capitals");
	cl_policy_free(p);
	snprintf(y, sizeof y, "version: 1\ndefaults:\n  issuers: {approve: ['spki:%s']}\n", spki);
	p = pol(y);
	check_rule(&p->base, self, CL_R_ISSUER_NOT_APPROVED, false, "spki: of the self-signed cert");
	check_rule(&p->base, ca_cert, CL_R_ISSUER_NOT_APPROVED, true, "spki: of another key");
	cl_policy_free(p);
	/* fp: approves the self-signed CA itself, and a leaf whose issuer is
	 * known (lint: in the same file; check: in the inventory) */
	snprintf(y, sizeof y, "version: 1\ndefaults:\n  issuers: {approve: ['fp:%s']}\n", cafp);
	p = pol(y);
	check_rule(&p->base, ca_cert, CL_R_ISSUER_NOT_APPROVED, false, "fp: of the CA root");
	check_rule(&p->base, leaf, CL_R_ISSUER_NOT_APPROVED, true, "issuer unknown");
	{
		char caspki[65];
		struct cl_eval_ctx x = { .now = NOW, .key_mode = -1, .issuer_fp = cafp };
		eval_ctx(&r, &p->base, leaf, &x);
		assert_int_equal(r.count[CL_R_ISSUER_NOT_APPROVED], 0);
		x.issuer_fp = fp;  /* another CA issued it */
		eval_ctx(&r, &p->base, leaf, &x);
		assert_int_equal(r.count[CL_R_ISSUER_NOT_APPROVED], 1);
		cl_policy_free(p);
		cl_hex(caspki, ca_cert->spki_sha256, CL_SHA256_LEN);
		snprintf(y, sizeof y, "version: 1\ndefaults:\n  issuers: {approve: ['spki:%s']}\n",
		         caspki);
		p = pol(y);
		x.issuer_fp = NULL;
		x.issuer_spki = caspki;
		eval_ctx(&r, &p->base, leaf, &x);
		assert_int_equal(r.count[CL_R_ISSUER_NOT_APPROVED], 0);
	}
	cl_policy_free(p);
	/* one key on many hosts: key.max_hosts (default 10) */
	{
		struct cl_eval_ctx x = { .now = NOW, .key_mode = -1, .hosts = 10 };
		eval_ctx(&r, &def->base, leaf, &x);
		assert_int_equal(r.count[CL_R_KEY_SHARED], 0);
		x.hosts = 11;
		eval_ctx(&r, &def->base, leaf, &x);
		assert_int_equal(r.count[CL_R_KEY_SHARED], 1);
		assert_non_null(strstr(r.msg[CL_R_KEY_SHARED], "served by 11 hosts"));
		p = pol("version: 1\ndefaults:\n  key: {max_hosts: 0}\n");
		eval_ctx(&r, &p->base, leaf, &x);
		assert_int_equal(r.count[CL_R_KEY_SHARED], 0);
		cl_policy_free(p);
	}
	cl_cert_free(leaf);
	cl_cert_free(self);
	cl_policy_free(def);
}

/* ---- validity ------------------------------------------------------------------ */

static void test_cabf_max_days(void **state)
{
	static const struct { int y, mo, d, h, mi, s; int days; } t[] = {
		{ 2015, 1, 1, 0, 0, 0, 825 },
		{ 2020, 8, 31, 23, 59, 59, 825 },
		{ 2020, 9, 1, 0, 0, 0, 398 },
		{ 2025, 1, 1, 0, 0, 0, 398 },
		{ 2026, 3, 14, 0, 0, 0, 398 },
		{ 2026, 3, 14, 23, 59, 59, 398 },
		{ 2026, 3, 15, 0, 0, 0, 200 },
		{ 2027, 3, 14, 23, 59, 59, 200 },
		{ 2027, 3, 15, 0, 0, 0, 100 },
		{ 2029, 3, 14, 23, 59, 59, 100 },
		{ 2029, 3, 15, 0, 0, 0, 47 },
		{ 2040, 1, 1, 0, 0, 0, 47 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		int64_t nb = cl_time_from_civil(t[i].y, (unsigned)t[i].mo, (unsigned)t[i].d,
		                                (unsigned)t[i].h, (unsigned)t[i].mi, (unsigned)t[i].s);
		if (cl_cabf_max_days(nb) != t[i].days)
			fail_msg("%04d-%02d-%02dT%02d:%02d:%02dZ: expected %d days, got %d", t[i].y,
			         t[i].mo, t[i].d, t[i].h, t[i].mi, t[i].s, t[i].days, cl_cabf_max_days(nb));
	}
}

/* validity.cabf on real certificates: exactly N days (notAfter - notBefore + 1 s)
 * is allowed, one second more is not, on both sides of each cut-over. */
static void test_validity_cabf(void **state)
{
	static const struct { int y, mo, d; int before, after; } cut[] = {
		{ 2020, 9, 1, 825, 398 },
		{ 2026, 3, 15, 398, 200 },
		{ 2027, 3, 15, 200, 100 },
		{ 2029, 3, 15, 100, 47 },
	};
	struct cl_policy *p = pol("version: 1\ndefaults:\n  validity: {cabf: true}\n");
	struct cl_policy *off = pol(NULL);
	size_t i;
	int side, extra;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(cut); i++) {
		int64_t d0 = cl_time_from_civil(cut[i].y, (unsigned)cut[i].mo, (unsigned)cut[i].d, 0, 0, 0);
		for (side = 0; side < 2; side++) {
			/* the last second before the cut-over, and the cut-over itself */
			int64_t nb = side ? d0 : d0 - 1;
			int max = side ? cut[i].after : cut[i].before;
			for (extra = 0; extra <= 1; extra++) {
				struct cl_cert *c = make_cert(&(struct spec){
					.nb = nb, .na = nb + max * DAY - 1 + extra });
				struct res r;
				char what[160];
				assert_int_equal(c->not_before, nb);
				eval_at(&r, &p->base, c, nb + 1);
				snprintf(what, sizeof what, "notBefore %04d-%02d-%02d%s, %d days%s", cut[i].y,
				         cut[i].mo, cut[i].d, side ? "" : " minus 1 s", max,
				         extra ? " + 1 s" : "");
				want(&r, CL_R_VALIDITY_CABF, extra == 1, what);
				if (extra) {
					char lim[32];
					snprintf(lim, sizeof lim, "<= %d days", max);
					assert_string_equal(r.limit[CL_R_VALIDITY_CABF], lim);
					assert_int_equal(r.sev[CL_R_VALIDITY_CABF], CL_SEV_ERROR);
				}
				/* cabf: false (the default) never fires */
				eval_at(&r, &off->base, c, nb + 1);
				want(&r, CL_R_VALIDITY_CABF, false, what);
				cl_cert_free(c);
			}
		}
		{
			/* the old maximum, issued on the cut-over day, is too long */
			struct cl_cert *c = make_cert(&(struct spec){
				.nb = d0 + 3600, .na = d0 + 3600 + cut[i].before * DAY - 1 });
			check_rule(&p->base, c, CL_R_VALIDITY_CABF, true, "old maximum after the cut-over");
			cl_cert_free(c);
		}
	}
	{
		/* CA certificates are exempt */
		struct cl_cert *ca = make_cert(&(struct spec){ .ca = true, .cn = "Sub CA", .san = "",
			.nb = NOW - DAY, .na = NOW + 3000 * DAY });
		check_rule(&p->base, ca, CL_R_VALIDITY_CABF, false, "an intermediate CA");
		check_rule(&p->base, ca_cert, CL_R_VALIDITY_CABF, false, "a root CA");
		cl_cert_free(ca);
	}
	cl_policy_free(p);
	cl_policy_free(off);
}

static void test_validity_max(void **state)
{
	struct cl_policy *p = pol("version: 1\ndefaults:\n  validity: {max_days: 90}\n");
	struct cl_policy *def = pol(NULL);
	int64_t nb = NOW - DAY;
	struct cl_cert *exact = make_cert(&(struct spec){ .nb = nb, .na = nb + 90 * DAY - 1 });
	struct cl_cert *over = make_cert(&(struct spec){ .nb = nb, .na = nb + 90 * DAY });
	struct cl_cert *shorter = make_cert(&(struct spec){ .nb = nb, .na = nb + 30 * DAY - 1 });
	struct cl_cert *year = make_cert(&(struct spec){ .nb = nb, .na = nb + 397 * DAY });
	struct cl_cert *ca = make_cert(&(struct spec){ .ca = true, .cn = "Sub CA", .san = "",
	                                               .nb = nb, .na = nb + 1000 * DAY });
	struct res r;

	(void)state;
	check_rule(&p->base, exact, CL_R_VALIDITY_MAX, false, "exactly 90 days");
	check_rule(&p->base, over, CL_R_VALIDITY_MAX, true, "90 days + 1 second");
	check_rule(&p->base, shorter, CL_R_VALIDITY_MAX, false, "30 days");
	check_rule(&p->base, year, CL_R_VALIDITY_MAX, true, "397 days + 1 s");
	check_rule(&p->base, ca, CL_R_VALIDITY_MAX, false, "CA certificates are exempt");
	check_rule(&def->base, year, CL_R_VALIDITY_MAX, false, "max_days: 0 is no limit");
	eval_at(&r, &p->base, year, NOW);
	assert_string_equal(r.limit[CL_R_VALIDITY_MAX], "<= 90 days");
	assert_int_equal(r.sev[CL_R_VALIDITY_MAX], CL_SEV_ERROR);
	assert_string_equal(r.found[CL_R_VALIDITY_MAX], "397 days and 1 second");
	/* the lifetime exactly: 90 days + 1 s is not "90 days" against a limit of 90 */
	eval_at(&r, &p->base, over, NOW);
	assert_string_equal(r.found[CL_R_VALIDITY_MAX], "90 days and 1 second");
	assert_string_equal(r.msg[CL_R_VALIDITY_MAX], "valid for 90 days and 1 second; the profile "
	                    "allows at most 90 days");
	{
		struct cl_cert *odd = make_cert(&(struct spec){ .nb = nb,
			.na = nb + 100 * DAY + 2 * 3600 + 60 - 1 });
		struct cl_cert *mixed = make_cert(&(struct spec){ .nb = nb,
			.na = nb + 91 * DAY + 3600 + 2 * 60 + 3 - 1 });
		eval_at(&r, &p->base, odd, NOW);
		assert_string_equal(r.found[CL_R_VALIDITY_MAX], "100 days, 2 hours and 1 minute");
		eval_at(&r, &p->base, mixed, NOW);
		assert_string_equal(r.found[CL_R_VALIDITY_MAX],
		                    "91 days, 1 hour, 2 minutes and 3 seconds");
		cl_cert_free(odd);
		cl_cert_free(mixed);
	}
	eval_at(&r, &p->base, exact, NOW);
	want_none(&r, "a 90-day certificate under max_days 90");
	cl_cert_free(exact);
	cl_cert_free(over);
	cl_cert_free(shorter);
	cl_cert_free(year);
	cl_cert_free(ca);
	cl_policy_free(p);
	cl_policy_free(def);
}

/* ---- expiry --------------------------------------------------------------------- */

/* Which of the expiry rules fires for c at now: 0 none, else the rule + 1. */
static int expiry_state(const struct cl_profile *pr, const struct cl_cert *c, int64_t now)
{
	struct res r;
	int n = 0, which = 0;

	eval_at(&r, pr, c, now);
	if (r.count[CL_R_EXPIRY_EXPIRED]) {
		n++;
		which = CL_R_EXPIRY_EXPIRED + 1;
	}
	if (r.count[CL_R_EXPIRY_CRITICAL]) {
		n++;
		which = CL_R_EXPIRY_CRITICAL + 1;
	}
	if (r.count[CL_R_EXPIRY_WARNING]) {
		n++;
		which = CL_R_EXPIRY_WARNING + 1;
	}
	assert_true(n <= 1);   /* at most one of them */
	if (which)
		assert_int_equal(r.sev[which - 1], cl_rules[which - 1].severity);
	return which;
}

static void test_expiry(void **state)
{
	enum { NONE = 0, EXP = CL_R_EXPIRY_EXPIRED + 1, CRIT = CL_R_EXPIRY_CRITICAL + 1,
	       WARN = CL_R_EXPIRY_WARNING + 1 };
	/* left: seconds from now to notAfter */
	static const struct { int days; int64_t left; int want; const char *what; } t[] = {
		/* 100 days: warning below min(30d, 33 d) = 30d, critical below min(7d, 10d) */
		{ 100, 31 * DAY, NONE, "100-day cert, 31 days left" },
		{ 100, 30 * DAY, NONE, "100-day cert, exactly 30 days left" },
		{ 100, 30 * DAY - 1, WARN, "100-day cert, 30 days - 1 s left" },
		{ 100, 7 * DAY, WARN, "100-day cert, exactly 7 days left" },
		{ 100, 7 * DAY - 1, CRIT, "100-day cert, 7 days - 1 s left" },
		{ 100, 1, CRIT, "100-day cert, 1 s left" },
		{ 100, -1, EXP, "100-day cert, expired 1 s ago" },
		{ 100, -400 * DAY, EXP, "100-day cert, expired long ago" },
		/* 6 days: warning below min(30d, 33% = 171072 s), critical below
		 * min(7d, 10% = 51840 s) */
		{ 6, 3 * DAY, NONE, "6-day cert, 3 days left" },
		{ 6, 171072, NONE, "6-day cert, exactly 33% left" },
		{ 6, 171071, WARN, "6-day cert, just under 33% left" },
		{ 6, DAY, WARN, "6-day cert, 1 day left" },
		{ 6, 51840, WARN, "6-day cert, exactly 10% left" },
		{ 6, 51839, CRIT, "6-day cert, just under 10% left" },
		{ 6, 12 * 3600, CRIT, "6-day cert, 12 hours left" },
		/* a year: the absolute thresholds */
		{ 365, 29 * DAY, WARN, "1-year cert, 29 days left" },
		{ 365, 6 * DAY, CRIT, "1-year cert, 6 days left" },
		{ 365, 300 * DAY, NONE, "1-year cert, 300 days left" },
	};
	struct cl_policy *def = pol(NULL);
	struct cl_policy *abs = pol("version: 1\ndefaults:\n  expiry: {warning: 10d, critical: 2d}\n");
	struct cl_policy *share = pol("version: 1\ndefaults:\n  expiry: {warning: '50%', "
	                              "critical: ['1h', '1%']}\n");
	struct cl_policy *quiet = pol("version: 1\ndefaults:\n  severity: {expiry.warning: off, "
	                              "expiry.expired: warning}\n");
	int64_t nb = cl_time_from_civil(2026, 1, 1, 0, 0, 0);
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		struct cl_cert *c = make_cert(&(struct spec){ .nb = nb, .na = nb + t[i].days * DAY - 1 });
		int got = expiry_state(&def->base, c, c->not_after - t[i].left);
		if (got != t[i].want)
			fail_msg("%s: expected %s, got %s", t[i].what,
			         t[i].want ? cl_rules[t[i].want - 1].name : "no expiry finding",
			         got ? cl_rules[got - 1].name : "no expiry finding");
		cl_cert_free(c);
	}
	{
		struct cl_cert *c = make_cert(&(struct spec){ .nb = nb, .na = nb + 100 * DAY - 1 });
		struct res r;
		/* absolute thresholds only */
		assert_int_equal(expiry_state(&abs->base, c, c->not_after - 10 * DAY), NONE);
		assert_int_equal(expiry_state(&abs->base, c, c->not_after - 10 * DAY + 1), WARN);
		assert_int_equal(expiry_state(&abs->base, c, c->not_after - 2 * DAY + 1), CRIT);
		/* shares only: 50% of 100 days, and the smaller of 1h and 1% (~24h) */
		assert_int_equal(expiry_state(&share->base, c, c->not_after - 50 * DAY), NONE);
		assert_int_equal(expiry_state(&share->base, c, c->not_after - 50 * DAY + 1), WARN);
		assert_int_equal(expiry_state(&share->base, c, c->not_after - 2 * 3600), WARN);
		assert_int_equal(expiry_state(&share->base, c, c->not_after - 3600 + 1), CRIT);
		/* severity overrides and off */
		eval_at(&r, &quiet->base, c, c->not_after - 20 * DAY);
		want(&r, CL_R_EXPIRY_WARNING, false, "expiry.warning: off");
		eval_at(&r, &quiet->base, c, c->not_after + 1);
		want(&r, CL_R_EXPIRY_EXPIRED, true, "expired, overridden severity");
		assert_int_equal(r.sev[CL_R_EXPIRY_EXPIRED], CL_SEV_WARNING);
		/* the message and values */
		eval_at(&r, &def->base, c, c->not_after - 20 * DAY);
		assert_string_equal(r.found[CL_R_EXPIRY_WARNING], "20 days");
		assert_string_equal(r.limit[CL_R_EXPIRY_WARNING], "30 days");
		/* at notAfter itself the certificate is still valid (RFC 5280), one
		 * second later it has expired */
		assert_int_equal(expiry_state(&def->base, c, c->not_after), CRIT);
		eval_at(&r, &def->base, c, c->not_after);
		assert_string_equal(r.found[CL_R_EXPIRY_CRITICAL], "0 seconds");
		assert_int_equal(expiry_state(&def->base, c, c->not_after + 1), EXP);
		eval_at(&r, &def->base, c, c->not_after + 1);
		assert_string_equal(r.found[CL_R_EXPIRY_EXPIRED], "-1 second");
		cl_cert_free(c);
	}
	cl_policy_free(def);
	cl_policy_free(abs);
	cl_policy_free(share);
	cl_policy_free(quiet);
}

static void test_not_yet_valid(void **state)
{
	struct cl_policy *def = pol(NULL);
	int64_t nb = NOW + 10 * DAY;
	struct cl_cert *c = make_cert(&(struct spec){ .nb = nb, .na = nb + 90 * DAY - 1 });
	struct res r;

	(void)state;
	eval_at(&r, &def->base, c, nb - 1);
	want(&r, CL_R_NOT_YET_VALID, true, "one second before notBefore");
	assert_int_equal(r.sev[CL_R_NOT_YET_VALID], CL_SEV_ERROR);
	want(&r, CL_R_EXPIRY_WARNING, false, "not yet valid is not expiring");
	eval_at(&r, &def->base, c, nb);
	want_none(&r, "at notBefore");
	eval_at(&r, &def->base, c, NOW);
	want(&r, CL_R_NOT_YET_VALID, true, "10 days before notBefore");
	check_rule(&def->base, ca_cert, CL_R_NOT_YET_VALID, false, "the CA is valid");
	cl_cert_free(c);
	cl_policy_free(def);
}

static void test_intermediate_expiry(void **state)
{
	struct cl_policy *def = pol(NULL);
	struct cl_policy *longer = pol("version: 1\ndefaults:\n  chain: {intermediate_expiry: 60d}\n");
	struct cl_cert *soon = make_cert(&(struct spec){ .ca = true, .cn = "Sub CA 1", .san = "",
		.nb = NOW - 300 * DAY, .na = NOW + 29 * DAY });
	struct cl_cert *later = make_cert(&(struct spec){ .ca = true, .cn = "Sub CA 2", .san = "",
		.nb = NOW - 300 * DAY, .na = NOW + 31 * DAY });
	struct cl_cert *gone = make_cert(&(struct spec){ .ca = true, .cn = "Sub CA 3", .san = "",
		.nb = NOW - 300 * DAY, .na = NOW - 5 * DAY });
	struct cl_cert *root = make_cert(&(struct spec){ .key = k_ec384, .ca = true, .self = true,
		.cn = "Old Root", .san = "", .nb = NOW - 300 * DAY, .na = NOW + DAY });
	struct cl_cert *leaf = make_cert(&(struct spec){ .nb = NOW - 80 * DAY, .na = NOW + 10 * DAY });
	struct res r;

	(void)state;
	assert_true(root->self_signed);
	assert_false(soon->self_signed);
	eval_at(&r, &def->base, soon, NOW);
	want(&r, CL_R_CHAIN_INTERMEDIATE_EXPIRY, true, "intermediate expiring in 29 days");
	assert_int_equal(r.total, 1);  /* and no expiry.* rule: those are for leaves */
	assert_non_null(strstr(r.msg[CL_R_CHAIN_INTERMEDIATE_EXPIRY], "Sub CA 1"));
	assert_int_equal(r.sev[CL_R_CHAIN_INTERMEDIATE_EXPIRY], CL_SEV_ERROR);
	check_rule(&def->base, later, CL_R_CHAIN_INTERMEDIATE_EXPIRY, false, "31 days left");
	check_rule(&longer->base, later, CL_R_CHAIN_INTERMEDIATE_EXPIRY, true, "31 days, limit 60d");
	eval_at(&r, &def->base, gone, NOW);
	want(&r, CL_R_CHAIN_INTERMEDIATE_EXPIRY, true, "expired intermediate");
	assert_non_null(strstr(r.msg[CL_R_CHAIN_INTERMEDIATE_EXPIRY], "expired"));
	assert_non_null(strstr(r.msg[CL_R_CHAIN_INTERMEDIATE_EXPIRY], "5 days ago"));
	eval_at(&r, &def->base, root, NOW);
	want_none(&r, "a root expiring tomorrow is not an intermediate");
	eval_at(&r, &def->base, leaf, NOW);
	want(&r, CL_R_CHAIN_INTERMEDIATE_EXPIRY, false, "a leaf");
	want(&r, CL_R_EXPIRY_WARNING, true, "a leaf with 10 days left");
	cl_cert_free(soon);
	cl_cert_free(later);
	cl_cert_free(gone);
	cl_cert_free(root);
	cl_cert_free(leaf);
	cl_policy_free(def);
	cl_policy_free(longer);
}

/* ---- names ----------------------------------------------------------------------- */

static void test_san_rules(void **state)
{
	struct cl_policy *def = pol(NULL);
	struct cl_policy *nowild = pol("version: 1\ndefaults:\n  san: {wildcards: false}\n");
	struct cl_policy *req = pol("version: 1\ndefaults:\n  san:\n    required: ['*.example.test', "
	                            "'IP:10.*', 'email:*@example.test']\n");
	struct cl_policy *forb = pol("version: 1\ndefaults:\n  san:\n    forbidden: ['*.internal', "
	                             "'DNS:*.local', 'IP:192.168.*']\n");
	const struct cl_profile *d = &def->base;
	struct cl_cert *nosan = make_cert(&(struct spec){ .san = "" });
	struct cl_cert *nosan_noeku = make_cert(&(struct spec){ .san = "", .eku = "" });
	struct cl_cert *nosan_client = make_cert(&(struct spec){ .san = "", .eku = "clientAuth" });
	struct cl_cert *wild = make_cert(&(struct spec){ .san = "DNS:example.test,DNS:*.example.test" });
	struct cl_cert *all = make_cert(&(struct spec){
		.san = "DNS:www.example.test,IP:10.1.2.3,email:ops@example.test" });
	struct cl_cert *no_ip = make_cert(&(struct spec){
		.san = "DNS:www.example.test,email:ops@example.test" });
	struct cl_cert *other = make_cert(&(struct spec){
		.san = "DNS:www.other.test,IP:10.0.0.1,email:ops@example.test" });
	struct cl_cert *internal = make_cert(&(struct spec){ .san = "DNS:www.example.test,DNS:db.internal" });
	struct cl_cert *local = make_cert(&(struct spec){ .san = "DNS:printer.local" });
	struct cl_cert *priv = make_cert(&(struct spec){ .san = "DNS:www.example.test,IP:192.168.1.10" });
	struct cl_cert *pub = make_cert(&(struct spec){ .san = "DNS:www.example.test,IP:192.0.2.1" });
	struct cl_cert *ca = make_cert(&(struct spec){ .ca = true, .cn = "Sub CA", .san = "" });
	struct res r;

	(void)state;
	/* san.missing */
	check_rule(d, nosan, CL_R_SAN_MISSING, true, "serverAuth leaf without SAN");
	check_rule(d, nosan_noeku, CL_R_SAN_MISSING, true, "leaf without SAN or EKU");
	check_rule(d, nosan_client, CL_R_SAN_MISSING, false, "clientAuth-only leaf without SAN");
	check_rule(d, all, CL_R_SAN_MISSING, false, "leaf with SAN");
	check_rule(d, ca, CL_R_SAN_MISSING, false, "a CA without SAN");
	check_rule(d, ca_cert, CL_R_SAN_MISSING, false, "a root without SAN");
	eval_at(&r, d, nosan, NOW);
	assert_int_equal(r.sev[CL_R_SAN_MISSING], CL_SEV_ERROR);

	/* san.wildcard */
	check_rule(d, wild, CL_R_SAN_WILDCARD, false, "wildcards allowed by default");
	eval_at(&r, &nowild->base, wild, NOW);
	want(&r, CL_R_SAN_WILDCARD, true, "wildcard with wildcards: false");
	assert_int_equal(r.count[CL_R_SAN_WILDCARD], 1);
	assert_string_equal(r.found[CL_R_SAN_WILDCARD], "DNS:*.example.test");
	assert_int_equal(r.sev[CL_R_SAN_WILDCARD], CL_SEV_WARNING);
	check_rule(&nowild->base, all, CL_R_SAN_WILDCARD, false, "no wildcard");

	/* san.required: DNS glob, IP:, email: */
	eval_at(&r, &req->base, all, NOW);
	want(&r, CL_R_SAN_REQUIRED, false, "all required names present");
	eval_at(&r, &req->base, no_ip, NOW);
	want(&r, CL_R_SAN_REQUIRED, true, "no IP:10.*");
	assert_int_equal(r.count[CL_R_SAN_REQUIRED], 1);
	assert_string_equal(r.limit[CL_R_SAN_REQUIRED], "IP:10.*");
	eval_at(&r, &req->base, other, NOW);
	assert_int_equal(r.count[CL_R_SAN_REQUIRED], 1);
	assert_string_equal(r.limit[CL_R_SAN_REQUIRED], "*.example.test");
	eval_at(&r, &req->base, nosan, NOW);
	assert_int_equal(r.count[CL_R_SAN_REQUIRED], 3);
	assert_string_equal(r.found[CL_R_SAN_REQUIRED], "no SAN");
	check_rule(&req->base, ca, CL_R_SAN_REQUIRED, false, "CA certificates are exempt");

	/* san.forbidden */
	eval_at(&r, &forb->base, internal, NOW);
	want(&r, CL_R_SAN_FORBIDDEN, true, "db.internal");
	assert_string_equal(r.found[CL_R_SAN_FORBIDDEN], "DNS:db.internal");
	check_rule(&forb->base, local, CL_R_SAN_FORBIDDEN, true, "DNS:*.local");
	eval_at(&r, &forb->base, priv, NOW);
	want(&r, CL_R_SAN_FORBIDDEN, true, "IP:192.168.*");
	assert_string_equal(r.found[CL_R_SAN_FORBIDDEN], "IP:192.168.1.10");
	check_rule(&forb->base, pub, CL_R_SAN_FORBIDDEN, false, "public names only");
	check_rule(&forb->base, all, CL_R_SAN_FORBIDDEN, false, "IP:10.* is not forbidden here");
	check_rule(d, internal, CL_R_SAN_FORBIDDEN, false, "forbidden: [] by default");
	cl_cert_free(nosan);
	cl_cert_free(nosan_noeku);
	cl_cert_free(nosan_client);
	cl_cert_free(wild);
	cl_cert_free(all);
	cl_cert_free(no_ip);
	cl_cert_free(other);
	cl_cert_free(internal);
	cl_cert_free(local);
	cl_cert_free(priv);
	cl_cert_free(pub);
	cl_cert_free(ca);
	cl_policy_free(def);
	cl_policy_free(nowild);
	cl_policy_free(req);
	cl_policy_free(forb);
}

static void test_self_signed_and_ct(void **state)
{
	struct cl_policy *def = pol(NULL);
	struct cl_policy *ok = pol("version: 1\ndefaults:\n  self_signed: true\n");
	struct cl_policy *strict = pol("version: 1\ndefaults:\n  severity: {cert.self-signed: error}\n");
	struct cl_policy *ct = pol("version: 1\ndefaults:\n  ct: {require_scts: true}\n");
	struct cl_cert *self = make_cert(&(struct spec){ .self = true, .cn = "self.example.test" });
	struct cl_cert *issued = make_cert(&(struct spec){ 0 });
	struct cl_cert *scts = make_cert(&(struct spec){ .scts = 2 });
	struct cl_cert *ca = make_cert(&(struct spec){ .ca = true, .cn = "Sub CA", .san = "" });
	struct res r;

	(void)state;
	/* cert.self-signed: a warning in the built-in default */
	eval_at(&r, &def->base, self, NOW);
	want(&r, CL_R_SELF_SIGNED, true, "self-signed leaf");
	assert_int_equal(r.sev[CL_R_SELF_SIGNED], CL_SEV_WARNING);
	assert_int_equal(r.total, 1);
	check_rule(&strict->base, self, CL_R_SELF_SIGNED, true, "self-signed leaf, error");
	eval_at(&r, &strict->base, self, NOW);
	assert_int_equal(r.sev[CL_R_SELF_SIGNED], CL_SEV_ERROR);
	check_rule(&def->base, issued, CL_R_SELF_SIGNED, false, "issued leaf");
	check_rule(&def->base, ca_cert, CL_R_SELF_SIGNED, false, "a CA root");
	check_rule(&ok->base, self, CL_R_SELF_SIGNED, false, "self_signed: true");

	/* ct.no-scts */
	assert_int_equal(scts->sct_count, 2);
	assert_int_equal(issued->sct_count, 0);
	check_rule(&def->base, issued, CL_R_CT_NO_SCTS, false, "require_scts: false");
	eval_at(&r, &ct->base, issued, NOW);
	want(&r, CL_R_CT_NO_SCTS, true, "leaf without SCTs");
	assert_int_equal(r.sev[CL_R_CT_NO_SCTS], CL_SEV_WARNING);
	check_rule(&ct->base, scts, CL_R_CT_NO_SCTS, false, "leaf with 2 SCTs");
	check_rule(&ct->base, ca, CL_R_CT_NO_SCTS, false, "a CA");
	cl_cert_free(self);
	cl_cert_free(issued);
	cl_cert_free(scts);
	cl_cert_free(ca);
	cl_policy_free(def);
	cl_policy_free(ok);
	cl_policy_free(strict);
	cl_policy_free(ct);
}

/* ---- severities ----------------------------------------------------------------- */

static void test_severity_overrides(void **state)
{
	static const char y[] =
		"version: 1\n"
		"defaults:\n"
		"  severity:\n"
		"    key.size: critical\n"
		"    san.missing: off\n"
		"    key.readable: warning\n"
		"profiles:\n"
		"  - name: lab\n"
		"    match: {environment: lab}\n"
		"    severity: {key.size: info, sig.forbidden: off, key.readable: off}\n";
	struct cl_policy *p = pol(y);
	const struct cl_profile *lab = cl_policy_profile(p, "lab");
	struct cl_cert *c = make_cert(&(struct spec){ .key = k_rsa1024, .md = "sha1", .san = "" });
	struct cl_eval_ctx x = { .now = NOW, .key_mode = 0644, .key_location = "file:/k" };
	struct res r;

	(void)state;
	assert_non_null(lab);
	eval_ctx(&r, &p->base, c, &x);
	want(&r, CL_R_KEY_SIZE, true, "defaults");
	assert_int_equal(r.sev[CL_R_KEY_SIZE], CL_SEV_CRITICAL);
	want(&r, CL_R_SAN_MISSING, false, "san.missing: off");
	want(&r, CL_R_SIG_FORBIDDEN, true, "defaults");
	want(&r, CL_R_KEY_READABLE, true, "defaults");
	assert_int_equal(r.sev[CL_R_KEY_READABLE], CL_SEV_WARNING);
	eval_ctx(&r, lab, c, &x);
	want(&r, CL_R_KEY_SIZE, true, "lab");
	assert_int_equal(r.sev[CL_R_KEY_SIZE], CL_SEV_INFO);
	want(&r, CL_R_SAN_MISSING, false, "lab inherits san.missing: off");
	want(&r, CL_R_SIG_FORBIDDEN, false, "lab: sig.forbidden: off");
	want(&r, CL_R_KEY_READABLE, false, "lab: key.readable: off");
	memset(&r, 0, sizeof r);
	assert_int_equal(cl_policy_eval_context(lab, &x, collect, &r), CL_OK);
	want_none(&r, "lab: eval_context with key.readable off");
	cl_cert_free(c);
	cl_policy_free(p);
}

/* The callback's error stops the evaluation and is returned. */
static void test_callback_error(void **state)
{
	struct cl_policy *def = pol(NULL);
	struct cl_cert *c = make_cert(&(struct spec){ .key = k_rsa1024, .md = "sha1", .san = "" });
	struct cl_eval_ctx x = { .now = NOW, .key_mode = 0644, .shared_certs = 3 };
	struct res r;

	(void)state;
	memset(&r, 0, sizeof r);
	assert_int_equal(cl_policy_eval(&def->base, c, &x, collect, &r), CL_OK);
	assert_true(r.total >= 4);
	memset(&r, 0, sizeof r);
	r.stop_after = 1;
	assert_int_equal(cl_policy_eval(&def->base, c, &x, collect, &r), CL_ERR);
	assert_int_equal(r.total, 1);
	memset(&r, 0, sizeof r);
	r.stop_after = 1;
	assert_int_equal(cl_policy_eval_context(&def->base, &x, collect, &r), CL_ERR);
	assert_int_equal(r.total, 1);
	cl_cert_free(c);
	cl_policy_free(def);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_table),
		cmocka_unit_test(test_default_policy),
		cmocka_unit_test(test_load_values),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_lines_nulls_duplicates),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_inheritance),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_rsa_roca_function),
		cmocka_unit_test(test_key_rules),
		cmocka_unit_test(test_key_exponent_roca),
		cmocka_unit_test(test_context_rules),
		cmocka_unit_test(test_signature_rules),
		cmocka_unit_test(test_issuer_rule),
		cmocka_unit_test(test_cabf_max_days),
		cmocka_unit_test(test_validity_cabf),
		cmocka_unit_test(test_validity_max),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_intermediate_expiry),
		cmocka_unit_test(test_san_rules),
		cmocka_unit_test(test_self_signed_and_ct),
		cmocka_unit_test(test_severity_overrides),
		cmocka_unit_test(test_callback_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
