/*
 * One reconcile of a spec (manage.h): decide, issue, deploy in worker
 * threads; record in the calling thread (the store handle is one
 * thread's); then the deploy hooks. Also the rollback of one certificate,
 * which shares the recording and the hooks.
 *
 * Order of effects, and what a crash between them leaves:
 *   issue -> deploy (atomic switch) -> record (one transaction, state with
 *   hook_pending) -> hooks -> record hook outcome.
 * A crash after the switch and before the record is found by the next
 * reconcile: the deployed version (meta.json) differs from the state, and
 * is recorded then ("recovered"), with its hooks run. A crash before the
 * hooks leaves hook_pending, so the next reconcile runs them.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "core/log.h"
#include "core/strmap.h"
#include "core/util.h"
#include "manage/manage.h"
#include "manage/manage_int.h"
#include "store/store.h"
#include "x509/load.h"

#define DEFAULT_WORKERS 16
#define MAX_WORKERS 256
#define ARI_RECHECK (6 * 3600)   /* ask for a renewal window again after this */

/* A state row of the store, owned. */
struct saved {
	char *name, *source, *issuer, *out_dir, *fp, *issue_hash, *deploy_hash, *attempt_hash,
	     *last_error;
	int64_t not_before, not_after, last_attempt, last_success, next_attempt, due_at;
	int64_t ari_start, ari_end, ari_next, updated;
	int version, failures;
	bool hook_pending;
};

struct job {
	const struct cl_manage_cert *c;
	const struct saved *prev;       /* the recorded state, or NULL */
	bool listed;                    /* named by the caller (or all are) */
	bool selected;                  /* listed, and this spec's to reconcile */
	enum cl_manage_outcome outcome;
	struct cl_manage_decision dec;
	struct cl_manage_deployed before, after;
	bool recovered;                 /* deployed files newer than the state */
	bool ari_fetched;
	struct cl_manage_window ari;
	int64_t ari_next;
	char err[700];
	char reason[400];               /* a skip's reason (dec.reason otherwise) */
	struct cl_load_result lr;       /* leaf and chain deployed, to record */
	bool have_lr;
	char spki[65];
	bool hooks_due, hooks_failed;
	char hook_err[800];
	struct saved next;              /* the state recorded */
	bool recorded;
};

struct ctx {
	const struct cl_manage_spec *spec;
	const struct cl_manage_opts *o;
	int64_t now;
	struct job *jobs;
	size_t njobs;
	atomic_size_t next;
	struct cl_mg_issuer **issuers;
};

/* ---- saved state ------------------------------------------------------------------------ */

static void saved_free(struct saved *v)
{
	free(v->name);
	free(v->source);
	free(v->issuer);
	free(v->out_dir);
	free(v->fp);
	free(v->issue_hash);
	free(v->deploy_hash);
	free(v->attempt_hash);
	free(v->last_error);
	memset(v, 0, sizeof *v);
}

/* Replaces *slot with a copy of s. */
static int set_str(char **slot, const char *s)
{
	char *n = NULL;

	if (s && !(n = strdup(s)))
		return CL_ERR_NOMEM;
	free(*slot);
	*slot = n;
	return CL_OK;
}

static int saved_copy(struct saved *v, const struct cl_managed_row *r)
{
	memset(v, 0, sizeof *v);
	v->not_before = r->not_before;
	v->not_after = r->not_after;
	v->last_attempt = r->last_attempt;
	v->last_success = r->last_success;
	v->next_attempt = r->next_attempt;
	v->due_at = r->due_at;
	v->ari_start = r->ari_start;
	v->ari_end = r->ari_end;
	v->ari_next = r->ari_next;
	v->updated = r->updated;
	v->version = r->version;
	v->failures = r->failures;
	v->hook_pending = r->hook_pending;
	if ((r->name && !(v->name = strdup(r->name))) ||
	    (r->source && !(v->source = strdup(r->source))) ||
	    (r->issuer && !(v->issuer = strdup(r->issuer))) ||
	    (r->out_dir && !(v->out_dir = strdup(r->out_dir))) ||
	    (r->fp && !(v->fp = strdup(r->fp))) ||
	    (r->issue_hash && !(v->issue_hash = strdup(r->issue_hash))) ||
	    (r->deploy_hash && !(v->deploy_hash = strdup(r->deploy_hash))) ||
	    (r->attempt_hash && !(v->attempt_hash = strdup(r->attempt_hash))) ||
	    (r->last_error && !(v->last_error = strdup(r->last_error)))) {
		saved_free(v);
		return CL_ERR_NOMEM;
	}
	return CL_OK;
}

static int saved_dup(struct saved *dst, const struct saved *src)
{
	struct cl_managed_row r = {
		.name = src->name, .source = src->source, .issuer = src->issuer,
		.out_dir = src->out_dir, .fp = src->fp, .issue_hash = src->issue_hash,
		.deploy_hash = src->deploy_hash, .attempt_hash = src->attempt_hash,
		.last_error = src->last_error, .not_before = src->not_before,
		.not_after = src->not_after, .last_attempt = src->last_attempt,
		.last_success = src->last_success, .next_attempt = src->next_attempt,
		.due_at = src->due_at, .ari_start = src->ari_start, .ari_end = src->ari_end,
		.ari_next = src->ari_next, .updated = src->updated, .version = src->version,
		.failures = src->failures, .hook_pending = src->hook_pending,
	};

	return saved_copy(dst, &r);
}

