/*
 * Revocation checking (see revocation.h): OCSP with a nonce, the CRL as
 * the fallback, all certificates of a run concurrently on one curl multi
 * handle.
 *
 * A check walks its OCSP URLs, then its CRL distribution points, until one
 * gives a valid good/revoked answer. Every failure on the way is kept as
 * the result when nothing better comes: an answer that was received but
 * is invalid (or "unknown") outranks no answer at all, and among equals
 * the later one wins, so the URL reported is the one that failed last.
 *
 * Checks are started only while fewer than `concurrency` transfers are
 * in flight, and follow-up transfers wait in a FIFO for a free slot, so
 * memory follows the concurrency, not the number of certificates.
 * Completion handlers only queue new transfers: nothing recurses into
 * curl. A CRL URL is fetched once per run however many checks name it:
 * the checks wait on its cache entry and are resumed when it arrives.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "policy/revocation.h"

#define REV_NONCE_LEN 16
#define REV_MAX_REDIRS 3
#define REV_LOW_SPEED_BYTES 1024L
#define REV_MAX_SINGLE_RESPONSES 1000 /* single responses looked at in one OCSP response */

/* ---------------------------------------------------------------------- */
/* Names and small helpers                                                */

static const char *const reason_names[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise",
};

const char *cl_rev_reason_name(int reason)
{
	if (reason < 0 || (size_t)reason >= CL_ARRAY_LEN(reason_names))
		return NULL;
	return reason_names[reason];
}

const char *cl_rev_status_name(enum cl_rev_status s)
{
	switch (s) {
	case CL_REV_GOOD: return "good";
	case CL_REV_REVOKED: return "revoked";
	case CL_REV_UNKNOWN: return "unknown";
	case CL_REV_UNREACHABLE: return "unreachable";
	case CL_REV_NONE: return "none";
	}
	return "unknown";
}

static void res_init(struct cl_rev_result *res, const char *method)
{
	memset(res, 0, sizeof *res);
	res->status = CL_REV_UNKNOWN;
	res->method = method;
	res->reason = -1;
}

static void res_detail(struct cl_rev_result *res, const char *fmt, ...) CL_PRINTF(2, 3);
static void res_detail(struct cl_rev_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof res->detail, fmt, ap);
	va_end(ap);
}

/* Copies s into dst[size], truncating; always NUL terminated. */
static void copy_str(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static void fmt_size(char *out, size_t len, size_t n)
{
	if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
		snprintf(out, len, "%zu MiB", n / (1024 * 1024));
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(out, len, "%zu KiB", n / 1024);
	else
		snprintf(out, len, "%zu bytes", n);
}

static void fmt_ms(char *out, size_t len, int ms)
{
	if (ms % 1000 == 0)
		snprintf(out, len, "%d s", ms / 1000);
	else
		snprintf(out, len, "%d ms", ms);
}

/* ASN1_TIME to Unix seconds. A NULL time is an error (not "now"). */
static int asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return CL_ERR_PARSE;
	*out = cl_time_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
	                          (unsigned)tm.tm_mday, (unsigned)tm.tm_hour,
	                          (unsigned)tm.tm_min, (unsigned)tm.tm_sec);
	return CL_OK;
}

/* Checks thisUpdate/nextUpdate at now; what names "response" or "CRL". */
static int check_times(struct cl_rev_result *res, const char *what, const ASN1_TIME *thisupd,
                       const ASN1_TIME *nextupd, int64_t now, int64_t max_age)
{
	char ts[32];

	if (asn1_time_unix(thisupd, &res->this_update) != CL_OK) {
		res_detail(res, "%s has no valid thisUpdate", what);
		return CL_ERR;
	}
	if (nextupd != NULL && asn1_time_unix(nextupd, &res->next_update) != CL_OK) {
		res_detail(res, "%s has an invalid nextUpdate", what);
		return CL_ERR;
	}
	if (res->this_update > now + CL_REV_CLOCK_SKEW) {
		res_detail(res, "%s not yet valid (thisUpdate %s)", what,
		           cl_time_fmt(ts, sizeof ts, res->this_update));
		return CL_ERR;
	}
	if (nextupd != NULL && res->next_update < now) {
		res_detail(res, "%s expired (nextUpdate %s)", what,
		           cl_time_fmt(ts, sizeof ts, res->next_update));
		return CL_ERR;
	}
	if (max_age > 0 && res->this_update < now - max_age) {
		res_detail(res, "%s too old (thisUpdate %s)", what,
		           cl_time_fmt(ts, sizeof ts, res->this_update));
		return CL_ERR;
	}
	return CL_OK;
}

static void set_reason(struct cl_rev_result *res, long reason)
{
	res->reason = (reason >= 0 && reason <= INT_MAX) ? (int)reason : -1;
	res->reason_name = cl_rev_reason_name(res->reason);
}

/* ---------------------------------------------------------------------- */
/* OCSP                                                                   */

/*
 * Finds the single response about cert: each CertID is compared with
 * ours computed with its own hash (SHA-1, SHA-2), so responders that
 * answer with another hash than the request's are still understood.
 */
static OCSP_SINGLERESP *ocsp_find(OCSP_BASICRESP *bs, X509 *cert, X509 *issuer)
{
	static const int nids[] = { NID_sha1, NID_sha256, NID_sha384, NID_sha512 };
	OCSP_CERTID *ids[CL_ARRAY_LEN(nids)] = { NULL };
	OCSP_SINGLERESP *found = NULL;
	int i, n = OCSP_resp_count(bs);
	size_t k;

	for (i = 0; i < n && i < REV_MAX_SINGLE_RESPONSES && found == NULL; i++) {
		OCSP_SINGLERESP *s = OCSP_resp_get0(bs, i);
		const OCSP_CERTID *sid = s ? OCSP_SINGLERESP_get0_id(s) : NULL;
		ASN1_OBJECT *alg = NULL;
		int nid;

		if (sid == NULL ||
		    OCSP_id_get0_info(NULL, &alg, NULL, NULL, (OCSP_CERTID *)sid) != 1)
			continue;
		nid = OBJ_obj2nid(alg);
		for (k = 0; k < CL_ARRAY_LEN(nids) && nids[k] != nid; k++)
			;
		if (k == CL_ARRAY_LEN(nids))
			continue;
		if (ids[k] == NULL &&
		    (ids[k] = OCSP_cert_to_id(EVP_get_digestbynid(nid), cert, issuer)) == NULL)
			continue;
		if (OCSP_id_cmp(ids[k], sid) == 0)
			found = s;
	}
	for (k = 0; k < CL_ARRAY_LEN(nids); k++)
		OCSP_CERTID_free(ids[k]);
	return found;
}

