/* certledger serve (see serve/daemon.h). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/thread.h>
#include "alert/deliver.h"
#include "alert/eval.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "discover/files.h"
#include "discover/net.h"
#include "discover/starttls.h"
#include "manage/manage.h"
#include "policy/check.h"
#include "policy/policy.h"
#include "serve/daemon.h"
#include "serve/http.h"
#include "serve/state.h"

/* ---- configuration references ----------------------------------------------- */

struct cl_cfgref *cl_daemon_cfg_get(struct cl_daemon *d)
{
	struct cl_cfgref *r;

	pthread_mutex_lock(&d->mu);
	r = d->cfg;
	r->refs++;
	pthread_mutex_unlock(&d->mu);
	return r;
}

static void cfgref_free(struct cl_cfgref *r)
{
	cl_config_free(r->c);
	cl_policy_free(r->policy);
	free(r);
}

void cl_daemon_cfg_put(struct cl_daemon *d, struct cl_cfgref *r)
{
	bool last;

	if (!r)
		return;
	pthread_mutex_lock(&d->mu);
	last = --r->refs == 0;
	pthread_mutex_unlock(&d->mu);
	if (last)
		cfgref_free(r);
}

/* Loads the config and its policy; logs what is wrong. */
static int load_config(const char *path, struct cl_cfgref **out)
{
	struct cl_cfgref *r = calloc(1, sizeof *r);
	char err[1024];
	int rc;

	*out = NULL;
	if (!r)
		return CL_ERR_NOMEM;
	r->refs = 1;
	if ((rc = cl_config_load(&r->c, path, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", err);
		free(r);
		return rc == CL_ERR_NOMEM ? rc : CL_ERR_USAGE;
	}
	if (r->c->policy && (rc = cl_policy_load(&r->policy, r->c->policy, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s: policy: %s", path, err);
		cl_config_free(r->c);
		free(r);
		return CL_ERR_USAGE;
	}
	*out = r;
	return CL_OK;
}

/* ---- schedule ------------------------------------------------------------------ */

static int minute_of_day(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return tm.tm_hour * 60 + tm.tm_min;
}

/* When the quiet window w that contains t ends (t itself when it does not). */
static time_t quiet_end(const struct cl_window *w, time_t t)
{
	int m = minute_of_day(t), left;

	if (!cl_window_contains(w, m))
		return t;
	left = w->end_min - m;
	if (left <= 0)
		left += 24 * 60;
	return t + (time_t)left * 60 - (t % 60);
}

/* Rebuilds the job table for cfg, keeping the history of jobs by name. */
static int jobs_rebuild(struct cl_daemon *d, const struct cl_config *cfg, time_t now)
{
	struct cl_jobstate *v = calloc(cfg->njobs + 2, sizeof *v);
	size_t i, k, n = cfg->njobs;

	if (!v)
		return CL_ERR_NOMEM;
	/* the reconcile of managed certificates is one more job, last */
	if (cfg->manage.enabled) {
		struct cl_jobstate *m = &v[n];
		if (!(m->name = strdup(CL_MANAGE_JOB))) {
			free(v);
			return CL_ERR_NOMEM;
		}
		m->manage = true;
		m->m.name = m->name;
		m->m.kind = "manage";
		m->every = cfg->manage.every;
		m->quiet = cfg->manage.quiet;
		m->next_due = now;
		for (k = 0; k < d->njobs; k++)
			if (d->jobs[k].manage) {
				m->m = d->jobs[k].m;
				m->m.name = m->name;
				m->m.kind = "manage";
				memcpy(m->last_status, d->jobs[k].last_status, sizeof m->last_status);
				m->next_due = d->jobs[k].next_due;
				if (m->m.last_start && m->m.last_start + m->every < m->next_due)
					m->next_due = m->m.last_start + m->every;
				break;
			}
		n++;
	}
	for (i = 0; i < cfg->njobs; i++) {
		const struct cl_job *j = &cfg->jobs[i];
		if (!(v[i].name = strdup(j->name))) {
			while (i-- > 0)
				free(v[i].name);
			free(v[cfg->njobs].name);
			free(v);
			return CL_ERR_NOMEM;
		}
		v[i].m.name = v[i].name;
		v[i].m.kind = j->kind == CL_JOB_FILES ? "files" : "net";
		v[i].every = j->every;
		v[i].quiet = j->quiet;
		v[i].next_due = now;
		for (k = 0; k < d->njobs; k++)
			if (!d->jobs[k].manage && strcmp(d->jobs[k].name, j->name) == 0) {
				v[i].m = d->jobs[k].m;
				v[i].m.name = v[i].name;
				v[i].m.kind = j->kind == CL_JOB_FILES ? "files" : "net";
				memcpy(v[i].last_status, d->jobs[k].last_status, sizeof v[i].last_status);
				v[i].next_due = v[i].m.last_start ? v[i].m.last_start + j->every : now;
				break;
			}
	}
	for (k = 0; k < d->njobs; k++)
		free(d->jobs[k].name);
	free(d->jobs);
	d->jobs = v;
	d->njobs = n;
	return CL_OK;
}

/* The last start and success of each job, kept in the store across restarts. */
static void jobs_restore(struct cl_daemon *d, struct cl_store *s, time_t now)
{
	char key[300], *v;
	size_t i;

	for (i = 0; i < d->njobs; i++) {
		struct cl_jobstate *j = &d->jobs[i];
		snprintf(key, sizeof key, "job.%s.last_start", j->name);
		if (cl_store_meta_get(s, key, &v) == CL_OK) {
			j->m.last_start = strtoll(v, NULL, 10);
			free(v);
		}
		snprintf(key, sizeof key, "job.%s.last_success", j->name);
		if (cl_store_meta_get(s, key, &v) == CL_OK) {
			j->m.last_success = strtoll(v, NULL, 10);
			free(v);
		}
		snprintf(key, sizeof key, "job.%s.last_status", j->name);
		if (cl_store_meta_get(s, key, &v) == CL_OK) {
			snprintf(j->last_status, sizeof j->last_status, "%s", v);
			free(v);
		}
		j->next_due = j->m.last_start ? j->m.last_start + j->every : now;
		if (j->next_due < now && j->m.last_start)
			j->next_due = now;
	}
}

/* ---- running a job ----------------------------------------------------------------- */

static int run_files(struct cl_daemon *d, struct cl_store *s, const struct cl_job *j,
                     const char *args, char *note, size_t notelen)
{
	struct cl_discover_opts o = { 0 };
	struct cl_load_opts lo = { 0 };
	struct cl_discover_stats st;
	const char *pw[1];
	int rc;

	o.excludes = (const char *const *)j->exclude.v;
	o.nexcludes = j->exclude.n;
	o.max_depth = j->max_depth;
	o.max_file_size = CL_DEFAULT_MAX_FILE_SIZE;
	if ((pw[0] = getenv("CERTLEDGER_P12_PASSWORD")) != NULL) {
		lo.passwords = pw;
		lo.npasswords = 1;
	}
	o.load = &lo;
	o.quiet = true;
	o.stop = d->stop;
	o.args = args;
	rc = cl_discover_files(s, (const char *const *)j->paths.v, j->paths.n, &o, &st);
	if (rc != CL_OK)
		snprintf(note, notelen, "%s", cl_store_errmsg(s));
	else
		snprintf(note, notelen, "%ld files read, %ld certificates (%ld new), %ld keys, "
		         "%ld problems, %ld gone%s", st.read, st.certs, st.certs_new, st.keys,
		         st.problems, st.gone, st.interrupted ? ", interrupted" : "");
	return rc == CL_OK && st.interrupted ? CL_ERR_INTERRUPTED : rc;
}

static int run_net(struct cl_daemon *d, struct cl_store *s, const struct cl_job *j,
                   const char *args, char *note, size_t notelen)
{
	struct cl_net_opts o = { .concurrency = 1000, .max_handshakes = CL_NET_MAX_HANDSHAKES,
	                         .connect_ms = CL_NET_CONNECT_MS,
	                         .handshake_ms = CL_NET_HANDSHAKE_MS,
	                         .starttls_ms = CL_NET_STARTTLS_MS, .starttls = -1 };
	struct cl_net_stats st;
	struct cl_targets t;
	char err[512];
	size_t i;
	int rc;

	cl_targets_init(&t);
	rc = cl_targets_set_ports(&t, j->ports ? j->ports : cl_default_ports, err, sizeof err);
	for (i = 0; rc == CL_OK && i < j->targets.n; i++)
		rc = cl_targets_add(&t, j->targets.v[i], err, sizeof err);
	for (i = 0; rc == CL_OK && i < j->exclude.n; i++)
		rc = cl_targets_exclude(&t, j->exclude.v[i], err, sizeof err);
	for (i = 0; rc == CL_OK && i < j->sni.n; i++)
		rc = cl_targets_add_sni(&t, j->sni.v[i], err, sizeof err);
	if (rc != CL_OK) {
		snprintf(note, notelen, "%s", err);
		goto out;
	}
	if (j->starttls && (o.starttls = cl_stls_parse(j->starttls)) < 0) {
		snprintf(note, notelen, "unknown starttls '%s'", j->starttls);
		rc = CL_ERR_USAGE;
		goto out;
	}
	if (j->concurrency > 0)
		o.concurrency = j->concurrency;
	if (j->timeout_ms > 0)
		o.connect_ms = o.handshake_ms = o.starttls_ms = j->timeout_ms;
	o.rate = j->rate;
	o.ca_bundle = j->ca_bundle;
	o.targets = &t;
	o.quiet = true;
	o.stop = d->stop;
	o.args = args;
	rc = cl_discover_net(s, &o, &st);
	if (rc != CL_OK)
		snprintf(note, notelen, "%s", cl_store_errmsg(s));
	else
		snprintf(note, notelen, "%llu probes, %ld TLS, %ld failed, %ld certificates "
		         "(%ld new), %ld new endpoints, %ld changed, %ld unreachable%s",
		         (unsigned long long)st.probes, st.tls, st.failed, st.certs, st.certs_new,
		         st.endpoints_new, st.changed, st.unreachable,
		         st.interrupted ? ", interrupted" : "");
	if (rc == CL_OK && st.interrupted)
		rc = CL_ERR_INTERRUPTED;
out:
	cl_targets_free(&t);
	return rc;
}

/* ---- the reconcile of managed certificates ------------------------------------------ */

struct spec_copy {
	char *source, *text;
};

struct spec_list {
	struct spec_copy *v;
	size_t n, cap;
	const struct cl_manage_cfg *mc;
};

/* Copies the specs kept in the inventory, but those the configuration names
 * as files (applied from the file itself this run). */
static int keep_spec(void *arg, const char *source, const char *text, int64_t applied_at)
{
	struct spec_list *l = arg;
	struct spec_copy *c;
	size_t i;

	(void)applied_at;
	for (i = 0; i < l->mc->files.n; i++)
		if (strcmp(l->mc->files.v[i], source) == 0)
			return CL_OK;
	if (CL_GROW(l->v, l->cap, l->n + 1) != CL_OK)
		return CL_ERR_NOMEM;
	c = &l->v[l->n];
	if (!(c->source = strdup(source)) || !(c->text = strdup(text))) {
		free(c->source);
		return CL_ERR_NOMEM;
	}
	l->n++;
	return CL_OK;
}

static void on_manage_result(void *arg, const struct cl_manage_result *r)
{
	char nx[40];

	(void)arg;
	if (r->outcome == CL_MANAGE_FAILED) {
		cl_time_fmt(nx, sizeof nx, r->next_attempt);
		cl_log(CL_LOG_WARN, "manage: %s: %s failed (%d in a row): %s; next attempt %s",
		       r->name, cl_manage_action_name(r->action), r->failures,
		       r->error ? r->error : "?", nx);
	} else if (r->outcome == CL_MANAGE_ISSUED || r->outcome == CL_MANAGE_RENEWED ||
	           r->outcome == CL_MANAGE_REDEPLOYED) {
		cl_log(CL_LOG_NOTICE, "manage: %s: %s (%s), version %d, %.16s", r->name,
		       cl_manage_outcome_name(r->outcome), r->reason ? r->reason : "", r->version,
		       r->fp ? r->fp : "");
	}
	if (r->hook_error)
		cl_log(CL_LOG_WARN, "manage: %s: deploy hook failed: %s", r->name, r->hook_error);
}

static void add_stats(struct cl_manage_stats *t, const struct cl_manage_stats *st)
{
	t->total += st->total;
	t->issued += st->issued;
	t->renewed += st->renewed;
	t->redeployed += st->redeployed;
	t->unchanged += st->unchanged;
	t->backing_off += st->backing_off;
	t->failed += st->failed;
	t->skipped += st->skipped;
	t->hooks_failed += st->hooks_failed;
}

/* One reconcile of one spec; logs what is wrong. CL_ERR for a spec that does
 * not parse. */
static int reconcile_one(struct cl_store *s, struct cl_manage_spec *spec,
                         struct cl_manage_opts *mo, struct cl_manage_stats *tot)
{
	struct cl_manage_stats st;
	char err[2048];
	int rc;

	memset(&st, 0, sizeof st);
	rc = cl_manage_reconcile(s, spec, mo, &st, err, sizeof err);
	add_stats(tot, &st);
	if (rc != CL_OK && rc != CL_ERR_INTERRUPTED)
		cl_log(CL_LOG_ERROR, "manage: %s: %s", spec->source, err);
	return rc;
}

/*
 * Reconciles the managed certificates: the spec files of the configuration
 * (applied, as `certledger apply` does), then the specs kept in the
 * inventory (as `certledger renew` does). Failures of single certificates
 * are recorded by the reconcile (backoff, findings) and alerted on; the run
 * fails when a spec cannot be read or the store not written.
 */
static int run_manage(struct cl_daemon *d, struct cl_store *s, const struct cl_manage_cfg *mc,
                      char *note, size_t notelen)
{
	struct cl_manage_opts mo = { 0 };
	struct cl_manage_stats tot;
	struct spec_list l = { .mc = mc };
	char dir[4096], tmp[4096], err[2048];
	size_t i, nspecs = 0;
	int rc = CL_OK, r;

	memset(&tot, 0, sizeof tot);
	snprintf(tmp, sizeof tmp, "%s", strncmp(d->store_uri, "sqlite:", 7) == 0 ? d->store_uri + 7
	                                                                       : d->store_uri);
	snprintf(dir, sizeof dir, "%s", dirname(tmp));
	mo.workers = mc->workers;
	mo.state_dir = dir;
	mo.stop = d->stop;
	mo.report = on_manage_result;
	for (i = 0; i < mc->files.n && !*d->stop; i++) {
		struct cl_manage_spec *spec = NULL;
		if (cl_manage_spec_load(&spec, mc->files.v[i], err, sizeof err) != CL_OK) {
			cl_log(CL_LOG_ERROR, "manage: %s", err);
			rc = CL_ERR;
			continue;
		}
		mo.record_spec = true;
		nspecs++;
		if ((r = reconcile_one(s, spec, &mo, &tot)) != CL_OK)
			rc = r;
		cl_manage_spec_free(spec);
	}
	if (mc->inventory && !*d->stop && (r = cl_store_managed_specs(s, keep_spec, &l)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "manage: the specs kept in the inventory: %s",
		       r == CL_ERR_NOMEM ? "out of memory" : cl_store_errmsg(s));
		rc = r;
	}
	for (i = 0; i < l.n && !*d->stop; i++) {
		struct cl_manage_spec *spec = NULL;
		if (cl_manage_spec_parse(&spec, l.v[i].text, strlen(l.v[i].text), l.v[i].source, err,
		                         sizeof err) != CL_OK) {
			cl_log(CL_LOG_ERROR, "manage: the spec as applied: %s", err);
			rc = CL_ERR;
			continue;
		}
		mo.record_spec = false;
		nspecs++;
		if ((r = reconcile_one(s, spec, &mo, &tot)) != CL_OK && rc != CL_ERR_INTERRUPTED)
			rc = r;
		cl_manage_spec_free(spec);
	}
	for (i = 0; i < l.n; i++) {
		free(l.v[i].source);
		free(l.v[i].text);
	}
	free(l.v);
	if (*d->stop && rc == CL_OK)
		rc = CL_ERR_INTERRUPTED;
	snprintf(note, notelen, "%zu specs, %ld certificates: %ld issued, %ld renewed, "
	         "%ld redeployed, %ld unchanged, %ld failed, %ld backing off, %ld hooks failed%s",
	         nspecs, tot.total, tot.issued, tot.renewed, tot.redeployed, tot.unchanged,
	         tot.failed, tot.backing_off, tot.hooks_failed,
	         rc == CL_ERR_INTERRUPTED ? ", interrupted" : "");
	return rc;
}

/* The earliest instant after now at which a managed certificate falls due
 * (renewal point) or may be tried again (backoff), or 0. */
struct next_due {
	int64_t now, next;
};

static int on_due(void *arg, const struct cl_managed_row *r)
{
	struct next_due *n = arg;
	int64_t t = 0;

	if (!r->source || !*r->source)
		return CL_OK;   /* released: nothing renews it */
	/* a failing hook is retried at the next run, as a spec that does not
	 * parse: only renewal points and the ends of backoffs wake early */
	if (r->failures > 0 && r->next_attempt > n->now)
		t = r->next_attempt;
	else if (r->due_at > n->now)
		t = r->due_at;
	if (t && (!n->next || t < n->next))
		n->next = t;
	return CL_OK;
}

static int64_t manage_next_due(struct cl_store *s, int64_t now)
{
	struct next_due n = { .now = now };

	if (cl_store_managed_rows(s, NULL, on_due, &n) != CL_OK)
		return 0;
	return n.next;
}

static int run_check(struct cl_daemon *d, struct cl_store *s, const struct cl_cfgref *cr)
{
	struct cl_check_opts o = { 0 };
	struct cl_check_stats st;
	int rc;

	if (!cr->policy)
		return CL_OK;
	o.policy = cr->policy;
	o.stop = d->stop;
	o.args = "serve";
	if ((rc = cl_policy_check(s, &o, &st)) != CL_OK) {
		if (rc == CL_ERR_INTERRUPTED)
			cl_log(CL_LOG_NOTICE, "policy check: stopped; no finding changed");
		else if (rc == CL_ERR_NOMEM)
			cl_log(CL_LOG_ERROR, "policy check: %s", cl_strerror(rc));
		else
			cl_log(CL_LOG_ERROR, "policy check: %s", cl_store_errmsg(s));
		return rc;
	}
	cl_log(CL_LOG_INFO, "policy check: %ld certificates, %ld findings opened, %ld resolved",
	       st.certs, st.opened, st.resolved);
	return CL_OK;
}

static void save_meta(struct cl_store *s, const char *job, const char *what, const char *val)
{
	char key[300];

	snprintf(key, sizeof key, "job.%s.%s", job, what);
	if (cl_store_meta_set(s, key, val) != CL_OK)
		cl_log(CL_LOG_WARN, "job %s: cannot record its %s: %s", job, what, cl_store_errmsg(s));
}

static void save_time(struct cl_store *s, const char *job, const char *what, int64_t t)
{
	char v[32];

	snprintf(v, sizeof v, "%lld", (long long)t);
	save_meta(s, job, what, v);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs job j of the current configuration (cr), or the reconcile of managed
 * certificates when j is NULL. */
static int run_job(struct cl_daemon *d, struct cl_store *s, const struct cl_cfgref *cr,
                   const struct cl_job *j)
{
	char note[1024], args[300];
	time_t start = (time_t)cl_now();
	double t0 = mono(), secs;
	struct cl_jobstate *js;
	const char *name = j ? j->name : CL_MANAGE_JOB;
	int64_t due = 0;
	int rc;

	snprintf(args, sizeof args, "serve job %s", name);
	note[0] = '\0';
	pthread_mutex_lock(&d->mu);
	if ((js = cl_daemon_job(d, name)) != NULL) {
		js->m.running = true;
		js->m.last_start = start;
	}
	pthread_mutex_unlock(&d->mu);
	save_time(s, name, "last_start", start);
	cl_log(CL_LOG_INFO, "job %s: started", name);
	if (!j)
		rc = run_manage(d, s, &cr->c->manage, note, sizeof note);
	else
		rc = j->kind == CL_JOB_FILES ? run_files(d, s, j, args, note, sizeof note)
		                             : run_net(d, s, j, args, note, sizeof note);
	if (rc == CL_OK)
		rc = run_check(d, s, cr);
	secs = mono() - t0;
	if (!j && rc != CL_ERR_INTERRUPTED)
		due = manage_next_due(s, cl_now());
	pthread_mutex_lock(&d->mu);
	if ((js = cl_daemon_job(d, name)) != NULL) {
		js->m.running = false;
		js->m.last_end = (time_t)cl_now();
		js->m.last_seconds = secs;
		js->m.runs++;
		if (rc == CL_OK)
			js->m.last_success = js->m.last_end;
		else if (rc != CL_ERR_INTERRUPTED)
			js->m.failures++;
		snprintf(js->last_status, sizeof js->last_status, "%s",
		         rc == CL_OK ? "ok" : rc == CL_ERR_INTERRUPTED ? "interrupted" : "failed");
		js->next_due = start + js->every;
		/* a renewal point or a retry before the interval is over: wake
		 * for it (at least a minute later, whatever the clock does) */
		if (due && due < js->next_due)
			js->next_due = due > (int64_t)cl_now() + 60 ? (time_t)due
			                                           : (time_t)cl_now() + 60;
	}
	pthread_mutex_unlock(&d->mu);
	save_meta(s, name, "last_status",
	          rc == CL_OK ? "ok" : rc == CL_ERR_INTERRUPTED ? "interrupted" : "failed");
	if (rc == CL_OK) {
		save_time(s, name, "last_success", (int64_t)(time_t)cl_now());
		cl_log(CL_LOG_NOTICE, "job %s: done in %.1fs: %s", name, secs, note);
	} else if (rc == CL_ERR_INTERRUPTED) {
		cl_log(CL_LOG_NOTICE, "job %s: stopped after %.1fs, kept what was found: %s",
		       name, secs, note);
	} else {
		cl_log(CL_LOG_ERROR, "job %s: failed after %.1fs: %s", name, secs, note);
	}
	return rc;
}

static int evaluate(struct cl_daemon *d, struct cl_store *s, const struct cl_config *cfg)
{
	struct cl_eval_stats st;
	int rc = cl_alert_evaluate(s, cfg, cl_now(), &st);

	if (rc != CL_OK) {
		cl_log(CL_LOG_ERROR, "alert evaluation failed: %s", cl_store_errmsg(s));
		return rc;
	}
	pthread_mutex_lock(&d->mu);
	d->eval_last = cl_now();
	d->eval_seconds = st.seconds;
	d->next_eval = (time_t)cl_now() + cfg->alerts.evaluate_every;
	d->reloaded = false;   /* a reload asks for one evaluation: this is it */
	d->wake_deliver = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	cl_log(st.fired || st.resolved || st.escalated ? CL_LOG_NOTICE : CL_LOG_INFO,
	       "alerts: %ld certificates, %ld conditions, %ld fired, %ld escalated, %ld resolved,"
	       " %ld notifications queued in %.2fs", st.certs, st.holding, st.fired, st.escalated,
	       st.resolved, st.queued, st.seconds);
	/* receivers that expire alerts (Alertmanager) hear again of those firing */
	{
		long sent = 0;
		if (cl_alert_refresh(s, cfg, cl_now(), &sent) != CL_OK)
			cl_log(CL_LOG_WARN, "sending firing alerts again: %s", cl_store_errmsg(s));
		else if (sent)
			cl_log(CL_LOG_INFO, "%ld firing alerts sent again to expiring receivers", sent);
	}
	return CL_OK;
}

/* Waits on the condition variable until t (the daemon's clock, cl_now()),
 * or a wake-up. */
static void wait_until(struct cl_daemon *d, time_t t)
{
	struct timespec ts;
	int64_t left = (int64_t)t - cl_now();

	if (left <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)left;
	pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

static void *worker_main(void *arg)
{
	struct cl_daemon *d = arg;
	struct cl_store *s = NULL;

	pthread_mutex_lock(&d->mu);
	while (!d->stopping) {
		time_t now = (time_t)cl_now(), next = d->next_eval;
		struct cl_jobstate *pick = NULL;
		size_t i;

		for (i = 0; i < d->njobs; i++) {
			struct cl_jobstate *j = &d->jobs[i];
			time_t due = j->next_due, q = quiet_end(&j->quiet, due > now ? due : now);
			if (q > due && due <= now)
				due = q;           /* inside quiet hours: wait for their end */
			if (due <= now && (!pick || j->next_due < pick->next_due))
				pick = j;
			if (due < next)
				next = due;
		}
		if (pick) {
			struct cl_cfgref *cr = d->cfg;
			const struct cl_job *job = NULL;
			bool manage = pick->manage;
			cr->refs++;
			for (i = 0; !manage && i < cr->c->njobs; i++)
				if (strcmp(cr->c->jobs[i].name, pick->name) == 0)
					job = &cr->c->jobs[i];
			pthread_mutex_unlock(&d->mu);
			if ((job || manage) && cl_daemon_store(d, &s) == CL_OK) {
				run_job(d, s, cr, job);
				if (!d->stopping)
					evaluate(d, s, cr->c);
				cl_store_close(s);
				malloc_trim(0);
			} else if (job || manage) {
				/* the store cannot be opened: try again later */
				pthread_mutex_lock(&d->mu);
				pick->next_due = (time_t)cl_now() + 60;
				pthread_mutex_unlock(&d->mu);
			}
			cl_daemon_cfg_put(d, cr);
			pthread_mutex_lock(&d->mu);
			continue;
		}
		if (d->next_eval <= now || d->reloaded) {
			struct cl_cfgref *cr = d->cfg;
			d->reloaded = false;
			cr->refs++;
			pthread_mutex_unlock(&d->mu);
			if (cl_daemon_store(d, &s) == CL_OK) {
				evaluate(d, s, cr->c);
				cl_store_close(s);
				malloc_trim(0);
			} else {
				pthread_mutex_lock(&d->mu);
				d->next_eval = (time_t)cl_now() + 60;
				pthread_mutex_unlock(&d->mu);
			}
			cl_daemon_cfg_put(d, cr);
			pthread_mutex_lock(&d->mu);
			continue;
		}
		wait_until(d, next);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static void *deliver_main(void *arg)
{
	struct cl_daemon *d = arg;
	struct cl_store *s = NULL;

	pthread_mutex_lock(&d->mu);
	while (!d->stopping) {
		struct cl_cfgref *cr = d->cfg;
		struct cl_deliver_stats st = { 0 };
		int64_t next = 0;
		time_t wake;
		int rc;

		d->wake_deliver = false;
		cr->refs++;
		pthread_mutex_unlock(&d->mu);
		if ((rc = cl_daemon_store(d, &s)) == CL_OK) {
			rc = cl_alert_deliver(s, cr->c, cl_now(), d->stop, &st);
			if (rc != CL_OK)
				cl_log(CL_LOG_ERROR, "alert delivery: %s", cl_store_errmsg(s));
			else if (st.attempted)
				cl_log(CL_LOG_INFO, "alert delivery: %ld sent, %ld to retry, %ld failed",
				       st.sent, st.retry, st.failed);
			rc = cl_store_outbox_next(s, &next);
			cl_store_close(s);
			s = NULL;
			if (st.attempted)
				malloc_trim(0);   /* a storm's memory goes back to the system */
		}
		cl_daemon_cfg_put(d, cr);
		pthread_mutex_lock(&d->mu);
		/* sleep until the next retry is due (at most a minute: rows may be
		 * queued by another process), unless woken */
		wake = (time_t)cl_now() + 60;
		if (rc == CL_OK && next - cl_now() < 60)
			wake = (time_t)cl_now() + (next > cl_now() ? (time_t)(next - cl_now()) : 1);
		if (!d->wake_deliver && !d->stopping)
			wait_until(d, wake);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* ---- signals ------------------------------------------------------------------------ */

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct cl_daemon *d = arg;

	(void)what;
	cl_log(CL_LOG_NOTICE, "%s: stopping (finishing the work in progress)",
	       sig == SIGTERM ? "SIGTERM" : "SIGINT");
	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	*d->stop = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	event_base_loopexit(d->base, NULL);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct cl_daemon *d = arg;
	struct cl_cfgref *nr, *old;
	int rc;

	(void)sig;
	(void)what;
	if (load_config(d->config_path, &nr) != CL_OK) {
		cl_log(CL_LOG_ERROR, "SIGHUP: %s not reloaded; the running configuration stays",
		       d->config_path);
		return;
	}
	pthread_mutex_lock(&d->mu);
	if (nr->c->listen && d->cfg->c->listen && strcmp(nr->c->listen, d->cfg->c->listen) != 0)
		cl_log(CL_LOG_WARN, "SIGHUP: listen changed to %s: takes effect at the next start",
		       nr->c->listen);
	if ((rc = jobs_rebuild(d, nr->c, (time_t)cl_now())) != CL_OK) {
		pthread_mutex_unlock(&d->mu);
		cfgref_free(nr);
		cl_log(CL_LOG_ERROR, "SIGHUP: out of memory; the running configuration stays");
		return;
	}
	old = d->cfg;
	d->cfg = nr;
	d->reloaded = true;
	d->wake_deliver = true;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	cl_daemon_cfg_put(d, old);
	cl_log(CL_LOG_NOTICE, "SIGHUP: %s reloaded: %zu jobs, %zu notifiers, %zu routes",
	       d->config_path, nr->c->njobs, nr->c->nnotifiers, nr->c->nroutes);
}

/* ---- the whole ------------------------------------------------------------------------ */

struct cl_jobstate *cl_daemon_job(struct cl_daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->njobs; i++)
		if (strcmp(d->jobs[i].name, name) == 0)
			return &d->jobs[i];
	return NULL;
}

int cl_daemon_store(struct cl_daemon *d, struct cl_store **s)
{
	char err[512];
	int rc = cl_store_open(s, d->store_uri, 0, err, sizeof err);

	if (rc != CL_OK)
		cl_log(CL_LOG_ERROR, "%s", err);
	return rc;
}

static int run_once(struct cl_daemon *d, struct cl_store *s, const struct cl_serve_opts *o)
{
	struct cl_cfgref *cr = d->cfg;
	struct cl_deliver_stats ds;
	size_t i;
	int rc = CL_OK, r;

	for (i = 0; !o->skip_jobs && i < cr->c->njobs && !*d->stop; i++)
		if ((r = run_job(d, s, cr, &cr->c->jobs[i])) != CL_OK)
			rc = r == CL_ERR_INTERRUPTED ? r : CL_ERR;
	if (!o->skip_jobs && cr->c->manage.enabled && !*d->stop &&
	    (r = run_job(d, s, cr, NULL)) != CL_OK)
		rc = r == CL_ERR_INTERRUPTED ? r : CL_ERR;
	if (*d->stop)
		return CL_ERR_INTERRUPTED;
	if ((r = evaluate(d, s, cr->c)) != CL_OK)
		return r;
	if ((r = cl_alert_deliver(s, cr->c, cl_now(), d->stop, &ds)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "alert delivery: %s", cl_store_errmsg(s));
		return r;
	}
	cl_log(ds.attempted ? CL_LOG_NOTICE : CL_LOG_INFO,
	       "alert delivery: %ld sent, %ld to retry, %ld failed", ds.sent, ds.retry, ds.failed);
	if (rc == CL_OK && ds.failed + ds.retry > 0)
		rc = CL_ERR;
	return rc;
}

static volatile sig_atomic_t serve_stop;

static void once_signal(int sig)
{
	(void)sig;
	serve_stop = 1;
}

int cl_serve_run(const struct cl_serve_opts *o)
{
	struct cl_daemon d;
	struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
	struct cl_http *http = NULL;
	struct cl_store *s = NULL;
	const char *uri, *listen;
	char dbbuf[4096];
	bool threads = false;
	pthread_t worker, deliverer;
	int rc;

	memset(&d, 0, sizeof d);
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);
	d.config_path = o->config;
	serve_stop = 0;
	d.stop = &serve_stop;
	d.started = cl_now();
	if ((rc = load_config(o->config, &d.cfg)) != CL_OK)
		goto out;
	uri = o->db ? o->db : d.cfg->c->store ? d.cfg->c->store
	                    : cl_store_default_path(dbbuf, sizeof dbbuf);
	/* the configuration holding uri may be replaced by a reload */
	if (!(d.store_uri = strdup(uri))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	/* opened once here: migrations, and a clear error before anything starts */
	if ((rc = cl_daemon_store(&d, &s)) != CL_OK)
		goto out;
	if ((rc = jobs_rebuild(&d, d.cfg->c, (time_t)cl_now())) != CL_OK)
		goto out;
	jobs_restore(&d, s, (time_t)cl_now());
	if (o->once) {
		struct sigaction sa = { .sa_handler = once_signal };
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		rc = run_once(&d, s, o);
		goto out;
	}
	cl_store_close(s);
	s = NULL;
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	if (!(d.base = event_base_new())) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	listen = o->listen ? o->listen : d.cfg->c->listen;
	if (listen && *listen && (rc = cl_http_start(&http, &d, listen)) != CL_OK)
		goto out;
	ev_term = evsignal_new(d.base, SIGTERM, on_stop_signal, &d);
	ev_int = evsignal_new(d.base, SIGINT, on_stop_signal, &d);
	ev_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	if (!ev_term || !ev_int || !ev_hup || evsignal_add(ev_term, NULL) || evsignal_add(ev_int, NULL) ||
	    evsignal_add(ev_hup, NULL)) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	d.next_eval = (time_t)cl_now();   /* evaluate once at start */
	if (pthread_create(&worker, NULL, worker_main, &d) != 0) {
		rc = CL_ERR;
		goto out;
	}
	if (pthread_create(&deliverer, NULL, deliver_main, &d) != 0) {
		pthread_mutex_lock(&d.mu);
		d.stopping = true;
		pthread_cond_broadcast(&d.cv);
		pthread_mutex_unlock(&d.mu);
		pthread_join(worker, NULL);
		rc = CL_ERR;
		goto out;
	}
	threads = true;
	cl_log(CL_LOG_NOTICE, "serving: %zu jobs%s, %zu notifiers, store %s%s%s", d.cfg->c->njobs,
	       d.cfg->c->manage.enabled ? " and managed certificates" : "", d.cfg->c->nnotifiers,
	       uri, listen && *listen ? ", http://" : "", listen && *listen ? listen : "");
	event_base_dispatch(d.base);
	rc = CL_OK;
out:
	if (threads) {
		pthread_mutex_lock(&d.mu);
		d.stopping = true;
		*d.stop = 1;
		pthread_cond_broadcast(&d.cv);
		pthread_mutex_unlock(&d.mu);
		pthread_join(worker, NULL);
		pthread_join(deliverer, NULL);
		cl_log(CL_LOG_NOTICE, "stopped");
	}
	cl_http_stop(http);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_hup)
		event_free(ev_hup);
	if (d.base)
		event_base_free(d.base);
	cl_store_close(s);
	if (d.cfg)
		cl_daemon_cfg_put(&d, d.cfg);
	for (size_t i = 0; i < d.njobs; i++)
		free(d.jobs[i].name);
	free(d.jobs);
	free(d.store_uri);
	pthread_cond_destroy(&d.cv);
	pthread_mutex_destroy(&d.mu);
	return rc;
}