static int saved_put(struct cl_store *s, const struct saved *v)
{
	struct cl_managed_row r = {
		.name = v->name, .source = v->source, .issuer = v->issuer, .out_dir = v->out_dir,
		.fp = v->fp, .issue_hash = v->issue_hash, .deploy_hash = v->deploy_hash,
		.attempt_hash = v->attempt_hash, .last_error = v->last_error,
		.not_before = v->not_before, .not_after = v->not_after,
		.last_attempt = v->last_attempt, .last_success = v->last_success,
		.next_attempt = v->next_attempt, .due_at = v->due_at, .ari_start = v->ari_start,
		.ari_end = v->ari_end, .ari_next = v->ari_next, .updated = v->updated,
		.version = v->version, .failures = v->failures, .hook_pending = v->hook_pending,
	};

	return cl_store_managed_put(s, &r);
}

struct saved_list {
	struct saved *v;
	size_t n, cap;
	struct cl_strmap by_name;
};

static int saved_add(void *arg, const struct cl_managed_row *r)
{
	struct saved_list *l = arg;
	int rc;

	if (CL_GROW(l->v, l->cap, l->n + 1) != CL_OK)
		return CL_ERR_NOMEM;
	if ((rc = saved_copy(&l->v[l->n], r)) != CL_OK)
		return rc;
	if ((rc = cl_strmap_put(&l->by_name, r->name, (long)l->n)) != CL_OK) {
		saved_free(&l->v[l->n]);
		return rc;
	}
	l->n++;
	return CL_OK;
}

static void saved_list_free(struct saved_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		saved_free(&l->v[i]);
	free(l->v);
	cl_strmap_free(&l->by_name);
}

static const struct saved *saved_find(const struct saved_list *l, const char *name)
{
	long *i = cl_strmap_get(&l->by_name, name);

	return i ? &l->v[*i] : NULL;
}

/* ---- the work of one certificate (worker threads) --------------------------------------- */

static bool eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The certificates of m (leaf first), parsed for the inventory. */
static void load_for_record(struct job *j, const struct cl_manage_material *m)
{
	char *full = NULL;

	if (asprintf(&full, "%s%s", m->cert_pem, m->chain_pem ? m->chain_pem : "") < 0)
		return;
	cl_load_buffer((const unsigned char *)full, strlen(full), &(struct cl_load_opts){ 0 },
	               &j->lr);
	j->have_lr = j->lr.ncerts > 0;
	snprintf(j->spki, sizeof j->spki, "%s", m->spki);
	free(full);
}

static void fill_after(struct job *j, const struct cl_manage_material *m, int version)
{
	const struct cl_manage_cert *c = j->c;

	memset(&j->after, 0, sizeof j->after);
	j->after.present = true;
	j->after.version = version;
	snprintf(j->after.fp, sizeof j->after.fp, "%s", m->fp);
	snprintf(j->after.serial, sizeof j->after.serial, "%s", m->serial);
	snprintf(j->after.issuer, sizeof j->after.issuer, "%s", c->issuer->name);
	snprintf(j->after.issue_hash, sizeof j->after.issue_hash, "%s", c->issue_hash);
	snprintf(j->after.deploy_hash, sizeof j->after.deploy_hash, "%s", c->deploy_hash);
	j->after.not_before = m->not_before;
	j->after.not_after = m->not_after;
}

/* Asks the CA for a renewal window when it is time to (ARI). */
static void check_window(struct ctx *x, struct job *j, struct cl_mg_issuer *is)
{
	struct cl_manage_material m;
	int64_t retry = 0;
	char err[600];
	int rc;

	if (j->prev) {
		j->ari.start = j->prev->ari_start;
		j->ari.end = j->prev->ari_end;
		j->ari_next = j->prev->ari_next;
	}
	if (j->prev && !eq(j->prev->fp, j->before.fp)) {
		/* the window was another certificate's */
		j->ari.start = j->ari.end = 0;
		j->ari_next = 0;
	}
	if (!cl_mg_has_window(is) || !j->before.present || x->now < j->ari_next)
		return;
	if (cl_manage_deployed_material(j->c, &m, err, sizeof err) != CL_OK)
		return;
	rc = cl_mg_window(is, m.der, m.der_len, &j->ari, &retry, err, sizeof err);
	cl_manage_material_clear(&m);
	j->ari_fetched = true;
	if (rc == CL_OK) {
		j->ari_next = x->now + (retry > 0 && retry < 7 * 86400 ? retry : ARI_RECHECK);
	} else {
		if (rc != CL_ERR_UNSUPPORTED)
			cl_log(CL_LOG_INFO, "%s: renewal window: %s", j->c->name, err);
		j->ari.start = j->ari.end = 0;
		j->ari_next = x->now + ARI_RECHECK;
	}
}

/* Whether the deployed key is of the algorithm and size the spec asks for
 * (rotationPolicy Never keeps it only then). */
static bool key_fits(const struct cl_manage_cert *c, const char *pem)
{
	BIO *b = pem ? BIO_new_mem_buf(pem, -1) : NULL;
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	bool ok = k && EVP_PKEY_get_bits(k) == c->key_size &&
	          EVP_PKEY_get_base_id(k) == (c->key_alg == CL_MANAGE_RSA ? EVP_PKEY_RSA
	                                                                  : EVP_PKEY_EC);

	EVP_PKEY_free(k);
	BIO_free(b);
	ERR_clear_error();
	return ok;
}