/*
 * Verifies the response signature with issuer as the only trust anchor:
 * the signer is the issuer itself, or a certificate issued by it with the
 * OCSP signing EKU (OpenSSL's ocsp_check_issuer/ocsp_check_delegated).
 * OCSP_NOEXPLICIT: no trust settings on the anchor can stand in for that.
 */
static int ocsp_verify(OCSP_BASICRESP *bs, X509 *issuer, int64_t now, struct cl_rev_result *res)
{
	X509_STORE *store = NULL;
	STACK_OF(X509) *certs = NULL;
	X509_VERIFY_PARAM *vp;
	unsigned long e;
	int rc = CL_ERR;

	ERR_clear_error();
	if ((store = X509_STORE_new()) == NULL || (certs = sk_X509_new_null()) == NULL ||
	    X509_STORE_add_cert(store, issuer) != 1 || sk_X509_push(certs, issuer) <= 0) {
		res_detail(res, "out of memory verifying the response");
		goto out;
	}
	vp = X509_STORE_get0_param(store);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_time(vp, (time_t)now);
	if (OCSP_basic_verify(bs, certs, store, OCSP_PARTIAL_CHAIN | OCSP_NOEXPLICIT) == 1) {
		rc = CL_OK;
		goto out;
	}
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_OCSP && ERR_GET_REASON(e) == OCSP_R_SIGNATURE_FAILURE) {
		res_detail(res, "response signature does not verify");
	} else if (ERR_GET_LIB(e) == ERR_LIB_OCSP &&
	           ERR_GET_REASON(e) == OCSP_R_SIGNER_CERTIFICATE_NOT_FOUND) {
		res_detail(res, "response signer not found (neither the issuer nor an included certificate)");
	} else if (ERR_GET_LIB(e) == ERR_LIB_OCSP &&
	           ERR_GET_REASON(e) == OCSP_R_MISSING_OCSPSIGNING_USAGE) {
		res_detail(res, "responder certificate lacks the OCSP signing EKU");
	} else if (ERR_GET_LIB(e) == ERR_LIB_OCSP &&
	           ERR_GET_REASON(e) == OCSP_R_CERTIFICATE_VERIFY_ERROR) {
		char why[128];
		res_detail(res, "responder certificate not trusted for the issuer (%s)",
		           cl_ossl_reason(why, sizeof why));
	} else {
		char why[128];
		res_detail(res, "response signature not trusted (%s)", cl_ossl_reason(why, sizeof why));
	}
out:
	ERR_clear_error();
	sk_X509_free(certs);
	X509_STORE_free(store);
	return rc;
}

/*
 * True when the response has no nonce, the caller has none, or the echoed
 * nonce is ours: RFC 8954 form (the extension value is an OCTET STRING
 * holding the nonce, what OCSP_request_add1_nonce sends) or the bare bytes.
 */
static int ocsp_nonce_ok(OCSP_BASICRESP *bs, const unsigned char *nonce, size_t nlen)
{
	int idx = OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1);
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *v;
	const unsigned char *d;
	size_t dl;

	if (idx < 0 || nonce == NULL)
		return 1;
	if ((ext = OCSP_BASICRESP_get_ext(bs, idx)) == NULL ||
	    (v = X509_EXTENSION_get_data(ext)) == NULL)
		return 0;
	d = ASN1_STRING_get0_data(v);
	dl = (size_t)ASN1_STRING_length(v);
	if (nlen < 128 && dl == nlen + 2 && d[0] == V_ASN1_OCTET_STRING && d[1] == nlen &&
	    memcmp(d + 2, nonce, nlen) == 0)
		return 1;
	return dl == nlen && memcmp(d, nonce, nlen) == 0;
}

int cl_ocsp_evaluate(const unsigned char *resp, size_t len, X509 *cert, X509 *issuer,
                     const unsigned char *nonce, size_t nonce_len, int64_t now,
                     int64_t max_age, struct cl_rev_result *res)
{
	const unsigned char *p = resp;
	OCSP_RESPONSE *rsp = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_SINGLERESP *single;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int rc = CL_ERR_PARSE, st, reason = -1;

	res_init(res, "ocsp");
	if (resp == NULL || len == 0 || len > LONG_MAX || cert == NULL || issuer == NULL) {
		res_detail(res, "empty OCSP response");
		goto out;
	}
	if ((rsp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL) {
		res_detail(res, "malformed OCSP response");
		goto out;
	}
	if (p != resp + len) {
		res_detail(res, "malformed OCSP response (trailing data)");
		goto out;
	}
	st = OCSP_response_status(rsp);
	if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		rc = CL_ERR;
		res_detail(res, "responder error: %s (%d)", OCSP_response_status_str(st), st);
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(rsp)) == NULL) {
		res_detail(res, "malformed OCSP response (no basic response)");
		goto out;
	}
	rc = CL_ERR;
	if ((single = ocsp_find(bs, cert, issuer)) == NULL) {
		res_detail(res, "response does not cover the certificate");
		goto out;
	}
	if (ocsp_verify(bs, issuer, now, res) != CL_OK)
		goto out;
	if (!ocsp_nonce_ok(bs, nonce, nonce_len)) {
		res_detail(res, "nonce mismatch");
		goto out;
	}
	st = OCSP_single_get0_status(single, &reason, &rev, &thisupd, &nextupd);
	if (check_times(res, "response", thisupd, nextupd, now, max_age) != CL_OK)
		goto out;
	switch (st) {
	case V_OCSP_CERTSTATUS_GOOD:
		res->status = CL_REV_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		res->status = CL_REV_REVOKED;
		set_reason(res, reason);
		if (asn1_time_unix(rev, &res->revoked_at) != CL_OK) {
			res->status = CL_REV_UNKNOWN;
			res->reason = -1;
			res->reason_name = NULL;
			res_detail(res, "response has an invalid revocationTime");
			goto out;
		}
		break;
	case V_OCSP_CERTSTATUS_UNKNOWN:
		res->status = CL_REV_UNKNOWN;
		res_detail(res, "responder does not know the certificate");
		break;
	default:
		res_detail(res, "malformed OCSP response (certificate status %d)", st);
		goto out;
	}
	rc = CL_OK;
