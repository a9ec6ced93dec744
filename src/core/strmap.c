/* String to long map: open addressing with linear probing. */
#include <stdlib.h>
#include <string.h>
#include "core/cl.h"
#include "core/strmap.h"

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct cl_strmap_ent *find(const struct cl_strmap *m, const char *key, uint64_t h)
{
	size_t i;

	for (i = h & (m->cap - 1); m->e[i].key; i = (i + 1) & (m->cap - 1))
		if (m->e[i].hash == h && strcmp(m->e[i].key, key) == 0)
			return &m->e[i];
	return &m->e[i];
}

static int grow(struct cl_strmap *m)
{
	struct cl_strmap bigger = { .cap = m->cap ? m->cap * 2 : 64, .n = m->n };
	size_t i;

	if (!(bigger.e = calloc(bigger.cap, sizeof *bigger.e)))
		return CL_ERR_NOMEM;
	for (i = 0; i < m->cap; i++)
		if (m->e[i].key)
			*find(&bigger, m->e[i].key, m->e[i].hash) = m->e[i];
	free(m->e);
	*m = bigger;
	return CL_OK;
}

int cl_strmap_put(struct cl_strmap *m, const char *key, long val)
{
	uint64_t h = hash_str(key);
	struct cl_strmap_ent *e;

	if ((m->n + 1) * 2 > m->cap && grow(m) != CL_OK)
		return CL_ERR_NOMEM;
	e = find(m, key, h);
	if (!e->key) {
		if (!(e->key = strdup(key)))
			return CL_ERR_NOMEM;
		e->hash = h;
		m->n++;
	}
	e->val = val;
	return CL_OK;
}

long *cl_strmap_get(const struct cl_strmap *m, const char *key)
{
	struct cl_strmap_ent *e;

	if (!m->cap)
		return NULL;
	e = find(m, key, hash_str(key));
	return e->key ? &e->val : NULL;
}

void cl_strmap_free(struct cl_strmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->e[i].key);
	free(m->e);
	m->e = NULL;
	m->cap = m->n = 0;
}
