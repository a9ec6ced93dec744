/*
 * The inventory store through its public interface: ingestion, gone
 * detection, sweeps, findings, tags and inheritance, the append-only
 * audit trail and schema version checks; the listing copy of certs stays
 * equal to it, and JSON rows equal the rows handed to callbacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sqlite3.h>
#include "testutil.h"
#include "report/report.h"
#include "store/store.h"
#include "x509/cert.h"

static struct cl_cert *certs[3];
static char fps[3][65];
static char dbpath[4096];

static struct cl_cert *make_cert(const char *dir, const char *cn, int days)
{
	char path[4096];
	unsigned char *der;
	size_t len;
	struct cl_cert *c = NULL;
	const char *why;

	tu_sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	      "-keyout %s.key -out %s.der -outform DER -days %d -subj /CN=%s "
	      "-addext subjectAltName=DNS:%s 2>/dev/null", dir, cn, cn, days, cn, cn);
	snprintf(path, sizeof path, "%s/%s.der", dir, cn);
	der = tu_read(path, &len);
	assert_int_equal(cl_cert_parse_der(der, len, &c, &why), CL_OK);
	free(der);
	return c;
}

static int setup(void **state)
{
	const char *dir = tu_tmpdir();
	int i;

	(void)state;
	certs[0] = make_cert(dir, "a.example.test", 10);
	certs[1] = make_cert(dir, "b.example.test", 100);
	certs[2] = make_cert(dir, "c.example.test", 400);
	for (i = 0; i < 3; i++) {
		int j;
		for (j = 0; j < 32; j++)
			sprintf(fps[i] + 2 * j, "%02x", certs[i]->fp[j]);
	}
	return 0;
}

static int teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		cl_cert_free(certs[i]);
	return 0;
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

/*
 * The listing table (certs clustered by expiry) holds exactly the rows of
 * certs up to its watermark that expire within its window; rows above the
 * watermark (a run under way) join when the run ends. Returns the number
 * of rows above it.
 */
static int assert_listing_equal(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int tail;

	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                 "WITH l AS (SELECT certs.* FROM certs, listing_bounds b WHERE id<=b.upto"
	                 "  AND not_after<=b.horizon)"
	                 "SELECT (SELECT count(*) FROM l), (SELECT count(*) FROM listing),"
	                 " (SELECT count(*) FROM (SELECT * FROM l EXCEPT SELECT * FROM listing)),"
	                 " (SELECT count(*) FROM (SELECT * FROM listing EXCEPT SELECT * FROM l)),"
	                 " (SELECT count(*) FROM certs WHERE id>(SELECT upto FROM listing_bounds))",
	                 -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
	assert_int_equal(sqlite3_column_int(st, 2), 0);
	assert_int_equal(sqlite3_column_int(st, 3), 0);
	tail = sqlite3_column_int(st, 4);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return tail;
}

struct collect {
	int n;
	char fp[8][65];
	char owner[8][64];
	size_t nlocs[8];
};

static int collect_row(void *arg, const struct cl_inv_row *row)
{
	struct collect *c = arg;
	int j;

	if (c->n < 8) {
		for (j = 0; j < 32; j++)
			sprintf(c->fp[c->n] + 2 * j, "%02x", row->c->fp[j]);
		snprintf(c->owner[c->n], sizeof c->owner[0], "%s", row->owner ? row->owner : "");
		c->nlocs[c->n] = row->nlocs;
	}
	c->n++;
	return CL_OK;
}

static struct collect query(struct cl_store *s, enum cl_state state)
{
	struct cl_filter f;
	struct collect c;

	memset(&c, 0, sizeof c);
	cl_filter_init(&f);
	f.state = state;
	assert_int_equal(cl_store_query(s, &f, collect_row, &c), CL_OK);
	(void)assert_listing_equal();
	return c;
}

static int count_events(void *arg, const struct cl_event_row *e)
{
	(void)e;
	(*(int *)arg)++;
	return CL_OK;
}