static void fail(struct job *j, const char *msg)
{
	j->outcome = CL_MANAGE_FAILED;
	if (msg != j->err)
		snprintf(j->err, sizeof j->err, "%s", msg);
}

static void process(struct ctx *x, struct job *j)
{
	const struct cl_manage_cert *c = j->c;
	struct cl_mg_issuer *is = x->issuers[c->issuer - x->spec->issuers];
	struct cl_manage_material m = { 0 }, cur = { 0 };
	struct cl_manage_history h = { 0 };
	char *pass = NULL;
	int version = 0, lock = -1, rc;

	/* decided, issued and deployed under the certificate's lock: two runs
	 * never issue twice */
	if (!x->o->dry_run && (rc = cl_manage_lock(c, &lock, j->err, sizeof j->err)) != CL_OK) {
		if (rc == CL_ERR_BUSY) {
			j->outcome = CL_MANAGE_SKIPPED;
			snprintf(j->reason, sizeof j->reason, "busy: another certledger is working on "
			         "it");
		} else {
			fail(j, j->err);
		}
		return;
	}
	if (cl_manage_deployed_get(c, &j->before, j->err, sizeof j->err) != CL_OK) {
		fail(j, j->err);
		goto out;
	}
	j->recovered = j->before.present && (!j->prev || !eq(j->prev->fp, j->before.fp) ||
	                                     j->prev->version != j->before.version);
	check_window(x, j, is);
	if (j->prev) {
		h.failures = j->prev->failures;
		h.next_attempt = j->prev->next_attempt;
		h.failed_hash = j->prev->attempt_hash;
	}
	cl_manage_decide(c, &j->before, &h, &j->ari, x->now, x->o->force, &j->dec);
	if (j->recovered) {
		/* deployed by a run that did not get to record it: record it now */
		if (cl_manage_deployed_material(c, &cur, j->err, sizeof j->err) == CL_OK)
			load_for_record(j, &cur);
		cl_manage_material_clear(&cur);
	}
	switch (j->dec.action) {
	case CL_MANAGE_KEEP_CURRENT:
		j->outcome = CL_MANAGE_UNCHANGED;
		goto out;
	case CL_MANAGE_WAIT:
		j->outcome = CL_MANAGE_BACKING_OFF;
		goto out;
	default:
		break;
	}
	if (x->o->dry_run) {
		j->outcome = CL_MANAGE_WOULD;
		/* a CA is opened to check its passphrase; nothing is signed */
		if (j->dec.action != CL_MANAGE_REDEPLOY && !c->issuer->acme &&
		    cl_mg_issuer_open(is, j->err, sizeof j->err) != CL_OK)
			fail(j, j->err);
		goto out;
	}
	if (j->dec.action == CL_MANAGE_REDEPLOY) {
		if (cl_manage_deployed_material(c, &m, j->err, sizeof j->err) != CL_OK) {
			fail(j, j->err);
			goto out;
		}
	} else {
		/* the key to keep, the certificate replaced (ACME ARI "replaces") */
		if (cl_manage_deployed_material(c, &cur, j->err, sizeof j->err) != CL_OK)
			memset(&cur, 0, sizeof cur);
		j->err[0] = '\0';
		if (cl_mg_issue(is, c, !c->rotate_key && key_fits(c, cur.key_pem) ? cur.key_pem : NULL,
		                j->before.present ? cur.der : NULL, j->before.present ? cur.der_len : 0,
		                &m, j->err, sizeof j->err) != CL_OK) {
			fail(j, j->err[0] ? j->err : "the issuer failed");
			goto out;
		}
	}
	if (c->out.pkcs12 &&
	    (cl_manage_secret_get(&c->out.pkcs12_password, &pass, j->err, sizeof j->err) != CL_OK ||
	     !pass)) {
		char why[sizeof j->err];
		snprintf(why, sizeof why, "output.pkcs12.password %.600s", j->err);
		fail(j, why);
		goto out;
	}
	if (cl_manage_deploy(c, &m, pass, CL_MANAGE_LOCKED, &version, j->err, sizeof j->err)
	    != CL_OK) {
		fail(j, j->err);
		goto out;
	}
	cl_manage_crash_point("deployed");
	fill_after(j, &m, version);
	if (j->have_lr)
		cl_load_result_free(&j->lr);
	memset(&j->lr, 0, sizeof j->lr);
	load_for_record(j, &m);
	j->recovered = false;
	j->outcome = j->dec.action == CL_MANAGE_ISSUE ? CL_MANAGE_ISSUED
	             : j->dec.action == CL_MANAGE_RENEW ? CL_MANAGE_RENEWED : CL_MANAGE_REDEPLOYED;
out:
	cl_manage_unlock(lock);
	cl_manage_secret_free(pass);
	cl_manage_material_clear(&m);
	cl_manage_material_clear(&cur);
}

static void *worker(void *arg)
{
	struct ctx *x = arg;
	size_t i;

	while ((i = atomic_fetch_add(&x->next, 1)) < x->njobs) {
		struct job *j = &x->jobs[i];
		if (!j->selected)
			continue;
		if (x->o->stop && *x->o->stop) {
			j->outcome = CL_MANAGE_SKIPPED;
			snprintf(j->reason, sizeof j->reason, "interrupted");
			continue;
		}
		process(x, j);
	}
	return NULL;
}

/* ---- recording (calling thread) ---------------------------------------------------------- */

static char *json_text(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(j);
	return s;
}

