/* Parsed issuer certificates shared by a scan's endpoints: see certcache.h. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "discover/certcache.h"

struct cl_certcache {
	pthread_mutex_t mu;
	struct cl_cert **slots;   /* open addressing, linear probing */
	size_t nslots;            /* a power of two, at least twice max */
	size_t n, max;
};

int cl_certcache_new(struct cl_certcache **out, size_t max)
{
	struct cl_certcache *cc = calloc(1, sizeof *cc);
	size_t nslots = 16;

	*out = NULL;
	while (nslots < 2 * max)
		nslots *= 2;
	if (!cc || !(cc->slots = calloc(nslots, sizeof *cc->slots))) {
		free(cc);
		return CL_ERR_NOMEM;
	}
	cc->nslots = nslots;
	cc->max = max;
	pthread_mutex_init(&cc->mu, NULL);
	*out = cc;
	return CL_OK;
}

void cl_certcache_free(struct cl_certcache *cc)
{
	size_t i;

	if (!cc)
		return;
	for (i = 0; i < cc->nslots; i++)
		cl_cert_free(cc->slots[i]);
	pthread_mutex_destroy(&cc->mu);
	free(cc->slots);
	free(cc);
}

/*
 * The first slot to probe for der: FNV-1a of the length and of the last
 * bytes, which are the signature's (equal bytes are then compared whole).
 */
static size_t first_slot(const struct cl_certcache *cc, const unsigned char *der, size_t len)
{
	uint64_t h = 1469598103934665603ULL ^ len;
	size_t i = len > 32 ? len - 32 : 0;

	for (; i < len; i++)
		h = (h ^ der[i]) * 1099511628211ULL;
	return (size_t)(h ^ h >> 32) & (cc->nslots - 1);
}

/* The slot holding der, or the empty slot where it belongs. */
static struct cl_cert **find(struct cl_certcache *cc, const unsigned char *der, size_t len)
{
	size_t i = first_slot(cc, der, len);
	struct cl_cert *c;

	while ((c = cc->slots[i]) != NULL &&
	       (c->der_len != len || memcmp(c->der, der, len) != 0))
		i = (i + 1) & (cc->nslots - 1);
	return &cc->slots[i];
}

int cl_certcache_parse(struct cl_certcache *cc, const unsigned char *der, size_t len,
                       struct cl_cert **out, bool *lent)
{
	struct cl_cert **slot, *c = NULL;
	int rc;

	*out = NULL;
	*lent = false;
	pthread_mutex_lock(&cc->mu);
	c = *find(cc, der, len);
	pthread_mutex_unlock(&cc->mu);
	if (c) {
		*out = c;
		*lent = true;
		return CL_OK;
	}
	if ((rc = cl_cert_parse_der(der, len, &c, NULL)) != CL_OK)
		return rc;
	*out = c;
	pthread_mutex_lock(&cc->mu);
	/* another thread may have added the same certificate meanwhile: this
	 * copy then stays the caller's */
	if (cc->n < cc->max && c->der_len == len && !*(slot = find(cc, der, len))) {
		*slot = c;
		cc->n++;
		*lent = true;
	}
	pthread_mutex_unlock(&cc->mu);
	return CL_OK;
}
