/* Parallel gzip writer: see pgzip.h. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "core/cl.h"
#include "core/pgzip.h"

#define BLOCK (1u << 20)        /* input per block */
#define DICT 32768u             /* deflate's window: the dictionary of the next block */
#define MAX_THREADS 16

enum { S_FREE, S_QUEUED, S_DONE };

struct slot {
	unsigned char *in, *out;
	size_t in_len, out_len, out_cap;
	unsigned char dict[DICT];
	size_t dict_len;
	unsigned long crc;
	bool last;
	int state;
	int rc;
};

struct cl_pgz {
	int level, nthreads, started;
	cl_pgz_sink sink;
	void *arg;
	pthread_t tid[MAX_THREADS];
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	bool stop;
	struct slot *slots;
	size_t nslots;
	size_t fill;                /* block being filled (a count: slot fill % nslots) */
	size_t drain;               /* next block to hand to the sink */
	size_t queued, taken;       /* blocks queued for, and taken by, the workers */
	unsigned char win[DICT];    /* the last DICT bytes of input before block fill */
	size_t win_len;
	unsigned long crc;
	uint64_t total;
	bool header_done;
	int rc;                     /* first error; sticky */
};

static struct slot *slot_of(struct cl_pgz *z, size_t i)
{
	return &z->slots[i % z->nslots];
}

/* Raw deflate of one block, ended on a byte boundary (or finished when last). */
static int compress_block(int level, struct slot *s)
{
	z_stream zs;
	int zrc, rc = CL_OK;

	memset(&zs, 0, sizeof zs);
	if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return CL_ERR_NOMEM;
	if (s->dict_len && deflateSetDictionary(&zs, s->dict, (uInt)s->dict_len) != Z_OK) {
		rc = CL_ERR;
		goto out;
	}
	if (!s->out) {
		size_t cap = deflateBound(&zs, BLOCK) + 64;
		if (!(s->out = malloc(cap))) {
			rc = CL_ERR_NOMEM;
			goto out;
		}
		s->out_cap = cap;
	}
	zs.next_in = s->in;
	zs.avail_in = (uInt)s->in_len;
	s->out_len = 0;
	for (;;) {
		zs.next_out = s->out + s->out_len;
		zs.avail_out = (uInt)(s->out_cap - s->out_len);
		zrc = deflate(&zs, s->last ? Z_FINISH : Z_SYNC_FLUSH);
		s->out_len = s->out_cap - zs.avail_out;
		if (zrc == Z_STREAM_ERROR) {
			rc = CL_ERR;
			break;
		}
		if (s->last ? zrc == Z_STREAM_END : zs.avail_in == 0 && zs.avail_out != 0)
			break;
		if (zs.avail_out == 0) {   /* incompressible input: more room */
			unsigned char *p = realloc(s->out, s->out_cap * 2);
			if (!p) {
				rc = CL_ERR_NOMEM;
				break;
			}
			s->out = p;
			s->out_cap *= 2;
		}
	}
	s->crc = crc32(0L, s->in ? s->in : (const unsigned char *)"", (uInt)s->in_len);
out:
	deflateEnd(&zs);
	return rc;
}

static void *worker(void *arg)
{
	struct cl_pgz *z = arg;

	pthread_mutex_lock(&z->mu);
	for (;;) {
		struct slot *s;
		int rc;
		while (!z->stop && z->taken == z->queued)
			pthread_cond_wait(&z->cv_work, &z->mu);
		if (z->stop)
			break;
		s = slot_of(z, z->taken++);
		pthread_mutex_unlock(&z->mu);
		rc = compress_block(z->level, s);
		pthread_mutex_lock(&z->mu);
		s->rc = rc;
		s->state = S_DONE;
		pthread_cond_broadcast(&z->cv_done);
	}
	pthread_mutex_unlock(&z->mu);
	return NULL;
}

int cl_pgz_new(struct cl_pgz **out, int threads, int level, cl_pgz_sink sink, void *arg)
{
	struct cl_pgz *z;

	*out = NULL;
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	if (!(z = calloc(1, sizeof *z)))
		return CL_ERR_NOMEM;
	z->level = level < 1 || level > 9 ? 1 : level;
	z->nthreads = threads;
	z->sink = sink;
	z->arg = arg;
	z->nslots = (size_t)threads * 2 + 1;
	if (!(z->slots = calloc(z->nslots, sizeof *z->slots))) {
		free(z);
		return CL_ERR_NOMEM;
	}
	pthread_mutex_init(&z->mu, NULL);
	pthread_cond_init(&z->cv_work, NULL);
	pthread_cond_init(&z->cv_done, NULL);
	z->crc = crc32(0L, NULL, 0);
	*out = z;
	return CL_OK;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Waits for the oldest block, hands it to the sink, frees its slot. */
static int drain_one(struct cl_pgz *z)
{
	struct slot *s = slot_of(z, z->drain);
	int rc;

	pthread_mutex_lock(&z->mu);
	while (s->state != S_DONE)
		pthread_cond_wait(&z->cv_done, &z->mu);
	pthread_mutex_unlock(&z->mu);
	if ((rc = s->rc) == CL_OK && !z->header_done) {
		/* magic, deflate, no flags, no time, XFL 4 (fastest) or 0, OS Unix */
		const unsigned char hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0,
		                                z->level == 1 ? 4 : 0, 3 };
		rc = z->sink(z->arg, hdr, sizeof hdr);
		z->header_done = true;
	}
	if (rc == CL_OK)
		rc = z->sink(z->arg, s->out, s->out_len);
	z->crc = crc32_combine(z->crc, s->crc, (z_off_t)s->in_len);
	z->total += s->in_len;
	s->state = S_FREE;
	s->in_len = 0;
	z->drain++;
	return rc;
}