static const char *target_of(const struct cl_manage_cert *c, char *buf, size_t len)
{
	snprintf(buf, len, "manage:%s", c->name);
	return buf;
}

/* Records the deployed files in the inventory, as discovery would find them. */
static int observe(struct cl_store *s, int64_t run_id, struct job *j, int64_t now)
{
	const struct cl_manage_cert *c = j->c;
	const struct cl_manage_output *o = &c->out;
	const char *names[] = { o->cert, o->chain, o->fullchain, o->pkcs12 };
	char path[PATH_MAX + 300];
	struct stat st;
	size_t k, i, from, to;
	int rc = CL_OK;

	if (!j->have_lr)
		return CL_OK;
	for (k = 0; k < CL_ARRAY_LEN(names) && rc == CL_OK; k++) {
		if (!names[k])
			continue;
		snprintf(path, sizeof path, "%s/%s", o->dir, names[k]);
		/* cert: the leaf; chain: the rest; fullchain and PKCS#12: all */
		from = k == 1 ? 1 : 0;
		to = k == 0 ? 1 : j->lr.ncerts;
		for (i = from; i < to && i < j->lr.ncerts && rc == CL_OK; i++)
			rc = cl_store_observe_cert(s, run_id, j->lr.certs[i].cert, "file", path,
			                           k == 3 ? "PKCS12" : "PEM", now, NULL);
		if (rc == CL_OK)
			rc = cl_store_location_done(s, run_id, "file", path, now, NULL);
	}
	if (rc == CL_OK && o->key) {
		struct cl_key_obs ko = {
			.spki_sha256 = j->spki[0] ? j->spki : NULL, .container = "PEM",
			.mode = o->mode, .uid = -1,
			.key_type = c->key_alg == CL_MANAGE_RSA ? "RSA" : "EC", .key_bits = c->key_size,
		};
		snprintf(path, sizeof path, "%s/%s", o->dir, o->key);
		if (stat(path, &st) == 0) {
			ko.mode = (int)(st.st_mode & 07777);
			ko.uid = (long)st.st_uid;
		}
		rc = cl_store_observe_key(s, run_id, &ko, "file", path, now, NULL);
		if (rc == CL_OK)
			rc = cl_store_location_done(s, run_id, "file", path, now, NULL);
	}
	return rc;
}

static const char *event_of(enum cl_manage_outcome o)
{
	switch (o) {
	case CL_MANAGE_ISSUED: return "manage.issued";
	case CL_MANAGE_RENEWED: return "manage.renewed";
	case CL_MANAGE_REDEPLOYED: return "manage.redeployed";
	case CL_MANAGE_ROLLED_BACK: return "manage.rolled_back";
	default: return "manage.renewed";
	}
}

/* The state to record from what is deployed now (d). */
static int next_from(struct job *j, const struct cl_manage_spec *spec, const char *source,
                     const struct cl_manage_deployed *d, int64_t now)
{
	const struct cl_manage_cert *c = j->c;
	struct saved *n = &j->next;
	int rc = CL_OK;

	if (j->prev)
		rc = saved_dup(n, j->prev);
	else
		memset(n, 0, sizeof *n);
	(void)spec;
	if (rc == CL_OK)
		rc = set_str(&n->name, c->name);
	if (rc == CL_OK && source)
		rc = set_str(&n->source, source);
	if (rc == CL_OK)
		rc = set_str(&n->issuer, c->issuer->name);
	if (rc == CL_OK)
		rc = set_str(&n->out_dir, c->out.dir);
	if (rc == CL_OK && d && (d->present || d->fp[0])) {
		n->not_before = d->not_before;
		n->not_after = d->not_after;
		n->version = d->version;
		if ((rc = set_str(&n->fp, d->fp[0] ? d->fp : NULL)) == CL_OK &&
		    (rc = set_str(&n->issue_hash, d->issue_hash)) == CL_OK)
			rc = set_str(&n->deploy_hash, d->deploy_hash);
	}
	if (j->ari_fetched || !j->prev) {
		n->ari_start = j->ari.start;
		n->ari_end = j->ari.end;
		n->ari_next = j->ari_next;
	}
	n->due_at = d && d->present ? cl_manage_due_at(c, d->not_before, d->not_after,
	                                               &j->ari, d->fp) : 0;
	n->updated = now;
	return rc;
}