out:
	if (rc != CL_OK) {
		res->status = CL_REV_UNKNOWN;
		res->revoked_at = 0;
	}
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(rsp);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* CRL                                                                    */

static X509_CRL *crl_parse(const unsigned char *p, size_t len)
{
	static const char pem[] = "-----BEGIN X509 CRL-----";
	X509_CRL *crl = NULL;

	if (p == NULL || len == 0 || len > INT_MAX)
		return NULL;
	if (memmem(p, len, pem, sizeof pem - 1) != NULL) {
		BIO *b = BIO_new_mem_buf(p, (int)len);
		if (b != NULL)
			crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		const unsigned char *q = p;
		crl = d2i_X509_CRL(NULL, &q, (long)len);
		if (crl != NULL && q != p + len) {
			X509_CRL_free(crl);
			crl = NULL;
		}
	}
	ERR_clear_error();
	return crl;
}

/* Refuses CRLs whose scope this checker does not handle or that exclude cert. */
static int crl_scope(X509_CRL *crl, X509 *cert, struct cl_rev_result *res)
{
	ISSUING_DIST_POINT *idp;
	int i, n = X509_CRL_get_ext_count(crl), crit = -1, rc = CL_ERR;

	for (i = 0; i < n; i++) {
		X509_EXTENSION *e = X509_CRL_get_ext(crl, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
		char name[80];

		if (nid == NID_delta_crl) {
			res_detail(res, "delta CRLs are not supported");
			return CL_ERR;
		}
		if (X509_EXTENSION_get_critical(e) <= 0 || nid == NID_issuing_distribution_point ||
		    nid == NID_crl_number || nid == NID_authority_key_identifier)
			continue;
		OBJ_obj2txt(name, sizeof name, X509_EXTENSION_get_object(e), 0);
		res_detail(res, "unsupported critical CRL extension %s", name);
		return CL_ERR;
	}
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
	if (idp == NULL) {
		if (crit == -1)
			return CL_OK;
		res_detail(res, "malformed issuingDistributionPoint in the CRL");
		return CL_ERR;
	}
	if (idp->indirectCRL > 0)
		res_detail(res, "indirect CRLs are not supported");
	else if (idp->onlysomereasons != NULL)
		res_detail(res, "CRLs partitioned by reason are not supported");
	else if (idp->onlyattr > 0)
		res_detail(res, "CRL covers only attribute certificates");
	else if (idp->onlyCA > 0 && !(X509_get_extension_flags(cert) & EXFLAG_CA))
		res_detail(res, "CRL covers only CA certificates");
	else if (idp->onlyuser > 0 && (X509_get_extension_flags(cert) & EXFLAG_CA))
		res_detail(res, "CRL covers only end-entity certificates");
	else
		rc = CL_OK;
	ISSUING_DIST_POINT_free(idp);
	return rc;
}

/* Evaluates a parsed CRL (see cl_crl_evaluate). */
static int crl_check(X509_CRL *crl, X509 *cert, X509 *issuer, int64_t now,
                     struct cl_rev_result *res)
{
	X509_REVOKED *rev = NULL;
	EVP_PKEY *pk;
	int rc = CL_ERR, found;

	res_init(res, "crl");
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
		res_detail(res, "CRL issued by another CA");
		goto out;
	}
	if ((pk = X509_get0_pubkey(issuer)) == NULL || X509_CRL_verify(crl, pk) != 1) {
		res_detail(res, "CRL signature does not verify");
		goto out;
	}
	if (check_times(res, "CRL", X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_nextUpdate(crl),
	                now, 0) != CL_OK)
		goto out;
	if (crl_scope(crl, cert, res) != CL_OK)
		goto out;
	found = X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(cert));
	if (found == 1 && rev != NULL) {
		ASN1_ENUMERATED *e;
		int crit = -1;

		if (asn1_time_unix(X509_REVOKED_get0_revocationDate(rev), &res->revoked_at) != CL_OK) {
			res_detail(res, "CRL entry has an invalid revocationDate");
			goto out;
		}
		e = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);
		set_reason(res, e ? ASN1_ENUMERATED_get(e) : -1);
		ASN1_ENUMERATED_free(e);
		res->status = CL_REV_REVOKED;
	} else {
		res->status = CL_REV_GOOD;  /* absent, or removeFromCRL (found == 2) */
	}
	rc = CL_OK;
out:
	if (rc != CL_OK) {
		res->status = CL_REV_UNKNOWN;
		res->revoked_at = 0;
	}
	ERR_clear_error();
	return rc;
}

