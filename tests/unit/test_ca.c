/*
 * The internal CA (src/ca): init, open (passphrases, key modes), issuing
 * from generated keys and CSRs, the policy (name constraints, lifetime,
 * keys), revocation and CRLs, deployment as files, and issuing from
 * several threads. Results are checked with OpenSSL's own verifier
 * (X509_verify_cert, with the CRLs where it matters).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "testutil.h"
#include "ca/ca.h"
#include "ca/ca_int.h"
#include "core/util.h"

#define PASS "correct horse battery staple"

static char cadir[4200];
static struct cl_ca *CA;

static const char *const permit_dns[] = { "example.internal", ".svc.test" };
static const char *const permit_ip[] = { "10.0.0.0/8", "fd00:1::/32" };
static const char *const exclude_dns[] = { "secret.example.internal" };
static const char *const exclude_ip[] = { "10.9.0.0/16" };

static int group_setup(void **state)
{
	struct cl_ca_init_opts o = {
		.org = "Unit Test", .passphrase = PASS,
		.permit_dns = { permit_dns, 2 }, .permit_ip = { permit_ip, 2 },
		.exclude_dns = { exclude_dns, 1 }, .exclude_ip = { exclude_ip, 1 },
		.max_leaf_lifetime = 100 * 86400, .default_leaf_lifetime = 30 * 86400,
		.crl_url = "http://127.0.0.1:9/ca.crl", .issuer_url = "http://127.0.0.1:9/int.pem",
	};
	char err[512];

	(void)state;
	snprintf(cadir, sizeof cadir, "%s/ca", tu_tmpdir());
	o.dir = cadir;
	if (cl_ca_init(&o, err, sizeof err) != CL_OK) {
		fprintf(stderr, "init: %s\n", err);
		return -1;
	}
	if (cl_ca_open(&CA, cadir, PASS, CL_CA_OPEN_ROOT, err, sizeof err) != CL_OK) {
		fprintf(stderr, "open: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	cl_ca_close(CA);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

static X509_CRL *der_crl(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *c = d2i_X509_CRL(NULL, &p, (long)len);

	assert_non_null(c);
	return c;
}

/* X509_verify_cert of leaf against the CA's root; returns the verify error. */
static int verify(X509 *leaf, STACK_OF(X509_CRL) *crls, unsigned long flags, const char *host)
{
	const struct cl_ca_info *in = cl_ca_get0_info(CA);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int rc;

	assert_non_null(st);
	assert_non_null(ctx);
	X509_STORE_add_cert(st, (X509 *)in->root);
	sk_X509_push(untrusted, (X509 *)in->intermediate);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, untrusted), 1);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	if (crls)
		X509_STORE_CTX_set0_crls(ctx, crls);
	if (flags)
		X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), flags);
	if (host)
		X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0);
	rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_free(untrusted);
	return rc;
}

static const char *const *strs(const char *a, const char *b)
{
	static const char *v[2];

	v[0] = a;
	v[1] = b;
	return v;
}

/* Issues a generated-key certificate for one DNS name; asserts success. */
static void issue_dns(const char *dns, struct cl_ca_issued *is)
{
	const char *v[1] = { dns };
	struct cl_ca_req r = { .dns = { v, 1 } };
	char err[512];
	int rc = cl_ca_issue(CA, &r, is, err, sizeof err);

	if (rc != CL_OK)
		fail_msg("issue %s: %d %s", dns, rc, err);
}

/* A CSR (PEM) for a new key with the given SANs ("DNS:a,IP:b") or none. */
static char *make_csr(const char *cn, const char *san, EVP_PKEY **keyout, bool corrupt)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	BIO *b = BIO_new(BIO_s_mem());
	char *pem, *data;
	long len;

	assert_non_null(k);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(req, n);
	X509_REQ_set_pubkey(req, k);
	if (san) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
		assert_non_null(e);
		sk_X509_EXTENSION_push(exts, e);
		X509_REQ_add_extensions(req, exts);
	}
	assert_true(X509_REQ_sign(req, k, EVP_sha256()) > 0);
	if (corrupt) {
		/* flip a bit of the signature: the last byte of the DER */
		unsigned char *der = NULL, *p;
		int l = i2d_X509_REQ(req, &der);
		const unsigned char *q;
		X509_REQ *r2;
		assert_true(l > 0);
		der[l - 1] ^= 0x01;
		q = p = der;
		r2 = d2i_X509_REQ(NULL, &q, l);
		assert_non_null(r2);
		X509_REQ_free(req);
		req = r2;
		OPENSSL_free(p);
	}
	PEM_write_bio_X509_REQ(b, req);
	len = BIO_get_mem_data(b, &data);
	pem = strndup(data, (size_t)len);
	BIO_free(b);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(req);
	if (keyout)
		*keyout = k;
	else
		EVP_PKEY_free(k);
	return pem;
}