static int record_one(struct cl_store *s, int64_t run_id, const struct cl_manage_spec *spec,
                      const struct cl_manage_opts *o, struct job *j, int64_t now)
{
	const struct cl_manage_cert *c = j->c;
	const char *source = o->record_spec || !j->prev ? spec->source : NULL;
	char target[300], msg[1000], na[40], nx[40];
	char *detail = NULL;
	bool is_new;
	int rc = CL_OK;

	switch (j->outcome) {
	case CL_MANAGE_ISSUED:
	case CL_MANAGE_RENEWED:
	case CL_MANAGE_REDEPLOYED:
	case CL_MANAGE_ROLLED_BACK:
		if ((rc = next_from(j, spec, source, &j->after, now)) != CL_OK)
			break;
		if (j->outcome != CL_MANAGE_ROLLED_BACK) {
			j->next.failures = 0;
			j->next.next_attempt = 0;
			j->next.last_attempt = now;
			j->next.last_success = now;
			rc = set_str(&j->next.last_error, NULL);
			if (rc == CL_OK)
				rc = set_str(&j->next.attempt_hash, c->issue_hash);
		}
		j->next.hook_pending = c->nhooks > 0;
		if (rc == CL_OK)
			rc = observe(s, run_id, j, now);
		if (rc == CL_OK)
			detail = json_text(json_pack("{s:s,s:s,s:I,s:i,s:s}", "fp", j->after.fp,
			                             "old_fp", j->before.fp, "not_after",
			                             (json_int_t)j->after.not_after, "version",
			                             j->after.version, "reason",
			                             j->outcome == CL_MANAGE_ROLLED_BACK ? "rollback"
			                             : j->dec.reason ? j->dec.reason : ""));
		if (rc == CL_OK)
			rc = cl_store_managed_event(s, event_of(j->outcome), c->name, j->after.fp, detail,
			                            now);
		if (rc == CL_OK)
			rc = cl_store_finding_settle(s, run_id, "manage.renewal_failing",
			                             target_of(c, target, sizeof target), now);
		break;
	case CL_MANAGE_FAILED:
		if ((rc = next_from(j, spec, source, &j->before, now)) != CL_OK)
			break;
		j->next.failures++;
		j->next.last_attempt = now;
		j->next.next_attempt = now + cl_manage_backoff(j->next.failures);
		if ((rc = set_str(&j->next.last_error, j->err)) != CL_OK ||
		    (rc = set_str(&j->next.attempt_hash, c->issue_hash)) != CL_OK)
			break;
		detail = json_text(json_pack("{s:s,s:i,s:I,s:s}", "error", j->err, "failures",
		                             j->next.failures, "next_attempt",
		                             (json_int_t)j->next.next_attempt, "reason",
		                             j->dec.reason ? j->dec.reason : ""));
		if ((rc = cl_store_managed_event(s, "manage.failed", c->name, j->before.fp, detail,
		                                 now)) != CL_OK)
			break;
		cl_time_fmt(nx, sizeof nx, j->next.next_attempt);
		if (j->before.present)
			cl_time_fmt(na, sizeof na, j->before.not_after);
		snprintf(msg, sizeof msg, "%s %s failed %d time%s: %s; next attempt %s%s%s",
		         c->name, j->before.present ? "renewal" : "issuance", j->next.failures,
		         j->next.failures == 1 ? "" : "s", j->err, nx,
		         j->before.present ? "; the deployed certificate expires " : "",
		         j->before.present ? na : "");
		rc = cl_store_finding_raise(s, run_id, "manage.renewal_failing",
		                            !j->before.present || j->before.not_after <= now
		                            ? "critical" : "error",
		                            target_of(c, target, sizeof target),
		                            j->before.present ? j->before.fp : NULL, msg, now, &is_new);
		break;
	case CL_MANAGE_UNCHANGED:
	case CL_MANAGE_BACKING_OFF:
		/* the state follows the files (a recovered deployment), the spec (source,
		 * renewal point) and the renewal window */
		if ((rc = next_from(j, spec, source, &j->before, now)) != CL_OK)
			break;
		if (j->recovered) {
			j->next.hook_pending = c->nhooks > 0;
			j->next.last_success = now;
			if ((rc = observe(s, run_id, j, now)) != CL_OK)
				break;
			detail = json_text(json_pack("{s:s,s:s,s:i,s:b}", "fp", j->before.fp, "old_fp",
			                             j->prev && j->prev->fp ? j->prev->fp : "",
			                             "version", j->before.version, "recovered", 1));
			rc = cl_store_managed_event(s, "manage.renewed", c->name, j->before.fp, detail,
			                            now);
		}
		break;
	default:
		return CL_OK;
	}
	free(detail);
	if (rc == CL_OK && (rc = saved_put(s, &j->next)) == CL_OK)
		j->recorded = true;
	return rc;
}

/* ---- hooks ------------------------------------------------------------------------------- */