int cl_crl_evaluate(const unsigned char *crl, size_t len, X509 *cert, X509 *issuer,
                    int64_t now, struct cl_rev_result *res)
{
	X509_CRL *c;
	int rc;

	res_init(res, "crl");
	if (cert == NULL || issuer == NULL) {
		res_detail(res, "no certificate");
		return CL_ERR;
	}
	if ((c = crl_parse(crl, len)) == NULL) {
		res_detail(res, "malformed CRL");
		return CL_ERR_PARSE;
	}
	rc = crl_check(c, cert, issuer, now, res);
	X509_CRL_free(c);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* The revoker                                                            */

enum crl_state { CRL_IDLE, CRL_FETCHING, CRL_READY, CRL_FAILED };

struct crl_entry {
	struct crl_entry *next;
	char *url;
	enum crl_state state;
	X509_CRL *crl;           /* CRL_READY */
	int64_t next_update;     /* of crl, 0 when absent */
	int trusted;             /* verified with some issuer: worth keeping */
	int from_disk;           /* crl came from cache_dir */
	int disk_tried;          /* cache_dir was looked at in this run */
	int written;             /* crl is in cache_dir */
	enum cl_rev_status fail_status;  /* CRL_FAILED */
	char fail_detail[256];
	struct check **waiters;  /* checks waiting while CRL_FETCHING */
	size_t nwait, capwait;
};

struct check {
	struct check *next;
	X509 *cert, *issuer;
	void (*cb)(void *arg, const struct cl_rev_result *res);
	void *arg;
	char **ocsp, **crl;      /* URLs */
	size_t nocsp, iocsp, ncrl, icrl;
	struct cl_rev_result best;  /* what to report if nothing better comes */
	int best_rank;           /* 0 nothing yet, 1 no answer, 2 invalid/unknown answer */
	char ocsp_note[300];     /* why OCSP did not answer, shown with a CRL answer */
	char bad_issuer[200];    /* set when issuer did not issue cert */
	unsigned char nonce[REV_NONCE_LEN];
	int done;
};

enum xfer_kind { XFER_OCSP, XFER_CRL };

struct xfer {
	struct xfer *next, *prev;    /* r->xfers: every live transfer */
	struct xfer *qnext;          /* r->pending FIFO */
	enum xfer_kind kind;
	int active;                  /* added to the multi handle */
	CURL *easy;
	char *url;
	struct curl_slist *hdrs;
	unsigned char *req;          /* OCSP request DER (OPENSSL_free) */
	struct cl_buf body;
	int body_err;                /* cl_buf_add failed: CL_ERR_TOOBIG / NOMEM */
	char err[CURL_ERROR_SIZE];
	struct check *chk;           /* XFER_OCSP */
	struct crl_entry *ce;        /* XFER_CRL */
};

struct cl_revoker {
	struct cl_rev_opts o;
	char *cache_dir;
	int64_t now;
	CURLM *multi;
	struct check *checks, **checks_tail;
	struct crl_entry *crls;
	struct xfer *xfers;
	struct xfer *pend_head, **pend_tail;
	int inflight;
};

static int is_http(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0;
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int strv_push(char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
	char *d;

	if (CL_GROW(*v, *cap, *n + 1) != CL_OK || (d = malloc(len + 1)) == NULL)
		return CL_ERR_NOMEM;
	memcpy(d, s, len);
	d[len] = '\0';
	(*v)[(*n)++] = d;
	return CL_OK;
}

/* Collects the AIA OCSP URIs and the CRL distribution point URIs of c. */
static int check_urls(struct check *c)
{
	STACK_OF(OPENSSL_STRING) *ocsp = X509_get1_ocsp(c->cert);
	STACK_OF(DIST_POINT) *dps;
	size_t cap = 0;
	int i, j, rc = CL_OK;

	for (i = 0; i < sk_OPENSSL_STRING_num(ocsp) && rc == CL_OK; i++) {
		const char *u = sk_OPENSSL_STRING_value(ocsp, i);
		rc = strv_push(&c->ocsp, &c->nocsp, &cap, u, strlen(u));
	}
	X509_email_free(ocsp);
	cap = 0;
	dps = X509_get_ext_d2i(c->cert, NID_crl_distribution_points, NULL, NULL);
	for (i = 0; i < sk_DIST_POINT_num(dps) && rc == CL_OK; i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		/* a CRL issued by someone else (cRLIssuer) is an indirect CRL */
		if (dp->distpoint == NULL || dp->distpoint->type != 0 || dp->CRLissuer != NULL)
			continue;
		for (j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname) && rc == CL_OK; j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
			const unsigned char *s;
			size_t n;

			if (gn->type != GEN_URI)
				continue;
			s = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
			n = (size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier);
			if (n == 0 || memchr(s, '\0', n) != NULL)
				continue;
			rc = strv_push(&c->crl, &c->ncrl, &cap, (const char *)s, n);
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
	return rc;
}

static void check_free(struct check *c)
{
	if (c == NULL)
		return;
	X509_free(c->cert);
	X509_free(c->issuer);
	strv_free(c->ocsp, c->nocsp);
	strv_free(c->crl, c->ncrl);
	free(c);
}

static void check_finish(struct check *c, const struct cl_rev_result *res)
{
	if (c->done)
		return;
	c->done = 1;
	c->cb(c->arg, res);
}

/* Records a failed attempt; it becomes the result unless something better comes. */
static void check_note(struct check *c, const struct cl_rev_result *res, const char *url)
{
	int rank = res->status == CL_REV_UNREACHABLE ? 1 : 2;

	cl_log(CL_LOG_DEBUG, "revocation: %s %s: %s", res->method ? res->method : "-", url,
	       res->detail);
	if (res->method != NULL && strcmp(res->method, "ocsp") == 0)
		snprintf(c->ocsp_note, sizeof c->ocsp_note, "OCSP %s: %s",
		         cl_rev_status_name(res->status), res->detail);
	if (rank < c->best_rank)
		return;
	c->best = *res;
	c->best_rank = rank;
	copy_str(c->best.url, sizeof c->best.url, url);
}

static void check_note_simple(struct check *c, const char *method, const char *url,
                              enum cl_rev_status st, const char *detail)
{
	struct cl_rev_result res;

	res_init(&res, method);
	res.status = st;
	copy_str(res.detail, sizeof res.detail, detail);
	check_note(c, &res, url);
}

/* A valid good/revoked answer: the check is over. */
static void check_answer(struct check *c, struct cl_rev_result *res, const char *url)
{
	copy_str(res->url, sizeof res->url, url);
	if (strcmp(res->method, "crl") == 0 && c->ocsp_note[0])
		copy_str(res->detail, sizeof res->detail, c->ocsp_note);
	check_finish(c, res);
}

/* ---- transfers ---- */

static size_t xfer_write(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	int rc;

	if ((rc = cl_buf_add(&x->body, p, size * n)) != CL_OK) {
		x->body_err = rc;
		return 0;   /* curl aborts the transfer: CURLE_WRITE_ERROR */
	}
	return size * n;
}

static void xfer_free(struct cl_revoker *r, struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->prev)
		x->prev->next = x->next;
	else if (r->xfers == x)
		r->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	if (x->easy) {
		if (x->active)
			curl_multi_remove_handle(r->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->hdrs);
	OPENSSL_free(x->req);
	cl_buf_free(&x->body);
	free(x->url);
	free(x);
}

#if LIBCURL_VERSION_NUM >= 0x075500  /* 7.85: the _STR forms, the others deprecated */
#define SET_PROTOCOLS(e) \
	(curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK || \
	 curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http") != CURLE_OK)
#else
#define SET_PROTOCOLS(e) \
	(curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP) != CURLE_OK || \
	 curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTP) != CURLE_OK)
#endif

/* Creates a transfer of url with the body capped at max bytes. */
static int xfer_new(struct cl_revoker *r, enum xfer_kind kind, const char *url, size_t max,
                    struct xfer **out)
{
	struct xfer *x;
	CURL *e;
	/* the low-speed window never ends before the timeout: it only catches
	   a transfer that trickles in below 1 KiB/s for as long */
	long low_time = (r->o.timeout_ms + 999) / 1000;

	*out = NULL;
	if ((x = calloc(1, sizeof *x)) == NULL)
		return CL_ERR_NOMEM;
	x->kind = kind;
	cl_buf_init(&x->body, max);
	x->next = r->xfers;
	if (r->xfers)
		r->xfers->prev = x;
	r->xfers = x;
	if ((x->url = strdup(url)) == NULL || (x->easy = e = curl_easy_init()) == NULL) {
		xfer_free(r, x);
		return CL_ERR_NOMEM;
	}
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, xfer_write) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->err) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->o.timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)r->o.timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, REV_LOW_SPEED_BYTES) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, low_time) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max) != CURLE_OK ||
	    SET_PROTOCOLS(e) ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)REV_MAX_REDIRS) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "certledger/" CL_VERSION) != CURLE_OK) {
		xfer_free(r, x);
		return CL_ERR;
	}
	*out = x;
	return CL_OK;
}