static int file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (int)(st.st_mode & 07777);
}

/* ---- init and open ------------------------------------------------------------- */

static void test_layout(void **state)
{
	char p[4400], err[512];
	size_t len;
	unsigned char *key;
	struct cl_ca_init_opts o = { .dir = cadir, .passphrase = PASS };

	(void)state;
	assert_int_equal(file_mode(cadir), 0700);
	snprintf(p, sizeof p, "%s/root.key", cadir);
	assert_int_equal(file_mode(p), 0600);
	key = tu_read(p, &len);
	assert_non_null(strstr((char *)key, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
	free(key);
	snprintf(p, sizeof p, "%s/intermediate.key", cadir);
	assert_int_equal(file_mode(p), 0600);
	/* no temporary directory left beside it */
	{
		DIR *d = opendir(tu_tmpdir());
		struct dirent *e;
		while ((e = readdir(d)))
			assert_null(strstr(e->d_name, ".init-"));
		closedir(d);
	}
	/* a second init into the same directory is refused */
	assert_int_equal(cl_ca_init(&o, err, sizeof err), CL_ERR_USAGE);
	assert_non_null(strstr(err, "not empty"));
	assert_true(cl_ca_get0_info(CA)->encrypted);
	assert_int_equal(cl_ca_get0_info(CA)->permit_dns.n, 2);
	assert_string_equal(cl_ca_get0_info(CA)->permit_ip.v[1], "fd00:1::/32");
	assert_string_equal(cl_ca_get0_info(CA)->exclude_ip.v[0], "10.9.0.0/16");
}

static void test_open_passphrase(void **state)
{
	struct cl_ca *ca = NULL;
	char err[512];

	(void)state;
	assert_int_equal(cl_ca_open(&ca, cadir, "wrong", 0, err, sizeof err), CL_ERR_PASSWORD);
	assert_null(ca);
	assert_non_null(strstr(err, "wrong passphrase"));
	assert_null(strstr(err, "wrong:"));
	assert_int_equal(cl_ca_open(&ca, cadir, NULL, 0, err, sizeof err), CL_ERR_LOCKED);
	assert_int_equal(cl_ca_open(&ca, cadir, NULL, CL_CA_OPEN_NOKEY, err, sizeof err), CL_OK);
	assert_true(cl_ca_get0_info(ca)->encrypted);
	{
		/* without the key: listing yes, issuing no */
		struct cl_ca_issued is;
		const char *v[1] = { "a.example.internal" };
		struct cl_ca_req r = { .dns = { v, 1 } };
		assert_int_equal(cl_ca_issue(ca, &r, &is, err, sizeof err), CL_ERR_USAGE);
	}
	cl_ca_close(ca);
	{
		char other[4400];
		snprintf(other, sizeof other, "%s/none", tu_tmpdir());
		assert_int_equal(cl_ca_open(&ca, other, PASS, 0, err, sizeof err), CL_ERR_NOTFOUND);
		assert_non_null(strstr(err, "ca init"));
	}
}

static void test_key_mode_refused(void **state)
{
	struct cl_ca_init_opts o = { .passphrase = NULL, .key_type = "ec:P-384" };
	struct cl_ca *ca = NULL;
	char dir[4400], key[4500], err[512];

	(void)state;
	snprintf(dir, sizeof dir, "%s/plain", tu_tmpdir());
	o.dir = dir;
	assert_int_equal(cl_ca_init(&o, err, sizeof err), CL_OK);
	snprintf(key, sizeof key, "%s/intermediate.key", dir);
	{
		size_t len;
		unsigned char *k = tu_read(key, &len);
		assert_non_null(strstr((char *)k, "-----BEGIN PRIVATE KEY-----"));
		free(k);
	}
	assert_int_equal(cl_ca_open(&ca, dir, NULL, 0, err, sizeof err), CL_OK);
	assert_false(cl_ca_get0_info(ca)->encrypted);
	assert_string_equal(cl_ca_get0_info(ca)->key_type, "ec:P-384");
	{
		/* a P-384 CA signs with SHA-384 */
		struct cl_ca_issued is;
		const char *v[1] = { "anything.test" };
		struct cl_ca_req r = { .dns = { v, 1 } };
		X509 *x;
		assert_int_equal(cl_ca_issue(ca, &r, &is, err, sizeof err), CL_OK);
		x = pem_cert(is.cert_pem);
		assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
		X509_free(x);
		cl_ca_issued_free(&is);
	}
	cl_ca_close(ca);
	chmod(key, 0640);
	assert_int_equal(cl_ca_open(&ca, dir, NULL, 0, err, sizeof err), CL_ERR_IO);
	assert_non_null(strstr(err, "chmod 600"));
	/* bad options */
	o.key_type = "dsa:1024";
	assert_int_equal(cl_ca_init(&o, err, sizeof err), CL_ERR_USAGE);
	o.key_type = NULL;
	o.passphrase = "";
	assert_int_equal(cl_ca_init(&o, err, sizeof err), CL_ERR_USAGE);
	o.passphrase = NULL;
	o.max_leaf_lifetime = 4000 * 86400LL;
	assert_int_equal(cl_ca_init(&o, err, sizeof err), CL_ERR_USAGE);
}

static void test_init_bad_constraints(void **state)
{
	static const struct { const char *dns, *ip, *want; } t[] = {
		{ "bad_name.test", NULL, "not a valid DNS name" },
		{ "*.wild.test", NULL, "not a valid DNS name" },
		{ NULL, "10.1.0.0/8", "did you mean 10.0.0.0/8" },
		{ NULL, "10.0.0.0/33", "not an address block" },
		{ NULL, "fd00::/200", "not an address block" },
	};
	char dir[4400], err[512];
	size_t i;

	(void)state;
	snprintf(dir, sizeof dir, "%s/badnc", tu_tmpdir());
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		struct cl_ca_init_opts o = { .dir = dir };
		const char *d[1] = { t[i].dns }, *a[1] = { t[i].ip };
		if (t[i].dns)
			o.permit_dns = (struct cl_ca_strs){ d, 1 };
		if (t[i].ip)
			o.exclude_ip = (struct cl_ca_strs){ a, 1 };
		assert_int_equal(cl_ca_init(&o, err, sizeof err), CL_ERR_USAGE);
		if (!strstr(err, t[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, t[i].want);
		assert_int_equal(access(dir, F_OK), -1);
	}
}

/* ---- issuing ---------------------------------------------------------------------- */

static void test_issue_generated(void **state)
{
	const char *ips[1] = { "10.1.2.3" };
	struct cl_ca_req r = { .dns = { strs("www.example.internal", "API.svc.test"), 2 },
	                       .ip = { ips, 1 }, .client_auth = true };
	struct cl_ca_issued is;
	char err[512], buf[256];
	X509 *x;
	EVP_PKEY *k;
	BIO *b;
	int crit;

	(void)state;
	assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_OK);
	assert_int_equal(strlen(is.serial), 32);
	assert_true(is.serial[0] >= '4' && is.serial[0] <= '7');
	assert_int_equal(strlen(is.fingerprint), 64);
	assert_non_null(is.key_pem);
	assert_string_equal(is.chain_pem, cl_ca_get0_info(CA)->intermediate_pem);
	assert_int_equal(is.not_after - is.not_before, 30 * 86400);
	x = pem_cert(is.cert_pem);
	assert_int_equal(verify(x, NULL, 0, "www.example.internal"), X509_V_OK);
	assert_int_equal(verify(x, NULL, 0, "api.svc.test"), X509_V_OK);
	assert_int_equal(verify(x, NULL, 0, "other.example.internal"),
	                 X509_V_ERR_HOSTNAME_MISMATCH);
	/* the generated key belongs to the certificate */
	b = BIO_new_mem_buf(is.key_pem, -1);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(k);
	assert_int_equal(X509_check_private_key(x, k), 1);
	EVP_PKEY_free(k);
	/* extensions */
	assert_int_equal(X509_check_ca(x), 0);
	{
		BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
		assert_non_null(bc);
		assert_int_equal(crit, 1);
		assert_false(bc->ca);
		BASIC_CONSTRAINTS_free(bc);
	}
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
	                 X509_get0_subject_key_id(cl_ca_get0_info(CA)->intermediate)), 0);
	{
		STACK_OF(DIST_POINT) *dp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL,
		                                            NULL);
		AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
		assert_non_null(dp);
		assert_non_null(aia);
		sk_DIST_POINT_pop_free(dp, DIST_POINT_free);
		AUTHORITY_INFO_ACCESS_free(aia);
	}
	/* the CN is the first name; SANs lowercased */
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof buf);
	assert_string_equal(buf, "www.example.internal");
	{
		char hex[41];
		cl_ca_serial_hex(X509_get0_serialNumber(x), hex, sizeof hex);
		assert_string_equal(hex, is.serial);
	}
	/* what the index says */
	assert_int_equal(cl_ca_serial_of(CA, (unsigned char *)is.cert_pem, strlen(is.cert_pem), buf,
	                                 sizeof buf, err, sizeof err), CL_OK);
	assert_string_equal(buf, is.serial);
	X509_free(x);
	cl_ca_issued_free(&is);
}

