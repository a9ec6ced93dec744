/*
 * /metrics (cl_metrics_render) on a real store: the exact lines of every
 * family, label escaping (backslash, quote, newline, bytes that are not
 * UTF-8), the order of the per-certificate series and the max_series
 * bound with its dropped count (both query plans of the store agree),
 * output in 64 KiB pieces, emit failures, and `promtool check metrics`
 * on the result when promtool is installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "testutil.h"
#include "serve/metrics.h"
#include "store/store.h"
#include "x509/cert.h"

#define T0 INT64_C(1700000000)
#define DAY INT64_C(86400)
#define CHUNK 65536

static EVP_PKEY *key;
static char dbpath[4096];

/* A certificate with exactly these names and times (signed by the test key). */
static struct cl_cert *mk_cert(const char *cn, const char *issuer, int64_t nb, int64_t na,
                               long serial)
{
	X509 *x = X509_new();
	X509_NAME *sn = X509_NAME_new(), *in = X509_NAME_new();
	unsigned char *der = NULL;
	struct cl_cert *c = NULL;
	const char *why;
	int len;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(sn, "CN", MBSTRING_UTF8,
	                                            (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_UTF8,
	                                            (const unsigned char *)issuer, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, sn), 1);
	assert_int_equal(X509_set_issuer_name(x, in), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_true((len = i2d_X509(x, &der)) > 0);
	assert_int_equal(cl_cert_parse_der(der, (size_t)len, &c, &why), CL_OK);
	OPENSSL_free(der);
	X509_NAME_free(sn);
	X509_NAME_free(in);
	X509_free(x);
	return c;
}

static void fp_hex(const struct cl_cert *c, char out[65])
{
	int j;

	for (j = 0; j < 32; j++)
		sprintf(out + 2 * j, "%02x", c->fp[j]);
}

static struct cl_store *open_fresh(const char *name)
{
	struct cl_store *s = NULL;
	char err[512];

	snprintf(dbpath, sizeof dbpath, "%s/%s.db", tu_tmpdir(), name);
	remove(dbpath);
	assert_int_equal(cl_store_open(&s, dbpath, 0, err, sizeof err), CL_OK);
	return s;
}

static void observe(struct cl_store *s, int64_t run, const struct cl_cert *c, const char *kind,
                    const char *where)
{
	assert_int_equal(cl_store_observe_cert(s, run, c, kind, where, NULL, T0, NULL), CL_OK);
}

/* ---- collecting the output -------------------------------------------------- */

struct sink {
	char *text;
	size_t len, cap;
	size_t calls, max_chunk;
	size_t sizes[256];        /* of the first chunks */
	size_t fail_at;           /* return CL_ERR_IO on this call (1-based); 0 = never */
};

static int sink_emit(void *arg, const char *data, size_t len)
{
	struct sink *k = arg;

	k->calls++;
	if (k->fail_at && k->calls == k->fail_at)
		return CL_ERR_IO;
	if (k->calls <= CL_ARRAY_LEN(k->sizes))
		k->sizes[k->calls - 1] = len;
	if (len > k->max_chunk)
		k->max_chunk = len;
	if (k->len + len + 1 > k->cap) {
		k->cap = (k->len + len + 1) * 2;
		assert_non_null(k->text = realloc(k->text, k->cap));
	}
	memcpy(k->text + k->len, data, len);
	k->len += len;
	k->text[k->len] = '\0';
	return CL_OK;
}

static const struct cl_job_metrics jobs[] = {
	{ .name = "nightly \"files\"", .kind = "files", .running = true,
	  .last_start = T0 - 100, .last_end = T0 - 200, .last_success = T0 - 200,
	  .last_seconds = 1.5, .runs = 3, .failures = 1 },
	{ .name = "edge", .kind = "net" },
};

static void assert_well_formed(const char *text);

static struct sink render(struct cl_store *s, long max_series)
{
	struct cl_metrics_in in = {
		.jobs = jobs, .njobs = CL_ARRAY_LEN(jobs), .max_series = max_series, .now = T0,
		.eval_last = T0 - 60, .eval_seconds = 0.25, .started = T0 - 3600,
	};
	struct sink k;

	memset(&k, 0, sizeof k);
	assert_int_equal(cl_metrics_render(s, &in, sink_emit, &k), CL_OK);
	assert_non_null(k.text);
	assert_well_formed(k.text);
	return k;
}

/* Asserts that the lines appear in this order (each a whole line). */
static void assert_lines_in_order(const char *text, const char *const *lines, size_t n)
{
	const char *at = text;
	size_t i;

	for (i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);
		const char *p = at;

		for (;;) {
			p = strstr(p, lines[i]);
			if (!p)
				fail_msg("line %zu not found (in this order):\n%s\n--- in ---\n%s",
				         i,
				         lines[i], text);
			if ((p == text || p[-1] == '\n') && p[l] == '\n')
				break;
			p++;
		}
		at = p + l;
	}
}

