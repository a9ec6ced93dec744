/*
 * libFuzzer target for cl_ocsp_evaluate (src/policy/revocation.c): any
 * bytes as the OCSP response for two fixed certificates (one good, one
 * revoked) of a fixed issuer, with and without a nonce. Checks the result
 * invariants besides "no crash, no leak". Seeds: real responses made by
 * `openssl ocsp` for this PKI (tests/data/mkrevocation-corpus.sh).
 */
#include <stdint.h>
#include "revocation_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char nonce[16] = "certledger-fuzz!";
	struct cl_rev_result res;
	int i, rc;

	init();
	for (i = 0; i < 4; i++) {
		rc = cl_ocsp_evaluate(data, size, leaf[i & 1], ca, (i & 2) ? nonce : NULL,
		                      sizeof nonce, FUZZ_NOW, 7 * 86400, &res);
		check(rc, &res, "ocsp");
	}
	return 0;
}
