/*
 * libFuzzer target for the CA's CSR reader (src/ca/csr.c): any bytes as a
 * PEM or DER certificate signing request.
 *
 * Besides "no crash, no leak" it checks what an accepted request holds: a
 * public key, every name valid UTF-8 without NUL, counts within
 * CL_CA_MAX_NAMES, and an error message for every refusal. Seeds
 * (tests/fuzz/corpus/fuzz_csr, made with openssl req): EC and RSA requests
 * in PEM and DER, with DNS/IP/email/URI names, without names, with text
 * around the PEM block, a bad signature, truncated and trailing bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ca/ca.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_strs(char **v, size_t n)
{
	if (n > CL_CA_MAX_NAMES || (n && !v))
		abort();
	for (size_t i = 0; i < n; i++)
		if (!v[i] || !cl_utf8_valid(v[i], strlen(v[i])))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_ca_csr *c = NULL;
	char err[512];
	int rc;

	err[0] = '\0';
	rc = cl_ca_csr_parse(data, size, &c, err, sizeof err);
	if (rc != CL_OK) {
		if ((rc != CL_ERR_PARSE && rc != CL_ERR_TOOBIG && rc != CL_ERR_NOMEM) || c ||
		    !err[0])
			abort();
		return 0;
	}
	if (!c || !c->pkey)
		abort();
	if (c->cn && !cl_utf8_valid(c->cn, strlen(c->cn)))
		abort();
	check_strs(c->dns, c->ndns);
	check_strs(c->ip, c->nip);
	check_strs(c->other, c->nother);
	cl_ca_csr_free(c);
	return 0;
}
