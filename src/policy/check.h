/*
 * A policy check of the inventory: the policy evaluated over every
 * certificate the store holds (or those a filter selects), with what
 * surrounds each one, and the open policy.* findings brought up to date.
 * `certledger check` runs it and reports; the daemon runs it after each
 * discovery job.
 *
 * One call is one run (cl_store_run_begin/run_end, kind "check"):
 *  1. context is gathered first: keys shared by certificates or served
 *     from several hosts, CA certificates (for fp:/spki: issuer
 *     approvals), exposed private key files, endpoints with chain
 *     problems, weak RSA keys, the open policy.* findings and, when asked,
 *     the revocation status of every leaf checked (OCSP/CRL, network);
 *  2. the certificates are evaluated in one pass, in one transaction; a
 *     finding that is new or whose severity or message changed is staged,
 *     an unchanged one costs a hash probe;
 *  3. open findings that did not come back are resolved - in a scoped run
 *     (see cl_check_opts.filter) only those of the certificates evaluated,
 *     and findings about a key ("key:SPKI") only by unscoped runs.
 * Findings change only when the whole pass succeeds.
 *
 * A key shared by several certificates is one finding (target key:SPKI,
 * reported with the first certificate that has it); chain results are one
 * finding per endpoint and exposed key files one per file.
 */
#ifndef CL_POLICY_CHECK_H
#define CL_POLICY_CHECK_H

#include <signal.h>
#include <stdbool.h>
#include "policy/policy.h"
#include "store/store.h"

/* One violation as a check found it. Everything is borrowed, valid during
 * the callback only. */
struct cl_check_hit {
	const struct cl_violation *v;
	const struct cl_policy_row *row;  /* the certificate it was found with */
	const char *rule;                 /* the finding's rule: "policy.key.size" */
	const char *target;               /* "cert:FP", "key:SPKI" or a location */
	const char *fp;                   /* the certificate's SHA-256, hex */
	const char *profile;              /* name of the profile that applied */
};

struct cl_check_opts {
	const struct cl_policy *policy;   /* required */
	/*
	 * The certificates to check (sort and limit are ignored) and, in
	 * filter->now, the evaluation time. NULL: every present certificate,
	 * now. Any criterion besides now, sort, desc and limit makes the run
	 * scoped. The filter must start from cl_filter_init (it is compared
	 * with a fresh one as a whole).
	 */
	const struct cl_filter *filter;
	bool revocation;                  /* also check OCSP/CRL (network) */
	int revocation_timeout_ms;        /* per request; <= 0: the default */
	const char *crl_cache_dir;        /* downloaded CRLs kept there; NULL: memory */
	const char *args;                 /* recorded with the run; NULL: policy->source */
	volatile sig_atomic_t *stop;      /* set asynchronously to stop (may be NULL);
	                                     looked at between phases and certificates,
	                                     not during revocation transfers (they end
	                                     within their timeout) */
	/* optional: called once when evaluation starts (context gathered,
	 * transaction open); non-CL_OK stops the check with that code */
	int (*on_start)(void *arg);
	/* optional: called for each violation, in evaluation order, after it
	 * was staged; non-CL_OK stops the check with that code */
	int (*on_hit)(void *arg, const struct cl_check_hit *h);
	void *arg;
};

struct cl_check_stats {
	long certs;          /* certificates evaluated */
	long violations;     /* all severities */
	long by_sev[4];      /* violations by enum cl_sev (CL_SEV_INFO..CRITICAL) */
	int worst;           /* the most severe violation's enum cl_sev, -1 none */
	long opened, changed, resolved;  /* findings */
	long rev[5];         /* with revocation: leaves by enum cl_rev_status
	                        (CL_REV_NONE: without OCSP or CRL URLs) */
	long rev_noissuer;   /* leaves whose issuer is not in the inventory */
	double seconds;      /* wall time of the whole run */
};

/*
 * Checks the inventory in s under o->policy (see above) and records the
 * run and its findings. s must not be inside a transaction. *st is filled
 * in (also on failure: what was counted until then; opened, changed and
 * resolved only on success).
 * Returns CL_OK; CL_ERR_INTERRUPTED when *o->stop was set (nothing
 * recorded but the run, as "interrupted"); CL_ERR_USAGE without a
 * policy; CL_ERR_NOMEM; CL_ERR_IO when the CRL cache directory cannot be
 * created; what a callback returned; or a store error (message via
 * cl_store_errmsg; recording the end of the run may replace it). On
 * failure no finding changes and the run, once begun, is ended "failed"
 * (or "interrupted").
 */
int cl_policy_check(struct cl_store *s, const struct cl_check_opts *o,
                    struct cl_check_stats *st);

#endif
