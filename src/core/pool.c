#include <stdlib.h>
#include <string.h>
#include "core/pool.h"
#include "core/util.h"

static void block_free(const struct cl_pool *pl, void *block)
{
	if (block && pl->wipe)
		explicit_bzero(block, strlen(block));
	free(block);
}

void *cl_pool_add(struct cl_pool *pl, void *block)
{
	if (!block || CL_GROW(pl->blocks, pl->cap, pl->n + 1) != CL_OK) {
		block_free(pl, block);
		return NULL;
	}
	pl->blocks[pl->n++] = block;
	return block;
}

char *cl_pool_strdup(struct cl_pool *pl, const char *s)
{
	return cl_pool_add(pl, strdup(s));
}

void cl_pool_free(struct cl_pool *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		block_free(pl, pl->blocks[i]);
	free(pl->blocks);
	pl->blocks = NULL;
	pl->n = pl->cap = 0;
}