static int list_cb(void *arg, const struct cl_ca_entry *e)
{
	char *sans = arg;

	snprintf(sans, 256, "%s|%s|%s", e->cn, e->sans, e->key_type);
	return 0;
}

static void test_issue_csr(void **state)
{
	EVP_PKEY *k = NULL;
	char *pem = make_csr("db.example.internal", "DNS:db.example.internal,IP:10.2.0.1", &k,
	                     false);
	struct cl_ca_req r = { .csr = (unsigned char *)pem, .csr_len = strlen(pem) };
	struct cl_ca_issued is;
	char err[512], row[256];
	X509 *x;

	(void)state;
	assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_OK);
	assert_null(is.key_pem);
	x = pem_cert(is.cert_pem);
	assert_int_equal(X509_check_private_key(x, k), 1);
	assert_int_equal(verify(x, NULL, 0, "db.example.internal"), X509_V_OK);
	assert_int_equal(cl_ca_list(CA, CL_CA_ALL, is.serial, 0, list_cb, row, err, sizeof err),
	                 CL_OK);
	assert_string_equal(row, "db.example.internal|DNS:db.example.internal,IP:10.2.0.1|EC P-256");
	X509_free(x);
	cl_ca_issued_free(&is);
	free(pem);
	/* names given with the CSR replace its own */
	pem = make_csr("db.example.internal", "email:a@b.test", NULL, false);
	r.csr = (unsigned char *)pem;
	r.csr_len = strlen(pem);
	assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_ERR_USAGE);
	assert_non_null(strstr(err, "email:a@b.test"));
	r.dns = (struct cl_ca_strs){ strs("db2.example.internal", NULL), 1 };
	assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_OK);
	assert_int_equal(cl_ca_list(CA, CL_CA_ALL, is.serial, 0, list_cb, row, err, sizeof err),
	                 CL_OK);
	assert_string_equal(row, "db2.example.internal|DNS:db2.example.internal|EC P-256");
	cl_ca_issued_free(&is);
	r.cn = "Database two";
	assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_OK);
	assert_int_equal(cl_ca_list(CA, CL_CA_ALL, is.serial, 0, list_cb, row, err, sizeof err),
	                 CL_OK);
	assert_string_equal(row, "Database two|DNS:db2.example.internal|EC P-256");
	cl_ca_issued_free(&is);
	free(pem);
	EVP_PKEY_free(k);
}

