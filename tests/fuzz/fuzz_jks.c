/*
 * libFuzzer target for the JKS/JCEKS reader: every input is walked
 * without a password (all certificates reported) and with one (digest
 * check first). The callback touches every reported byte so that ASan
 * sees a read outside the input, and checks the alias is valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/util.h"
#include "x509/jks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_cb(void *arg, const char *alias, enum cl_jks_entry type,
                   int chain_index, const unsigned char *der, size_t len)
{
	unsigned *sum = arg;
	size_t i;

	if (!cl_utf8_valid(alias, strlen(alias)) || chain_index < 0 || len == 0 ||
	    (type != CL_JKS_PRIVATE_KEY && type != CL_JKS_TRUSTED_CERT))
		abort();
	for (i = 0; i < len; i++)
		*sum += der[i];
	return CL_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	unsigned sum = 0;
	bool jceks;
	int rc;

	rc = cl_jks_parse(data, size, NULL, fuzz_cb, &sum, &jceks, &why);
	if (rc == CL_ERR_PARSE && why == NULL)
		abort();
	if (rc != CL_OK && rc != CL_ERR_PARSE)
		abort();
	rc = cl_jks_parse(data, size, "changeit", fuzz_cb, &sum, NULL, &why);
	if (rc == CL_ERR_PARSE && why == NULL)
		abort();
	if (rc != CL_OK && rc != CL_ERR_PARSE && rc != CL_ERR_PASSWORD)
		abort();
	(void)cl_jks_sniff(data, size);
	return 0;
}
