/*
 * /metrics in the Prometheus text exposition format 0.0.4.
 *
 * Output goes through a 64 KiB buffer handed to emit whenever it is full,
 * so a scrape never holds the whole text. The exposition format wants the
 * lines of one family together, and there are three families with one
 * series per certificate and location; the store is read once for the
 * first of them, and the label sets of its rows (escaped, ready to write)
 * are kept for the other two: one database pass instead of three, for
 * about a third of the text in memory. Beyond CACHE_MAX bytes of label
 * sets the cache is given up and the other two families read the store
 * again (memory stays bounded whatever the inventory holds). Tests lower
 * that cap with CL_METRICS_CACHE (bytes) to take the second path.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/util.h"
#include "serve/metrics.h"

#define OUT_CHUNK (64u * 1024)
#define DEFAULT_MAX_SERIES 200000L
#define CACHE_MAX ((size_t)64 << 20)
#define LABELS_MAX ((size_t)1 << 20)   /* one row's label set */

/* ---- output -------------------------------------------------------------- */

struct out {
	int (*emit)(void *arg, const char *data, size_t len);
	void *arg;
	int rc;           /* the first failure; later output is dropped */
	size_t len;
	char *buf;        /* OUT_CHUNK bytes */
};

static void out_flush(struct out *o)
{
	if (o->rc == CL_OK && o->len > 0)
		o->rc = o->emit(o->arg, o->buf, o->len);
	o->len = 0;
}

static void out_raw_slow(struct out *o, const char *p, size_t n)
{
	while (n > 0 && o->rc == CL_OK) {
		size_t k = OUT_CHUNK - o->len;

		if (k == 0) {
			out_flush(o);
			continue;
		}
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		n -= k;
	}
}

static inline void out_raw(struct out *o, const char *p, size_t n)
{
	if (n <= OUT_CHUNK - o->len) {
		memcpy(o->buf + o->len, p, n);
		o->len += n;
	} else {
		out_raw_slow(o, p, n);
	}
}

#define OUT_LIT(o, lit) out_raw((o), (lit), sizeof(lit) - 1)

static void out_str(struct out *o, const char *s)
{
	out_raw(o, s, strlen(s));
}

/* Decimal integer, without printf (hundreds of thousands per scrape). */
static size_t fmt_i64(char *end, int64_t v)
{
	char *p = end;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	return (size_t)(end - p);
}

static void out_i64(struct out *o, int64_t v)
{
	char num[24];
	size_t n = fmt_i64(num + sizeof num, v);

	out_raw(o, num + sizeof num - n, n);
}