static void test_bad_csr(void **state)
{
	char *pem = make_csr("x.example.internal", "DNS:x.example.internal", NULL, true);
	struct cl_ca_req r = { .csr = (unsigned char *)pem, .csr_len = strlen(pem) };
	struct cl_ca_issued is;
	struct cl_ca_csr *c;
	char err[512];

	(void)state;
	assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_ERR_PARSE);
	assert_non_null(strstr(err, "signature does not verify"));
	free(pem);
	assert_int_equal(cl_ca_csr_parse((const unsigned char *)"hello", 5, &c, err, sizeof err),
	                 CL_ERR_PARSE);
	assert_int_equal(cl_ca_csr_parse((const unsigned char *)"", 0, &c, err, sizeof err),
	                 CL_ERR_PARSE);
	{
		static unsigned char big[CL_CA_MAX_CSR + 1];
		assert_int_equal(cl_ca_csr_parse(big, sizeof big, &c, err, sizeof err),
		                 CL_ERR_TOOBIG);
	}
	/* DER with trailing bytes */
	pem = make_csr("x.example.internal", NULL, NULL, false);
	{
		BIO *b = BIO_new_mem_buf(pem, -1);
		X509_REQ *q = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
		unsigned char *der = NULL;
		int l = i2d_X509_REQ(q, &der);
		unsigned char *two = malloc((size_t)l + 1);
		memcpy(two, der, (size_t)l);
		two[l] = 0;
		assert_int_equal(cl_ca_csr_parse(der, (size_t)l, &c, err, sizeof err), CL_OK);
		assert_string_equal(c->cn, "x.example.internal");
		assert_int_equal(c->ndns, 0);
		cl_ca_csr_free(c);
		assert_int_equal(cl_ca_csr_parse(two, (size_t)l + 1, &c, err, sizeof err),
		                 CL_ERR_PARSE);
		free(two);
		OPENSSL_free(der);
		X509_REQ_free(q);
		BIO_free(b);
	}
	free(pem);
}