static void xfer_submit(struct cl_revoker *r, struct xfer *x)
{
	x->qnext = NULL;
	*r->pend_tail = x;
	r->pend_tail = &x->qnext;
}

/* Describes a failed transfer; returns the status class it stands for. */
static enum cl_rev_status xfer_failure(const struct cl_revoker *r, const struct xfer *x,
                                       CURLcode cc, char *out, size_t len)
{
	char sz[32];

	if (x->body_err == CL_ERR_TOOBIG || cc == CURLE_FILESIZE_EXCEEDED) {
		fmt_size(sz, sizeof sz, x->body.max);
		snprintf(out, len, "%s larger than %s",
		         x->kind == XFER_OCSP ? "OCSP response" : "CRL", sz);
		return CL_REV_UNKNOWN;
	}
	if (x->body_err == CL_ERR_NOMEM) {
		snprintf(out, len, "out of memory receiving the %s",
		         x->kind == XFER_OCSP ? "OCSP response" : "CRL");
		return CL_REV_UNREACHABLE;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		if (strncmp(x->err, "Operation too slow", 18) == 0) {
			snprintf(out, len, "transfer too slow (%.200s)", x->err);
		} else {
			fmt_ms(sz, sizeof sz, r->o.timeout_ms);
			snprintf(out, len, "timed out after %s", sz);
		}
		return CL_REV_UNREACHABLE;
	}
	if (cc == CURLE_COULDNT_CONNECT) {
		long oserr = 0;

		if (curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK && oserr > 0) {
			snprintf(out, len, "cannot connect: %s", strerror((int)oserr));
			return CL_REV_UNREACHABLE;
		}
	}
	snprintf(out, len, "%s", x->err[0] ? x->err : curl_easy_strerror(cc));
	return CL_REV_UNREACHABLE;
}

/* ---- CRL cache ---- */

static void crl_cache_path(const struct cl_revoker *r, const char *url, char *out, size_t len)
{
	unsigned char md[32];
	char hex[65];
	unsigned int mdlen = 0;

	if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		out[0] = '\0';
		return;
	}
	cl_hex(hex, md, sizeof md);
	if (snprintf(out, len, "%s/%s.crl", r->cache_dir, hex) >= (int)len)
		out[0] = '\0';
}

static void crl_entry_reset(struct crl_entry *e)
{
	X509_CRL_free(e->crl);
	e->crl = NULL;
	e->state = CRL_IDLE;
	e->next_update = 0;
	e->trusted = e->from_disk = e->disk_tried = e->written = 0;
	e->fail_detail[0] = '\0';
}

static struct crl_entry *crl_get(struct cl_revoker *r, const char *url)
{
	struct crl_entry *e;

	for (e = r->crls; e; e = e->next)
		if (strcmp(e->url, url) == 0)
			return e;
	if ((e = calloc(1, sizeof *e)) == NULL || (e->url = strdup(url)) == NULL) {
		free(e);
		return NULL;
	}
	e->next = r->crls;
	r->crls = e;
	return e;
}

static void crl_set(struct crl_entry *e, X509_CRL *crl)
{
	const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);

	e->crl = crl;
	e->state = CRL_READY;
	if (nu == NULL || asn1_time_unix(nu, &e->next_update) != CL_OK)
		e->next_update = 0;
}

