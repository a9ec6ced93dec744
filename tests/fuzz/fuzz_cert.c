/*
 * libFuzzer target for the certificate parser (src/x509/cert.c).
 *
 * Besides "no crash, no leak, no out-of-bounds read" it checks the
 * model's invariants on every accepted input: required strings present
 * and valid UTF-8, the DER copy identical to the input, lists sane.
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I src
 *        tests/fuzz/fuzz_cert.c src/x509/cert.c src/core/{buf,der,log,util}.c -lcrypto
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/util.h"
#include "x509/cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, int required)
{
	if (s == NULL) {
		if (required)
			abort();
		return;
	}
	if (!cl_utf8_valid(s, strlen(s)))
		abort();
}

static void check_strv(const struct cl_strv *sv)
{
	size_t i;

	if (sv->n > 0 && sv->v == NULL)
		abort();
	for (i = 0; i < sv->n; i++)
		check_str(sv->v[i], 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_cert *c = NULL;
	const char *why = NULL;
	int rc;

	rc = cl_cert_parse_der(data, size, &c, &why);
	if (rc != CL_OK) {   /* allocation does not fail here: only PARSE is expected */
		if (rc != CL_ERR_PARSE || c != NULL || why == NULL)
			abort();
		return 0;
	}
	if (c->der_len != size || memcmp(c->der, data, size) != 0 ||
	    c->version < 1 || c->version > 3 || c->path_len < -1 || c->sct_count < 0 ||
	    c->key_bits < 0)
		abort();
	check_str(c->serial, 1);
	check_str(c->subject, 1);
	check_str(c->issuer, 1);
	check_str(c->subject_cn, 1);
	check_str(c->issuer_cn, 1);
	check_str(c->key_type, 1);
	check_str(c->key_oid, 1);
	check_str(c->sig_alg, 1);
	check_str(c->curve, 0);
	check_str(c->key_usage, 0);
	check_str(c->eku, 0);
	check_str(c->ski, 0);
	check_str(c->aki, 0);
	check_strv(&c->sans);
	check_strv(&c->ocsp);
	check_strv(&c->ca_issuers);
	check_strv(&c->crl);
	(void)cl_cert_days_left(c, 0);
	(void)cl_cert_validity_days(c->not_before, c->not_after);
	cl_cert_free(c);
	return 0;
}