static void test_constraints(void **state)
{
	static const struct { const char *dns, *ip, *want; } t[] = {
		{ "www.example.internal", NULL, NULL },
		{ "example.internal", NULL, NULL },
		{ "*.app.example.internal", NULL, NULL },
		{ "a.b.svc.test", NULL, NULL },
		{ NULL, "10.200.1.1", NULL },
		{ NULL, "fd00:1:2::5", NULL },
		{ "www.other.test", NULL, "DNS name www.other.test is outside" },
		{ "svc.test", NULL, "DNS name svc.test is outside" },       /* subdomains only */
		{ "xexample.internal", NULL, "outside" },
		{ "secret.example.internal", NULL, "inside the excluded name secret.example.internal" },
		{ "a.secret.example.internal", NULL, "inside the excluded name" },
		{ "*.example.internal", NULL, "would cover the excluded name secret.example.internal" },
		{ NULL, "192.168.1.1", "IP address 192.168.1.1 is outside" },
		{ NULL, "10.9.1.1", "IP address 10.9.1.1 is inside the excluded range 10.9.0.0/16" },
		{ NULL, "fd00:2::1", "IP address fd00:2::1 is outside" },
		{ "bad_name.example.internal", NULL, "not a valid DNS name" },
		{ "-x.example.internal", NULL, "not a valid DNS name" },
		{ "a..example.internal", NULL, "empty label" },
		{ "x.example.internal.", NULL, "ends with a dot" },
		{ "w*.example.internal", NULL, "wildcard" },
		{ NULL, "10.1.1", "not an IP address" },
	};
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		const char *d[1] = { t[i].dns }, *a[1] = { t[i].ip };
		struct cl_ca_req r = { .cn = "constraint test" };
		struct cl_ca_issued is;
		int rc;
		if (t[i].dns)
			r.dns = (struct cl_ca_strs){ d, 1 };
		if (t[i].ip)
			r.ip = (struct cl_ca_strs){ a, 1 };
		err[0] = '\0';
		rc = cl_ca_issue(CA, &r, &is, err, sizeof err);
		if (!t[i].want) {
			if (rc != CL_OK)
				fail_msg("case %zu (%s%s): refused: %s", i, t[i].dns ? t[i].dns : "",
				         t[i].ip ? t[i].ip : "", err);
			/* and OpenSSL's verifier agrees */
			X509 *x = pem_cert(is.cert_pem);
			assert_int_equal(verify(x, NULL, 0, NULL), X509_V_OK);
			X509_free(x);
			cl_ca_issued_free(&is);
		} else {
			assert_int_equal(rc, CL_ERR_USAGE);
			if (!strstr(err, t[i].want))
				fail_msg("case %zu: '%s' lacks '%s'", i, err, t[i].want);
			assert_null(is.cert_pem);
		}
	}
	/* a CN that is a host name must obey the constraints too */
	{
		const char *a[1] = { "10.0.0.1" };
		struct cl_ca_req r = { .cn = "www.outside.test", .ip = { a, 1 } };
		struct cl_ca_issued is;
		assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_ERR_USAGE);
		assert_non_null(strstr(err, "www.outside.test"));
	}
}

static void test_lifetime(void **state)
{
	struct cl_ca_req r = { .dns = { strs("life.example.internal", NULL), 1 } };
	struct cl_ca_issued is;
	char err[512];

	(void)state;
	r.lifetime = 101 * 86400;
	assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_ERR_USAGE);
	assert_non_null(strstr(err, "101 days is above the maximum"));
	assert_non_null(strstr(err, "100 days"));
	r.lifetime = 100 * 86400;
	assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_OK);
	assert_int_equal(is.not_after - is.not_before, 100 * 86400);
	cl_ca_issued_free(&is);
	/* near the intermediate's end: refused, not shortened */
	r.now = cl_ca_get0_info(CA)->intermediate_not_after - 10 * 86400;
	r.lifetime = 30 * 86400;
	assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_ERR_USAGE);
	assert_non_null(strstr(err, "outlive the intermediate"));
	/* key types */
	r.now = 0;
	r.lifetime = 0;
	r.key_type = "rsa:1024";
	assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_ERR_USAGE);
	r.key_type = "rsa:2048";
	assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_OK);
	{
		X509 *x = pem_cert(is.cert_pem);
		assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
		assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 2048);
		X509_free(x);
	}
	cl_ca_issued_free(&is);
}