/* Loads url's CRL from cache_dir when it is there and not past its nextUpdate. */
static void crl_load_disk(struct cl_revoker *r, struct crl_entry *e)
{
	char path[4096];
	struct stat st;
	unsigned char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	X509_CRL *crl;
	int fd;

	if (r->cache_dir == NULL)
		return;
	crl_cache_path(r, e->url, path, sizeof path);
	if (!path[0] || (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > r->o.max_crl_bytes ||
	    (buf = malloc((size_t)st.st_size)) == NULL)
		goto out;
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	if ((crl = crl_parse(buf, got)) == NULL)
		goto out;
	crl_set(e, crl);
	if (e->next_update <= r->now) {  /* stale or without nextUpdate: fetch */
		crl_entry_reset(e);
		e->disk_tried = 1;
		goto out;
	}
	e->from_disk = e->written = 1;
	cl_log(CL_LOG_DEBUG, "revocation: %s from the cache", e->url);
out:
	close(fd);
	free(buf);
}

static void crl_store_disk(struct cl_revoker *r, struct crl_entry *e)
{
	char path[4096];
	unsigned char *der = NULL;
	int len;

	if (r->cache_dir == NULL || e->written || e->next_update <= r->now)
		return;
	e->written = 1;   /* one attempt per download */
	crl_cache_path(r, e->url, path, sizeof path);
	if (!path[0] || (len = i2d_X509_CRL(e->crl, &der)) <= 0) {
		ERR_clear_error();
		return;
	}
	if (cl_write_file_atomic(path, der, (size_t)len, 0600) != CL_OK)
		cl_log(CL_LOG_WARN, "cannot write the CRL cache file %s: %s", path, strerror(errno));
	OPENSSL_free(der);
}

static int crl_wait(struct crl_entry *e, struct check *c)
{
	if (CL_GROW(e->waiters, e->capwait, e->nwait + 1) != CL_OK)
		return CL_ERR_NOMEM;
	e->waiters[e->nwait++] = c;
	return CL_OK;
}

static void check_step(struct cl_revoker *r, struct check *c);

static int crl_fetch(struct cl_revoker *r, struct crl_entry *e)
{
	struct xfer *x;
	int rc;

	if ((rc = xfer_new(r, XFER_CRL, e->url, r->o.max_crl_bytes, &x)) != CL_OK)
		return rc;
	x->ce = e;
	e->state = CRL_FETCHING;
	xfer_submit(r, x);
	return CL_OK;
}

/*
 * Applies a ready CRL to c. Returns 1 when c got its answer. A copy from
 * the disk cache that does not give one is dropped (state back to idle)
 * so that the caller fetches a fresh one.
 */
static int crl_apply(struct cl_revoker *r, struct check *c, struct crl_entry *e)
{
	struct cl_rev_result res;

	crl_check(e->crl, c->cert, c->issuer, r->now, &res);
	if (res.status == CL_REV_GOOD || res.status == CL_REV_REVOKED) {
		e->trusted = 1;
		crl_store_disk(r, e);
		check_answer(c, &res, e->url);
		return 1;
	}
	if (e->from_disk) {
		char path[4096];

		cl_log(CL_LOG_DEBUG, "revocation: cached %s dropped: %s", e->url, res.detail);
		crl_cache_path(r, e->url, path, sizeof path);
		if (path[0])
			unlink(path);
		crl_entry_reset(e);
		e->disk_tried = 1;
		return 0;
	}
	check_note(c, &res, e->url);
	return 0;
}

/* ---- checks ---- */

static int ocsp_start(struct cl_revoker *r, struct check *c, const char *url)
{
	OCSP_REQUEST *req = NULL;
	OCSP_CERTID *id = NULL;
	struct xfer *x = NULL;
	int len, rc = CL_ERR;

	if ((req = OCSP_REQUEST_new()) == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha1(), c->cert, c->issuer)) == NULL)
		goto out;
	if (OCSP_request_add0_id(req, id) == NULL)
		goto out;
	id = NULL;
	if (RAND_bytes(c->nonce, sizeof c->nonce) != 1 ||
	    OCSP_request_add1_nonce(req, c->nonce, (int)sizeof c->nonce) != 1)
		goto out;
	if ((rc = xfer_new(r, XFER_OCSP, url, r->o.max_ocsp_bytes, &x)) != CL_OK)
		goto out;
	rc = CL_ERR;
	if ((len = i2d_OCSP_REQUEST(req, &x->req)) <= 0 ||
	    (x->hdrs = curl_slist_append(NULL, "Content-Type: application/ocsp-request")) == NULL ||
	    curl_slist_append(x->hdrs, "Accept: application/ocsp-response") == NULL ||
	    curl_slist_append(x->hdrs, "Expect:") == NULL ||
	    /* one request per connection: a single-threaded responder (openssl
	       ocsp) keeping an idle keep-alive connection open would otherwise
	       leave every other connection waiting in its backlog */
	    curl_slist_append(x->hdrs, "Connection: close") == NULL ||
	    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, (long)len) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, (char *)x->req) != CURLE_OK)
		goto out;
	x->chk = c;
	xfer_submit(r, x);
	x = NULL;
	rc = CL_OK;
out:
	if (x)
		xfer_free(r, x);
	ERR_clear_error();
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	return rc;
}

/* Everything was tried: report the best failure (or NONE without URLs). */
static void check_exhausted(struct check *c)
{
	struct cl_rev_result res;

	if (c->best_rank == 0) {
		res_init(&res, NULL);
		res.status = CL_REV_NONE;
		copy_str(res.detail, sizeof res.detail, "no OCSP URL and no CRL distribution point");
		check_finish(c, &res);
		return;
	}
	check_finish(c, &c->best);
}

/*
 * Moves c to its next attempt: the next OCSP URL, then the next CRL.
 * Returns when a transfer was queued for c (or c waits on a CRL being
 * fetched) or c is finished.
 */
static void check_step(struct cl_revoker *r, struct check *c)
{
	static const char bad_scheme[] = "unsupported URL scheme (only http:// is fetched)";

	if (c->done)
		return;
	if (c->bad_issuer[0]) {
		struct cl_rev_result res;

		res_init(&res, NULL);
		copy_str(res.detail, sizeof res.detail, c->bad_issuer);
		check_finish(c, &res);
		return;
	}
	while (c->iocsp < c->nocsp) {
		const char *url = c->ocsp[c->iocsp++];

		if (!is_http(url)) {
			check_note_simple(c, "ocsp", url, CL_REV_UNREACHABLE, bad_scheme);
			continue;
		}
		if (ocsp_start(r, c, url) == CL_OK)
			return;
		check_note_simple(c, "ocsp", url, CL_REV_UNREACHABLE,
		                  "cannot create the OCSP request");
	}
	while (c->icrl < c->ncrl) {
		const char *url = c->crl[c->icrl];
		struct crl_entry *e;

		if (!is_http(url)) {
			check_note_simple(c, "crl", url, CL_REV_UNREACHABLE, bad_scheme);
			c->icrl++;
			continue;
		}
		if ((e = crl_get(r, url)) == NULL) {
			check_note_simple(c, "crl", url, CL_REV_UNREACHABLE, "out of memory");
			c->icrl++;
			continue;
		}
		if (e->state == CRL_IDLE && !e->disk_tried) {
			e->disk_tried = 1;
			crl_load_disk(r, e);
		}
		if (e->state == CRL_IDLE && crl_fetch(r, e) != CL_OK) {
			e->state = CRL_FAILED;
			e->fail_status = CL_REV_UNREACHABLE;
			copy_str(e->fail_detail, sizeof e->fail_detail, "cannot create the transfer");
		}
		if (e->state == CRL_FETCHING) {
			if (crl_wait(e, c) == CL_OK)
				return;
			check_note_simple(c, "crl", url, CL_REV_UNREACHABLE, "out of memory");
			c->icrl++;
			continue;
		}
		if (e->state == CRL_FAILED) {
			check_note_simple(c, "crl", url, e->fail_status, e->fail_detail);
			c->icrl++;
			continue;
		}
		if (crl_apply(r, c, e))
			return;
		if (e->state != CRL_IDLE)   /* idle: a bad cached copy, fetch it */
			c->icrl++;
	}
	check_exhausted(c);
}