static int events_of(struct cl_store *s, const char *type)
{
	struct cl_event_filter f = { 0 };
	int n = 0;

	f.type = type;
	assert_int_equal(cl_store_events(s, &f, count_events, &n), CL_OK);
	return n;
}

static bool exists_never(void *arg, const char *kind, const char *where)
{
	(void)arg; (void)kind; (void)where;
	return false;
}

static bool exists_always(void *arg, const char *kind, const char *where)
{
	(void)arg; (void)kind; (void)where;
	return true;
}

static void test_observe_and_gone(void **state)
{
	struct cl_store *s = open_fresh("observe");
	int64_t run1, run2, run3;
	unsigned what;
	long ngone;
	struct collect c;

	(void)state;
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 1000, &run1), CL_OK);
	assert_int_equal(cl_store_observe_cert(s, run1, certs[0], "file", "/x/a.pem", "PEM", 1000,
	                                       &what), CL_OK);
	assert_int_equal(what, CL_OBS_NEW_CERT | CL_OBS_NEW_SIGHTING);
	/* the same certificate in a second file: stored once, two locations */
	assert_int_equal(cl_store_observe_cert(s, run1, certs[0], "file", "/x/bundle.pem", "PEM",
	                                       1000, &what), CL_OK);
	assert_int_equal(what, CL_OBS_NEW_SIGHTING);
	assert_int_equal(cl_store_observe_cert(s, run1, certs[1], "file", "/x/bundle.pem", "PEM",
	                                       1000, &what), CL_OK);
	c = query(s, CL_STATE_PRESENT);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.fp[0], fps[0]);  /* sorted by not_after */
	assert_int_equal(c.nlocs[0], 2);

	/* run 2: bundle.pem now holds only certs[1]; a.pem was deleted */
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 2000, &run2), CL_OK);
	assert_int_equal(cl_store_observe_cert(s, run2, certs[1], "file", "/x/bundle.pem", "PEM",
	                                       2000, &what), CL_OK);
	assert_int_equal(what, 0);
	assert_int_equal(cl_store_location_done(s, run2, "file", "/x/bundle.pem", 2000, &ngone),
	                 CL_OK);
	assert_int_equal(ngone, 1);
	/* a file that still exists but was not read is left alone */
	assert_int_equal(cl_store_sweep(s, run2, "file", "/x", exists_always, NULL, 2000, &ngone),
	                 CL_OK);
	assert_int_equal(ngone, 0);
	c = query(s, CL_STATE_PRESENT);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.nlocs[0], 1);  /* a.pem still present, bundle gone */
	assert_int_equal(cl_store_sweep(s, run2, "file", "/x", exists_never, NULL, 2000, &ngone),
	                 CL_OK);
	assert_int_equal(ngone, 1);
	c = query(s, CL_STATE_PRESENT);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.fp[0], fps[1]);
	c = query(s, CL_STATE_GONE);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.fp[0], fps[0]);
	c = query(s, CL_STATE_ALL);
	assert_int_equal(c.n, 2);  /* nothing is deleted */
	assert_int_equal(events_of(s, "location.gone"), 2);

	/* run 3: certs[0] comes back */
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 3000, &run3), CL_OK);
	assert_int_equal(cl_store_observe_cert(s, run3, certs[0], "file", "/x/a.pem", "PEM", 3000,
	                                       &what), CL_OK);
	assert_int_equal(what, CL_OBS_BACK);
	assert_int_equal(events_of(s, "location.back"), 1);
	assert_int_equal(events_of(s, "cert.new"), 2);
	/* sweeping /x must not touch /xy */
	assert_int_equal(cl_store_observe_cert(s, run3, certs[2], "file", "/xy/c.pem", "PEM", 3000,
	                                       &what), CL_OK);
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 4000, &run3), CL_OK);
	assert_int_equal(cl_store_sweep(s, run3, "file", "/x", exists_never, NULL, 4000, &ngone),
	                 CL_OK);
	c = query(s, CL_STATE_PRESENT);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.fp[0], fps[2]);
	cl_store_close(s);
}

