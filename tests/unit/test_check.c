/*
 * cl_policy_check on a small store, step by step (each step starts from
 * what the previous ones left): findings are opened once, left alone by a
 * re-run, changed when their severity changes, resolved when their
 * certificate is gone, kept by a scoped run that did not evaluate them,
 * and untouched by a run that is stopped or whose report fails. A key
 * shared by two certificates is one finding about the key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "core/util.h"
#include "policy/check.h"
#include "store/store.h"
#include "x509/cert.h"

enum { WEAK, GOOD, TWIN, NCERTS };  /* RSA 1024; EC P-256; GOOD's key again */

static const char *const names[NCERTS] = { "WEAK", "GOOD", "TWIN" };
static struct cl_cert *certs[NCERTS];
static char fps[NCERTS][2 * CL_SHA256_LEN + 1];
static char paths[NCERTS][4200];
static char shared_spki[2 * CL_SHA256_LEN + 1];

/* Self-signed certificates are allowed: the findings are the key's. */
static const char *const policies[] = {
	"version: 1\ndefaults:\n  self_signed: true\n",
	"version: 1\ndefaults:\n  self_signed: true\n  severity:\n    key.size: critical\n",
};

static struct cl_cert *make_cert(const char *dir, int i, const char *keyopt)
{
	char path[4200];
	unsigned char *der;
	size_t len;
	struct cl_cert *c = NULL;
	const char *why;

	tu_sh("cd %s && openssl req -x509 %s -nodes -out %s.der -outform DER -days 365 "
	      "-subj /CN=%s.example.test -addext subjectAltName=DNS:%s.example.test 2>/dev/null",
	      dir, keyopt, names[i], names[i], names[i]);
	snprintf(path, sizeof path, "%s/%s.der", dir, names[i]);
	der = tu_read(path, &len);
	assert_int_equal(cl_cert_parse_der(der, len, &c, &why), CL_OK);
	free(der);
	cl_hex(fps[i], c->fp, CL_SHA256_LEN);
	snprintf(paths[i], sizeof paths[i], "%s", path);
	return c;
}

static int setup(void **state)
{
	const char *dir = tu_tmpdir();

	(void)state;
	certs[WEAK] = make_cert(dir, WEAK, "-newkey rsa:1024 -keyout WEAK.key");
	certs[GOOD] = make_cert(dir, GOOD, "-newkey ec -pkeyopt ec_paramgen_curve:P-256 "
	                        "-keyout GOOD.key");
	certs[TWIN] = make_cert(dir, TWIN, "-key GOOD.key");
	cl_hex(shared_spki, certs[GOOD]->spki_sha256, CL_SHA256_LEN);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NCERTS; i++)
		cl_cert_free(certs[i]);
	return 0;
}

/* ---- what a check reports -------------------------------------------------------- */

struct seen {
	int starts;
	int hit_rc;          /* what on_hit returns */
	size_t n;
	char hits[8][64];    /* "policy.key.size@cert:WEAK" */
};

static int on_start(void *arg)
{
	((struct seen *)arg)->starts++;
	return CL_OK;
}

/* A target with its fingerprint or key hash replaced by the certificate's name. */
static const char *name_of(const char *target)
{
	static const char *const cert[NCERTS] = { "cert:WEAK", "cert:GOOD", "cert:TWIN" };

	if (strncmp(target, "key:", 4) == 0)
		return strcmp(target + 4, shared_spki) == 0 ? "key:GOOD" : "key:?";
	for (int i = 0; i < NCERTS; i++)
		if (strncmp(target, "cert:", 5) == 0 && strcmp(target + 5, fps[i]) == 0)
			return cert[i];
	return target;
}