/* ---- revocation --------------------------------------------------------------- */

static void test_revoke_crl(void **state)
{
	struct cl_ca_issued a, b;
	STACK_OF(X509_CRL) *crls;
	unsigned char *der = NULL, *rder = NULL;
	size_t len, rlen;
	char err[512];
	bool already;
	X509 *xa, *xb;
	X509_CRL *crl, *rcrl;
	struct cl_ca_counts c0, c1;
	long n0;

	(void)state;
	assert_int_equal(cl_ca_counts(CA, 0, &c0, err, sizeof err), CL_OK);
	n0 = c0.crl_number;
	issue_dns("revoked.example.internal", &a);
	issue_dns("kept.example.internal", &b);
	xa = pem_cert(a.cert_pem);
	xb = pem_cert(b.cert_pem);
	assert_int_equal(cl_ca_revoke(CA, a.serial, CL_CA_KEY_COMPROMISE, 0, &already, err,
	                              sizeof err), CL_OK);
	assert_false(already);
	assert_int_equal(cl_ca_revoke(CA, a.serial, CL_CA_SUPERSEDED, 0, &already, err,
	                              sizeof err), CL_OK);
	assert_true(already);
	assert_int_equal(cl_ca_revoke(CA, "00:11:22", 0, 0, NULL, err, sizeof err),
	                 CL_ERR_NOTFOUND);
	assert_int_equal(cl_ca_revoke(CA, "xyz", 0, 0, NULL, err, sizeof err), CL_ERR_USAGE);
	assert_int_equal(cl_ca_revoke(CA, b.serial, 7, 0, NULL, err, sizeof err), CL_ERR_USAGE);

	assert_int_equal(cl_ca_crl(CA, false, 7 * 86400, 0, &der, &len, err, sizeof err), CL_OK);
	crl = der_crl(der, len);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(cl_ca_get0_info(CA)->intermediate)),
	                 1);
	{
		X509_REVOKED *rv = NULL;
		ASN1_ENUMERATED *why;
		assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, xa), 1);
		why = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
		assert_non_null(why);
		assert_int_equal(ASN1_ENUMERATED_get(why), 1);
		ASN1_ENUMERATED_free(why);
		assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, xb), 0);
	}
	{
		ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
		assert_int_equal(ASN1_INTEGER_get(num), n0 + 1);
		ASN1_INTEGER_free(num);
		assert_int_equal(ASN1_TIME_diff(&(int){ 0 }, &(int){ 0 }, X509_CRL_get0_lastUpdate(crl),
		                                X509_CRL_get0_nextUpdate(crl)), 1);
	}
	/* the verifier with the CRL: revoked and not revoked */
	crls = sk_X509_CRL_new_null();
	sk_X509_CRL_push(crls, crl);
	assert_int_equal(verify(xa, crls, X509_V_FLAG_CRL_CHECK, NULL), X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify(xb, crls, X509_V_FLAG_CRL_CHECK, NULL), X509_V_OK);
	/* without the root's CRL, checking every level fails; with it, passes */
	assert_int_equal(verify(xb, crls, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL, NULL),
	                 X509_V_ERR_UNABLE_TO_GET_CRL);
	assert_int_equal(cl_ca_crl(CA, true, 30 * 86400, 0, &rder, &rlen, err, sizeof err), CL_OK);
	rcrl = der_crl(rder, rlen);
	assert_int_equal(X509_CRL_verify(rcrl, X509_get0_pubkey(cl_ca_get0_info(CA)->root)), 1);
	sk_X509_CRL_push(crls, rcrl);
	assert_int_equal(verify(xb, crls, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL, NULL),
	                 X509_V_OK);
	assert_int_equal(verify(xa, crls, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL, NULL),
	                 X509_V_ERR_CERT_REVOKED);
	assert_int_equal(cl_ca_counts(CA, 0, &c1, err, sizeof err), CL_OK);
	assert_int_equal(c1.crl_number, n0 + 1);
	assert_int_equal(c1.root_crl_number, c0.root_crl_number + 1);
	assert_int_equal(c1.revoked, c0.revoked + 1);
	assert_int_equal(c1.issued, c0.issued + 2);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(der);
	free(rder);
	/* a second CRL has the next number */
	assert_int_equal(cl_ca_crl(CA, false, 3600, 0, &der, &len, err, sizeof err), CL_OK);
	crl = der_crl(der, len);
	{
		ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
		assert_int_equal(ASN1_INTEGER_get(num), n0 + 2);
		ASN1_INTEGER_free(num);
	}
	X509_CRL_free(crl);
	free(der);
	X509_free(xa);
	X509_free(xb);
	cl_ca_issued_free(&a);
	cl_ca_issued_free(&b);
}