static void test_tags_inherit(void **state)
{
	struct cl_store *s = open_fresh("tags");
	const char *add[] = { "pci" };
	struct cl_tag_edit e = { "team-x", "prod", add, 1, NULL, 0 };
	int64_t run1, run2;
	long n;
	struct collect c;
	char prefix[8];

	(void)state;
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 1000, &run1), CL_OK);
	assert_int_equal(cl_store_observe_cert(s, run1, certs[0], "file", "/etc/tls/site.pem",
	                                       NULL, 1000, NULL), CL_OK);
	assert_int_equal(cl_store_observe_cert(s, run1, certs[2], "file", "/etc/tls/other.pem",
	                                       NULL, 1000, NULL), CL_OK);
	snprintf(prefix, sizeof prefix, "%.6s", fps[0]);
	assert_int_equal(cl_store_tag(s, prefix, NULL, &e, "tester", 1100, &n), CL_OK);
	assert_int_equal(n, 1);
	/* the renewal: certs[1] replaces certs[0] in site.pem */
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 2000, &run2), CL_OK);
	assert_int_equal(cl_store_observe_cert(s, run2, certs[1], "file", "/etc/tls/site.pem",
	                                       NULL, 2000, NULL), CL_OK);
	assert_int_equal(cl_store_location_done(s, run2, "file", "/etc/tls/site.pem", 2000, NULL),
	                 CL_OK);
	c = query(s, CL_STATE_PRESENT);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.fp[0], fps[1]);
	assert_string_equal(c.owner[0], "team-x");   /* inherited from its predecessor */
	assert_string_equal(c.owner[1], "");
	/* by location: applies to what is there and to what comes later */
	e.owner = "web";
	e.nadd = 0;
	assert_int_equal(cl_store_tag(s, NULL, "/etc/tls/other*", &e, NULL, 2100, &n), CL_OK);
	assert_int_equal(n, 1);
	/* unknown and ambiguous */
	assert_int_equal(cl_store_tag(s, "ffffffffff", NULL, &e, NULL, 2100, &n), CL_ERR_NOTFOUND);
	assert_int_equal(cl_store_tag(s, NULL, "file:/nowhere/*", &e, NULL, 2100, &n),
	                 CL_ERR_NOTFOUND);
	assert_int_equal(events_of(s, "cert.tagged"), 3);
	cl_store_close(s);
}

static void test_findings(void **state)
{
	struct cl_store *s = open_fresh("findings");
	int64_t run1, run2;
	bool is_new;

	(void)state;
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 1000, &run1), CL_OK);
	assert_int_equal(cl_store_finding_raise(s, run1, "file.malformed", "warning", "file:/a",
	                                        NULL, "truncated", 1000, &is_new), CL_OK);
	assert_true(is_new);
	assert_int_equal(cl_store_finding_raise(s, run1, "file.malformed", "warning", "file:/a",
	                                        NULL, "truncated", 1000, &is_new), CL_OK);
	assert_false(is_new);
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 2000, &run2), CL_OK);
	assert_int_equal(cl_store_finding_settle(s, run2, "file.", "file:/a", 2000), CL_OK);
	assert_int_equal(events_of(s, "finding.resolved"), 1);
	/* raised again later: a new finding, the old one stays resolved */
	assert_int_equal(cl_store_finding_raise(s, run2, "file.malformed", "warning", "file:/a",
	                                        NULL, "truncated", 2000, &is_new), CL_OK);
	assert_true(is_new);
	assert_int_equal(events_of(s, "finding.opened"), 2);
	cl_store_close(s);
}

