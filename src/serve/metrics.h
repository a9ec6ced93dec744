/*
 * /metrics: the inventory and the daemon in the Prometheus text
 * exposition format (version 0.0.4).
 *
 * Families (label cardinality in docs/monitoring.md):
 *  - certledger_cert_not_after_seconds, certledger_cert_not_before_seconds,
 *    certledger_cert_expired: one series per present certificate and
 *    location, labels fingerprint, subject_cn, issuer_cn, location, owner,
 *    environment; at most max_series of each (soonest expiry first), the
 *    rest counted in certledger_cert_series_dropped;
 *  - certledger_certificates (present), certledger_findings_open{rule,severity},
 *    certledger_alerts_firing{type,severity},
 *    certledger_alert_deliveries_total{notifier,outcome},
 *    certledger_job_* per job, certledger_alert_evaluation_*.
 */
#ifndef CL_SERVE_METRICS_H
#define CL_SERVE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

/* What the daemon knows about one job. */
struct cl_job_metrics {
	const char *name;
	const char *kind;           /* "files", "net" or "manage" */
	bool running;
	int64_t last_start, last_end, last_success;  /* 0 = never */
	double last_seconds;        /* duration of the last finished run */
	long runs, failures;        /* since the daemon started */
};

struct cl_metrics_in {
	const struct cl_job_metrics *jobs;
	size_t njobs;
	long max_series;            /* bound per certificate family; 0 = default */
	int64_t now;                /* for certledger_cert_expired */
	int64_t eval_last;          /* last alert evaluation (0 = never) */
	double eval_seconds;        /* its duration */
	int64_t started;            /* daemon start time */
};

/*
 * Renders everything through emit, in pieces (each call's data is valid
 * only during it); returns CL_OK, a store error, or what emit returned.
 */
int cl_metrics_render(struct cl_store *s, const struct cl_metrics_in *in,
                      int (*emit)(void *arg, const char *data, size_t len), void *arg);

#endif