/* Queues block fill (last: the end of the stream) and moves to the next. */
static int submit(struct cl_pgz *z, bool last)
{
	struct slot *s = slot_of(z, z->fill);
	int i;

	memcpy(s->dict, z->win, z->win_len);
	s->dict_len = z->win_len;
	s->last = last;
	if (s->in_len >= DICT) {
		memcpy(z->win, s->in + s->in_len - DICT, DICT);
		z->win_len = DICT;
	} else if (s->in_len) {
		size_t keep = z->win_len + s->in_len > DICT ? DICT - s->in_len : z->win_len;
		memmove(z->win, z->win + z->win_len - keep, keep);
		memcpy(z->win + keep, s->in, s->in_len);
		z->win_len = keep + s->in_len;
	}
	z->fill++;
	if (!z->started && last) {   /* everything fit in one block: no threads */
		s->rc = compress_block(z->level, s);
		s->state = S_DONE;
		return CL_OK;
	}
	for (i = z->started; i < z->nthreads; i++) {
		if (pthread_create(&z->tid[i], NULL, worker, z) != 0)
			break;
		z->started++;
	}
	if (!z->started) {   /* no thread could start: compress here */
		s->rc = compress_block(z->level, s);
		s->state = S_DONE;
		return CL_OK;
	}
	pthread_mutex_lock(&z->mu);
	s->state = S_QUEUED;
	z->queued++;
	pthread_cond_signal(&z->cv_work);
	pthread_mutex_unlock(&z->mu);
	return CL_OK;
}

/* Makes the slot of block fill free (handing older blocks to the sink) and
 * its input buffer ready. */
static int ready_slot(struct cl_pgz *z, struct slot **out)
{
	struct slot *s = slot_of(z, z->fill);
	int rc;

	while (z->fill - z->drain >= z->nslots)
		if ((rc = drain_one(z)) != CL_OK)
			return rc;
	if (!s->in && !(s->in = malloc(BLOCK)))
		return CL_ERR_NOMEM;
	*out = s;
	return CL_OK;
}

int cl_pgz_write(struct cl_pgz *z, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (z->rc == CL_OK && len > 0) {
		struct slot *s;
		size_t n;
		if ((z->rc = ready_slot(z, &s)) != CL_OK)
			break;
		n = BLOCK - s->in_len < len ? BLOCK - s->in_len : len;
		memcpy(s->in + s->in_len, p, n);
		s->in_len += n;
		p += n;
		len -= n;
		if (s->in_len == BLOCK)
			z->rc = submit(z, false);
	}
	return z->rc;
}

int cl_pgz_finish(struct cl_pgz *z)
{
	unsigned char trailer[8];
	struct slot *s;

	if (z->rc != CL_OK)
		return z->rc;
	if ((z->rc = ready_slot(z, &s)) != CL_OK || (z->rc = submit(z, true)) != CL_OK)
		return z->rc;
	while (z->drain < z->fill)
		if ((z->rc = drain_one(z)) != CL_OK)
			return z->rc;
	put_le32(trailer, (uint32_t)z->crc);
	put_le32(trailer + 4, (uint32_t)z->total);
	return z->rc = z->sink(z->arg, trailer, sizeof trailer);
}

void cl_pgz_free(struct cl_pgz *z)
{
	size_t i;
	int t;

	if (!z)
		return;
	pthread_mutex_lock(&z->mu);
	z->stop = true;
	pthread_cond_broadcast(&z->cv_work);
	pthread_mutex_unlock(&z->mu);
	for (t = 0; t < z->started; t++)
		pthread_join(z->tid[t], NULL);
	for (i = 0; i < z->nslots; i++) {
		free(z->slots[i].in);
		free(z->slots[i].out);
	}
	free(z->slots);
	pthread_mutex_destroy(&z->mu);
	pthread_cond_destroy(&z->cv_work);
	pthread_cond_destroy(&z->cv_done);
	free(z);
}