static void test_append_only_and_schema(void **state)
{
	struct cl_store *s = open_fresh("schema");
	sqlite3 *db;
	char err[512];
	int64_t run;

	(void)state;
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 1000, &run), CL_OK);
	assert_int_equal(cl_store_observe_cert(s, run, certs[0], "file", "/a", NULL, 1000, NULL),
	                 CL_OK);
	cl_store_close(s);
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM events", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE events SET type='x'", NULL, NULL, NULL),
	                     SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(cl_store_open(&s, dbpath, 0, err, sizeof err), CL_ERR_SCHEMA);
	assert_non_null(strstr(err, "newer"));
	assert_null(s);
	/* not a database at all */
	tu_sh("echo 'hello' > %s/garbage.db", tu_tmpdir());
	snprintf(dbpath, sizeof dbpath, "%s/garbage.db", tu_tmpdir());
	assert_int_not_equal(cl_store_open(&s, dbpath, 0, err, sizeof err), CL_OK);
	assert_null(s);
	/* read-only open of a missing store */
	snprintf(dbpath, sizeof dbpath, "%s/missing.db", tu_tmpdir());
	assert_int_equal(cl_store_open(&s, dbpath, CL_STORE_RDONLY, err, sizeof err),
	                 CL_ERR_NOTFOUND);
}

struct ep_seen {
	int n;
	char status[8][16], leaf[8][65], location[8][96];
	int64_t unreachable_since[8];
};

static int collect_ep(void *arg, const struct cl_endpoint_row *r)
{
	struct ep_seen *e = arg;

	if (e->n < 8) {
		snprintf(e->status[e->n], sizeof e->status[0], "%s", r->status);
		snprintf(e->leaf[e->n], sizeof e->leaf[0], "%s", r->leaf_fp ? r->leaf_fp : "");
		snprintf(e->location[e->n], sizeof e->location[0], "%s", r->location);
		e->unreachable_since[e->n] = r->unreachable_since;
	}
	e->n++;
	return CL_OK;
}

static int count_findings(void *arg, const struct cl_finding_row *r)
{
	(void)r;
	(*(int *)arg)++;
	return CL_OK;
}

static int open_findings(struct cl_store *s, const char *rule)
{
	struct cl_finding_filter f = { 0 };
	int n = 0;

	f.rule = rule;
	assert_int_equal(cl_store_findings(s, &f, count_findings, &n), CL_OK);
	return n;
}

/* A probe result: ok with a chain, or a failure. */
static unsigned probe(struct cl_store *s, int64_t run, int64_t now, const char *status,
                      const struct cl_cert *const *chain, size_t n, bool connected,
                      bool explicit_target)
{
	struct cl_endpoint_obs e = { 0 };
	char loc[256], leaf[65] = "";
	unsigned what = 0;
	long cnew;
	int j;

	e.r.address = "::1";
	e.r.port = 8443;
	e.r.sni = "www.example.test";
	e.r.status = status;
	e.r.ocsp_stapled = -1;
	if (n) {
		for (j = 0; j < 32; j++)
			sprintf(leaf + 2 * j, "%02x", chain[0]->fp[j]);
		e.r.leaf_fp = leaf;
		e.r.tls_version = "TLSv1.3";
		e.r.verify = "expired";
		e.r.verify_detail = "expired,hostname-mismatch: certificate has expired (depth 0)";
		e.r.chain = leaf;
	} else {
		e.r.error = "connection refused";
	}
	e.certs = chain;
	e.ncerts = n;
	e.connected = connected;
	e.explicit_target = explicit_target;
	assert_int_equal(cl_store_observe_endpoint(s, run, &e, now, loc, sizeof loc, &what, &cnew),
	                 CL_OK);
	if (what & CL_EP_RECORDED)
		assert_string_equal(e.r.location, "tls:[::1]:8443/www.example.test");
	return what;
}

