/* certledger serve (see serve/daemon.h). */
#include <errno.h>
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
	struct cl_jobstate *v = calloc(cfg->njobs + 1, sizeof *v);
	size_t i, k;

	if (!v)
		return CL_ERR_NOMEM;
	for (i = 0; i < cfg->njobs; i++) {
		const struct cl_job *j = &cfg->jobs[i];
		if (!(v[i].name = strdup(j->name))) {
			while (i-- > 0)
				free(v[i].name);
			free(v);
			return CL_ERR_NOMEM;
		}
		v[i].m.name = v[i].name;
		v[i].m.kind = j->kind == CL_JOB_FILES ? "files" : "net";
		v[i].every = j->every;
		v[i].quiet = j->quiet;
		v[i].next_due = now;
		for (k = 0; k < d->njobs; k++)
			if (strcmp(d->jobs[k].name, j->name) == 0) {
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
	d->njobs = cfg->njobs;
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

/* Runs job index i of the current configuration (cr). */
static int run_job(struct cl_daemon *d, struct cl_store *s, const struct cl_cfgref *cr,
                   const struct cl_job *j)
{
	char note[1024], args[300];
	time_t start = (time_t)cl_now();
	double t0 = mono(), secs;
	struct cl_jobstate *js;
	int rc;

	snprintf(args, sizeof args, "serve job %s", j->name);
	note[0] = '\0';
	pthread_mutex_lock(&d->mu);
	if ((js = cl_daemon_job(d, j->name)) != NULL) {
		js->m.running = true;
		js->m.last_start = start;
	}
	pthread_mutex_unlock(&d->mu);
	save_time(s, j->name, "last_start", start);
	cl_log(CL_LOG_INFO, "job %s: started", j->name);
	rc = j->kind == CL_JOB_FILES ? run_files(d, s, j, args, note, sizeof note)
	                             : run_net(d, s, j, args, note, sizeof note);
	if (rc == CL_OK)
		rc = run_check(d, s, cr);
	secs = mono() - t0;
	pthread_mutex_lock(&d->mu);
	if ((js = cl_daemon_job(d, j->name)) != NULL) {
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
	}
	pthread_mutex_unlock(&d->mu);
	save_meta(s, j->name, "last_status",
	          rc == CL_OK ? "ok" : rc == CL_ERR_INTERRUPTED ? "interrupted" : "failed");
	if (rc == CL_OK) {
		save_time(s, j->name, "last_success", (int64_t)(time_t)cl_now());
		cl_log(CL_LOG_NOTICE, "job %s: done in %.1fs: %s", j->name, secs, note);
	} else if (rc == CL_ERR_INTERRUPTED) {
		cl_log(CL_LOG_NOTICE, "job %s: stopped after %.1fs, kept what was found: %s",
		       j->name, secs, note);
	} else {
		cl_log(CL_LOG_ERROR, "job %s: failed after %.1fs: %s", j->name, secs, note);
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
			cr->refs++;
			for (i = 0; i < cr->c->njobs; i++)
				if (strcmp(cr->c->jobs[i].name, pick->name) == 0)
					job = &cr->c->jobs[i];
			pthread_mutex_unlock(&d->mu);
			if (job && cl_daemon_store(d, &s) == CL_OK) {
				run_job(d, s, cr, job);
				if (!d->stopping)
					evaluate(d, s, cr->c);
				cl_store_close(s);
				malloc_trim(0);
			} else if (job) {
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
	cl_log(CL_LOG_NOTICE, "serving: %zu jobs, %zu notifiers, store %s%s%s", d.cfg->c->njobs,
	       d.cfg->c->nnotifiers, uri, listen && *listen ? ", http://" : "",
	       listen && *listen ? listen : "");
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