static void ocsp_done(struct cl_revoker *r, struct xfer *x, CURLcode cc)
{
	struct check *c = x->chk;
	struct cl_rev_result res;
	long code = 0;

	res_init(&res, "ocsp");
	if (cc != CURLE_OK) {
		res.status = xfer_failure(r, x, cc, res.detail, sizeof res.detail);
		check_note(c, &res, x->url);
	} else if (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
	           code != 200) {
		res.status = CL_REV_UNREACHABLE;
		res_detail(&res, "HTTP %ld", code);
		check_note(c, &res, x->url);
	} else {
		cl_ocsp_evaluate((const unsigned char *)x->body.data, x->body.len, c->cert,
		                 c->issuer, c->nonce, sizeof c->nonce, r->now, r->o.max_age, &res);
		if (res.status == CL_REV_GOOD || res.status == CL_REV_REVOKED) {
			check_answer(c, &res, x->url);
			return;
		}
		check_note(c, &res, x->url);
	}
	check_step(r, c);
}

static void crl_done(struct cl_revoker *r, struct xfer *x, CURLcode cc)
{
	struct crl_entry *e = x->ce;
	struct check **waiters;
	size_t i, n;
	long code = 0;

	if (cc != CURLE_OK) {
		e->state = CRL_FAILED;
		e->fail_status = xfer_failure(r, x, cc, e->fail_detail, sizeof e->fail_detail);
	} else if (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
	           code != 200) {
		e->state = CRL_FAILED;
		e->fail_status = CL_REV_UNREACHABLE;
		snprintf(e->fail_detail, sizeof e->fail_detail, "HTTP %ld", code);
	} else {
		X509_CRL *crl = crl_parse((const unsigned char *)x->body.data, x->body.len);

		if (crl == NULL) {
			e->state = CRL_FAILED;
			e->fail_status = CL_REV_UNKNOWN;
			copy_str(e->fail_detail, sizeof e->fail_detail, "malformed CRL");
		} else {
			crl_set(e, crl);
			cl_log(CL_LOG_DEBUG, "revocation: %s: %zu bytes", e->url, x->body.len);
		}
	}
	if (e->state == CRL_FAILED)
		cl_log(CL_LOG_DEBUG, "revocation: crl %s: %s", e->url, e->fail_detail);
	waiters = e->waiters;
	n = e->nwait;
	e->waiters = NULL;
	e->nwait = e->capwait = 0;
	for (i = 0; i < n; i++)
		check_step(r, waiters[i]);
	free(waiters);
}

/* Frees every transfer; checks waiting on them are answered unreachable. */
static void abort_all(struct cl_revoker *r, const char *why)
{
	struct crl_entry *e;
	struct check *c;

	while (r->xfers)
		xfer_free(r, r->xfers);
	r->pend_head = NULL;
	r->pend_tail = &r->pend_head;
	r->inflight = 0;
	for (e = r->crls; e; e = e->next) {
		if (e->state == CRL_FETCHING)
			crl_entry_reset(e);
		free(e->waiters);
		e->waiters = NULL;
		e->nwait = e->capwait = 0;
	}
	for (c = r->checks; c; c = c->next) {
		if (!c->done) {
			struct cl_rev_result res;

			res_init(&res, NULL);
			res.status = CL_REV_UNREACHABLE;
			copy_str(res.detail, sizeof res.detail, why);
			check_finish(c, &res);
		}
	}
}

/* Starts queued transfers while slots are free. */
static int pump(struct cl_revoker *r)
{
	while (r->pend_head && r->inflight < r->o.concurrency) {
		struct xfer *x = r->pend_head;
		CURLMcode mc;

		r->pend_head = x->qnext;
		if (r->pend_head == NULL)
			r->pend_tail = &r->pend_head;
		if ((mc = curl_multi_add_handle(r->multi, x->easy)) != CURLM_OK) {
			cl_log(CL_LOG_ERROR, "curl: %s", curl_multi_strerror(mc));
			return CL_ERR;
		}
		x->active = 1;
		r->inflight++;
	}
	return CL_OK;
}