static void test_endpoints(void **state)
{
	struct cl_store *s = open_fresh("endpoints");
	const struct cl_cert *first[] = { certs[0], certs[0] }; /* sent twice: sighted once */
	const struct cl_cert *second[] = { certs[1] };
	struct ep_seen seen;
	int64_t run[6];
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		assert_int_equal(cl_store_run_begin(s, "discover-net", NULL, 1000 * (i + 1), &run[i]),
		                 CL_OK);
	/* a closed port of a sweep is not recorded; a named one is */
	assert_int_equal(probe(s, run[0], 1000, "refused", NULL, 0, false, false), 0);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(cl_store_endpoints(s, NULL, collect_ep, &seen), CL_OK);
	assert_int_equal(seen.n, 0);

	assert_int_equal(probe(s, run[1], 2000, "ok", first, 2, true, false),
	                 CL_EP_RECORDED | CL_EP_NEW);
	assert_int_equal(events_of(s, "endpoint.new"), 1);
	assert_int_equal(open_findings(s, "tls.verify.*"), 2);  /* expired, hostname-mismatch */
	/* the same leaf again: nothing changes */
	assert_int_equal(probe(s, run[2], 3000, "ok", first, 1, true, false), CL_EP_RECORDED);
	/* a new leaf: changed, the old one gone from there */
	assert_int_equal(probe(s, run[3], 4000, "ok", second, 1, true, false),
	                 CL_EP_RECORDED | CL_EP_CHANGED);
	assert_int_equal(events_of(s, "endpoint.changed"), 1);
	assert_int_equal(events_of(s, "location.gone"), 1);
	/* vanished: unreachable, kept, its certificate gone, verify findings settled */
	assert_int_equal(probe(s, run[4], 5000, "refused", NULL, 0, false, false),
	                 CL_EP_RECORDED | CL_EP_UNREACHABLE);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(cl_store_endpoints(s, NULL, collect_ep, &seen), CL_OK);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.status[0], "refused");
	assert_string_equal(seen.leaf[0], fps[1]);  /* what it served last */
	assert_int_equal(seen.unreachable_since[0], 5000);
	assert_int_equal(open_findings(s, "tls.refused"), 1);
	assert_int_equal(open_findings(s, "tls.verify.*"), 0);
	assert_int_equal(query(s, CL_STATE_PRESENT).n, 0);
	/* back again */
	assert_int_equal(probe(s, run[5], 6000, "ok", second, 1, true, false),
	                 CL_EP_RECORDED | CL_EP_BACK);
	assert_int_equal(open_findings(s, "tls.refused"), 0);
	assert_int_equal(query(s, CL_STATE_PRESENT).n, 1);
	memset(&seen, 0, sizeof seen);
	assert_int_equal(cl_store_endpoints(s, &(struct cl_endpoint_filter){ .failing = true },
	                                    collect_ep, &seen), CL_OK);
	assert_int_equal(seen.n, 0);
	cl_store_close(s);
}

static void test_filters_and_summary(void **state)
{
	struct cl_store *s = open_fresh("filters");
	struct cl_filter f;
	struct cl_summary sum;
	struct collect c;
	int64_t run, now = certs[0]->not_before;

	(void)state;
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 1000, &run), CL_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(cl_store_observe_cert(s, run, certs[i], "file", "/f.pem", NULL, 1000,
		                                       NULL), CL_OK);
	cl_filter_init(&f);
	f.now = now;
	f.expiring = 30 * 86400;
	memset(&c, 0, sizeof c);
	assert_int_equal(cl_store_query(s, &f, collect_row, &c), CL_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.fp[0], fps[0]);
	cl_filter_init(&f);
	f.now = now + 200 * 86400;
	f.expired = true;
	memset(&c, 0, sizeof c);
	assert_int_equal(cl_store_query(s, &f, collect_row, &c), CL_OK);
	assert_int_equal(c.n, 2);
	cl_filter_init(&f);
	f.san = "b.example.*";
	memset(&c, 0, sizeof c);
	assert_int_equal(cl_store_query(s, &f, collect_row, &c), CL_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.fp[0], fps[1]);
	cl_filter_init(&f);
	f.sort = "not_after";
	f.desc = true;
	f.limit = 1;
	memset(&c, 0, sizeof c);
	assert_int_equal(cl_store_query(s, &f, collect_row, &c), CL_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.fp[0], fps[2]);
	cl_filter_init(&f);
	f.now = now;
	assert_int_equal(cl_store_summary(s, &f, &sum), CL_OK);
	assert_int_equal(sum.certs, 3);
	assert_int_equal(sum.lt30, 1);
	assert_int_equal(sum.lt90 + sum.later, 2);
	assert_int_equal(sum.nkey, 1);
	assert_string_equal(sum.by_key[0].name, "EC P-256");
	assert_int_equal(sum.by_key[0].n, 3);
	cl_summary_free(&sum);
	cl_store_close(s);
}

