/*
 * A map from strings to long values (open addressing, FNV-1a), for sets
 * and indexes of a few up to millions of keys. Keys are copied.
 */
#ifndef CL_STRMAP_H
#define CL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct cl_strmap_ent {
	char *key;          /* NULL: empty slot */
	uint64_t hash;
	long val;
};

struct cl_strmap {
	struct cl_strmap_ent *e;
	size_t cap, n;      /* cap: 0 or a power of two */
};

/* Sets key to val (adding it when missing). CL_OK or CL_ERR_NOMEM. */
int cl_strmap_put(struct cl_strmap *m, const char *key, long val);
/* The value of key, or NULL when missing (valid until the next put). */
long *cl_strmap_get(const struct cl_strmap *m, const char *key);
/* Frees the keys and the table; m is empty afterwards. */
void cl_strmap_free(struct cl_strmap *m);

#endif