/* Runs the hooks due, each distinct command once, in the order first named. */
static void run_hooks(struct ctx *x)
{
	struct cl_strmap seen = { 0 };
	char *names = NULL, out[4200], err[300], *env[6];
	size_t i, k, h, m;

	for (i = 0; i < x->njobs; i++) {
		struct job *j = &x->jobs[i];
		for (h = 0; h < (j->hooks_due ? j->c->nhooks : 0); h++) {
			const char *cmd = j->c->hooks[h];
			int64_t timeout = 0;
			size_t nnames = 0, nenv = 0, one = 0;
			int rc;
			if (cl_strmap_get(&seen, cmd))
				continue;
			if (cl_strmap_put(&seen, cmd, 1) != CL_OK)
				break;
			/* everyone due who names it */
			free(names);
			names = NULL;
			for (k = i; k < x->njobs; k++) {
				struct job *o = &x->jobs[k];
				for (m = 0; o->hooks_due && m < o->c->nhooks; m++)
					if (strcmp(o->c->hooks[m], cmd) == 0) {
						char *n;
						if (asprintf(&n, "%s%s%s", names ? names : "", names ? " " : "",
						             o->c->name) < 0)
							n = NULL;
						free(names);
						names = n;
						if (o->c->hook_timeout > timeout)
							timeout = o->c->hook_timeout;
						nnames++;
						one = k;
						break;
					}
			}
			if (!names)
				continue;
			if (asprintf(&env[nenv++], "CERTLEDGER_NAMES=%s", names) < 0)
				nenv--;
			if (nnames == 1) {
				const struct cl_manage_cert *c = x->jobs[one].c;
				const char *certf = c->out.cert ? c->out.cert : c->out.fullchain;
				if (asprintf(&env[nenv++], "CERTLEDGER_NAME=%s", c->name) < 0)
					nenv--;
				if (asprintf(&env[nenv++], "CERTLEDGER_OUTPUT_DIR=%s", c->out.dir) < 0)
					nenv--;
				if (certf && asprintf(&env[nenv++], "CERTLEDGER_CERT=%s/%s", c->out.dir,
				                      certf) < 0)
					nenv--;
				if (c->out.key && asprintf(&env[nenv++], "CERTLEDGER_KEY=%s/%s", c->out.dir,
				                           c->out.key) < 0)
					nenv--;
			}
			cl_manage_crash_point("hooks");
			rc = cl_manage_hook_run(cmd, (const char *const *)env, nenv, timeout, out,
			                        sizeof out, err, sizeof err);
			while (nenv > 0)
				free(env[--nenv]);
			if (rc == CL_OK) {
				cl_log(CL_LOG_INFO, "deploy hook for %s: %s: ok%s%s", names, cmd,
				       out[0] ? ": " : "", out);
				continue;
			}
			cl_log(CL_LOG_WARN, "deploy hook for %s: %s: %s%s%s", names, cmd, err,
			       out[0] ? "; output: " : "", out);
			for (k = i; k < x->njobs; k++) {
				struct job *o = &x->jobs[k];
				for (m = 0; o->hooks_due && m < o->c->nhooks; m++)
					if (strcmp(o->c->hooks[m], cmd) == 0) {
						size_t len = strlen(o->hook_err);
						if (!o->hooks_failed)
							snprintf(o->hook_err, sizeof o->hook_err, "%s: %s%s%.300s", cmd,
							         err, out[0] ? ": " : "", out);
						else if (len + 20 < sizeof o->hook_err)
							snprintf(o->hook_err + len, sizeof o->hook_err - len,
							         "; %s: %s", cmd, err);
						o->hooks_failed = true;
						break;
					}
			}
		}
	}
	free(names);
	cl_strmap_free(&seen);
}

/* Records what the hooks did: events, findings, hook_pending. */
static int record_hooks(struct cl_store *s, int64_t run_id, struct ctx *x, long *failed)
{
	char target[300], *detail;
	bool is_new;
	size_t i;
	int rc = CL_OK;

	for (i = 0; i < x->njobs && rc == CL_OK; i++) {
		struct job *j = &x->jobs[i];
		if (!j->hooks_due || !j->recorded)
			continue;
		target_of(j->c, target, sizeof target);
		j->next.hook_pending = j->hooks_failed;
		if (j->hooks_failed) {
			(*failed)++;
			detail = json_text(json_pack("{s:s}", "error", j->hook_err));
			rc = cl_store_managed_event(s, "manage.hook_failed", j->c->name, j->next.fp,
			                            detail, x->now);
			free(detail);
			if (rc == CL_OK)
				rc = cl_store_finding_raise(s, run_id, "manage.hook_failed", "error", target,
				                            j->next.fp, j->hook_err, x->now, &is_new);
		} else {
			rc = cl_store_finding_settle(s, run_id, "manage.hook_failed", target, x->now);
		}
		if (rc == CL_OK)
			rc = saved_put(s, &j->next);
	}
	return rc;
}

/* ---- the whole ---------------------------------------------------------------------------- */

static void report(struct ctx *x, struct cl_manage_stats *st)
{
	size_t i;

	for (i = 0; i < x->njobs; i++) {
		struct job *j = &x->jobs[i];
		struct cl_manage_result r = { 0 };
		const struct cl_manage_deployed *d = j->after.present ? &j->after : &j->before;
		if (!j->listed)
			continue;
		st->total++;
		switch (j->outcome) {
		case CL_MANAGE_UNCHANGED: st->unchanged++; break;
		case CL_MANAGE_ISSUED: st->issued++; break;
		case CL_MANAGE_RENEWED: st->renewed++; break;
		case CL_MANAGE_REDEPLOYED: st->redeployed++; break;
		case CL_MANAGE_ROLLED_BACK: st->rolled_back++; break;
		case CL_MANAGE_WOULD: st->would++; break;
		case CL_MANAGE_BACKING_OFF: st->backing_off++; break;
		case CL_MANAGE_FAILED: st->failed++; break;
		case CL_MANAGE_SKIPPED: st->skipped++; break;
		}
		if (!x->o->report)
			continue;
		r.name = j->c->name;
		r.outcome = j->outcome;
		r.action = j->dec.action;
		r.reason = j->reason[0] ? j->reason : j->dec.reason ? j->dec.reason : "";
		r.error = j->outcome == CL_MANAGE_FAILED ? j->err : NULL;
		r.hook_error = j->hooks_failed ? j->hook_err : NULL;
		r.fp = d->fp;
		r.not_after = d->not_after;
		r.version = d->version;
		r.due_at = j->recorded ? j->next.due_at : j->dec.due_at;
		r.failures = j->recorded ? j->next.failures : j->prev ? j->prev->failures : 0;
		r.next_attempt = j->recorded ? j->next.next_attempt
		                 : j->prev ? j->prev->next_attempt : 0;
		x->o->report(x->o->report_arg, &r);
	}
}

static bool wanted(const struct cl_manage_opts *o, const char *name)
{
	size_t i;

	if (!o->names)
		return true;
	for (i = 0; i < o->nnames; i++)
		if (strcmp(o->names[i], name) == 0)
			return true;
	return false;
}