static void test_serial_norm(void **state)
{
	static const struct { const char *in, *out; } t[] = {
		{ "4A:0B", "4a0b" }, { "abc", "0abc" }, { "00:4a", "4a" }, { "00:8a", "008a" },
		{ "00", "00" }, { "x1", NULL }, { "", NULL },
		{ "112233445566778899aabbccddeeff00112233445", NULL },
	};
	char out[41];

	(void)state;
	for (size_t i = 0; i < CL_ARRAY_LEN(t); i++) {
		int rc = cl_ca_serial_norm(t[i].in, out, sizeof out);
		if (t[i].out) {
			assert_int_equal(rc, CL_OK);
			assert_string_equal(out, t[i].out);
		} else {
			assert_int_equal(rc, CL_ERR_USAGE);
		}
	}
	{
		int r;
		assert_int_equal(cl_ca_reason_parse("KEYCOMPROMISE", &r), CL_OK);
		assert_int_equal(r, 1);
		assert_int_equal(cl_ca_reason_parse("certificateHold", &r), CL_ERR_USAGE);
		assert_string_equal(cl_ca_reason_name(5), "cessationOfOperation");
	}
}

/* ---- files ------------------------------------------------------------------------ */

static void test_deploy(void **state)
{
	struct cl_ca_issued is;
	char prefix[4400], p[4500], err[512];
	unsigned char *leaf, *chain, *full;
	size_t l1, l2, l3;
	DIR *d;
	struct dirent *e;
	int n = 0;

	(void)state;
	snprintf(prefix, sizeof prefix, "%s/deploy", tu_tmpdir());
	mkdir(prefix, 0755);
	snprintf(prefix, sizeof prefix, "%s/deploy/web", tu_tmpdir());
	issue_dns("web.example.internal", &is);
	assert_int_equal(cl_ca_deploy(&is, prefix, err, sizeof err), CL_OK);
	snprintf(p, sizeof p, "%s.key", prefix);
	assert_int_equal(file_mode(p), 0600);
	snprintf(p, sizeof p, "%s.pem", prefix);
	assert_int_equal(file_mode(p), 0644);
	leaf = tu_read(p, &l1);
	snprintf(p, sizeof p, "%s.chain.pem", prefix);
	chain = tu_read(p, &l2);
	snprintf(p, sizeof p, "%s.fullchain.pem", prefix);
	full = tu_read(p, &l3);
	assert_string_equal((char *)leaf, is.cert_pem);
	assert_string_equal((char *)chain, is.chain_pem);
	assert_int_equal(l3, l1 + l2);
	assert_memory_equal(full, leaf, l1);
	free(leaf);
	free(chain);
	free(full);
	/* again over the same files, from a CSR: no key written, nothing left over */
	cl_ca_issued_free(&is);
	{
		char *pem = make_csr("web.example.internal", NULL, NULL, false);
		struct cl_ca_req r = { .csr = (unsigned char *)pem, .csr_len = strlen(pem) };
		assert_int_equal(cl_ca_issue(CA, &r, &is, err, sizeof err), CL_OK);
		free(pem);
	}
	assert_int_equal(cl_ca_deploy(&is, prefix, err, sizeof err), CL_OK);
	snprintf(p, sizeof p, "%s/deploy", tu_tmpdir());
	d = opendir(p);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		assert_null(strstr(e->d_name, ".tmp."));
		n++;
	}
	closedir(d);
	assert_int_equal(n, 4);
	/* an unwritable place: an error naming the file */
	snprintf(p, sizeof p, "%s/nowhere/web", tu_tmpdir());
	assert_int_equal(cl_ca_deploy(&is, p, err, sizeof err), CL_ERR_IO);
	assert_non_null(strstr(err, "nowhere/web.pem"));
	cl_ca_issued_free(&is);
}

/* ---- threads ---------------------------------------------------------------------- */

#define NTHREADS 4
#define PER_THREAD 25

struct worker {
	int id;
	char serials[PER_THREAD][33];
	int failures;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	char name[64], err[512];