/* Lines of text starting with prefix. */
static size_t count_lines(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = 0, l = strlen(prefix);

	while (*p) {
		const char *e = strchr(p, '\n');
		if (strncmp(p, prefix, l) == 0)
			n++;
		if (!e)
			break;
		p = e + 1;
	}
	return n;
}

/*
 * The exposition format's structure, which promtool does not check: each
 * family is "# HELP name", "# TYPE name" and then all of its samples, its
 * name declared once; a sample line is NAME[{...}] VALUE.
 */
static void assert_well_formed(const char *text)
{
	char fam[128] = "", seen[64][128], help[128] = "";
	size_t nseen = 0, i;
	const char *p = text;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t l, n;

		assert_non_null(e);
		l = (size_t)(e - p);
		if (strncmp(p, "# HELP ", 7) == 0) {
			n = strcspn(p + 7, " ");
			assert_true(n < sizeof help);
			snprintf(help, sizeof help, "%.*s", (int)n, p + 7);
		} else if (strncmp(p, "# TYPE ", 7) == 0) {
			n = strcspn(p + 7, " ");
			assert_true(n < sizeof fam);
			snprintf(fam, sizeof fam, "%.*s", (int)n, p + 7);
			assert_string_equal(fam, help);     /* HELP right before TYPE */
			for (i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], fam);
			assert_true(nseen < CL_ARRAY_LEN(seen));
			snprintf(seen[nseen++], sizeof seen[0], "%s", fam);
			help[0] = '\0';
		} else {
			const char *v = p + l;

			n = strcspn(p, "{ ");
			assert_true(fam[0] != '\0');
			if (n != strlen(fam) || strncmp(p, fam, n) != 0)
				fail_msg("sample outside its family %s: %.*s", fam, (int)l, p);
			while (v > p && v[-1] != ' ')
				v--;
			assert_true(v > p && v < p + l);
			assert_true(strspn(v, "-+.0123456789eE") == (size_t)(p + l - v) ||
			            strncmp(v, "NaN", 3) == 0);
		}
		p = e + 1;
	}
}

/* promtool check metrics on text; skipped without promtool. */
static void promtool_check(const char *text, size_t len, const char *name)
{
	char path[4096], cmd[8300], out[4096];
	size_t got;
	FILE *f, *p;
	int st;

	if (access("/usr/bin/promtool", X_OK) != 0)
		return;
	snprintf(path, sizeof path, "%s/%s.prom", tu_tmpdir(), name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof cmd, "/usr/bin/promtool check metrics < '%s' 2>&1", path);
	assert_non_null(p = popen(cmd, "r"));
	got = fread(out, 1, sizeof out - 1, p);
	out[got] = '\0';
	st = pclose(p);
	if (st != 0 || got != 0)
		fail_msg("promtool check metrics %s: status %d:\n%s", path, st, out);
}

/* ---- the inventory of most tests -------------------------------------------- */

/*
 * D expired (1 location), A in 10 days (2 locations, one with odd bytes),
 * B in 100 days (endpoint, owner and environment), C gone. Findings: r1
 * warning x2, r2 error x1 (+1 resolved). Alerts: 2 firing, 1 resolved;
 * outbox: slack sent 2, failed 1, pending 1; mail pending 1.
 */
static struct cl_cert *ca, *cb, *cc, *cd;
static char fa[65], fb[65], fc[65], fd[65];

