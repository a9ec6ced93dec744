/*
 * Revocation checking: OCSP first, the CRL as the fallback, many
 * certificates at once.
 *
 * A struct cl_revoker queues checks (cl_revoker_add) and runs them all
 * concurrently on one curl multi handle (cl_revoker_run), with a bounded
 * number of requests in flight, a timeout per request and a hard cap on
 * every body. For each certificate the OCSP responders named in its AIA
 * extension are asked first (HTTP POST, with a nonce); when none gives a
 * valid good/revoked answer, the CRL distribution points are fetched
 * (HTTP GET, DER or PEM). A CRL is downloaded once per URL and run however
 * many certificates name it, kept in memory for the revoker's lifetime
 * and, with cache_dir, on disk, in both cases until its nextUpdate.
 *
 * Only http:// URLs are fetched (OCSP and CRLs are signed objects served
 * over plain HTTP, RFC 5280/6960); other schemes are reported, not used.
 *
 * The two parsers are pure functions of their input and are fuzzed
 * (tests/fuzz/fuzz_ocsp.c, tests/fuzz/fuzz_crl.c).
 *
 * Thread safety: a revoker is used by one thread at a time. The pure
 * evaluators may be called from any thread.
 */
#ifndef CL_POLICY_REVOCATION_H
#define CL_POLICY_REVOCATION_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include "core/cl.h"

enum cl_rev_status {
	CL_REV_GOOD,
	CL_REV_REVOKED,
	CL_REV_UNKNOWN,     /* the responder does not know the certificate, or
	                       every answer received was invalid (bad
	                       signature, stale, malformed, too large, ...) */
	CL_REV_UNREACHABLE, /* no answer at all: timeout, refused, HTTP error,
	                       unsupported URL scheme */
	CL_REV_NONE,        /* no OCSP URL and no CRL distribution point */
};

struct cl_rev_result {
	enum cl_rev_status status;
	const char *method;      /* "ocsp", "crl" or NULL (static strings) */
	int reason;              /* CRL reason code (RFC 5280), -1 when none */
	const char *reason_name; /* "keyCompromise", ... or NULL (static) */
	int64_t revoked_at;      /* Unix seconds; 0 unless revoked */
	int64_t this_update, next_update; /* of the response/CRL used, 0 unknown */
	char url[512];           /* the responder or CRL URL that answered (or
	                            failed last); truncated if longer */
	char detail[256];        /* human readable reason for unknown and
	                            unreachable ("timed out after 5 s",
	                            "response signature does not verify", ...);
	                            for an answer from the CRL after OCSP
	                            failed, what went wrong with OCSP */
};

struct cl_rev_opts {
	int timeout_ms;          /* per HTTP request, connect included (also the
	                            connect timeout), default 5000; a low-speed
	                            limit of 1 KiB/s over the same window (in
	                            whole seconds) backs it up */
	int concurrency;         /* requests in flight, default 32 */
	size_t max_ocsp_bytes;   /* default 64 KiB */
	size_t max_crl_bytes;    /* default 20 MiB */
	const char *cache_dir;   /* CRL cache directory (created 0700, files
	                            0600); NULL = memory only */
	int64_t now;             /* evaluation time, Unix seconds; 0 = cl_now()
	                            when cl_revoker_run starts */
	int64_t max_age;         /* OCSP freshness: reject responses whose
	                            thisUpdate is older than this many seconds;
	                            0 = default 7 days, < 0 = no age limit.
	                            A nextUpdate in the past is always stale. */
};

#define CL_REV_DEFAULT_TIMEOUT_MS 5000
#define CL_REV_DEFAULT_CONCURRENCY 32
#define CL_REV_DEFAULT_MAX_OCSP ((size_t)64 * 1024)
#define CL_REV_DEFAULT_MAX_CRL ((size_t)20 * 1024 * 1024)
#define CL_REV_DEFAULT_MAX_AGE ((int64_t)7 * 86400)
#define CL_REV_CLOCK_SKEW 300    /* seconds a thisUpdate may lie in the future */

struct cl_revoker;