	for (int i = 0; i < PER_THREAD; i++) {
		const char *v[1] = { name };
		struct cl_ca_req r = { .dns = { v, 1 } };
		struct cl_ca_issued is;
		snprintf(name, sizeof name, "t%d-%d.example.internal", w->id, i);
		if (cl_ca_issue(CA, &r, &is, err, sizeof err) != CL_OK) {
			w->failures++;
			continue;
		}
		{
			X509 *x = pem_cert(is.cert_pem);
			if (verify(x, NULL, 0, name) != X509_V_OK)
				w->failures++;
			X509_free(x);
		}
		memcpy(w->serials[i], is.serial, sizeof is.serial);
		cl_ca_issued_free(&is);
	}
	return NULL;
}

static int cmp_serial(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_parallel(void **state)
{
	static struct worker w[NTHREADS];
	static char all[NTHREADS * PER_THREAD][33];
	pthread_t th[NTHREADS];
	struct cl_ca_counts c0, c1;
	char err[256];
	int i, j;

	(void)state;
	assert_int_equal(cl_ca_counts(CA, 0, &c0, err, sizeof err), CL_OK);
	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
		for (j = 0; j < PER_THREAD; j++)
			memcpy(all[i * PER_THREAD + j], w[i].serials[j], 33);
	}
	qsort(all, NTHREADS * PER_THREAD, 33, cmp_serial);
	for (i = 1; i < NTHREADS * PER_THREAD; i++)
		assert_string_not_equal(all[i - 1], all[i]);
	assert_int_equal(cl_ca_counts(CA, 0, &c1, err, sizeof err), CL_OK);
	assert_int_equal(c1.issued, c0.issued + NTHREADS * PER_THREAD);
}

/* Index commits of concurrent issuers are grouped; a serial already there is a dup. */
static void *inserter(void *arg)
{
	int id = (int)(intptr_t)arg, dups = 0;
	char serial[40], err[256];

	for (int k = 0; k <= 10; k++) {
		struct cl_ca_entry e = { .serial = serial, .fingerprint = "00", .cn = "x",
		                         .sans = "DNS:x", .key_type = "EC P-256", .not_after = 1 };
		bool dup = true;
		/* the last round: every thread tries the same serial */
		snprintf(serial, sizeof serial, k == 10 ? "7fff" : "7e%02d%02d", id, k);
		if (cl_ca_db_insert(CA, &e, (const unsigned char *)"\x30\x00", 2, &dup, err,
		                    sizeof err) != CL_OK)
			return (void *)(intptr_t)-1;
		dups += dup;
	}
	return (void *)(intptr_t)dups;
}

static void test_group_commit(void **state)
{
	pthread_t th[NTHREADS];
	struct cl_ca_counts c0, c1;
	char err[256];
	intptr_t dups = 0;
	void *r;
	int i;

	(void)state;
	assert_int_equal(cl_ca_counts(CA, 0, &c0, err, sizeof err), CL_OK);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, inserter, (void *)(intptr_t)i), 0);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], &r);
		assert_true((intptr_t)r >= 0);
		dups += (intptr_t)r;
	}
	assert_int_equal(dups, NTHREADS - 1);
	assert_int_equal(cl_ca_counts(CA, 0, &c1, err, sizeof err), CL_OK);
	assert_int_equal(c1.issued, c0.issued + NTHREADS * 10 + 1);
}

/* ---- names ------------------------------------------------------------------------ */

static void test_name_match(void **state)
{
	static const struct { const char *name, *c; bool in; } t[] = {
		{ "a.example.com", "example.com", true },
		{ "example.com", "example.com", true },
		{ "aexample.com", "example.com", false },
		{ "example.com", ".example.com", false },
		{ "a.example.com", ".example.com", true },
		{ "*.example.com", "example.com", true },
		{ "com", "example.com", false },
	};

	(void)state;
	for (size_t i = 0; i < CL_ARRAY_LEN(t); i++)
		if (cl_ca_dns_within(t[i].name, t[i].c) != t[i].in)
			fail_msg("%s within %s", t[i].name, t[i].c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_open_passphrase),
		cmocka_unit_test(test_key_mode_refused),
		cmocka_unit_test(test_init_bad_constraints),
		cmocka_unit_test(test_issue_generated),
		cmocka_unit_test(test_issue_csr),
		cmocka_unit_test(test_bad_csr),
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_lifetime),
		cmocka_unit_test(test_revoke_crl),
		cmocka_unit_test(test_serial_norm),
		cmocka_unit_test(test_deploy),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_group_commit),
		cmocka_unit_test(test_name_match),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
