/* Table-driven tests of the core helpers. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "testutil.h"
#include "core/buf.h"
#include "core/der.h"
#include "core/util.h"

static void test_time_parse(void **state)
{
	static const struct { const char *in; int ok; int64_t want; } t[] = {
		{ "1970-01-01", 1, 0 },
		{ "2027-03-15", 1, 1805068800 },
		{ "2027-03-15T00:00:00Z", 1, 1805068800 },
		{ "2027-03-15T02:00:00+02:00", 1, 1805068800 },
		{ "2027-03-14T22:00:00-02:00", 1, 1805068800 },
		{ "2027-03-15T00:00:00.123Z", 1, 1805068800 },
		{ "2024-02-29", 1, 1709164800 },
		{ "2023-02-29", 0, 0 },
		{ "2027-13-01", 0, 0 },
		{ "2027-03-32", 0, 0 },
		{ "2027-03-15T24:00:00Z", 0, 0 },
		{ "2027-03-15Tjunk", 0, 0 },
		{ "2027-03-15T00:00:00Zjunk", 0, 0 },
		{ "27-03-15", 0, 0 },
		{ "", 0, 0 },
		{ "9999-12-31T23:59:59Z", 1, 253402300799 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		int64_t v = -1;
		int rc = cl_time_parse(t[i].in, &v);
		if (t[i].ok) {
			assert_int_equal(rc, CL_OK);
			assert_int_equal(v, t[i].want);
		} else {
			assert_int_equal(rc, CL_ERR_PARSE);
		}
	}
}

static void test_time_fmt(void **state)
{
	char buf[40];

	(void)state;
	assert_string_equal(cl_time_fmt(buf, sizeof buf, 0), "1970-01-01T00:00:00Z");
	assert_string_equal(cl_time_fmt(buf, sizeof buf, 1805068800), "2027-03-15T00:00:00Z");
	assert_string_equal(cl_time_fmt(buf, sizeof buf, -1), "1969-12-31T23:59:59Z");
	assert_string_equal(cl_time_fmt(buf, sizeof buf, 253402300799), "9999-12-31T23:59:59Z");
	assert_string_equal(cl_time_fmt(buf, sizeof buf, 951782400), "2000-02-29T00:00:00Z");
	/* outside years 0-9999 (and in a short buffer) the printf path formats */
	assert_string_equal(cl_time_fmt(buf, sizeof buf, 253402300800), "10000-01-01T00:00:00Z");
	assert_string_equal(cl_time_fmt(buf, sizeof buf, -62167219200), "0000-01-01T00:00:00Z");
	assert_string_equal(cl_time_fmt(buf, sizeof buf, -62167219201), "-001-12-31T23:59:59Z");
	assert_string_equal(cl_time_fmt(buf, 11, 0), "1970-01-01");
}

static void test_duration(void **state)
{
	static const struct { const char *in; int ok; int64_t want; } t[] = {
		{ "30d", 1, 30 * 86400 }, { "30", 1, 30 * 86400 }, { "12h", 1, 43200 },
		{ "90m", 1, 5400 }, { "45s", 1, 45 }, { "2w", 1, 14 * 86400 },
		{ "1y", 1, 365 * 86400 }, { "1d12h", 1, 86400 + 43200 }, { "0d", 1, 0 },
		{ "", 0, 0 }, { "d", 0, 0 }, { "-1d", 0, 0 }, { "3x", 0, 0 }, { "1d2", 0, 0 },
		{ "99999999999999999d", 0, 0 }, { "1099511627776y", 0, 0 },
		{ "1000000y1000000y", 0, 0 }, { "34000y", 1, (int64_t)34000 * 365 * 86400 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		int64_t v = -1;
		int rc = cl_duration_parse(t[i].in, &v);
		if (t[i].ok) {
			assert_int_equal(rc, CL_OK);
			assert_int_equal(v, t[i].want);
		} else {
			assert_int_equal(rc, CL_ERR_PARSE);
		}
	}
}

static void test_floordiv(void **state)
{
	(void)state;
	assert_int_equal(cl_floordiv(7, 2), 3);
	assert_int_equal(cl_floordiv(-7, 2), -4);
	assert_int_equal(cl_floordiv(-86400, 86400), -1);
	assert_int_equal(cl_floordiv(-1, 86400), -1);
	assert_int_equal(cl_floordiv(0, 86400), 0);
}

static void test_escape_roundtrip(void **state)
{
	static const char *const in[] = {
		"/etc/ssl/a.pem", "/tmp/caf\xe9.pem", "/tmp/back\\slash", "/tmp/ctl\x01x",
		"/tmp/ok-\xc3\xa9t\xc3\xa9.pem", "/tmp/\xed\xa0\x80" "surrogate", "/tmp/\xf5" "bad",
	};
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(in); i++) {
		char *e = cl_escape_bytes(in[i], strlen(in[i]));
		char *u = cl_unescape_bytes(e);
		assert_true(cl_utf8_valid(e, strlen(e)));
		assert_string_equal(u, in[i]);
		free(e);
		free(u);
	}
	{
		char *e = cl_escape_bytes("/tmp/caf\xe9.pem", 13);
		assert_string_equal(e, "/tmp/caf\\xe9.pem");
		free(e);
	}
}

