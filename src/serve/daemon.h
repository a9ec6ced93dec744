/*
 * certledger serve: the monitoring daemon.
 *
 * Threads: the main thread runs a libevent loop (signals, the HTTP server
 * for /metrics, /healthz and /calendar.ics); a worker thread runs the
 * discovery jobs on their schedule, the policy check after each job and
 * the alert evaluation after each job and on a timer; a delivery thread
 * sends the outbox. Each thread has its own store handle (SQLite in WAL
 * mode: readers never wait for the writer).
 *
 * Signals: SIGHUP reloads the configuration (a broken file is reported
 * and the running configuration kept; job history is kept by job name);
 * SIGTERM and SIGINT stop: the running job stops at its next safe point
 * keeping what it found, a send in progress completes, then the process
 * exits 0.
 */
#ifndef CL_SERVE_DAEMON_H
#define CL_SERVE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

struct cl_serve_opts {
	const char *config;       /* path of certledger.yaml */
	const char *db;           /* store URI overriding the config's; may be NULL */
	bool once;                /* run every job once, evaluate, deliver what is due, exit */
	bool skip_jobs;           /* with once: only evaluate and deliver */
	const char *listen;       /* overrides the config's listen; may be NULL */
};

/*
 * Runs the daemon until stopped (or one round with once). Returns CL_OK,
 * CL_ERR_USAGE for a configuration that does not load (message logged),
 * or another CL_ERR_* for a failure to start (store, listen address).
 * With once, CL_ERR is returned when a job or a delivery failed.
 */
int cl_serve_run(const struct cl_serve_opts *o);

#endif
