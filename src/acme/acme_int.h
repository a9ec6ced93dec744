/*
 * Internals of the ACME client shared by the src/acme files (and the unit tests
 * and fuzz targets): base64url, JOSE, the parsers of what a CA sends, the
 * client structure and its HTTP transport. Not for other modules.
 */
#ifndef CL_ACME_INT_H
#define CL_ACME_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <curl/curl.h>
#include <jansson.h>
#include "acme/acme.h"
#include "core/buf.h"

#define CL_ACME_MAX_DETAIL 1024      /* bytes kept of a problem's detail */
#define CL_ACME_MAX_SUB 32           /* subproblems kept */
#define CL_ACME_MAX_HEADER 8192      /* bytes kept of one header value */
#define CL_ACME_MAX_LINKS 16         /* Link URLs taken from one response */
#define CL_ACME_MAX_CHALLS 16        /* challenges kept of one authorization */

/* ------------------------------------------------------------- base64 --- */

/* base64url without padding of p[0..n). Returns a new string or NULL. */
char *cl_acme_b64url(const void *p, size_t n);

/*
 * Decodes s[0..n): base64url without padding (url true) or standard
 * base64 with optional padding (url false). Any other character is an
 * error. Returns CL_OK with *out (n*3/4+1 bytes allocated, free() it) and
 * *outlen, CL_ERR_PARSE or CL_ERR_NOMEM.
 */
int cl_acme_b64_decode(const char *s, size_t n, bool url, unsigned char **out, size_t *outlen);

/* true when s is 1..max characters of [A-Za-z0-9_-]. */
bool cl_acme_is_b64url(const char *s, size_t max);

/* --------------------------------------------------------------- JOSE --- */

/* The JWS "alg" for key: "ES256", "ES384", "RS256"; NULL when unusable. */
const char *cl_acme_jws_alg(EVP_PKEY *key);

/* The public JWK of key (only the members RFC 7638 hashes). New reference or NULL. */
json_t *cl_acme_jwk(EVP_PKEY *key);

/* base64url(SHA-256(the RFC 7638 canonical JWK)) of key. New string or NULL. */
char *cl_acme_jwk_thumbprint(EVP_PKEY *key);

/*
 * Signs data with key: ES256/ES384 as the raw R||S JWS wants, RS256 as
 * PKCS#1 v1.5. Returns CL_OK with *sig (free()) and *siglen, or CL_ERR.
 */
int cl_acme_jws_sign_raw(EVP_PKEY *key, const void *data, size_t n, unsigned char **sig,
                         size_t *siglen);

/* Verifies a raw JWS signature made by cl_acme_jws_sign_raw (tests). */
bool cl_acme_jws_verify_raw(EVP_PKEY *key, const void *data, size_t n, const unsigned char *sig,
                            size_t siglen);

/*
 * A flattened JWS (RFC 7515 7.2.2) of payload (a JSON text, or "" for
 * POST-as-GET) with the protected header {alg, nonce (when not NULL),
 * url, kid (when not NULL) or jwk}. Returns a new JSON object or NULL.
 */
json_t *cl_acme_jws(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
                    const char *payload);

/* The External Account Binding JWS (RFC 8555 7.3.4): HS256 over the
 * account's JWK with the decoded MAC key. New reference or NULL. */
json_t *cl_acme_eab_jws(EVP_PKEY *account_key, const char *kid, const unsigned char *mac_key,
                        size_t mac_len, const char *url);

/* --------------------------------------------------- what the CA sends --- */

/*
 * Copies s[0..n) into out (size outlen >= 1, always terminated): control
 * characters (C0, DEL, C1) and bidirectional overrides dropped (tabs and
 * line breaks become one space), invalid UTF-8 as '?', cut on a character
 * boundary ("..." marks a cut). Returns out.
 */
char *cl_acme_sanitize(char *out, size_t outlen, const char *s, size_t n);

/* A sanitised copy of s (at most max bytes) or NULL on allocation failure. */
char *cl_acme_sanitize_dup(const char *s, size_t max);

/* Parses a problem document (JSON). Returns a new problem (free with
 * cl_acme_problem_free) or NULL when body is not one. http_status is used
 * when the document has no "status". */
struct cl_acme_problem *cl_acme_problem_parse(const char *body, size_t len, long http_status);
struct cl_acme_problem *cl_acme_problem_from_json(json_t *j, long http_status);
/* Frees a problem and its strings; NULL is ignored. */
void cl_acme_problem_free(struct cl_acme_problem *p);

/* Writes "TYPE: DETAIL" and "; IDENT: TYPE: DETAIL" per subproblem into out. */
char *cl_acme_problem_format(const struct cl_acme_problem *p, char *out, size_t len);

/*
 * Collects the URLs of a Link header value (RFC 8288; several values may
 * be joined by commas) whose rel includes rel (case-insensitive). Returns
 * CL_OK with *urls (each and the array free()d by the caller, at most
 * CL_ACME_MAX_LINKS) and *n; CL_ERR_NOMEM. Malformed parts, and URLs with
 * anything but printable ASCII, are skipped.
 */
int cl_acme_link_parse(const char *hdr, size_t len, const char *rel, char ***urls, size_t *n);
/* Frees n strings and the array holding them; NULL is ignored. */
void cl_acme_strv_free(char **v, size_t n);