static const char odd_where[] = "/srv/odd \"dir\"\\x/new\nline.pem";
#define ODD_LOC "file:/srv/odd \\\"dir\\\"\\\\x/new\\nline.pem"
#define A_CN "say \"hi\" \\ b\xc3\xbc" "cher"
#define A_CN_ESC "say \\\"hi\\\" \\\\ b\xc3\xbc" "cher"

struct ids {
	int64_t id[8];
	size_t n;
};

static int outbox_ids(void *arg, const struct cl_outbox_row *r)
{
	struct ids *ids = arg;

	assert_true(ids->n < CL_ARRAY_LEN(ids->id));
	ids->id[ids->n++] = r->id;
	return CL_OK;
}

static struct cl_store *build_main(void)
{
	struct cl_store *s = open_fresh("main");
	static const char *const states[] = { "sent", "sent", "failed", "pending", "pending" };
	struct cl_tag_edit e = { .owner = "team \"x\"", .environment = "prod" };
	int64_t run, run2, id1, id2, id3;
	struct ids ids = { .n = 0 };
	size_t i;
	long n;

	assert_int_equal(cl_store_run_begin(s, "test", NULL, T0, &run), CL_OK);
	observe(s, run, cd, "file", "/srv/d.pem");
	/* recorded before a.pem, listed after it (by location, not by insertion) */
	observe(s, run, ca, "file", odd_where);
	observe(s, run, ca, "file", "/srv/a.pem");
	observe(s, run, cb, "tls", "127.0.0.1:443/b.example.test");
	observe(s, run, cc, "file", "/srv/c.pem");
	assert_int_equal(cl_store_finding_raise(s, run, "r1", "warning", "file:/srv/a.pem", fa,
	                                        "m", T0, NULL), CL_OK);
	assert_int_equal(cl_store_finding_raise(s, run, "r1", "warning", "file:/srv/d.pem", fd,
	                                        "m", T0, NULL), CL_OK);
	assert_int_equal(cl_store_finding_raise(s, run, "r2", "error", "file:/srv/d.pem", fd,
	                                        "m", T0, NULL), CL_OK);
	assert_int_equal(cl_store_finding_raise(s, run, "r2", "error", "file:/srv/c.pem", fc,
	                                        "m", T0, NULL), CL_OK);
	assert_int_equal(cl_store_run_end(s, run, "ok", "{}", T0), CL_OK);
	/* the second run finds /srv/c.pem empty: C is gone, its r2 resolved */
	assert_int_equal(cl_store_run_begin(s, "test", NULL, T0, &run2), CL_OK);
	assert_int_equal(cl_store_location_done(s, run2, "file", "/srv/c.pem", T0, &n), CL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cl_store_finding_settle(s, run2, "r2", "file:/srv/c.pem", T0), CL_OK);
	assert_int_equal(cl_store_run_end(s, run2, "ok", "{}", T0), CL_OK);
	assert_int_equal(cl_store_tag(s, fb, NULL, &e, "test", T0, &n), CL_OK);
	assert_int_equal(n, 1);

	assert_int_equal(cl_store_alert_fire(s, "cert.expiry:a", "cert.expiry", "warning", "30d",
	                                     fa, NULL, "A expires", NULL, false, T0, &id1), CL_OK);
	assert_int_equal(cl_store_alert_fire(s, "cert.expiry:d", "cert.expired", "critical",
	                                     "expired", fd, NULL, "D expired", NULL, false, T0, &id2),
	                 CL_OK);
	assert_int_equal(cl_store_alert_fire(s, "cert.expiry:c", "cert.expiry", "warning", "30d",
	                                     fc, NULL, "C expires", NULL, false, T0, &id3), CL_OK);
	assert_int_equal(cl_store_alert_resolve(s, id3, T0), CL_OK);
	assert_int_equal(cl_store_outbox_add(s, id1, "slack", "firing", "m1", "{}", T0), CL_OK);
	assert_int_equal(cl_store_outbox_add(s, id2, "slack", "firing", "m2", "{}", T0), CL_OK);
	assert_int_equal(cl_store_outbox_add(s, id3, "slack", "firing", "m3", "{}", T0), CL_OK);
	assert_int_equal(cl_store_outbox_add(s, id3, "slack", "resolved", "m4", "{}", T0), CL_OK);
	assert_int_equal(cl_store_outbox_add(s, id1, "mail", "firing", "m1", "{}", T0), CL_OK);
	/* in the order queued: slack m1, m2 sent, m3 failed, m4 pending; mail pending */
	assert_int_equal(cl_store_outbox_due(s, T0, 0, outbox_ids, &ids), CL_OK);
	assert_int_equal(ids.n, 5);
	for (i = 0; i < ids.n; i++)
		assert_int_equal(cl_store_outbox_update(s, ids.id[i], states[i], 1, T0 + 60, NULL,
		                                        T0), CL_OK);
	return s;
}