static int on_hit(void *arg, const struct cl_check_hit *h)
{
	struct seen *s = arg;
	char fp[2 * CL_SHA256_LEN + 1];

	cl_hex(fp, h->row->c->fp, CL_SHA256_LEN);
	assert_string_equal(h->fp, fp);
	assert_string_equal(h->profile, "default");
	assert_true(strncmp(h->rule, "policy.", 7) == 0);
	assert_string_equal(h->rule + 7, cl_rules[h->v->rule].name);
	assert_true(s->n < CL_ARRAY_LEN(s->hits));
	snprintf(s->hits[s->n++], sizeof s->hits[0], "%s@%s", h->rule, name_of(h->target));
	return s->hit_rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The hits, sorted, separated by spaces. */
static const char *hits_of(struct seen *s, char *out, size_t len)
{
	size_t off = 0;

	qsort(s->hits, s->n, sizeof s->hits[0], cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < s->n; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s", i ? " " : "", s->hits[i]);
	return out;
}

static int count_finding(void *arg, const struct cl_finding_row *r)
{
	(void)r;
	(*(int *)arg)++;
	return CL_OK;
}

static int open_findings(struct cl_store *s)
{
	struct cl_finding_filter f = { .rule = "policy.*" };
	int n = 0;

	assert_int_equal(cl_store_findings(s, &f, count_finding, &n), CL_OK);
	return n;
}

static int count_event(void *arg, const struct cl_event_row *e)
{
	(void)e;
	(*(int *)arg)++;
	return CL_OK;
}

static int events_of(struct cl_store *s, const char *type)
{
	struct cl_event_filter f = { .type = type };
	int n = 0;

	assert_int_equal(cl_store_events(s, &f, count_event, &n), CL_OK);
	return n;
}

/* ---- the steps ----------------------------------------------------------------------- */

#define ANY (-1L)

static const struct step {
	const char *what;
	int policy;          /* index into policies */
	int only;            /* check only this certificate (a scoped run), -1: all */
	int remove;          /* this certificate is gone before the check, -1: none */
	bool stop;           /* the stop flag is set */
	int hit_rc;          /* what the report callback returns */
	int rc;
	long certs, opened, changed, resolved;  /* ANY: not compared */
	int open_after;      /* open policy.* findings afterwards */
	const char *hits;
} steps[] = {
	{ "the first check opens the findings", 0, -1, -1, false, CL_OK,
	  CL_OK, 3, 2, 0, 0, 2, "policy.key.shared@key:GOOD policy.key.size@cert:WEAK" },
	{ "a re-run changes nothing", 0, -1, -1, false, CL_OK,
	  CL_OK, 3, 0, 0, 0, 2, "policy.key.shared@key:GOOD policy.key.size@cert:WEAK" },
	{ "a report that fails rolls everything back", 1, -1, -1, false, CL_ERR_IO,
	  CL_ERR_IO, ANY, 0, 0, 0, 2, NULL },
	{ "a new severity is a change", 1, -1, -1, false, CL_OK,
	  CL_OK, 3, 0, 1, 0, 2, "policy.key.shared@key:GOOD policy.key.size@cert:WEAK" },
	{ "a stopped check changes nothing", 0, -1, -1, true, CL_OK,
	  CL_ERR_INTERRUPTED, 0, 0, 0, 0, 2, "" },
	{ "a scoped check leaves the findings of the others alone", 0, GOOD, -1, false, CL_OK,
	  CL_OK, 1, 0, 0, 0, 2, "policy.key.shared@key:GOOD" },
	{ "the severity back (the stopped run did not change it)", 0, -1, -1, false, CL_OK,
	  CL_OK, 3, 0, 1, 0, 2, "policy.key.shared@key:GOOD policy.key.size@cert:WEAK" },
	{ "a certificate gone: its finding is resolved", 0, -1, WEAK, false, CL_OK,
	  CL_OK, 2, 0, 0, 1, 1, "policy.key.shared@key:GOOD" },
	{ "its twin gone: the key is no longer shared", 0, -1, TWIN, false, CL_OK,
	  CL_OK, 1, 0, 0, 1, 0, "" },
	{ "nothing left to do", 0, -1, -1, false, CL_OK,
	  CL_OK, 1, 0, 0, 0, 0, "" },
};

static void remove_cert(struct cl_store *s, int i)
{
	int64_t run;
	long ngone = 0;

	assert_int_equal(cl_store_run_begin(s, "test", NULL, cl_now(), &run), CL_OK);
	assert_int_equal(cl_store_location_done(s, run, "file", paths[i], cl_now(), &ngone), CL_OK);
	assert_int_equal(ngone, 1);
	assert_int_equal(cl_store_run_end(s, run, "ok", NULL, cl_now()), CL_OK);
}

static void test_steps(void **state)
{
	struct cl_policy *pol[CL_ARRAY_LEN(policies)];
	struct cl_store *s = NULL;
	char err[512], db[4200], got[600];
	int64_t run;

	(void)state;
	for (size_t i = 0; i < CL_ARRAY_LEN(policies); i++)
		assert_int_equal(cl_policy_parse(&pol[i], policies[i], strlen(policies[i]), "test",
		                                 err, sizeof err), CL_OK);
	snprintf(db, sizeof db, "%s/check.db", tu_tmpdir());
	assert_int_equal(cl_store_open(&s, db, 0, err, sizeof err), CL_OK);
	assert_int_equal(cl_store_run_begin(s, "test", NULL, cl_now(), &run), CL_OK);
	for (int i = 0; i < NCERTS; i++)
		assert_int_equal(cl_store_observe_cert(s, run, certs[i], "file", paths[i], NULL,
		                                       cl_now(), NULL), CL_OK);
	assert_int_equal(cl_store_run_end(s, run, "ok", NULL, cl_now()), CL_OK);

	for (size_t i = 0; i < CL_ARRAY_LEN(steps); i++) {
		const struct step *t = &steps[i];
		volatile sig_atomic_t stop = t->stop;
		struct seen seen = { .hit_rc = t->hit_rc };
		struct cl_check_opts o = { .policy = pol[t->policy], .stop = &stop,
		                           .on_start = on_start, .on_hit = on_hit, .arg = &seen };
		struct cl_check_stats st;
		struct cl_filter f;
		int rc;

		print_message("step %zu: %s\n", i + 1, t->what);
		if (t->only >= 0) {
			cl_filter_init(&f);
			f.fp_prefix = fps[t->only];
			o.filter = &f;
		}
		if (t->remove >= 0)
			remove_cert(s, t->remove);
		rc = cl_policy_check(s, &o, &st);
		assert_int_equal(rc, t->rc);
		assert_int_equal(seen.starts, rc == CL_ERR_INTERRUPTED ? 0 : 1);
		if (t->certs != ANY)
			assert_int_equal(st.certs, t->certs);
		assert_int_equal(st.opened, t->opened);
		assert_int_equal(st.changed, t->changed);
		assert_int_equal(st.resolved, t->resolved);
		assert_int_equal(st.violations, (long)seen.n);
		if (t->hits)
			assert_string_equal(hits_of(&seen, got, sizeof got), t->hits);
		{
			int worst = -1;
			for (int v = CL_SEV_INFO; v <= CL_SEV_CRITICAL; v++)
				worst = st.by_sev[v] ? v : worst;
			assert_int_equal(st.worst, worst);
		}
		if (rc == CL_OK && strstr(t->hits, "key.size"))  /* the key's severity */
			assert_int_equal(st.by_sev[t->policy == 1 ? CL_SEV_CRITICAL : CL_SEV_ERROR], 1);
		assert_true(st.seconds >= 0);
		assert_int_equal(open_findings(s), t->open_after);
	}
	/* every change once, with its event */
	assert_int_equal(events_of(s, "finding.opened"), 2);
	assert_int_equal(events_of(s, "finding.resolved"), 2);
	cl_store_close(s);
	for (size_t i = 0; i < CL_ARRAY_LEN(policies); i++)
		cl_policy_free(pol[i]);
}

static void test_usage(void **state)
{
	struct cl_check_opts o = { 0 };
	struct cl_check_stats st;

	(void)state;
	assert_int_equal(cl_policy_check(NULL, &o, &st), CL_ERR_USAGE);
	assert_int_equal(st.certs, 0);
	assert_int_equal(st.worst, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