static void sql(const char *q)
{
	sqlite3 *db;
	char *err = NULL;

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", q, err);
	sqlite3_close(db);
}

/*
 * The listing follows every change of a listed certificate (presence,
 * owner, environment, tags), by the store or any other statement, and is
 * filled when a database from before it is opened.
 */
static void test_listing_triggers_and_migration(void **state)
{
	struct cl_store *s = open_fresh("listing");
	const char *add[] = { "a", "b" }, *rm[] = { "a" };
	struct cl_tag_edit e = { "ops", "", add, 2, NULL, 0 };
	char err[512], prefix[12];
	int64_t run;
	long n;

	(void)state;
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 1000, &run), CL_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(cl_store_observe_cert(s, run, certs[i], "file", "/l/f.pem", NULL,
		                                       1000, NULL), CL_OK);
	assert_int_equal(assert_listing_equal(), 3);  /* listed when the run ends */
	assert_int_equal(cl_store_run_end(s, run, "ok", NULL, 1001), CL_OK);
	assert_int_equal(assert_listing_equal(), 0);
	/* edits by location: owner set, environment cleared, tags added then removed */
	assert_int_equal(cl_store_tag(s, NULL, "/l/*", &e, NULL, 1100, &n), CL_OK);
	assert_int_equal(n, 3);
	assert_int_equal(assert_listing_equal(), 0);
	e.owner = NULL;
	e.environment = "prod";
	e.nadd = 0;
	e.remove = rm;
	e.nremove = 1;
	snprintf(prefix, sizeof prefix, "%.8s", fps[1]);
	assert_int_equal(cl_store_tag(s, prefix, NULL, &e, NULL, 1200, &n), CL_OK);
	assert_int_equal(assert_listing_equal(), 0);
	/* gone from the file, present elsewhere, then swept: presence changes */
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 2000, &run), CL_OK);
	assert_int_equal(cl_store_observe_cert(s, run, certs[0], "file", "/l/f.pem", NULL, 2000,
	                                       NULL), CL_OK);
	assert_int_equal(cl_store_observe_cert(s, run, certs[1], "file", "/m/g.pem", NULL, 2000,
	                                       NULL), CL_OK);
	assert_int_equal(cl_store_location_done(s, run, "file", "/l/f.pem", 2000, &n), CL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(assert_listing_equal(), 0);
	assert_int_equal(cl_store_sweep(s, run, "file", "/m", exists_never, NULL, 2000, &n), CL_OK);
	assert_int_equal(assert_listing_equal(), 0);
	/* back */
	assert_int_equal(cl_store_observe_cert(s, run, certs[2], "file", "/l/f.pem", NULL, 2000,
	                                       NULL), CL_OK);
	assert_int_equal(assert_listing_equal(), 0);
	cl_store_close(s);
	/* any statement writing certs, not only the store's own */
	sql("UPDATE certs SET owner='raw', subject='CN=\"x\"' WHERE id=1;"
	    "UPDATE certs SET present=1-present WHERE id=2;");
	assert_int_equal(assert_listing_equal(), 0);
	sql("DELETE FROM certs WHERE id=3;");
	assert_int_equal(assert_listing_equal(), 0);
	/* a database from before the listing migration (5): filled on open */
	sql("DROP TABLE outbox; DROP TABLE alerts;"   /* migration 6 */
	    "DROP TABLE managed; DROP TABLE managed_specs;"   /* migration 8 */
	    "DROP TRIGGER listing_upd; DROP TRIGGER listing_del; DROP TABLE listing;"
	    "DROP VIEW listing_bounds; DELETE FROM meta WHERE key LIKE 'listing_%';"
	    "UPDATE certs SET tags=',late,'; PRAGMA user_version=4;");
	assert_int_equal(cl_store_open(&s, dbpath, 0, err, sizeof err), CL_OK);
	assert_int_equal(assert_listing_equal(), 0);
	cl_store_close(s);
}