int cl_revoker_run(struct cl_revoker *r)
{
	struct check *c, *next, *cursor;
	int rc = CL_OK, running = 0;

	if (r == NULL)
		return CL_ERR_USAGE;
	r->now = r->o.now ? r->o.now : cl_now();
	/* keep CRLs that verified and are still current; retry everything else */
	for (struct crl_entry *e = r->crls; e; e = e->next) {
		if (e->state == CRL_READY && e->trusted && e->next_update > r->now) {
			e->disk_tried = 1;
			continue;
		}
		crl_entry_reset(e);
	}
	/* checks are started as slots free up, so that only about
	   `concurrency` transfers (curl handles, requests) exist at a time */
	cursor = r->checks;
	while (cursor || r->pend_head || r->inflight > 0) {
		CURLMsg *m;
		CURLMcode mc;
		int left;

		while (cursor && r->pend_head == NULL && r->inflight < r->o.concurrency) {
			c = cursor;
			cursor = c->next;
			check_step(r, c);
		}
		if (r->pend_head == NULL && r->inflight == 0)
			continue;   /* all answered synchronously so far */
		if (pump(r) != CL_OK) {
			rc = CL_ERR;
			break;
		}
		if ((mc = curl_multi_perform(r->multi, &running)) != CURLM_OK) {
			cl_log(CL_LOG_ERROR, "curl: %s", curl_multi_strerror(mc));
			rc = mc == CURLM_OUT_OF_MEMORY ? CL_ERR_NOMEM : CL_ERR;
			break;
		}
		while ((m = curl_multi_info_read(r->multi, &left)) != NULL) {
			CURL *easy = m->easy_handle;
			CURLcode cc = m->data.result;
			struct xfer *x;
			char *priv = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
			x = (struct xfer *)(void *)priv;
			curl_multi_remove_handle(r->multi, easy);
			x->active = 0;
			r->inflight--;
			if (x->kind == XFER_OCSP)
				ocsp_done(r, x, cc);
			else
				crl_done(r, x, cc);
			xfer_free(r, x);
		}
		if ((r->pend_head || cursor) && r->inflight < r->o.concurrency)
			continue;
		if (r->inflight > 0 &&
		    (mc = curl_multi_poll(r->multi, NULL, 0, 1000, NULL)) != CURLM_OK) {
			cl_log(CL_LOG_ERROR, "curl: %s", curl_multi_strerror(mc));
			rc = CL_ERR;
			break;
		}
	}
	abort_all(r, "revocation check aborted (curl failed)");  /* no-op when all went well */
	for (c = r->checks; c; c = next) {
		next = c->next;
		check_free(c);
	}
	r->checks = NULL;
	r->checks_tail = &r->checks;
	return rc;
}

/* mkdir -p with mode 0700 for every directory created. */
static int make_dirs(const char *path)
{
	char *p = strdup(path), *s;
	struct stat st;
	int rc = CL_ERR_IO;

	if (p == NULL)
		return CL_ERR_NOMEM;
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			goto out;
		*s = saved;
		if (saved == '\0')
			break;
	}
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto out;
	}
	rc = CL_OK;
out:
	free(p);
	return rc;
}

int cl_revoker_new(struct cl_revoker **out, const struct cl_rev_opts *o)
{
	struct cl_revoker *r;

	*out = NULL;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return CL_ERR_NOMEM;
	if (o)
		r->o = *o;
	if (r->o.timeout_ms <= 0)
		r->o.timeout_ms = CL_REV_DEFAULT_TIMEOUT_MS;
	if (r->o.concurrency <= 0)
		r->o.concurrency = CL_REV_DEFAULT_CONCURRENCY;
	if (r->o.max_ocsp_bytes == 0)
		r->o.max_ocsp_bytes = CL_REV_DEFAULT_MAX_OCSP;
	if (r->o.max_crl_bytes == 0)
		r->o.max_crl_bytes = CL_REV_DEFAULT_MAX_CRL;
	if (r->o.max_age == 0)
		r->o.max_age = CL_REV_DEFAULT_MAX_AGE;
	r->o.cache_dir = NULL;
	r->checks_tail = &r->checks;
	r->pend_tail = &r->pend_head;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(r);
		return CL_ERR;
	}
	if ((r->multi = curl_multi_init()) == NULL) {
		cl_revoker_free(r);
		return CL_ERR_NOMEM;
	}
	if (o && o->cache_dir && o->cache_dir[0]) {
		int rc;

		if ((r->cache_dir = strdup(o->cache_dir)) == NULL) {
			cl_revoker_free(r);
			return CL_ERR_NOMEM;
		}
		if ((rc = make_dirs(r->cache_dir)) != CL_OK) {
			cl_log(CL_LOG_ERROR, "cannot create the CRL cache %s: %s", r->cache_dir,
			       strerror(errno));
			cl_revoker_free(r);
			return rc;
		}
		r->o.cache_dir = r->cache_dir;
	}
	*out = r;
	return CL_OK;
}

void cl_revoker_free(struct cl_revoker *r)
{
	struct check *c, *cn;
	struct crl_entry *e, *en;

	if (r == NULL)
		return;
	while (r->xfers)
		xfer_free(r, r->xfers);
	for (c = r->checks; c; c = cn) {
		cn = c->next;
		check_free(c);
	}
	for (e = r->crls; e; e = en) {
		en = e->next;
		X509_CRL_free(e->crl);
		free(e->waiters);
		free(e->url);
		free(e);
	}
	if (r->multi)
		curl_multi_cleanup(r->multi);
	curl_global_cleanup();
	free(r->cache_dir);
	free(r);
}

static X509 *der_x509(const unsigned char *p, size_t len)
{
	const unsigned char *q = p;
	X509 *x;

	if (p == NULL || len == 0 || len > LONG_MAX)
		return NULL;
	x = d2i_X509(NULL, &q, (long)len);
	if (x != NULL && q != p + len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

int cl_revoker_add(struct cl_revoker *r, const unsigned char *cert, size_t cert_len,
                   const unsigned char *issuer, size_t issuer_len,
                   void (*cb)(void *arg, const struct cl_rev_result *res), void *arg)
{
	struct check *c;
	int v, rc;

	if (r == NULL || cert == NULL || issuer == NULL || cb == NULL)
		return CL_ERR_USAGE;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return CL_ERR_NOMEM;
	c->cb = cb;
	c->arg = arg;
	if ((c->cert = der_x509(cert, cert_len)) == NULL ||
	    (c->issuer = der_x509(issuer, issuer_len)) == NULL) {
		check_free(c);
		return CL_ERR_PARSE;
	}
	if ((v = X509_check_issued(c->issuer, c->cert)) != X509_V_OK)
		snprintf(c->bad_issuer, sizeof c->bad_issuer,
		         "the issuer given did not issue this certificate (%s)",
		         X509_verify_cert_error_string(v));
	else if ((rc = check_urls(c)) != CL_OK) {
		check_free(c);
		return rc;
	}
	ERR_clear_error();
	*r->checks_tail = c;
	r->checks_tail = &c->next;
	return CL_OK;
}
