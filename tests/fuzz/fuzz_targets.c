/*
 * libFuzzer target for scan target parsing: the input, cut at the first
 * newline, is a target; the rest a port list. Parsing either succeeds or
 * explains itself; a parsed target's addresses iterate in order, within
 * the bounds the counter reports.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/cl.h"
#include "discover/targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_targets t;
	char *s, *ports, err[512];
	uint64_t n, probes, seen = 0;
	bool excl;
	size_t i;

	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ports = strchr(s, '\n');
	if (ports)
		*ports++ = '\0';
	cl_targets_init(&t);
	err[0] = '\0';
	if (s[0] != '@' && cl_targets_add(&t, s, err, sizeof err) != CL_OK && !err[0])
		abort();
	err[0] = '\0';
	excl = s[0] != '@' && cl_targets_exclude(&t, s, err, sizeof err) == CL_OK;
	if (s[0] != '@' && !excl && !err[0])
		abort();
	err[0] = '\0';
	if (ports && cl_targets_set_ports(&t, ports, err, sizeof err) != CL_OK && !err[0])
		abort();
	n = cl_targets_count(&t, &probes);
	for (i = 0; i < t.nspecs; i++) {
		struct cl_addr cur = t.specs[i].lo, prev;
		if (t.specs[i].kind != CL_SPEC_RANGE)
			continue;
		do {
			prev = cur;
			if (excl && !cl_targets_excluded(&t, &cur))  /* its own exclusion */
				abort();
			if (++seen > 4096)
				break;
		} while (cl_addr_next(&cur, &t.specs[i].hi) && cl_addr_cmp(&prev, &cur) < 0);
	}
	if (seen > n && seen <= 4096)
		abort();
	cl_targets_free(&t);
	free(s);
	return 0;
}
