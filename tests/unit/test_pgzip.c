/* The parallel gzip writer: what it writes inflates, as one gzip member,
 * to exactly what went in, for every size around the block boundaries,
 * every thread count and every way of cutting the input; its ratio stays
 * close to one deflate stream's; errors of the sink stop it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "testutil.h"
#include "core/cl.h"
#include "core/pgzip.h"

#define MIB (1u << 20)

struct out {
	unsigned char *p;
	size_t n, cap;
	size_t calls, fail_after;   /* fail_after: calls before an error (0: never) */
};

static int sink(void *arg, const void *data, size_t len)
{
	struct out *o = arg;

	if (o->fail_after && ++o->calls > o->fail_after)
		return CL_ERR_IO;
	if (o->n + len > o->cap) {
		o->cap = (o->n + len) * 2;
		o->p = realloc(o->p, o->cap);
		assert_non_null(o->p);
	}
	memcpy(o->p + o->n, data, len);
	o->n += len;
	return CL_OK;
}

/* Text like /metrics: repetitive lines with varying numbers. */
static unsigned char *make_input(size_t n, bool text)
{
	unsigned char *p = malloc(n + 1);
	uint32_t x = 12345;
	size_t i = 0;

	assert_non_null(p);
	while (i < n) {
		x = x * 1103515245u + 12345u;
		if (text) {
			char line[160];
			int k = snprintf(line, sizeof line, "certledger_cert_not_after_seconds{fingerprint"
			                 "=\"%08x\",location=\"tls:10.0.%u.%u:443\"} %u\n", x,
			                 (x >> 8) & 255, (x >> 16) & 255, x >> 1);
			size_t m = (size_t)k < n - i ? (size_t)k : n - i;
			memcpy(p + i, line, m);
			i += m;
		} else {
			p[i++] = (unsigned char)(x >> 24);
		}
	}
	return p;
}

/* Inflates a gzip stream that must be exactly one member. */
static unsigned char *gunzip(const unsigned char *gz, size_t n, size_t expect)
{
	unsigned char *out = malloc(expect + 1);
	z_stream zs;
	int zrc;

	assert_non_null(out);
	memset(&zs, 0, sizeof zs);
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (unsigned char *)(uintptr_t)gz;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)expect + 1;
	zrc = inflate(&zs, Z_FINISH);
	assert_int_equal(zrc, Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0);          /* nothing after the member */
	assert_int_equal(zs.total_out, expect);
	inflateEnd(&zs);
	return out;
}

static size_t one_stream_size(const unsigned char *in, size_t n)
{
	uLongf len = compressBound((uLong)n);
	unsigned char *buf = malloc(len);
	z_stream zs;

	assert_non_null(buf);
	memset(&zs, 0, sizeof zs);
	assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (unsigned char *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	zs.next_out = buf;
	zs.avail_out = (uInt)len;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	len = zs.total_out;
	deflateEnd(&zs);
	free(buf);
	return len;
}

static void roundtrip(size_t n, int threads, size_t piece, bool text)
{
	unsigned char *in = make_input(n, text), *back;
	struct out o = { 0 };
	struct cl_pgz *z;
	size_t off = 0;

	assert_int_equal(cl_pgz_new(&z, threads, 1, sink, &o), CL_OK);
	while (off < n) {
		size_t k = n - off < piece ? n - off : piece;
		assert_int_equal(cl_pgz_write(z, in + off, k), CL_OK);
		off += k;
	}
	assert_int_equal(cl_pgz_finish(z), CL_OK);
	cl_pgz_free(z);
	assert_true(o.n >= 18);
	assert_int_equal(o.p[0], 0x1f);
	assert_int_equal(o.p[1], 0x8b);
	back = gunzip(o.p, o.n, n);
	assert_memory_equal(back, in, n);
	if (text && n >= 4 * MIB)   /* the dictionaries keep the ratio of one stream */
		assert_true(o.n * 1000 <= one_stream_size(in, n) * 1010);
	free(back);
	free(in);
	free(o.p);
}

static void test_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 100, 32767, 32768, 32769, MIB - 1, MIB, MIB + 1,
	                                2 * MIB, 3 * MIB + 12345 };
	static const int threads[] = { 1, 2, 4 };
	size_t i, t;

	(void)state;
	for (i = 0; i < sizeof sizes / sizeof *sizes; i++)
		for (t = 0; t < sizeof threads / sizeof *threads; t++) {
			roundtrip(sizes[i], threads[t], 65536, true);
			roundtrip(sizes[i], threads[t], 65536, false);
		}
}

static void test_pieces(void **state)
{
	(void)state;
	roundtrip(2 * MIB + 7, 2, 1, true);       /* byte by byte */
	roundtrip(2 * MIB + 7, 2, 4093, true);
	roundtrip(5 * MIB + 3, 3, 5 * MIB + 3, true);   /* one write */
}

static void test_large(void **state)
{
	(void)state;
	roundtrip(24 * MIB + 5, 2, 65536, true);   /* many times the ring of blocks */
	roundtrip(6 * MIB, 2, 65536, false);       /* incompressible */
}

static void test_sink_error(void **state)
{
	unsigned char *in = make_input(8 * MIB, true);
	struct out o = { .fail_after = 2 };
	struct cl_pgz *z;
	int rc = CL_OK;
	size_t off;

	(void)state;
	assert_int_equal(cl_pgz_new(&z, 2, 1, sink, &o), CL_OK);
	for (off = 0; off < 8 * MIB && rc == CL_OK; off += 65536)
		rc = cl_pgz_write(z, in + off, 65536);
	if (rc == CL_OK)
		rc = cl_pgz_finish(z);
	assert_int_equal(rc, CL_ERR_IO);
	assert_int_equal(cl_pgz_finish(z), CL_ERR_IO);   /* sticky */
	cl_pgz_free(z);
	free(in);
	free(o.p);
}

static void test_free_unfinished(void **state)
{
	unsigned char *in = make_input(3 * MIB, true);
	struct out o = { 0 };
	struct cl_pgz *z;

	(void)state;
	assert_int_equal(cl_pgz_new(&z, 4, 6, sink, &o), CL_OK);
	assert_int_equal(cl_pgz_write(z, in, 3 * MIB), CL_OK);
	cl_pgz_free(z);   /* workers stop; nothing leaks (ASan) */
	free(in);
	free(o.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_sink_error),
		cmocka_unit_test(test_free_unfinished),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
