/*
 * The daemon's configuration (certledger.yaml): where the inventory is,
 * what to discover and when, the policy, the alert rules, the routes and
 * the notifiers. Loaded from YAML and checked as a whole before use:
 * every problem is reported as "FILE:LINE: what is wrong", so a reload
 * (SIGHUP) with a broken file keeps the running configuration.
 *
 * Secrets: any string value may be written as {env: NAME} or
 * {file: PATH} (the file's content without its final newline); they are
 * resolved at load time, and a missing variable or unreadable file is an
 * error naming the key's line (never the secret).
 *
 * The documented example is examples/certledger.yaml.
 */
#ifndef CL_SERVE_CONFIG_H
#define CL_SERVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "alert/notify.h"

/* A daily window "HH:MM-HH:MM" in local time; may wrap midnight. */
struct cl_window {
	int start_min, end_min;     /* minutes after midnight; equal = unset */
};

enum cl_job_kind { CL_JOB_FILES, CL_JOB_NET };

struct cl_job {
	char *name;
	int line;
	enum cl_job_kind kind;
	int64_t every;              /* seconds between starts (`every: 6h`) */
	struct cl_window quiet;     /* no job starts inside these hours */
	/* files */
	struct cl_strlist paths;
	struct cl_strlist exclude;  /* globs (files) or CIDRs/@FILE (net) */
	int max_depth;              /* -1 unlimited */
	/* net */
	struct cl_strlist targets;  /* as `discover net` takes them */
	char *ports;                /* "443,8443" or NULL for the default set */
	struct cl_strlist sni;
	int concurrency;            /* 0 = default */
	double rate;                /* 0 = unlimited */
	int timeout_ms;             /* connect and handshake; 0 = default */
	char *ca_bundle;
	char *starttls;             /* NULL = by port */
};

/* Which inventory facts raise alerts (the `alerts:` section). */
struct cl_alert_rules {
	int64_t evaluate_every;     /* timer between evaluations (default 1h) */
	/* expiry thresholds, in days, descending (default 30,14,7,3,1) */
	int *days;
	size_t ndays;
	/* certificates whose lifetime is below short_lived use shares of
	 * their lifetime left instead (default 30 days; 33% and 10%) */
	int64_t short_lived;
	double *remaining;          /* 0..1, descending */
	size_t nremaining;
	bool expired;               /* default true */
	double renewal_at;          /* share of the lifetime after which a
	                               certificate still deployed is overdue
	                               (default 2/3); 0 = off */
	bool changed;               /* endpoint serves another certificate */
	bool unreachable;
	int64_t unreachable_after;  /* grace before alerting (default 0) */
	char *finding_min_severity; /* NULL = findings do not alert (default "error") */
	struct cl_strlist watch_domains; /* globs on DNS names: new certificate /
	                                    new issuer alerts */
	bool include_ca;            /* CA certificates expiring too (default true) */
	bool renewal_failing;       /* a managed certificate's renewal keeps failing
	                               (manage.renewal_failing; default true) */
	bool hook_failed;           /* its deploy hook failed (manage.hook_failed;
	                               default true) */
};

/*
 * Managed certificates reconciled by the daemon (the `manage:` section):
 * the specs applied with `certledger apply` and kept in the inventory,
 * and/or spec files applied on every run, reconciled every `every` (and
 * earlier when a renewal or a retry falls due), outside quiet hours.
 */
struct cl_manage_cfg {
	bool enabled;               /* the section is present */
	int line;
	int64_t every;              /* seconds between runs (default 1h) */
	int workers;                /* threads issuing and deploying; 0 = default */
	bool inventory;             /* the specs kept in the inventory (default true) */
	struct cl_strlist files;    /* absolute paths of spec files applied each run */
	struct cl_window quiet;     /* no run starts inside these hours */
};

/* A route: every condition given must hold (any value of a list). */
struct cl_route {
	int line;
	struct cl_strlist owner, environment, tag, type;  /* globs */
	char *min_severity;         /* NULL = any */
	size_t *notify;             /* indexes into cl_config.notifiers */
	size_t nnotify;
	bool stop;                  /* no later route is tried when this matched */
};

struct cl_config {
	char *path;                 /* the file it came from */
	char *store;                /* store URI (default: cl_store_default_path) */
	char *listen;               /* "127.0.0.1:9477" (default), "[::1]:9477",
	                               "" = no HTTP server */
	char *policy;               /* policy file; NULL = none: no check after jobs */
	char *dashboard_url;        /* put into messages; may be NULL */
	int64_t grace;              /* /healthz: a job is late after every + grace
	                               (default 10 minutes) */
	long metrics_max_series;    /* bound on per-certificate series (default 200000) */
	struct cl_job *jobs;
	size_t njobs;
	struct cl_alert_rules alerts;
	struct cl_manage_cfg manage;
	struct cl_route *routes;
	size_t nroutes;
	struct cl_notifier *notifiers;
	size_t nnotifiers;
	/* delivery retries: exponential from backoff_min to backoff_max with
	 * +-20% jitter, given up (state "failed") after give_up */
	int64_t backoff_min, backoff_max, give_up;
};

/*
 * Parses YAML text. name is used in messages. On error writes
 * "NAME:LINE: what is wrong" into err and returns CL_ERR_PARSE (or
 * CL_ERR_NOMEM). Unknown keys are errors (with a suggestion when one is
 * close), so typos do not silently disable an alert.
 */
int cl_config_parse(struct cl_config **out, const char *text, size_t len, const char *name,
                    char *err, size_t errlen);
/* Reads and parses the file at path. */
int cl_config_load(struct cl_config **out, const char *path, char *err, size_t errlen);
void cl_config_free(struct cl_config *c);

/* The notifier called name, or NULL. */
const struct cl_notifier *cl_config_notifier(const struct cl_config *c, const char *name);

/* Whether minute-of-day m (0..1439) lies in w (false when w is unset). */
bool cl_window_contains(const struct cl_window *w, int m);

#endif