static double secs_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void ctx_free(struct ctx *x)
{
	size_t i;

	for (i = 0; x->issuers && i < x->spec->nissuers; i++)
		cl_mg_issuer_free(x->issuers[i]);
	free(x->issuers);
	for (i = 0; x->jobs && i < x->njobs; i++) {
		if (x->jobs[i].have_lr)
			cl_load_result_free(&x->jobs[i].lr);
		saved_free(&x->jobs[i].next);
	}
	free(x->jobs);
}

/* Records the jobs' outcomes (one transaction), runs the hooks, records them. */
static int finish(struct cl_store *s, struct ctx *x, int64_t run_id, struct cl_manage_stats *st,
                  char *err, size_t errlen)
{
	size_t i;
	int rc = CL_OK;

	if (!x->o->dry_run) {
		if ((rc = cl_store_begin(s)) != CL_OK)
			goto fail;
		for (i = 0; i < x->njobs && rc == CL_OK; i++)
			if (x->jobs[i].selected)
				rc = record_one(s, run_id, x->spec, x->o, &x->jobs[i], x->now);
		if (rc != CL_OK || (rc = cl_store_commit(s)) != CL_OK) {
			cl_store_rollback(s);
			goto fail;
		}
		cl_manage_crash_point("recorded");
		for (i = 0; i < x->njobs; i++) {
			struct job *j = &x->jobs[i];
			j->hooks_due = j->recorded && j->c->nhooks > 0 && j->outcome != CL_MANAGE_FAILED &&
			               (j->next.hook_pending || (j->prev && j->prev->hook_pending));
		}
		run_hooks(x);
		if ((rc = cl_store_begin(s)) != CL_OK)
			goto fail;
		if ((rc = record_hooks(s, run_id, x, &st->hooks_failed)) != CL_OK ||
		    (rc = cl_store_commit(s)) != CL_OK) {
			cl_store_rollback(s);
			goto fail;
		}
	}
	return CL_OK;
fail:
	snprintf(err, errlen, "recording the outcome: %s", cl_store_errmsg(s));
	return rc;
}

static int run_end(struct cl_store *s, int64_t run_id, const struct cl_manage_stats *st,
                   int rc)
{
	char *stats = json_text(json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}",
	                                  "total", (json_int_t)st->total,
	                                  "issued", (json_int_t)st->issued,
	                                  "renewed", (json_int_t)st->renewed,
	                                  "unchanged", (json_int_t)st->unchanged,
	                                  "failed", (json_int_t)st->failed,
	                                  "hooks_failed", (json_int_t)st->hooks_failed,
	                                  "rolled_back", (json_int_t)st->rolled_back,
	                                  "seconds", st->seconds));
	int rc2 = cl_store_run_end(s, run_id, rc == CL_OK ? "ok" : rc == CL_ERR_INTERRUPTED
	                           ? "interrupted" : "failed", stats, cl_now());

	free(stats);
	return rc2;
}

static int ctx_init(struct ctx *x, struct cl_store *s, const struct cl_manage_spec *spec,
                    const struct cl_manage_opts *o, struct saved_list *sl, char *err,
                    size_t errlen)
{
	size_t i;
	int rc;

	memset(x, 0, sizeof *x);
	x->spec = spec;
	x->o = o;
	x->now = o->now ? o->now : cl_now();
	atomic_init(&x->next, 0);
	if ((rc = cl_store_managed_rows(s, NULL, saved_add, sl)) != CL_OK) {
		snprintf(err, errlen, "reading the state: %s",
		         rc == CL_ERR_NOMEM ? "out of memory" : cl_store_errmsg(s));
		return rc;
	}
	if (!(x->jobs = calloc(spec->ncerts ? spec->ncerts : 1, sizeof *x->jobs)) ||
	    !(x->issuers = calloc(spec->nissuers ? spec->nissuers : 1, sizeof *x->issuers)))
		return CL_ERR_NOMEM;
	x->njobs = spec->ncerts;
	for (i = 0; i < spec->nissuers; i++)
		if ((rc = cl_mg_issuer_new(&x->issuers[i], &spec->issuers[i], o->state_dir, o->stop))
		    != CL_OK)
			return rc;
	for (i = 0; i < spec->ncerts; i++) {
		struct job *j = &x->jobs[i];
		j->c = &spec->certs[i];
		j->prev = saved_find(sl, j->c->name);
		j->listed = j->selected = wanted(o, j->c->name);
		j->outcome = CL_MANAGE_SKIPPED;
		if (j->selected && !o->record_spec && j->prev && j->prev->source &&
		    strcmp(j->prev->source, spec->source) != 0) {
			/* another spec's now: that one reconciles it */
			j->listed = j->selected = false;
			snprintf(j->reason, sizeof j->reason, "managed from %s (apply this spec to "
			         "take it over)", j->prev->source[0] ? j->prev->source : "no spec");
		}
	}
	return CL_OK;
}

