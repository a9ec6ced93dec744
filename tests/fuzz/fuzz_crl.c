/*
 * libFuzzer target for cl_crl_evaluate (src/policy/revocation.c): any
 * bytes as the CRL (DER or PEM) for two fixed certificates (one good, one
 * revoked in the seeds) of a fixed issuer, at two times (current and past
 * the seeds' nextUpdate). Checks the result invariants besides "no crash,
 * no leak". Seeds: CRLs made by `openssl ca` for this PKI
 * (tests/data/mkrevocation-corpus.sh).
 */
#include <stdint.h>
#include "revocation_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_rev_result res;
	int i, rc;

	init();
	for (i = 0; i < 4; i++) {
		rc = cl_crl_evaluate(data, size, leaf[i & 1], ca,
		                     FUZZ_NOW + ((i & 2) ? 60 * 86400 : 0), &res);
		check(rc, &res, "crl");
	}
	return 0;
}
