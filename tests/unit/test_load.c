/*
 * Content recognition (x509/load.c): what each kind of file yields, and
 * that certificate material which is not a certificate (CRL, CSR) is not
 * reported as malformed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "x509/load.h"

static const char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tu_tmpdir();
	tu_sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	      "-keyout k.pem -out c.pem -subj /CN=load.example.test 2>/dev/null && "
	      "openssl x509 -in c.pem -outform DER -out c.der && "
	      "(echo 'text before'; cat c.pem; echo 'between'; cat c.pem; echo after) > bundle.pem && "
	      "openssl pkcs12 -export -in c.pem -inkey k.pem -passout pass:secret -out s.p12 && "
	      "openssl pkcs12 -export -in c.pem -inkey k.pem -passout pass: -out open.p12 && "
	      "openssl pkcs8 -topk8 -in k.pem -passout pass:x -out enc.pem && "
	      "openssl req -new -key k.pem -subj /CN=x -out csr.pem && "
	      "openssl req -new -key k.pem -subj /CN=x -outform DER -out csr.der && "
	      "head -c 400 c.pem > trunc.pem && : > empty && head -c 3000 /bin/true > bin", dir);
	return 0;
}

static void load_file(const char *name, const char *const *pw, size_t npw,
                      struct cl_load_result *r)
{
	struct cl_load_opts o = { pw, npw };
	char path[4096];
	unsigned char *buf;
	size_t len;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	buf = tu_read(path, &len);
	cl_load_buffer(buf, len, &o, r);
	free(buf);
}

static void test_table(void **state)
{
	static const char *const secret[] = { "wrong", "secret" };
	static const char *const wrong[] = { "wrong" };
	static const struct {
		const char *file;
		const char *const *pw;
		size_t npw;
		const char *format;   /* NULL: nothing recognised */
		size_t ncerts, nkeys;
		int status, nother;
		const char *problem;  /* substring, or NULL */
	} t[] = {
		{ "c.pem", NULL, 0, "PEM", 1, 0, CL_OK, 0, NULL },
		{ "c.der", NULL, 0, "DER", 1, 0, CL_OK, 0, NULL },
		{ "bundle.pem", NULL, 0, "PEM", 2, 0, CL_OK, 0, NULL },
		{ "k.pem", NULL, 0, "PEM", 0, 1, CL_OK, 0, NULL },
		{ "enc.pem", NULL, 0, "PEM", 0, 1, CL_OK, 0, NULL },
		{ "s.p12", NULL, 0, "PKCS12", 0, 0, CL_ERR_LOCKED, 0, "locked" },
		{ "s.p12", wrong, 1, "PKCS12", 0, 0, CL_ERR_PASSWORD, 0, "wrong password" },
		{ "s.p12", secret, 2, "PKCS12", 1, 1, CL_OK, 0, NULL },
		{ "open.p12", NULL, 0, "PKCS12", 1, 1, CL_OK, 0, NULL },
		{ "csr.pem", NULL, 0, "PEM", 0, 0, CL_OK, 1, NULL },
		{ "csr.der", NULL, 0, "DER", 0, 0, CL_OK, 1, NULL },
		{ "trunc.pem", NULL, 0, "PEM", 0, 0, CL_ERR_PARSE, 0, "truncated" },
		{ "empty", NULL, 0, NULL, 0, 0, CL_OK, 0, "empty file" },
		{ "bin", NULL, 0, NULL, 0, 0, CL_OK, 0, "not a certificate" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		struct cl_load_result r;
		print_message("load %s (%zu passwords)\n", t[i].file, t[i].npw);
		load_file(t[i].file, t[i].pw, t[i].npw, &r);
		if (t[i].format)
			assert_string_equal(r.format, t[i].format);
		else
			assert_null(r.format);
		assert_int_equal(r.ncerts, t[i].ncerts);
		assert_int_equal(r.nkeys, t[i].nkeys);
		assert_int_equal(r.status, t[i].status);
		assert_int_equal(r.nother, t[i].nother);
		if (t[i].problem)
			assert_non_null(strstr(r.problem, t[i].problem));
		cl_load_result_free(&r);
	}
}

static void test_keys_match_certs(void **state)
{
	struct cl_load_result c, k, e;

	(void)state;
	load_file("c.pem", NULL, 0, &c);
	load_file("k.pem", NULL, 0, &k);
	load_file("enc.pem", NULL, 0, &e);
	assert_true(k.keys[0].have_spki);
	assert_false(k.keys[0].encrypted);
	assert_string_equal(k.keys[0].key_type, "EC");
	/* matched by public key: the key's SPKI hash is the certificate's */
	assert_memory_equal(k.keys[0].spki_sha256, c.certs[0].cert->spki_sha256, CL_SHA256_LEN);
	assert_true(e.keys[0].encrypted);
	assert_false(e.keys[0].have_spki);
	cl_load_result_free(&c);
	cl_load_result_free(&k);
	cl_load_result_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_keys_match_certs),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