static int setup(void **state)
{
	(void)state;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(key);
	ca = mk_cert(A_CN, "Test CA", T0 - DAY, T0 + 10 * DAY, 1);
	cb = mk_cert("b.example.test", "Test CA", T0 - 2 * DAY, T0 + 100 * DAY, 2);
	cc = mk_cert("c.example.test", "Test CA", T0 - 3 * DAY, T0 + 400 * DAY, 3);
	cd = mk_cert("d.example.test", "Other \"CA\"", T0 - 400 * DAY, T0 - DAY, 4);
	fp_hex(ca, fa);
	fp_hex(cb, fb);
	fp_hex(cc, fc);
	fp_hex(cd, fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cl_cert_free(ca);
	cl_cert_free(cb);
	cl_cert_free(cc);
	cl_cert_free(cd);
	EVP_PKEY_free(key);
	return 0;
}

/* "NAME{fingerprint=...,environment=...} VALUE" for one series. */
static char *series_line(char *buf, size_t len, const char *name, const char *fp,
                         const char *cn, const char *issuer, const char *loc,
                         const char *owner, const char *env, int64_t v)
{
	snprintf(buf, len, "%s{fingerprint=\"%s\",subject_cn=\"%s\",issuer_cn=\"%s\","
	         "location=\"%s\",owner=\"%s\",environment=\"%s\"} %lld", name, fp, cn, issuer,
	         loc, owner, env, (long long)v);
	return buf;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_exact(void **state)
{
	static const char *const families[] = {
		"# TYPE certledger_alert_evaluation_last_timestamp_seconds gauge",
		"# TYPE certledger_alert_evaluation_duration_seconds gauge",
		"# TYPE certledger_start_time_seconds gauge",
		"# TYPE certledger_build_info gauge",
		"# TYPE certledger_cert_not_after_seconds gauge",
		"# TYPE certledger_cert_not_before_seconds gauge",
		"# TYPE certledger_cert_expired gauge",
		"# TYPE certledger_cert_series_dropped gauge",
		"# TYPE certledger_certificates gauge",
		"# TYPE certledger_findings_open gauge",
		"# TYPE certledger_alerts_firing gauge",
		"# TYPE certledger_alert_deliveries_total counter",
		"# TYPE certledger_alert_deliveries_pending gauge",
		"# TYPE certledger_job_last_success_timestamp_seconds gauge",
		"# TYPE certledger_job_last_start_timestamp_seconds gauge",
		"# TYPE certledger_job_duration_seconds gauge",
		"# TYPE certledger_job_runs_total counter",
		"# TYPE certledger_job_failures_total counter",
		"# TYPE certledger_job_running gauge",
	};
	static const char *const others[] = {
		"certledger_alert_evaluation_last_timestamp_seconds 1699999940",
		"certledger_alert_evaluation_duration_seconds 0.25",
		"certledger_start_time_seconds 1699996400",
		"certledger_build_info{version=\"" CL_VERSION "\"} 1",
		"certledger_cert_series_dropped 0",
		"certledger_certificates 3",
		"certledger_findings_open{rule=\"r1\",severity=\"warning\"} 2",
		"certledger_findings_open{rule=\"r2\",severity=\"error\"} 1",
		"certledger_alerts_firing{type=\"cert.expired\",severity=\"critical\"} 1",
		"certledger_alerts_firing{type=\"cert.expiry\",severity=\"warning\"} 1",
		"certledger_alert_deliveries_total{notifier=\"slack\",outcome=\"failed\"} 1",
		"certledger_alert_deliveries_total{notifier=\"slack\",outcome=\"sent\"} 2",
		"certledger_alert_deliveries_pending{notifier=\"mail\"} 1",
		"certledger_alert_deliveries_pending{notifier=\"slack\"} 1",
		"certledger_job_last_success_timestamp_seconds{job_name=\"nightly \\\"files\\\"\","
		"kind=\"files\"} 1699999800",
		"certledger_job_last_success_timestamp_seconds{job_name=\"edge\",kind=\"net\"} 0",
		"certledger_job_last_start_timestamp_seconds{job_name=\"nightly \\\"files\\\"\","
		"kind=\"files\"} 1699999900",
		"certledger_job_duration_seconds{job_name=\"nightly \\\"files\\\"\","
		"kind=\"files\"} 1.5",
		"certledger_job_duration_seconds{job_name=\"edge\",kind=\"net\"} 0",
		"certledger_job_runs_total{job_name=\"nightly \\\"files\\\"\",kind=\"files\"} 3",
		"certledger_job_failures_total{job_name=\"nightly \\\"files\\\"\","
		"kind=\"files\"} 1",
		"certledger_job_running{job_name=\"nightly \\\"files\\\"\",kind=\"files\"} 1",
		"certledger_job_running{job_name=\"edge\",kind=\"net\"} 0",
	};
	static const char *const names[] = { "certledger_cert_not_after_seconds",
	                                      "certledger_cert_not_before_seconds",
	                                      "certledger_cert_expired" };
	struct cl_store *s = build_main();
	struct sink k = render(s, 0);
	char l[12][1024];
	const char *series[12];
	size_t i;

	(void)state;
	assert_lines_in_order(k.text, families, CL_ARRAY_LEN(families));
	for (i = 0; i < CL_ARRAY_LEN(others); i++)
		assert_lines_in_order(k.text, &others[i], 1);
	/* rows by not_after, then location: D, A at a.pem, A at the odd path, B */
	for (i = 0; i < 3; i++) {
		/* not_after, not_before, expired at T0 */
		int64_t vd = i == 0 ? T0 - DAY : i == 1 ? T0 - 400 * DAY : 1;
		int64_t va = i == 0 ? T0 + 10 * DAY : i == 1 ? T0 - DAY : 0;
		int64_t vb = i == 0 ? T0 + 100 * DAY : i == 1 ? T0 - 2 * DAY : 0;

		series[4 * i] = series_line(l[4 * i], sizeof l[0], names[i], fd, "d.example.test",
		                            "Other \\\"CA\\\"", "file:/srv/d.pem", "", "", vd);
		series[4 * i + 1] = series_line(l[4 * i + 1], sizeof l[0], names[i], fa, A_CN_ESC,
		                                "Test CA", "file:/srv/a.pem", "", "", va);
		series[4 * i + 2] = series_line(l[4 * i + 2], sizeof l[0], names[i], fa, A_CN_ESC,
		                                "Test CA", ODD_LOC, "", "", va);
		series[4 * i + 3] = series_line(l[4 * i + 3], sizeof l[0], names[i], fb,
		                                "b.example.test", "Test CA",
		                                "tls:127.0.0.1:443/b.example.test",
		                                "team \\\"x\\\"", "prod", vb);
	}
	assert_lines_in_order(k.text, series, 12);
	assert_int_equal(count_lines(k.text, "certledger_cert_"), 12 + 1);  /* + dropped */
	assert_null(strstr(k.text, fc));                                 /* C is gone */
	assert_int_equal(count_lines(k.text, "# HELP "), CL_ARRAY_LEN(families));
	assert_int_equal(count_lines(k.text, "# TYPE "), CL_ARRAY_LEN(families));
	promtool_check(k.text, k.len, "exact");
	free(k.text);
	cl_store_close(s);
}

/* Label values: escapes, UTF-8 kept, other bytes replaced by U+FFFD. */
static void test_escaping(void **state)
{
	static const struct {
		const char *where, *label;
	} t[] = {
		{ "/plain", "file:/plain" },
		{ "/q\"uote", "file:/q\\\"uote" },
		{ "/back\\slash\\", "file:/back\\\\slash\\\\" },
		{ "/new\nline\n", "file:/new\\nline\\n" },
		{ "/tab\tcr\r", "file:/tab\tcr\r" },
		{ "/caf\xc3\xa9/\xf0\x9f\x94\x92", "file:/caf\xc3\xa9/\xf0\x9f\x94\x92" },
		{ "/bad\xff", "file:/bad\xef\xbf\xbd" },
		{ "/cut\xe2\x82", "file:/cut\xef\xbf\xbd\xef\xbf\xbd" },
		{ "/sur\xed\xa0\x80z", "file:/sur\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz" },
		{ "/long\xc0\xaf", "file:/long\xef\xbf\xbd\xef\xbf\xbd" },
		{ "/cont\x80\x80", "file:/cont\xef\xbf\xbd\xef\xbf\xbd" },
	};
	struct cl_store *s = open_fresh("escaping");
	struct sink k;
	int64_t run;
	size_t i;

	(void)state;
	assert_int_equal(cl_store_run_begin(s, "test", NULL, T0, &run), CL_OK);
	for (i = 0; i < CL_ARRAY_LEN(t); i++)
		observe(s, run, cb, "file", t[i].where);
	k = render(s, 0);
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		char want[1024];
		const char *line = want;

		series_line(want, sizeof want, "certledger_cert_expired", fb, "b.example.test",
		            "Test CA", t[i].label, "", "", 0);
		assert_lines_in_order(k.text, &line, 1);
	}
	assert_int_equal(count_lines(k.text, "certledger_cert_expired{"), CL_ARRAY_LEN(t));
	promtool_check(k.text, k.len, "escaping");
	free(k.text);
	cl_store_close(s);
}

/* The series lines of a family, in order, as one string. */
static char *family_lines(const char *text, const char *name)
{
	size_t n = strlen(name), len = 0;
	const char *p = text;
	char *out = calloc(1, strlen(text) + 1);

	assert_non_null(out);
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) + 1 : strlen(p);
		if (strncmp(p, name, n) == 0 && p[n] == '{') {
			memcpy(out + len, p, l);
			len += l;
		}
		p += l;
	}
	return out;
}