/* ---- JSON rows (the store's encoder) equal the callback rows ------------ */

struct json_check {
	json_t *rows;  /* from cl_store_query, encoded by report */
	size_t n;
};

static int compare_json(void *arg, const char *json, size_t len)
{
	struct json_check *jc = arg;
	json_error_t jerr;
	json_t *got = json_loadb(json, len, 0, &jerr), *want = json_array_get(jc->rows, jc->n);

	if (!got)
		fail_msg("invalid JSON (%s): %.*s", jerr.text, (int)len, json);
	if (!json_equal(got, want)) {
		char *w = json_dumps(want, JSON_COMPACT);
		fail_msg("row %zu differs:\n got %.*s\nwant %s", jc->n, (int)len, json, w);
	}
	json_decref(got);
	jc->n++;
	return CL_OK;
}

struct rows_now {
	json_t *rows;
	int64_t now;
};

static int collect_json_now(void *arg, const struct cl_inv_row *row)
{
	struct rows_now *r = arg;

	json_array_append_new(r->rows, cl_report_cert_json(row, r->now));
	return CL_OK;
}

static void check_json(struct cl_store *s, const struct cl_filter *f, size_t want_rows)
{
	struct rows_now r = { json_array(), f->now };
	struct json_check jc = { r.rows, 0 };

	assert_int_equal(cl_store_query(s, f, collect_json_now, &r), CL_OK);
	assert_int_equal(json_array_size(r.rows), want_rows);
	assert_int_equal(cl_store_query_json(s, f, compare_json, &jc), CL_OK);
	assert_int_equal(jc.n, want_rows);
	json_decref(r.rows);
}

/* Event details are JSON objects whose container is the detail observed. */
static int check_detail(void *arg, const struct cl_event_row *e)
{
	json_t *d = json_loads(e->detail ? e->detail : "", 0, NULL);

	if (!d || !json_is_object(d))
		fail_msg("%s: detail is not a JSON object: %s", e->type, e->detail);
	if (strcmp(e->type, "cert.new") == 0 || strcmp(e->type, "location.new") == 0) {
		json_t *c = json_object_get(d, "container");
		const char *want = strcmp(e->location, "file:/j/b.pem") == 0 ? arg :
		                   strncmp(e->location, "tls:", 4) == 0 ? "x" : NULL;
		if (want ? !json_is_string(c) || strcmp(json_string_value(c), want) : !json_is_null(c))
			fail_msg("%s at %s: container %s", e->type, e->location, e->detail);
		if (strcmp(e->type, "cert.new") == 0)
			assert_true(json_is_string(json_object_get(d, "subject")) &&
			            json_is_string(json_object_get(d, "issuer")) &&
			            json_is_string(json_object_get(d, "not_after")));
	}
	json_decref(d);
	return CL_OK;
}