/*
 * Creates a revoker with the options o (NULL: all defaults; o is copied,
 * cache_dir included). Creates cache_dir (mode 0700) when it is set and
 * missing. Returns CL_OK and *out (free with cl_revoker_free),
 * CL_ERR_IO when cache_dir cannot be created, or CL_ERR_NOMEM.
 */
int cl_revoker_new(struct cl_revoker **out, const struct cl_rev_opts *o);

/* Frees r, its queued checks (their callbacks are not called) and its
 * CRL memory cache. NULL is allowed. */
void cl_revoker_free(struct cl_revoker *r);

/*
 * Queues one check of cert (DER) issued by issuer (DER); both buffers are
 * only read during the call. When CL_OK is returned, cb is called exactly
 * once from the next cl_revoker_run with a result that is valid only
 * during the call. cb must not call cl_revoker_* on r.
 * Returns CL_OK, CL_ERR_PARSE when cert or issuer is not one DER
 * certificate, CL_ERR_USAGE for a NULL argument, or CL_ERR_NOMEM.
 */
int cl_revoker_add(struct cl_revoker *r, const unsigned char *cert, size_t cert_len,
                   const unsigned char *issuer, size_t issuer_len,
                   void (*cb)(void *arg, const struct cl_rev_result *res), void *arg);

/*
 * Runs every queued check concurrently (curl multi) and returns when all
 * their callbacks were called. Returns CL_OK, or CL_ERR / CL_ERR_NOMEM
 * when curl itself failed, in which case the checks not yet answered are
 * called back with CL_REV_UNREACHABLE.
 */
int cl_revoker_run(struct cl_revoker *r);

/*
 * Evaluates the DER OCSP response resp[0..len) for cert issued by issuer:
 * response status successful, a basic response whose signature verifies
 * (OCSP_basic_verify) with issuer as the only trust anchor - signed by the
 * issuer itself, or by a delegated responder certificate issued by it and
 * carrying the OCSP signing EKU -, a single response for cert, the nonce
 * (when nonce is not NULL and the responder echoed one; RFC 8954 form, an
 * OCTET STRING holding nonce), and freshness at time now: thisUpdate not
 * more than CL_REV_CLOCK_SKEW in the future, nextUpdate (if any) not in
 * the past, thisUpdate not older than max_age seconds (max_age <= 0: no
 * limit). Certificates are checked for validity at time now too.
 * Fills *res (method "ocsp", url left empty) and returns CL_OK when the
 * response is valid: status GOOD, REVOKED (reason, revoked_at) or UNKNOWN
 * (the responder does not know the certificate). Returns CL_ERR_PARSE
 * (malformed) or CL_ERR (invalid) with res->status CL_REV_UNKNOWN and
 * res->detail saying why.
 */
int cl_ocsp_evaluate(const unsigned char *resp, size_t len, X509 *cert, X509 *issuer,
                     const unsigned char *nonce, size_t nonce_len, int64_t now,
                     int64_t max_age, struct cl_rev_result *res);

/*
 * Evaluates the CRL crl[0..len) (DER, or PEM "X509 CRL") for cert issued
 * by issuer: issuer name, signature verified with the issuer's key,
 * thisUpdate not more than CL_REV_CLOCK_SKEW in the future, nextUpdate
 * not in the past (at time now), no unsupported critical extension (delta
 * and indirect CRLs, reason-partitioned CRLs, or a scope that excludes
 * cert are refused). Fills *res (method "crl", url left empty) and returns
 * CL_OK with status GOOD or REVOKED (reason, revoked_at), or CL_ERR_PARSE
 * / CL_ERR with status CL_REV_UNKNOWN and res->detail saying why.
 */
int cl_crl_evaluate(const unsigned char *crl, size_t len, X509 *cert, X509 *issuer,
                    int64_t now, struct cl_rev_result *res);

/* "good", "revoked", "unknown", "unreachable", "none". */
const char *cl_rev_status_name(enum cl_rev_status s);

/* RFC 5280 name of a CRLReason code ("keyCompromise"), or NULL. */
const char *cl_rev_reason_name(int reason);

#endif