/*
 * The same text when the label sets do not fit the renderer's cache (none
 * at all, or given up part way): the later families read the store again.
 */
static void assert_same_without_cache(struct cl_store *s, long max_series,
                                      const struct sink *k)
{
	static const char *const caps[] = { "0", "700", "30000" };
	size_t i;

	for (i = 0; i < CL_ARRAY_LEN(caps); i++) {
		struct sink r;

		assert_int_equal(setenv("CL_METRICS_CACHE", caps[i], 1), 0);
		r = render(s, max_series);
		assert_int_equal(unsetenv("CL_METRICS_CACHE"), 0);
		assert_int_equal(r.len, k->len);
		assert_memory_equal(r.text, k->text, k->len);
		free(r.text);
	}
}

/* The bound: the soonest expiring series are kept, the rest counted. */
static void test_max_series(void **state)
{
	static const char *const names[] = { "certledger_cert_not_after_seconds",
	                                      "certledger_cert_not_before_seconds",
	                                      "certledger_cert_expired" };
	struct cl_store *s = build_main();
	struct sink all = render(s, 0);
	long max;
	size_t f;

	(void)state;
	for (max = 1; max <= 5; max++) {
		struct sink k = render(s, max);
		long kept = max < 4 ? max : 4;
		char want[64];
		const char *line = want;

		for (f = 0; f < CL_ARRAY_LEN(names); f++) {
			char *a = family_lines(all.text, names[f]);
			char *b = family_lines(k.text, names[f]);

			/* a prefix of the unbounded rows (the store then uses its other plan) */
			assert_int_equal(count_lines(b, names[f]), kept);
			assert_memory_equal(a, b, strlen(b));
			free(a);
			free(b);
		}
		snprintf(want, sizeof want, "certledger_cert_series_dropped %ld", 4 - kept);
		assert_lines_in_order(k.text, &line, 1);
		/* the certificates are all counted, whatever the bound */
		line = "certledger_certificates 3";
		assert_lines_in_order(k.text, &line, 1);
		promtool_check(k.text, k.len, "bounded");
		assert_same_without_cache(s, max, &k);
		free(k.text);
	}
	free(all.text);
	cl_store_close(s);
}

