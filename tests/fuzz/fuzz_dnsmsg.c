/*
 * libFuzzer target for the DNS message code of the RFC 2136 solver
 * (src/acme/dnsmsg.c): any bytes as a DNS server's answer, parsed with and
 * without a TSIG key (the MAC check runs over whatever the answer holds),
 * and the first line of the input as a name for the writer. A parsed
 * answer must be internally consistent; a written name must fit the
 * buffer and be at most 255 bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "acme/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char secret[] = "secret-key-for-tests-only";
	static const unsigned char req_mac[32] = { 0x3a, 0xcb, 0x78, 0xb0 };
	struct cl_dns_tsig key = { "acme-key.", "hmac-sha256.", secret, sizeof secret - 1 };
	struct cl_dns_answer a;
	struct cl_dnsw *w;
	char name[300];
	size_t n;

	if (cl_dns_answer_parse(data, size, &key, req_mac, sizeof req_mac, &a) == CL_OK) {
		if (a.opcode > 15 || a.rcode > 15 || (a.tsig_ok && !a.signed_))
			abort();
	}
	(void)cl_dns_answer_parse(data, size, NULL, NULL, 0, &a);
	for (n = 0; n < size && n < sizeof name - 1 && data[n] != '\n' && data[n] != 0; n++)
		name[n] = (char)data[n];
	name[n] = '\0';
	if ((w = malloc(sizeof *w)) == NULL)
		return 0;
	w->len = 0;
	w->err = false;
	cl_dnsw_name(w, name);
	if (!w->err && (w->len > 255 || w->len == 0 || w->buf[w->len - 1] != 0))
		abort();
	if (cl_dns_update(w, 1, name, name, 60, "v", true) == CL_OK &&
	    (w->len > CL_DNS_MAX_MSG || w->err))
		abort();
	free(w);
	return 0;
}