static void out_f64(struct out *o, double v)
{
	char num[40];
	int n;

	if (isnan(v)) {
		OUT_LIT(o, "NaN");
		return;
	}
	if (isinf(v)) {
		out_str(o, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	n = snprintf(num, sizeof num, "%.9g", v);
	out_raw(o, num, (size_t)n);
}

/* "# HELP name help" and "# TYPE name type"; help is plain ASCII here. */
static void out_family(struct out *o, const char *name, const char *type, const char *help)
{
	OUT_LIT(o, "# HELP ");
	out_str(o, name);
	out_raw(o, " ", 1);
	out_str(o, help);
	OUT_LIT(o, "\n# TYPE ");
	out_str(o, name);
	out_raw(o, " ", 1);
	out_str(o, type);
	out_raw(o, "\n", 1);
}

/* A sample without labels: "name value". */
static void out_gauge_i(struct out *o, const char *name, int64_t v)
{
	out_str(o, name);
	out_raw(o, " ", 1);
	out_i64(o, v);
	out_raw(o, "\n", 1);
}

/* ---- label sets ----------------------------------------------------------- */

/*
 * Appends s as a label value: backslash, double quote and line feed
 * escaped (\\, \", \n); bytes that are not UTF-8 (which Prometheus
 * rejects) become U+FFFD. Strings from the store are UTF-8 already
 * (locations and names are escaped when recorded); owners and
 * environments come from users.
 */
static int lab_value(struct cl_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, run = 0;
	int rc = CL_OK;

	while (i < n) {
		unsigned char c = p[i];
		const char *rep;
		size_t len;

		if (c < 0x80 && c != '\\' && c != '"' && c != '\n') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			if (len <= n - i && cl_utf8_valid(s + i, len)) {
				i += len;
				continue;
			}
			rep = "\xef\xbf\xbd";
		} else {
			rep = c == '\\' ? "\\\\" : c == '"' ? "\\\"" : "\\n";
		}
		if ((rc = cl_buf_add(b, s + run, i - run)) != CL_OK ||
		    (rc = cl_buf_addstr(b, rep)) != CL_OK)
			return rc;
		run = ++i;
	}
	return cl_buf_add(b, s + run, n - run);
}

/* Appends name="value" (with a comma before all but the first). */
static int lab_pair(struct cl_buf *b, const char *name, const char *value)
{
	int rc;

	if ((rc = cl_buf_addc(b, b->len ? ',' : '{')) != CL_OK ||
	    (rc = cl_buf_addstr(b, name)) != CL_OK ||
	    (rc = cl_buf_add(b, "=\"", 2)) != CL_OK ||
	    (rc = lab_value(b, value ? value : "")) != CL_OK)
		return rc;
	return cl_buf_addc(b, '"');
}

static int lab_end(struct cl_buf *b)
{
	return cl_buf_addc(b, '}');
}

/* "name{labels} value" */
static void out_sample_i(struct out *o, const char *name, const struct cl_buf *lab, int64_t v)
{
	out_str(o, name);
	out_raw(o, lab->data, lab->len);
	out_raw(o, " ", 1);
	out_i64(o, v);
	out_raw(o, "\n", 1);
}

/* ---- certificate series ------------------------------------------------- */

enum cert_family { F_NOT_AFTER, F_NOT_BEFORE, F_EXPIRED };

static const struct {
	const char *name, *help;
} cert_families[] = {
	[F_NOT_AFTER] = { "certledger_cert_not_after_seconds",
	                  "End of the validity of a certificate present at a location,"
	                  " in Unix seconds." },
	[F_NOT_BEFORE] = { "certledger_cert_not_before_seconds",
	                   "Start of the validity of a certificate present at a location,"
	                   " in Unix seconds." },
	[F_EXPIRED] = { "certledger_cert_expired",
	                "1 when a certificate present at a location has expired, else 0." },
};

/* What a cache entry starts with; the label set follows. */
struct cache_hdr {
	int64_t not_before, not_after;
	size_t len;
};

struct series {
	struct out *o;
	enum cert_family fam;
	int64_t now;
	struct cl_buf lab;    /* the current row's label set */
	struct cl_buf cache;  /* cache_hdr + label set per row, for the later families */
	bool caching;
	long emitted;         /* rows of the first family */
	long certs;           /* distinct fingerprints among them */
	char last_fp[72];
	int rc;               /* a failure of ours (not the store's, not emit's) */
};

static int64_t fam_value(const struct series *sr, enum cert_family fam, int64_t not_before,
                         int64_t not_after)
{
	switch (fam) {
	case F_NOT_AFTER: return not_after;
	case F_NOT_BEFORE: return not_before;
	default: return not_after <= sr->now ? 1 : 0;
	}
}

static int series_labels(struct cl_buf *b, const struct cl_metric_row *r)
{
	int rc;

	cl_buf_reset(b);
	if ((rc = lab_pair(b, "fingerprint", r->fp)) != CL_OK ||
	    (rc = lab_pair(b, "subject_cn", r->subject_cn)) != CL_OK ||
	    (rc = lab_pair(b, "issuer_cn", r->issuer_cn)) != CL_OK ||
	    (rc = lab_pair(b, "location", r->location)) != CL_OK ||
	    (rc = lab_pair(b, "owner", r->owner)) != CL_OK ||
	    (rc = lab_pair(b, "environment", r->environment)) != CL_OK)
		return rc;
	return lab_end(b);
}

static int series_row(void *arg, const struct cl_metric_row *r)
{
	struct series *sr = arg;

	if ((sr->rc = series_labels(&sr->lab, r)) != CL_OK)
		return sr->rc;
	out_sample_i(sr->o, cert_families[sr->fam].name, &sr->lab,
	             fam_value(sr, sr->fam, r->not_before, r->not_after));
	if (sr->fam != F_NOT_AFTER)
		return sr->o->rc;
	sr->emitted++;
	if (strcmp(sr->last_fp, r->fp) != 0) {
		/* rows come by not_after, then fingerprint: a certificate's are adjacent */
		sr->certs++;
		snprintf(sr->last_fp, sizeof sr->last_fp, "%s", r->fp);
	}
	if (sr->caching) {
		struct cache_hdr h = { r->not_before, r->not_after, sr->lab.len };

		/* on failure cl_buf frees the cache: the later families re-read */
		if (cl_buf_add(&sr->cache, &h, sizeof h) != CL_OK ||
		    cl_buf_add(&sr->cache, sr->lab.data, sr->lab.len) != CL_OK)
			sr->caching = false;
	}
	return sr->o->rc;
}

/* A later family from the cache. */
static void series_replay(struct series *sr, enum cert_family fam)
{
	const char *name = cert_families[fam].name;
	size_t off = 0, nlen = strlen(name);

	while (off < sr->cache.len && sr->o->rc == CL_OK) {
		struct cache_hdr h;

		memcpy(&h, sr->cache.data + off, sizeof h);
		off += sizeof h;
		out_raw(sr->o, name, nlen);
		out_raw(sr->o, sr->cache.data + off, h.len);
		out_raw(sr->o, " ", 1);
		out_i64(sr->o, fam_value(sr, fam, h.not_before, h.not_after));
		out_raw(sr->o, "\n", 1);
		off += h.len;
	}
}

/* Ours first, then emit's, then the store's (when a callback stopped the
 * store, what it returns is only the echo of the first two). */
static int series_rc(const struct series *sr, int rc)
{
	if (sr->rc != CL_OK)
		return sr->rc;
	if (sr->o->rc != CL_OK)
		return sr->o->rc;
	return rc;
}

/* CACHE_MAX, or less when CL_METRICS_CACHE says so (tests). */
static size_t cache_max(void)
{
	const char *e = getenv("CL_METRICS_CACHE");
	unsigned long long v;
	char *end;

	if (!e || !*e)
		return CACHE_MAX;
	v = strtoull(e, &end, 10);
	return *end == '\0' && v < CACHE_MAX ? (size_t)v : CACHE_MAX;
}

/* Present certificates when the series were cut short by the bound. */
static int count_certs(struct cl_store *s, int64_t now, long *certs)
{
	struct cl_summary sum;
	struct cl_filter f;
	int rc;

	memset(&sum, 0, sizeof sum);
	cl_filter_init(&f);
	f.now = now;
	f.state = CL_STATE_PRESENT;
	if ((rc = cl_store_summary(s, &f, &sum)) == CL_OK)
		*certs = sum.certs;
	cl_summary_free(&sum);
	return rc;
}

static int render_certs(struct cl_store *s, const struct cl_metrics_in *in, struct out *o)
{
	struct series sr;
	long max = in->max_series > 0 ? in->max_series : DEFAULT_MAX_SERIES, total = 0;
	int rc, fam;

	memset(&sr, 0, sizeof sr);
	sr.o = o;
	sr.now = in->now ? in->now : cl_now();
	sr.caching = true;
	cl_buf_init(&sr.lab, LABELS_MAX);
	cl_buf_init(&sr.cache, cache_max());

	for (fam = F_NOT_AFTER; fam <= F_EXPIRED; fam++) {
		sr.fam = (enum cert_family)fam;
		out_family(o, cert_families[fam].name, "gauge", cert_families[fam].help);
		if (fam == F_NOT_AFTER) {
			rc = cl_store_metric_series(s, max, series_row, &sr, &total);
		} else if (sr.caching) {
			series_replay(&sr, sr.fam);
			rc = CL_OK;
		} else {
			rc = cl_store_metric_series(s, max, series_row, &sr, NULL);
		}
		if ((rc = series_rc(&sr, rc)) != CL_OK)
			goto out;
	}
	if (total > sr.emitted && (rc = count_certs(s, sr.now, &sr.certs)) != CL_OK)
		goto out;
	out_family(o, "certledger_cert_series_dropped", "gauge",
	           "Certificate and location pairs left out of the per-certificate families"
	           " (beyond the max_series bound; the latest expiring are dropped first).");
	out_gauge_i(o, "certledger_cert_series_dropped",
	            total > sr.emitted ? total - sr.emitted : 0);
	out_family(o, "certledger_certificates", "gauge",
	           "Certificates present at one location or more.");
	out_gauge_i(o, "certledger_certificates", sr.certs);
	rc = o->rc;
out:
	cl_buf_free(&sr.lab);
	cl_buf_free(&sr.cache);
	return rc;
}

/* ---- counts by two labels ------------------------------------------------- */

struct counts {
	struct out *o;
	const char *name, *l1, *l2;
	const char *only;     /* outbox: the state to keep, NULL = all */
	struct cl_buf lab;
	int rc;
};

static int counts_row(void *arg, const char *v1, const char *v2, long n)
{
	struct counts *c = arg;

	cl_buf_reset(&c->lab);
	if ((c->rc = lab_pair(&c->lab, c->l1, v1)) != CL_OK ||
	    (c->l2 && (c->rc = lab_pair(&c->lab, c->l2, v2)) != CL_OK) ||
	    (c->rc = lab_end(&c->lab)) != CL_OK)
		return c->rc;
	out_sample_i(c->o, c->name, &c->lab, n);
	return c->o->rc;
}

/* Outbox rows: the counter of sent and failed deliveries, or the pending gauge. */
static int outbox_row(void *arg, const char *notifier, const char *state, long n)
{
	struct counts *c = arg;
	bool pending = strcmp(state, "pending") == 0;

	if (c->only ? !pending : pending)
		return CL_OK;
	return counts_row(arg, notifier, state, n);
}

static int counts_rc(const struct counts *c, int rc)
{
	if (c->rc != CL_OK)
		return c->rc;
	if (c->o->rc != CL_OK)
		return c->o->rc;
	return rc;
}

static int render_counts(struct cl_store *s, struct out *o)
{
	struct counts c;
	int rc;

	memset(&c, 0, sizeof c);
	c.o = o;
	cl_buf_init(&c.lab, LABELS_MAX);

	c.name = "certledger_findings_open";
	c.l1 = "rule";
	c.l2 = "severity";
	out_family(o, c.name, "gauge", "Open findings by rule and severity.");
	if ((rc = counts_rc(&c, cl_store_finding_counts(s, counts_row, &c))) != CL_OK)
		goto out;

	c.name = "certledger_alerts_firing";
	c.l1 = "type";
	c.l2 = "severity";
	out_family(o, c.name, "gauge", "Firing alerts by type and severity.");
	if ((rc = counts_rc(&c, cl_store_alert_counts(s, counts_row, &c))) != CL_OK)
		goto out;

	c.name = "certledger_alert_deliveries_total";
	c.l1 = "notifier";
	c.l2 = "outcome";
	out_family(o, c.name, "counter",
	           "Alert notifications delivered (outcome sent) or given up (failed),"
	           " by notifier.");
	if ((rc = counts_rc(&c, cl_store_outbox_counts(s, outbox_row, &c))) != CL_OK)
		goto out;

	c.name = "certledger_alert_deliveries_pending";
	c.l1 = "notifier";
	c.l2 = NULL;
	c.only = "pending";
	out_family(o, c.name, "gauge",
	           "Alert notifications waiting for their first or next attempt, by notifier.");
	if ((rc = counts_rc(&c, cl_store_outbox_counts(s, outbox_row, &c))) != CL_OK)
		goto out;
	rc = CL_OK;
out:
	cl_buf_free(&c.lab);
	return rc;
}

/* ---- the daemon ------------------------------------------------------------ */

enum job_field { J_SUCCESS, J_START, J_DURATION, J_RUNS, J_FAILURES, J_RUNNING };

static const struct {
	const char *name, *type, *help;
} job_families[] = {
	[J_SUCCESS] = { "certledger_job_last_success_timestamp_seconds", "gauge",
	                "End of the last successful run of a job, in Unix seconds (0: none)." },
	[J_START] = { "certledger_job_last_start_timestamp_seconds", "gauge",
	              "Start of the last run of a job, in Unix seconds (0: none)." },
	[J_DURATION] = { "certledger_job_duration_seconds", "gauge",
	                 "Duration of the last finished run of a job (0: none yet)." },
	[J_RUNS] = { "certledger_job_runs_total", "counter",
	             "Runs of a job started since the daemon started." },
	[J_FAILURES] = { "certledger_job_failures_total", "counter",
	                 "Runs of a job that failed since the daemon started." },
	[J_RUNNING] = { "certledger_job_running", "gauge", "1 while a job runs, else 0." },
};

static int render_jobs(const struct cl_metrics_in *in, struct out *o)
{
	struct cl_buf lab;
	size_t f, i;
	int rc = CL_OK;

	cl_buf_init(&lab, LABELS_MAX);
	for (f = 0; f < CL_ARRAY_LEN(job_families); f++) {
		out_family(o, job_families[f].name, job_families[f].type, job_families[f].help);
		for (i = 0; i < in->njobs; i++) {
			const struct cl_job_metrics *j = &in->jobs[i];

			cl_buf_reset(&lab);
			/* not "job": Prometheus sets that label on every scraped series */
			if ((rc = lab_pair(&lab, "job_name", j->name)) != CL_OK ||
			    (rc = lab_pair(&lab, "kind", j->kind)) != CL_OK ||
			    (rc = lab_end(&lab)) != CL_OK)
				goto out;
			out_str(o, job_families[f].name);
			out_raw(o, lab.data, lab.len);
			out_raw(o, " ", 1);
			switch ((enum job_field)f) {
			case J_SUCCESS: out_i64(o, j->last_success); break;
			case J_START: out_i64(o, j->last_start); break;
			case J_DURATION: out_f64(o, j->last_seconds); break;
			case J_RUNS: out_i64(o, j->runs); break;
			case J_FAILURES: out_i64(o, j->failures); break;
			case J_RUNNING: out_i64(o, j->running ? 1 : 0); break;
			}
			out_raw(o, "\n", 1);
		}
	}
	rc = o->rc;
out:
	cl_buf_free(&lab);
	return rc;
}

static void render_daemon(const struct cl_metrics_in *in, struct out *o)
{
	out_family(o, "certledger_alert_evaluation_last_timestamp_seconds", "gauge",
	           "End of the last evaluation of the alert rules, in Unix seconds (0: none).");
	out_gauge_i(o, "certledger_alert_evaluation_last_timestamp_seconds", in->eval_last);
	out_family(o, "certledger_alert_evaluation_duration_seconds", "gauge",
	           "Duration of the last evaluation of the alert rules.");
	OUT_LIT(o, "certledger_alert_evaluation_duration_seconds ");
	out_f64(o, in->eval_seconds);
	out_raw(o, "\n", 1);
	out_family(o, "certledger_start_time_seconds", "gauge",
	           "Start of the daemon, in Unix seconds.");
	out_gauge_i(o, "certledger_start_time_seconds", in->started);
	out_family(o, "certledger_build_info", "gauge",
	           "The running certledger version (always 1).");
	OUT_LIT(o, "certledger_build_info{version=\"" CL_VERSION "\"} 1\n");
}

int cl_metrics_render(struct cl_store *s, const struct cl_metrics_in *in,
                      int (*emit)(void *arg, const char *data, size_t len), void *arg)
{
	struct out o;
	int rc;

	memset(&o, 0, sizeof o);
	o.emit = emit;
	o.arg = arg;
	if ((o.buf = malloc(OUT_CHUNK)) == NULL) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	render_daemon(in, &o);
	if ((rc = render_certs(s, in, &o)) != CL_OK || (rc = render_counts(s, &o)) != CL_OK ||
	    (rc = render_jobs(in, &o)) != CL_OK)
		goto out;
	out_flush(&o);
	rc = o.rc;
out:
	free(o.buf);
	return rc;
}