/* A large inventory: 64 KiB pieces, the same text every time, every line. */
static void test_chunks(void **state)
{
	struct cl_store *s = open_fresh("chunks");
	struct sink k1, k2;
	int64_t run;
	char where[256];
	size_t i;
	int n;

	(void)state;
	assert_int_equal(cl_store_run_begin(s, "test", NULL, T0, &run), CL_OK);
	assert_int_equal(cl_store_begin(s), CL_OK);
	for (n = 0; n < 400; n++) {
		snprintf(where, sizeof where, "/srv/tls/host-%04d.example.test/fullchain.pem", n);
		observe(s, run, ca, "file", where);
		observe(s, run, cb, "file", where);
		observe(s, run, cd, "file", where);
	}
	assert_int_equal(cl_store_commit(s), CL_OK);
	k1 = render(s, 0);
	k2 = render(s, 0);
	assert_true(k1.calls > 5);
	assert_int_equal(k1.calls, k2.calls);
	for (i = 0; i + 1 < k1.calls; i++)
		assert_int_equal(k1.sizes[i], CHUNK);
	assert_true(k1.sizes[k1.calls - 1] > 0 && k1.sizes[k1.calls - 1] <= CHUNK);
	assert_int_equal(k1.max_chunk, CHUNK);
	assert_int_equal(k1.len, k2.len);
	assert_memory_equal(k1.text, k2.text, k1.len);
	assert_int_equal(count_lines(k1.text, "certledger_cert_not_after_seconds{"), 1200);
	assert_int_equal(count_lines(k1.text, "certledger_cert_not_before_seconds{"), 1200);
	assert_int_equal(count_lines(k1.text, "certledger_cert_expired{"), 1200);
	assert_int_equal(count_lines(k1.text, "certledger_cert_expired{fingerprint=\""), 1200);
	{
		const char *line = "certledger_certificates 3";
		assert_lines_in_order(k1.text, &line, 1);
	}
	assert_true(k1.text[k1.len - 1] == '\n');
	promtool_check(k1.text, k1.len, "chunks");
	assert_same_without_cache(s, 0, &k1);
	free(k1.text);
	free(k2.text);
	cl_store_close(s);
}