static void test_glob(void **state)
{
	(void)state;
	assert_true(cl_glob("*let's encrypt*", "CN=Let's Encrypt R3"));
	assert_true(cl_glob("file:/etc/*", "file:/etc/nginx/tls/a.pem"));
	assert_false(cl_glob("*.example.com", "example.com"));
	assert_true(cl_glob("P-2??", "p-256"));
}

static void test_buf_cap(void **state)
{
	struct cl_buf b;

	(void)state;
	cl_buf_init(&b, 8);
	assert_int_equal(cl_buf_addstr(&b, "12345678"), CL_OK);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(cl_buf_addc(&b, '9'), CL_ERR_TOOBIG);
	assert_null(b.data);  /* freed on error, as with curl's dynbuf */
	assert_int_equal(cl_buf_printf(&b, "%d", 42), CL_OK);
	assert_string_equal(b.data, "42");
	cl_buf_free(&b);
}

static void test_der_lengths(void **state)
{
	static const struct { unsigned char in[8]; size_t n, want; } t[] = {
		{ { 0x30, 0x00 }, 2, 2 },
		{ { 0x30, 0x03, 1, 2, 3 }, 5, 5 },
		{ { 0x30, 0x03, 1, 2 }, 4, 0 },             /* truncated */
		{ { 0x30, 0x81, 0x02, 1, 2 }, 5, 5 },
		{ { 0x30, 0x80, 0, 0 }, 4, 0 },             /* indefinite */
		{ { 0x30, 0x85, 1, 1, 1, 1, 1 }, 7, 0 },    /* 5 length bytes */
		{ { 0x30, 0x84, 0xff, 0xff, 0xff, 0xff }, 6, 0 },
		{ { 0x1f, 0x01, 0x00 }, 3, 0 },             /* high tag number */
		{ { 0x30 }, 1, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++)
		assert_int_equal(cl_der_elem_len(t[i].in, t[i].n), t[i].want);
}

static void test_write_atomic(void **state)
{
	char path[4096], cmd[4200];
	unsigned char *got;
	struct stat sb;
	size_t len;

	(void)state;
	snprintf(path, sizeof path, "%s/atomic.key", tu_tmpdir());
	assert_int_equal(cl_write_file_atomic(path, "old", 3, 0644), CL_OK);
	assert_int_equal(cl_write_file_atomic(path, "secret", 6, 0600), CL_OK);
	got = tu_read(path, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(got, "secret", 6);
	free(got);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* no temporary file is left behind */
	snprintf(cmd, sizeof cmd, "test -z \"$(ls %s | grep '\\.tmp\\.')\"", tu_tmpdir());
	tu_sh("%s", cmd);
	/* a directory that does not exist: an error, nothing created */
	snprintf(path, sizeof path, "%s/missing/dir/x.pem", tu_tmpdir());
	assert_int_equal(cl_write_file_atomic(path, "x", 1, 0600), CL_ERR_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_fmt),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_floordiv),
		cmocka_unit_test(test_escape_roundtrip),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_der_lengths),
		cmocka_unit_test(test_write_atomic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
