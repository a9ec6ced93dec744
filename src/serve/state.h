/*
 * The daemon's shared state (serve/daemon.c and serve/http.c). Every
 * field below mu is guarded by it; the configuration is reference
 * counted so a reload never frees what a thread is using.
 */
#ifndef CL_SERVE_STATE_H
#define CL_SERVE_STATE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "policy/policy.h"
#include "serve/config.h"
#include "serve/metrics.h"
#include "store/store.h"

struct cl_cfgref {
	struct cl_config *c;
	struct cl_policy *policy;      /* loaded from c->policy, or NULL */
	int refs;
};

struct cl_jobstate {
	char *name;
	struct cl_job_metrics m;       /* m.name points to name */
	int64_t every;
	struct cl_window quiet;
	time_t next_due;
	char last_status[16];          /* "ok", "failed", "interrupted", "" never */
	bool manage;                   /* the reconcile of managed certificates
	                                  (the manage section), not a discovery job */
};

/* The job name of the reconcile of managed certificates. */
#define CL_MANAGE_JOB "manage"

struct cl_daemon {
	const char *config_path;
	int64_t started;
	volatile sig_atomic_t *stop;   /* asks a running job / delivery to stop */
	struct event_base *base;
	char *store_uri;               /* fixed for the daemon's life */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cl_cfgref *cfg;
	struct cl_jobstate *jobs;
	size_t njobs;
	bool stopping, reloaded, wake_deliver;
	time_t next_eval;
	int64_t eval_last;
	double eval_seconds;
};

/* A reference to the current configuration; release with cl_daemon_cfg_put. */
struct cl_cfgref *cl_daemon_cfg_get(struct cl_daemon *d);
void cl_daemon_cfg_put(struct cl_daemon *d, struct cl_cfgref *r);
/*
 * Opens a handle on the store for one piece of work (closed with
 * cl_store_close right after): an idle daemon holds no database pages,
 * caches or maps. Logs why on failure.
 */
int cl_daemon_store(struct cl_daemon *d, struct cl_store **s);
/* The job called name (d->mu held), or NULL. */
struct cl_jobstate *cl_daemon_job(struct cl_daemon *d, const char *name);

#endif