/* The same listings, JSON and callback rows, for several filters. */
static void check_filters(struct cl_store *s)
{
	struct cl_filter f;

	cl_filter_init(&f);
	f.now = certs[0]->not_before + 86400 / 2;
	check_json(s, &f, 3);
	f.state = CL_STATE_ALL;
	check_json(s, &f, 3);
	f.desc = true;
	f.limit = 2;
	check_json(s, &f, 2);
	f.limit = 0;
	f.sort = "subject";
	check_json(s, &f, 3);
	f.sort = NULL;
	f.desc = false;
	f.expiring = 30 * 86400;
	check_json(s, &f, 1);
	f.state = CL_STATE_PRESENT;
	f.expiring = -1;
	f.location = "tls:*";
	check_json(s, &f, 1);
	f.location = NULL;
	f.fp_prefix = fps[2];
	check_json(s, &f, 1);
	/* bounded expiry: within the listing's window once the runs ended */
	f.fp_prefix = NULL;
	f.expiring = 120 * 86400;
	check_json(s, &f, 2);
	f.state = CL_STATE_ALL;
	f.sort = "subject";
	f.desc = true;
	check_json(s, &f, 2);
	f.limit = 1;
	check_json(s, &f, 1);
	f.limit = 0;
	f.sort = NULL;
	f.location = "tls:*";
	check_json(s, &f, 1);
	f.location = NULL;
	f.expiring = -1;
	f.expired = true;
	check_json(s, &f, 0);
}

static void test_json_rows(void **state)
{
	struct cl_store *s = open_fresh("json");
	/* everything JSON escapes: quotes, backslashes, control characters, UTF-8 */
	const char *odd = "/j/q\"uo\\te\t\n\r\b\f\x01\x1f\x7f caf\xc3\xa9 \xe2\x82\xac.pem";
	const char *add[] = { "pci", "we\"ird\\tag\x02" };
	struct cl_tag_edit e = { "team \"q\"\n", "pr\xc3\xb6" "d", add, 2, NULL, 0 };
	int64_t run1, run2;
	long n;

	(void)state;
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 1000, &run1), CL_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cl_store_observe_cert(s, run1, certs[i], "file", "/j/b.pem",
		                                       "PEM \"bundle\"\x03", 1000, NULL), CL_OK);
		assert_int_equal(cl_store_observe_cert(s, run1, certs[i], "file", odd, NULL, 1000 + i,
		                                       NULL), CL_OK);
	}
	assert_int_equal(cl_store_observe_cert(s, run1, certs[0], "tls", "h.example:443", "x",
	                                       1000, NULL), CL_OK);
	{
		struct cl_event_filter ef = { 0 };
		ef.type = "*.new";
		assert_int_equal(cl_store_events(s, &ef, check_detail, (void *)"PEM \"bundle\"\x03"),
		                 CL_OK);
	}
	assert_int_equal(cl_store_tag(s, NULL, "/j/b.pem", &e, NULL, 1100, &n), CL_OK);
	/* certs[2] leaves b.pem: a gone location, listed with --state all */
	assert_int_equal(cl_store_run_begin(s, "test", NULL, 2000, &run2), CL_OK);
	assert_int_equal(cl_store_observe_cert(s, run2, certs[0], "file", "/j/b.pem", NULL, 2000,
	                                       NULL), CL_OK);
	assert_int_equal(cl_store_observe_cert(s, run2, certs[1], "file", "/j/b.pem", NULL, 2000,
	                                       NULL), CL_OK);
	assert_int_equal(cl_store_location_done(s, run2, "file", "/j/b.pem", 2000, &n), CL_OK);
	assert_int_equal(n, 1);
	/* read from certs while the run's certificates are not listed yet */
	assert_int_equal(assert_listing_equal(), 3);
	check_filters(s);
	/* ended late: the listing's window then covers all three */
	assert_int_equal(cl_store_run_end(s, run1, "ok", NULL, 2000), CL_OK);
	assert_int_equal(cl_store_run_end(s, run2, "ok", NULL, certs[2]->not_after), CL_OK);
	assert_int_equal(assert_listing_equal(), 0);
	check_filters(s);
	cl_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observe_and_gone),
		cmocka_unit_test(test_tags_inherit),
		cmocka_unit_test(test_findings),
		cmocka_unit_test(test_append_only_and_schema),
		cmocka_unit_test(test_filters_and_summary),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_listing_triggers_and_migration),
		cmocka_unit_test(test_json_rows),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