int cl_manage_reconcile(struct cl_store *s, const struct cl_manage_spec *spec,
                        const struct cl_manage_opts *o, struct cl_manage_stats *st,
                        char *err, size_t errlen)
{
	struct saved_list sl = { 0 };
	struct timespec t0;
	struct ctx x;
	pthread_t th[MAX_WORKERS];
	size_t i, nth = 0, nsel = 0;
	int64_t run_id = 0;
	int rc;

	memset(st, 0, sizeof *st);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cl_load_init();
	if ((rc = ctx_init(&x, s, spec, o, &sl, err, errlen)) != CL_OK)
		goto out;
	if (!o->dry_run) {
		if ((rc = cl_store_run_begin(s, "manage", spec->source, x.now, &run_id)) != CL_OK) {
			snprintf(err, errlen, "%s", cl_store_errmsg(s));
			goto out;
		}
		if (o->record_spec &&
		    (rc = cl_store_managed_spec_put(s, spec->source, spec->text, x.now)) != CL_OK) {
			snprintf(err, errlen, "%s", cl_store_errmsg(s));
			goto out_run;
		}
	}
	for (i = 0; i < x.njobs; i++)
		nsel += x.jobs[i].selected;
	nth = o->workers > 0 ? (size_t)o->workers : DEFAULT_WORKERS;
	if (nth > MAX_WORKERS)
		nth = MAX_WORKERS;
	if (nth > nsel)
		nth = nsel;
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, worker, &x) != 0)
			break;
	nth = i;
	worker(&x);      /* the calling thread helps (and does it all without threads) */
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	/* the issuers' listeners (ACME solvers) are not needed any more */
	for (i = 0; i < spec->nissuers; i++) {
		cl_mg_issuer_free(x.issuers[i]);
		x.issuers[i] = NULL;
	}
	rc = finish(s, &x, run_id, st, err, errlen);
	if (rc == CL_OK && o->record_spec && !o->dry_run) {
		/* certificates this spec no longer holds: released (files stay) */
		for (i = 0; i < sl.n && rc == CL_OK; i++) {
			struct saved *v = &sl.v[i];
			if (v->source && strcmp(v->source, spec->source) == 0 &&
			    !cl_manage_spec_find(spec, v->name)) {
				struct cl_manage_result r = { .name = v->name, .outcome = CL_MANAGE_SKIPPED,
				                              .reason = "no longer in the spec: released, "
				                              "its files are left in place",
				                              .fp = v->fp ? v->fp : "",
				                              .not_after = v->not_after };
				v->source[0] = '\0';
				v->updated = x.now;
				if ((rc = saved_put(s, v)) != CL_OK)
					snprintf(err, errlen, "%s", cl_store_errmsg(s));
				else if (o->report)
					o->report(o->report_arg, &r);
				st->skipped++;
			}
		}
	}
	st->seconds = secs_since(&t0);
	report(&x, st);
	if (rc == CL_OK && o->stop && *o->stop)
		rc = CL_ERR_INTERRUPTED;
out_run:
	if (!o->dry_run && run_id && run_end(s, run_id, st, rc) != CL_OK && rc == CL_OK) {
		snprintf(err, errlen, "%s", cl_store_errmsg(s));
		rc = CL_ERR;
	}
out:
	if (rc == CL_ERR_NOMEM && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	ctx_free(&x);
	saved_list_free(&sl);
	return rc;
}

int cl_manage_rollback(struct cl_store *s, const struct cl_manage_spec *spec, const char *name,
                       const struct cl_manage_opts *o, struct cl_manage_stats *st, char *err,
                       size_t errlen)
{
	struct cl_manage_opts one = *o;
	const char *names[1] = { name };
	struct saved_list sl = { 0 };
	struct cl_manage_material m = { 0 };
	struct timespec t0;
	struct ctx x;
	struct job *j;
	int64_t run_id = 0;
	int rc;

	memset(st, 0, sizeof *st);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cl_load_init();
	one.names = names;
	one.nnames = 1;
	one.record_spec = false;
	one.dry_run = false;
	if (!cl_manage_spec_find(spec, name)) {
		snprintf(err, errlen, "%s: no certificate of that name in %s", name, spec->source);
		return CL_ERR_NOTFOUND;
	}
	if ((rc = ctx_init(&x, s, spec, &one, &sl, err, errlen)) != CL_OK)
		goto out;
	j = &x.jobs[cl_manage_spec_find(spec, name) - spec->certs];
	if (!j->selected) {
		snprintf(err, errlen, "%s: %s", name, j->reason);
		rc = CL_ERR_USAGE;
		goto out;
	}
	if ((rc = cl_manage_deployed_get(j->c, &j->before, err, errlen)) != CL_OK ||
	    (rc = cl_manage_switch_back(j->c, &j->after, err, errlen)) != CL_OK)
		goto out;
	j->outcome = CL_MANAGE_ROLLED_BACK;
	j->dec.reason = "rollback";
	j->after.present = true;      /* what is deployed, even when adopted */
	if (cl_manage_deployed_material(j->c, &m, err, errlen) == CL_OK) {
		load_for_record(j, &m);
		if (!j->after.fp[0])
			snprintf(j->after.fp, sizeof j->after.fp, "%s", m.fp);
		if (!j->after.not_after) {
			j->after.not_before = m.not_before;
			j->after.not_after = m.not_after;
		}
	}
	cl_manage_material_clear(&m);
	err[0] = '\0';
	if ((rc = cl_store_run_begin(s, "manage-rollback", name, x.now, &run_id)) != CL_OK) {
		snprintf(err, errlen, "%s", cl_store_errmsg(s));
		goto out;
	}
	rc = finish(s, &x, run_id, st, err, errlen);
	st->seconds = secs_since(&t0);
	report(&x, st);
	if (run_end(s, run_id, st, rc) != CL_OK && rc == CL_OK) {
		snprintf(err, errlen, "%s", cl_store_errmsg(s));
		rc = CL_ERR;
	}
out:
	ctx_free(&x);
	saved_list_free(&sl);
	return rc;
}
