/*
 * Network discovery: a TLS scanner that feeds the inventory.
 *
 * Pipeline: a feeder thread walks the targets (resolver threads look up
 * host names meanwhile) and queues probes in batches; N worker threads
 * each run one epoll loop with up to concurrency/N non-blocking
 * connections (connect, optional STARTTLS dialogue, TLS handshake with
 * OpenSSL on the socket), then parse and verify the presented chain; one
 * writer thread records results in batched transactions. Memory is
 * bounded by the concurrency and the queue sizes, not by the number of
 * targets.
 *
 * Why epoll and OpenSSL directly rather than libevent's
 * bufferevent_openssl: see docs/BENCHMARKS.md (network discovery).
 */
#ifndef CL_DISCOVER_NET_H
#define CL_DISCOVER_NET_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "discover/targets.h"
#include "store/store.h"

struct cl_net_opts {
	const struct cl_targets *targets;
	int concurrency;            /* connections in flight, all workers (default 1000) */
	int max_handshakes;         /* TLS handshakes in flight (default 4096; 0 = the
	                               concurrency): each costs ~40 KiB in OpenSSL */
	int workers;                /* event loops; 0 = number of CPUs */
	double rate;                /* new connections per second; 0 = unlimited */
	int connect_ms, handshake_ms, starttls_ms;  /* per-phase timeouts */
	int starttls;               /* CL_STLS_*; -1 = chosen by port */
	const char *ca_bundle;      /* trust anchors; NULL = system store */
	bool progress;              /* progress line on stderr */
	bool quiet;                 /* no per-target warnings */
	volatile sig_atomic_t *stop;  /* set asynchronously to stop (Ctrl-C) */
	const char *args;           /* command line, recorded with the run */
	/* called by the writer for each recorded endpoint (--output) */
	int (*on_row)(void *arg, const struct cl_endpoint_row *r);
	void *row_arg;
};

struct cl_net_stats {
	uint64_t planned;           /* probes expected (host names count once) */
	uint64_t probes;            /* probes finished */
	long tls;                   /* handshakes completed */
	long failed;                /* recorded failures */
	long closed;                /* closed/filtered ports of sweeps, not recorded */
	long unresolved;            /* host names that did not resolve */
	long endpoints_new, changed, unreachable, back;
	long certs, certs_new;      /* certificates presented, stored first time */
	bool interrupted;
	double seconds;
};

/* Default timeouts in milliseconds. */
#define CL_NET_CONNECT_MS 3000
#define CL_NET_HANDSHAKE_MS 5000
#define CL_NET_STARTTLS_MS 5000
#define CL_NET_MAX_HANDSHAKES 4096

/*
 * Scans o->targets into s. Per-target problems are recorded (findings)
 * and do not fail the call. Returns CL_OK (also when interrupted; see
 * st->interrupted), CL_ERR_USAGE for a bad --ca-bundle (message logged),
 * or a store error (cl_store_errmsg).
 */
int cl_discover_net(struct cl_store *s, const struct cl_net_opts *o, struct cl_net_stats *st);

#endif