/* A Retry-After value (delta seconds or an HTTP date) as seconds from
 * now (>= 0), or -1 when unusable. */
int64_t cl_acme_retry_after_parse(const char *v, int64_t now);

/* The status for its RFC name; CL_ACME_ST_UNKNOWN otherwise. */
enum cl_acme_status cl_acme_status_parse(const char *s);
enum cl_acme_chall_type cl_acme_chall_parse(const char *s);

struct cl_acme_dir {
	char *new_nonce, *new_account, *new_order, *revoke_cert, *key_change, *renewal_info;
	char *tos;
	bool eab_required;
};
/* Parses a directory; every URL must be https. Returns CL_OK or CL_ERR_PARSE / NOMEM. */
int cl_acme_dir_parse(const char *body, size_t len, struct cl_acme_dir *d);
/* Frees the directory's strings and zeroes it. */
void cl_acme_dir_clear(struct cl_acme_dir *d);

/* Parse an order / authorization object (url is copied, may be NULL).
 * Return CL_OK with *out, CL_ERR_PARSE or CL_ERR_NOMEM. */
int cl_acme_order_parse(const char *body, size_t len, const char *url, struct cl_acme_order **out);
int cl_acme_authz_parse(const char *body, size_t len, const char *url, struct cl_acme_authz **out);

/* Parses renewalInfo's answer. Returns CL_OK or CL_ERR_PARSE / NOMEM. */
int cl_acme_ari_parse(const char *body, size_t len, struct cl_acme_renewal_info *out);

/* true when name is a DNS name of LDH labels (1..63 characters, no
 * leading or trailing '-', at most 253 in all, at least two labels unless
 * single is true); a leading "*." is accepted when wildcard. */
bool cl_acme_dns_name_ok(const char *name, bool wildcard, bool single);

/* Writes the canonical text of an IPv4/IPv6 address s into out (>= 46).
 * Returns CL_OK or CL_ERR_PARSE. */
int cl_acme_ip_norm(const char *s, char *out, size_t len);

/* ------------------------------------------------------------ client --- */

struct cl_acme_resp {
	long status;
	struct cl_buf body;
	bool overflow;              /* the body was longer than CL_ACME_MAX_BODY */
	char *nonce, *location, *content_type;
	struct cl_buf links;        /* every Link value, joined by ", " */
	int64_t retry_after;        /* seconds; -1 when absent */
};

struct cl_acme {
	char *dir_url, *ca_bundle, *user_agent;
	long timeout_ms;
	int bad_nonce_retries;
	volatile sig_atomic_t *stop;
	CURL *curl;
	char curlerr[CURL_ERROR_SIZE];
	struct cl_acme_dir dir;
	bool have_dir;
	char *nonce;
	EVP_PKEY *key;
	char *thumbprint;           /* of key */
	char *kid;                  /* account URL */
	unsigned long bad_nonces;   /* badNonce answers retried */
	char err[2048];
	struct cl_acme_problem *problem;
};

/* An empty answer (capped buffers, no Retry-After). */
void cl_acme_resp_init(struct cl_acme_resp *r);
/* Frees what an answer holds; it may be initialised again. */
void cl_acme_resp_free(struct cl_acme_resp *r);

/*
 * One HTTP exchange: method "GET", "HEAD" or "POST" (body: a JOSE JSON
 * text). Returns CL_OK when an answer arrived (any status: see r), else
 * CL_ERR_IO / CL_ERR_INTERRUPTED with a->err naming step and url.
 */
int cl_acme_http(struct cl_acme *a, const char *step, const char *method, const char *url,
                 const char *body, const char *accept, struct cl_acme_resp *r);

/* Sets a->err to "STEP URL: " and the formatted text (sanitised); returns rc. */
int cl_acme_fail(struct cl_acme *a, int rc, const char *step, const char *url, const char *fmt,
                 ...) CL_PRINTF(5, 6);

/* The ACME view of a challenge for a solver (strings owned by ch). */
struct cl_acme_chall_buf {
	struct cl_acme_chall c;
	char *key_authz, *txt_name, *txt_value;
};
/*
 * Fills cb for challenge ch of z: key authorization (token "." thumbprint),
 * its SHA-256, the dns-01 TXT name and value. cb->c borrows z's identifier
 * and ch's token: keep both until cl_acme_chall_release. Returns CL_OK,
 * CL_ERR_PARSE (no token) or CL_ERR_NOMEM.
 */
int cl_acme_chall_prepare(struct cl_acme_chall_buf *cb, const struct cl_acme_authz *z,
                          const struct cl_acme_challenge *ch, const char *thumbprint);
/* Frees what cl_acme_chall_prepare made. */
void cl_acme_chall_release(struct cl_acme_chall_buf *cb);

/* Copies at most len-1 bytes of the formatted text into out. */
void cl_acme_errf(char *out, size_t len, const char *fmt, ...) CL_PRINTF(3, 4);

/*
 * Starts a solver's thread with every signal blocked: process signals go
 * to the application's threads, and a write to a peer that has gone
 * (SIGPIPE) fails with EPIPE instead of killing the process. Returns 0 or
 * an errno value, as pthread_create.
 */
int cl_acme_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* Initialises libcurl once per process. Returns CL_OK or CL_ERR. */
int cl_acme_curl_init(void);

#endif