/* An empty inventory and no jobs: every family still has its HELP and TYPE. */
static void test_empty(void **state)
{
	struct cl_store *s = open_fresh("empty");
	struct cl_metrics_in in = { .now = T0 };
	static const char *const lines[] = {
		"certledger_cert_series_dropped 0",
		"certledger_certificates 0",
		"# TYPE certledger_job_running gauge",
	};
	struct sink k;

	(void)state;
	memset(&k, 0, sizeof k);
	assert_int_equal(cl_metrics_render(s, &in, sink_emit, &k), CL_OK);
	assert_int_equal(k.calls, 1);
	assert_well_formed(k.text);
	assert_lines_in_order(k.text, lines, CL_ARRAY_LEN(lines));
	assert_int_equal(count_lines(k.text, "# TYPE "), 19);
	promtool_check(k.text, k.len, "empty");
	free(k.text);
	cl_store_close(s);
}

/* emit's failure ends the render at once and is returned. */
static void test_emit_fails(void **state)
{
	struct cl_store *s = open_fresh("emitfail");
	struct cl_metrics_in in = { .now = T0 };
	struct sink k;
	char where[64];
	int64_t run;
	int n;

	(void)state;
	assert_int_equal(cl_store_run_begin(s, "test", NULL, T0, &run), CL_OK);
	for (n = 0; n < 500; n++) {
		snprintf(where, sizeof where, "/srv/%d.pem", n);
		observe(s, run, ca, "file", where);
	}
	for (n = 1; n <= 3; n++) {
		memset(&k, 0, sizeof k);
		k.fail_at = (size_t)n;
		assert_int_equal(cl_metrics_render(s, &in, sink_emit, &k), CL_ERR_IO);
		assert_int_equal(k.calls, n);
		free(k.text);
	}
	cl_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_max_series),
		cmocka_unit_test(test_chunks),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_emit_fails),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
