/*
 * A pool of heap blocks freed together: the parsers of configuration,
 * policy and spec files put every string and array of what they build
 * in one, so a parse that fails half way is freed like a finished one.
 */
#ifndef CL_POOL_H
#define CL_POOL_H

#include <stdbool.h>
#include <stddef.h>

struct cl_pool {
	void **blocks;
	size_t n, cap;
	bool wipe;                  /* blocks are strings to clear before free() */
};

/* Adds block (from malloc) to the pool and returns it; on failure, or
 * for a NULL block, frees it and returns NULL. */
void *cl_pool_add(struct cl_pool *pl, void *block);

/* A copy of s in the pool, or NULL. */
char *cl_pool_strdup(struct cl_pool *pl, const char *s);

/* Frees every block (clearing strings first in a wiping pool); the pool
 * is empty and reusable afterwards. */
void cl_pool_free(struct cl_pool *pl);

#endif
