/*
 * libFuzzer target for the STARTTLS dialogues: the first byte picks the
 * protocol, the rest is what a hostile server sends, cut into reads at
 * every 0xff byte. Each step must be one of the defined outcomes, a send
 * must fit its buffer, and a failure must say why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "discover/starttls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct cl_stls *st, int step, const char *out, size_t outlen)
{
	switch (step) {
	case CL_STLS_WAIT:
	case CL_STLS_TLS:
		break;
	case CL_STLS_SEND:
		if (!out || outlen == 0 || outlen > sizeof st->out)
			abort();
		break;
	case CL_STLS_FAIL:
		if (st->err[0] == '\0' || !memchr(st->err, '\0', sizeof st->err))
			abort();
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cl_stls st;
	const char *out = NULL;
	size_t outlen = 0, off = 1, n;
	int step;

	if (size < 1)
		return 0;
	step = cl_stls_begin(&st, 1 + data[0] % (CL_STLS_COUNT - 1), "mail.example.test", &out,
	                     &outlen);
	check(&st, step, out, outlen);
	while (off < size) {
		const uint8_t *cut = memchr(data + off, 0xff, size - off);
		n = cut ? (size_t)(cut - (data + off)) : size - off;
		step = cl_stls_feed(&st, data + off, n, &out, &outlen);
		check(&st, step, out, outlen);
		if (step == CL_STLS_FAIL || step == CL_STLS_TLS)
			break;
		off += n + 1;
	}
	return 0;
}
