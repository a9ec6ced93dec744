/*
 * Fuzz target for content recognition: PEM bundles, DER, PKCS#7, PKCS#12,
 * JKS/JCEKS and private keys, i.e. everything `discover files` reads.
 * A password is offered so the PKCS#12 decryption paths are reached too.
 */
#include <stdint.h>
#include <stdlib.h>
#include "x509/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pw[] = { "changeit" };
	struct cl_load_opts o = { pw, 1 };
	struct cl_load_result r;

	cl_load_buffer(data, size, &o, &r);
	cl_load_result_free(&r);
	return 0;
}
