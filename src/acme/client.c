/*
 * The ACME protocol (RFC 8555): directory, nonces, signed requests with
 * badNonce retries, accounts (with External Account Binding), key
 * rollover, deactivation, orders, authorizations and challenges through
 * solvers, finalization, download with alternate-chain selection,
 * revocation, and renewalInfo (RFC 9773).
 *
 * Every failure leaves "STEP URL: what happened" in a->err, and the CA's
 * problem document (sanitised) in a->problem when there was one.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "acme/acme_int.h"
#include "core/util.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_BADNONCE_RETRIES 16
#define DEFAULT_ORDER_TIMEOUT_S 300
#define MAX_CHAIN_CERTS 10
#define PROBLEM_PREFIX "urn:ietf:params:acme:error:"

/* ---------------------------------------------------------------- basics --- */

int cl_acme_new(struct cl_acme **out, const char *dir_url, const struct cl_acme_opts *opts)
{
	struct cl_acme *a;
	size_t i;

	*out = NULL;
	if (dir_url == NULL || strncasecmp(dir_url, "https://", 8) != 0 || strlen(dir_url) > 2048)
		return CL_ERR_USAGE;
	for (i = 0; dir_url[i]; i++) {
		if ((unsigned char)dir_url[i] <= 0x20 || (unsigned char)dir_url[i] >= 0x7f)
			return CL_ERR_USAGE;
	}
	if ((a = calloc(1, sizeof *a)) == NULL)
		return CL_ERR_NOMEM;
	a->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	a->bad_nonce_retries = !opts || opts->bad_nonce_retries == 0 ? DEFAULT_BADNONCE_RETRIES
	                       : opts->bad_nonce_retries < 0         ? 0
	                                                             : opts->bad_nonce_retries;
	a->stop = opts ? opts->stop : NULL;
	if ((a->dir_url = strdup(dir_url)) == NULL ||
	    (a->user_agent = strdup(opts && opts->user_agent ? opts->user_agent
	                                                     : "certledger/" CL_VERSION)) == NULL ||
	    (opts && opts->ca_bundle && (a->ca_bundle = strdup(opts->ca_bundle)) == NULL)) {
		cl_acme_free(a);
		return CL_ERR_NOMEM;
	}
	*out = a;
	return CL_OK;
}

void cl_acme_free(struct cl_acme *a)
{
	if (a == NULL)
		return;
	if (a->curl)
		curl_easy_cleanup(a->curl);
	cl_acme_dir_clear(&a->dir);
	cl_acme_problem_free(a->problem);
	EVP_PKEY_free(a->key);
	free(a->thumbprint);
	free(a->kid);
	free(a->nonce);
	free(a->dir_url);
	free(a->ca_bundle);
	free(a->user_agent);
	free(a);
}

const char *cl_acme_get0_error(const struct cl_acme *a)
{
	return a->err;
}

const struct cl_acme_problem *cl_acme_get0_problem(const struct cl_acme *a)
{
	return a->problem;
}

unsigned long cl_acme_bad_nonces(const struct cl_acme *a)
{
	return a->bad_nonces;
}

bool cl_acme_problem_is(const struct cl_acme *a, const char *name)
{
	size_t n = strlen(PROBLEM_PREFIX);

	return a->problem && strncmp(a->problem->type, PROBLEM_PREFIX, n) == 0 &&
	       strcmp(a->problem->type + n, name) == 0;
}

static void clear_error(struct cl_acme *a)
{
	a->err[0] = '\0';
	cl_acme_problem_free(a->problem);
	a->problem = NULL;
}

/* Keeps the problem p (taken) as the last failure's and describes it. */
static int fail_problem(struct cl_acme *a, int rc, const char *step, const char *url,
                        struct cl_acme_problem *p, long http)
{
	char txt[1536];

	cl_acme_problem_free(a->problem);
	a->problem = p;
	cl_acme_problem_format(p, txt, sizeof txt);
	if (http)
		return cl_acme_fail(a, rc, step, url, "%s (HTTP %ld)", txt, http);
	return cl_acme_fail(a, rc, step, url, "%s", txt);
}

/* An error answer: its problem document, or its status and a quote. */
static int fail_answer(struct cl_acme *a, const char *step, const char *url,
                       struct cl_acme_resp *r)
{
	struct cl_acme_problem *p;
	char quote[201];
	int rc = CL_ERR;

	if ((p = cl_acme_problem_parse(r->body.data, r->body.len, r->status)) != NULL) {
		if (strcmp(p->type, PROBLEM_PREFIX "accountDoesNotExist") == 0)
			rc = CL_ERR_NOTFOUND;
		return fail_problem(a, rc, step, url, p, r->status);
	}
	cl_acme_sanitize(quote, sizeof quote, r->body.data ? r->body.data : "", r->body.len);
	return cl_acme_fail(a, r->status >= 200 && r->status < 300 ? CL_ERR_PARSE : CL_ERR, step, url,
	                    "HTTP %ld%s%s", r->status, quote[0] ? ": " : "", quote);
}

/* Sleeps ms milliseconds unless told to stop. Returns CL_OK or CL_ERR_INTERRUPTED. */
static int nap(struct cl_acme *a, int64_t ms)
{
	while (ms > 0) {
		struct timespec ts;
		int64_t step = ms > 100 ? 100 : ms;

		if (a->stop && *a->stop)
			return CL_ERR_INTERRUPTED;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(step * 1000000);
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return a->stop && *a->stop ? CL_ERR_INTERRUPTED : CL_OK;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The wait before the next poll: Retry-After when the CA gave one
 * (capped to 60 s), else 100 ms doubling to 5 s. */
static int64_t poll_delay(const struct cl_acme_resp *r, int attempt)
{
	int64_t ms = 100;

	if (r->retry_after > 0)
		return r->retry_after > 60 ? 60000 : r->retry_after * 1000;
	while (attempt-- > 0 && ms < 5000)
		ms *= 2;
	return ms > 5000 ? 5000 : ms;
}

/* ------------------------------------------------------------- directory --- */

int cl_acme_directory(struct cl_acme *a)
{
	struct cl_acme_resp r;
	int rc;

	if (a->have_dir)
		return CL_OK;
	cl_acme_resp_init(&r);
	if ((rc = cl_acme_http(a, "fetch directory", "GET", a->dir_url, NULL, NULL, &r)) != CL_OK)
		goto out;
	if (r.status != 200) {
		rc = fail_answer(a, "fetch directory", a->dir_url, &r);
		goto out;
	}
	if ((rc = cl_acme_dir_parse(r.body.data, r.body.len, &a->dir)) != CL_OK) {
		rc = cl_acme_fail(a, rc, "fetch directory", a->dir_url,
		                  rc == CL_ERR_NOMEM ? "out of memory"
		                                     : "not an ACME directory (newNonce, newAccount "
		                                       "and newOrder https URLs are required)");
		goto out;
	}
	a->have_dir = true;
out:
	cl_acme_resp_free(&r);
	return rc;
}

const char *cl_acme_get0_tos(const struct cl_acme *a)
{
	return a->dir.tos;
}

bool cl_acme_eab_required(const struct cl_acme *a)
{
	return a->dir.eab_required;
}

bool cl_acme_has_ari(const struct cl_acme *a)
{
	return a->dir.renewal_info != NULL;
}

/* ------------------------------------------------------------ requests --- */

static int new_nonce(struct cl_acme *a)
{
	struct cl_acme_resp r;
	int rc;

	cl_acme_resp_init(&r);
	if ((rc = cl_acme_http(a, "get nonce", "HEAD", a->dir.new_nonce, NULL, NULL, &r)) != CL_OK)
		goto out;
	if ((r.status != 200 && r.status != 204) || r.nonce == NULL) {
		rc = r.status != 200 && r.status != 204
		         ? fail_answer(a, "get nonce", a->dir.new_nonce, &r)
		         : cl_acme_fail(a, CL_ERR_PARSE, "get nonce", a->dir.new_nonce,
		                        "no Replay-Nonce in the answer");
		goto out;
	}
	free(a->nonce);
	a->nonce = r.nonce;
	r.nonce = NULL;
out:
	cl_acme_resp_free(&r);
	return rc;
}

/*
 * A signed POST of payload (a JSON text; "" is POST-as-GET) to url with
 * key, identified by the account URL (use_kid) or by the key's JWK. A
 * badNonce answer is retried with the nonce it carried. Returns CL_OK with
 * a 2xx answer in r, or fails with the step named.
 */
static int post(struct cl_acme *a, const char *step, const char *url, const char *payload,
                EVP_PKEY *key, bool use_kid, const char *accept, struct cl_acme_resp *r)
{
	json_t *jws = NULL;
	char *body = NULL;
	int rc, attempt;

	if ((rc = cl_acme_directory(a)) != CL_OK)
		return rc;
	if (use_kid && a->kid == NULL)
		return cl_acme_fail(a, CL_ERR_USAGE, step, url, "no account (register or find it first)");
	for (attempt = 0;; attempt++) {
		struct cl_acme_problem *p;

		if (a->nonce == NULL && (rc = new_nonce(a)) != CL_OK)
			return rc;
		jws = cl_acme_jws(key, use_kid ? a->kid : NULL, a->nonce, url, payload);
		free(a->nonce);   /* a nonce is good for one request */
		a->nonce = NULL;
		if (jws == NULL || (body = json_dumps(jws, JSON_COMPACT)) == NULL) {
			json_decref(jws);
			return cl_acme_fail(a, CL_ERR, step, url, "cannot sign the request");
		}
		json_decref(jws);
		rc = cl_acme_http(a, step, "POST", url, body, accept, r);
		free(body);
		body = NULL;
		if (rc != CL_OK)
			return rc;
		if (r->nonce) {
			a->nonce = r->nonce;
			r->nonce = NULL;
		}
		if (r->status >= 200 && r->status < 300)
			return CL_OK;
		p = cl_acme_problem_parse(r->body.data, r->body.len, r->status);
		if (p && strcmp(p->type, PROBLEM_PREFIX "badNonce") == 0 &&
		    attempt < a->bad_nonce_retries) {
			a->bad_nonces++;
			cl_acme_problem_free(p);
			continue;
		}
		cl_acme_problem_free(p);
		return fail_answer(a, step, url, r);
	}
}

/* POST-as-GET of an object, which must be JSON. */
static int fetch(struct cl_acme *a, const char *step, const char *url, struct cl_acme_resp *r)
{
	int rc;

	if ((rc = post(a, step, url, "", a->key, true, NULL, r)) != CL_OK)
		return rc;
	if (r->body.len == 0)
		return cl_acme_fail(a, CL_ERR_PARSE, step, url, "empty answer (HTTP %ld)", r->status);
	return CL_OK;
}

static char *dump(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

/* --------------------------------------------------------------- account --- */

int cl_acme_set1_account_key(struct cl_acme *a, EVP_PKEY *key)
{
	char *tp;

	clear_error(a);
	if (key == NULL || cl_acme_jws_alg(key) == NULL) {
		snprintf(a->err, sizeof a->err, "account key: not an EC P-256/P-384 or RSA >= 2048 key");
		return CL_ERR_USAGE;
	}
	if ((tp = cl_acme_jwk_thumbprint(key)) == NULL) {
		snprintf(a->err, sizeof a->err, "account key: cannot compute its JWK thumbprint");
		return CL_ERR;
	}
	if (a->thumbprint == NULL || strcmp(a->thumbprint, tp) != 0) {
		free(a->kid);
		a->kid = NULL;
	}
	EVP_PKEY_up_ref(key);
	EVP_PKEY_free(a->key);
	a->key = key;
	free(a->thumbprint);
	a->thumbprint = tp;
	return CL_OK;
}

const char *cl_acme_get0_account_url(const struct cl_acme *a)
{
	return a->kid;
}

/* "mailto:" + address when the contact has no scheme; checks mailto URIs. */
static int contact_json(json_t *arr, const char *c)
{
	char buf[600];
	const char *addr;
	size_t i;

	if (strchr(c, ':') == NULL) {
		if ((size_t)snprintf(buf, sizeof buf, "mailto:%s", c) >= sizeof buf)
			return CL_ERR_USAGE;
		c = buf;
	}
	if (strlen(c) > 512)
		return CL_ERR_USAGE;
	for (i = 0; c[i]; i++) {
		if ((unsigned char)c[i] <= 0x20 || (unsigned char)c[i] >= 0x7f)
			return CL_ERR_USAGE;
	}
	if (strncasecmp(c, "mailto:", 7) == 0) {
		addr = c + 7;
		if (strchr(addr, '@') == NULL || addr[0] == '@' || strpbrk(addr, ",?") != NULL)
			return CL_ERR_USAGE;   /* one address, no hfields (RFC 8555 7.3) */
	}
	return json_array_append_new(arr, json_string(c)) == 0 ? CL_OK : CL_ERR_NOMEM;
}

/* Checks an account object's status. */
static int account_status(struct cl_acme *a, const char *step, struct cl_acme_resp *r)
{
	json_error_t e;
	json_t *j;
	const char *st;
	int rc = CL_OK;

	if (r->body.len == 0)
		return CL_OK;   /* some CAs answer an existing account with no body */
	if ((j = json_loadb(r->body.data, r->body.len, 0, &e)) == NULL || !json_is_object(j)) {
		json_decref(j);
		return cl_acme_fail(a, CL_ERR_PARSE, step, a->kid, "the account is not a JSON object");
	}
	st = json_string_value(json_object_get(j, "status"));
	if (st && strcmp(st, "valid") != 0)
		rc = cl_acme_fail(a, CL_ERR, step, a->kid, "the account is %s",
		                  cl_acme_status_name(cl_acme_status_parse(st)));
	json_decref(j);
	return rc;
}

int cl_acme_account(struct cl_acme *a, const struct cl_acme_account_req *req, bool *created)
{
	static const struct cl_acme_account_req none;
	const char *step;
	struct cl_acme_resp r;
	unsigned char *mac = NULL;
	size_t maclen = 0, i;
	json_t *pl = NULL, *contacts = NULL, *eab = NULL;
	char *payload = NULL;
	int rc;

	clear_error(a);
	cl_acme_resp_init(&r);
	if (created)
		*created = false;
	if (req == NULL)
		req = &none;
	step = req->only_existing ? "find account" : "new account";
	if (a->key == NULL) {
		rc = cl_acme_fail(a, CL_ERR_USAGE, step, NULL, "no account key");
		goto out;
	}
	if ((rc = cl_acme_directory(a)) != CL_OK)
		goto out;
	rc = CL_ERR_NOMEM;
	if (req->only_existing) {
		if ((pl = json_pack("{s:b}", "onlyReturnExisting", 1)) == NULL)
			goto nomem;
	} else {
		if ((pl = json_pack("{s:b}", "termsOfServiceAgreed", req->agree_tos ? 1 : 0)) == NULL)
			goto nomem;
		if (req->ncontact) {
			if ((contacts = json_array()) == NULL)
				goto nomem;
			for (i = 0; i < req->ncontact; i++) {
				if ((rc = contact_json(contacts, req->contact[i])) != CL_OK) {
					if (rc == CL_ERR_NOMEM)
						goto nomem;
					rc = cl_acme_fail(a, CL_ERR_USAGE, step, NULL,
					                  "contact %zu is not an e-mail address or a mailto: URI "
					                  "with one address", i + 1);
					goto out;
				}
			}
			if (json_object_set(pl, "contact", contacts) != 0)
				goto nomem;
		}
		if (req->eab_kid || req->eab_hmac_key) {
			const char *k = req->eab_hmac_key ? req->eab_hmac_key : "";

			if (req->eab_kid == NULL || req->eab_kid[0] == '\0' ||
			    (cl_acme_b64_decode(k, strlen(k), true, &mac, &maclen) != CL_OK &&
			     cl_acme_b64_decode(k, strlen(k), false, &mac, &maclen) != CL_OK) ||
			    maclen == 0) {
				rc = cl_acme_fail(a, CL_ERR_USAGE, step, NULL,
				                  "External Account Binding needs a key id and a base64url "
				                  "MAC key");
				goto out;
			}
			if ((eab = cl_acme_eab_jws(a->key, req->eab_kid, mac, maclen,
			                           a->dir.new_account)) == NULL ||
			    json_object_set(pl, "externalAccountBinding", eab) != 0) {
				rc = cl_acme_fail(a, CL_ERR, step, NULL, "cannot sign the account binding");
				goto out;
			}
		}
	}
	if ((payload = json_dumps(pl, JSON_COMPACT)) == NULL)
		goto nomem;
	if ((rc = post(a, step, a->dir.new_account, payload, a->key, false, NULL, &r)) != CL_OK)
		goto out;
	if (r.location == NULL || strncasecmp(r.location, "https://", 8) != 0) {
		rc = cl_acme_fail(a, CL_ERR_PARSE, step, a->dir.new_account,
		                  "no account URL (Location) in the answer");
		goto out;
	}
	free(a->kid);
	a->kid = r.location;
	r.location = NULL;
	if (created)
		*created = r.status == 201;
	rc = account_status(a, step, &r);
	goto out;
nomem:
	rc = cl_acme_fail(a, CL_ERR_NOMEM, step, NULL, "out of memory");
out:
	if (mac) {
		OPENSSL_cleanse(mac, maclen);
		free(mac);
	}
	cl_acme_resp_free(&r);
	json_decref(pl);
	json_decref(contacts);
	json_decref(eab);
	free(payload);
	return rc;
}

int cl_acme_key_change(struct cl_acme *a, EVP_PKEY *new_key)
{
	struct cl_acme_resp r;
	json_t *inner = NULL, *old = NULL;
	char *ipl = NULL, *payload = NULL, *tp = NULL;
	int rc;

	clear_error(a);
	cl_acme_resp_init(&r);
	if ((rc = cl_acme_directory(a)) != CL_OK)
		goto out;
	if (a->dir.key_change == NULL) {
		rc = cl_acme_fail(a, CL_ERR_UNSUPPORTED, "key change", NULL,
		                  "the directory offers no keyChange");
		goto out;
	}
	if (a->kid == NULL || a->key == NULL || new_key == NULL || cl_acme_jws_alg(new_key) == NULL) {
		rc = cl_acme_fail(a, CL_ERR_USAGE, "key change", NULL,
		                  a->kid ? "the new key is not an EC P-256/P-384 or RSA >= 2048 key"
		                         : "no account (register or find it first)");
		goto out;
	}
	if ((old = cl_acme_jwk(a->key)) == NULL ||
	    (ipl = dump(json_pack("{s:s, s:O}", "account", a->kid, "oldKey", old))) == NULL ||
	    (inner = cl_acme_jws(new_key, NULL, NULL, a->dir.key_change, ipl)) == NULL ||
	    (payload = json_dumps(inner, JSON_COMPACT)) == NULL ||
	    (tp = cl_acme_jwk_thumbprint(new_key)) == NULL) {
		rc = cl_acme_fail(a, CL_ERR, "key change", NULL, "cannot sign the request");
		goto out;
	}
	if ((rc = post(a, "key change", a->dir.key_change, payload, a->key, true, NULL, &r)) != CL_OK)
		goto out;
	EVP_PKEY_up_ref(new_key);
	EVP_PKEY_free(a->key);
	a->key = new_key;
	free(a->thumbprint);
	a->thumbprint = tp;
	tp = NULL;
out:
	cl_acme_resp_free(&r);
	json_decref(inner);
	json_decref(old);
	free(ipl);
	free(payload);
	free(tp);
	return rc;
}

int cl_acme_deactivate_account(struct cl_acme *a)
{
	struct cl_acme_resp r;
	json_error_t e;
	json_t *j = NULL;
	const char *st;
	int rc;

	clear_error(a);
	cl_acme_resp_init(&r);
	if (a->kid == NULL) {
		rc = cl_acme_fail(a, CL_ERR_USAGE, "deactivate account", NULL,
		                  "no account (register or find it first)");
		goto out;
	}
	if ((rc = post(a, "deactivate account", a->kid, "{\"status\":\"deactivated\"}", a->key, true,
	               NULL, &r)) != CL_OK)
		goto out;
	if (r.body.len && (j = json_loadb(r.body.data, r.body.len, 0, &e)) != NULL &&
	    (st = json_string_value(json_object_get(j, "status"))) != NULL &&
	    strcmp(st, "deactivated") != 0)
		rc = cl_acme_fail(a, CL_ERR, "deactivate account", a->kid, "the account is still %s",
		                  cl_acme_status_name(cl_acme_status_parse(st)));
out:
	json_decref(j);
	cl_acme_resp_free(&r);
	return rc;
}

/* ---------------------------------------------------------------- orders --- */

/* Checked, normalised identifiers (lowercase names, canonical addresses):
 * a JSON array for newOrder and, when norm is not NULL, copies. */
static int idents(struct cl_acme *a, const struct cl_acme_ident *ids, size_t n, json_t **arr,
                  struct cl_acme_ident **norm)
{
	struct cl_acme_ident *v = NULL;
	char buf[256];
	size_t i, k;
	int rc = CL_ERR_NOMEM;

	*arr = NULL;
	if (norm)
		*norm = NULL;
	if (n == 0 || n > CL_ACME_MAX_IDS)
		return cl_acme_fail(a, CL_ERR_USAGE, "new order", NULL, "%zu identifiers (1 to %d)", n,
		                    CL_ACME_MAX_IDS);
	if ((*arr = json_array()) == NULL || (norm && (v = calloc(n, sizeof *v)) == NULL))
		goto fail;
	for (i = 0; i < n; i++) {
		const char *val = ids[i].value ? ids[i].value : "";

		if (ids[i].type == CL_ACME_ID_DNS) {
			if (!cl_acme_dns_name_ok(val, true, true) || strlen(val) >= sizeof buf) {
				rc = cl_acme_fail(a, CL_ERR_USAGE, "new order", NULL,
				                  "'%s' is not a DNS name (LDH labels, optional leading *.)",
				                  val);
				goto fail;
			}
			for (k = 0; val[k]; k++)
				buf[k] = (char)tolower((unsigned char)val[k]);
			buf[k] = '\0';
		} else if (cl_acme_ip_norm(val, buf, sizeof buf) != CL_OK) {
			rc = cl_acme_fail(a, CL_ERR_USAGE, "new order", NULL, "'%s' is not an IP address",
			                  val);
			goto fail;
		}
		if (json_array_append_new(*arr, json_pack("{s:s, s:s}", "type",
		                                          ids[i].type == CL_ACME_ID_DNS ? "dns" : "ip",
		                                          "value", buf)) != 0)
			goto fail;
		if (v) {
			v[i].type = ids[i].type;
			if ((v[i].value = strdup(buf)) == NULL)
				goto fail;
		}
	}
	if (norm)
		*norm = v;
	return CL_OK;
fail:
	if (rc == CL_ERR_NOMEM)
		cl_acme_fail(a, rc, "new order", NULL, "out of memory");
	json_decref(*arr);
	*arr = NULL;
	for (i = 0; v && i < n; i++)
		free((char *)v[i].value);
	free(v);
	return rc;
}

static int order_new(struct cl_acme *a, const struct cl_acme_issue_req *req,
                     struct cl_acme_order **out)
{
	struct cl_acme_resp r;
	json_t *pl = NULL, *arr = NULL;
	char *payload = NULL, t[40];
	int rc;

	*out = NULL;
	cl_acme_resp_init(&r);
	if ((rc = cl_acme_directory(a)) != CL_OK ||
	    (rc = idents(a, req->ids, req->nids, &arr, NULL)) != CL_OK)
		goto out;
	rc = CL_ERR_NOMEM;
	if ((pl = json_pack("{s:O}", "identifiers", arr)) == NULL ||
	    (req->not_before &&
	     json_object_set_new(pl, "notBefore",
	                         json_string(cl_time_fmt(t, sizeof t, req->not_before))) != 0) ||
	    (req->not_after &&
	     json_object_set_new(pl, "notAfter",
	                         json_string(cl_time_fmt(t, sizeof t, req->not_after))) != 0))
		goto nomem;
	if (req->replaces) {
		const char *dot = strchr(req->replaces, '.');

		if (dot == NULL || dot == req->replaces || !cl_acme_is_b64url(dot + 1, 512) ||
		    strlen(req->replaces) > 1024) {
			rc = cl_acme_fail(a, CL_ERR_USAGE, "new order", NULL,
			                  "replaces: not an ARI certificate identifier");
			goto out;
		}
		for (size_t i = 0; req->replaces + i < dot; i++) {
			char c = req->replaces[i];

			if (!isalnum((unsigned char)c) && c != '-' && c != '_') {
				rc = cl_acme_fail(a, CL_ERR_USAGE, "new order", NULL,
				                  "replaces: not an ARI certificate identifier");
				goto out;
			}
		}
		if (json_object_set_new(pl, "replaces", json_string(req->replaces)) != 0)
			goto nomem;
	}
	if ((payload = json_dumps(pl, JSON_COMPACT)) == NULL)
		goto nomem;
	if ((rc = post(a, "new order", a->dir.new_order, payload, a->key, true, NULL, &r)) != CL_OK)
		goto out;
	if (r.location == NULL || strncasecmp(r.location, "https://", 8) != 0) {
		rc = cl_acme_fail(a, CL_ERR_PARSE, "new order", a->dir.new_order,
		                  "no order URL (Location) in the answer");
		goto out;
	}
	if ((rc = cl_acme_order_parse(r.body.data, r.body.len, r.location, out)) != CL_OK)
		rc = cl_acme_fail(a, rc, "new order", r.location, "%s",
		                  rc == CL_ERR_NOMEM ? "out of memory" : "not an order object");
	goto out;
nomem:
	rc = cl_acme_fail(a, CL_ERR_NOMEM, "new order", NULL, "out of memory");
out:
	cl_acme_resp_free(&r);
	json_decref(pl);
	json_decref(arr);
	free(payload);
	return rc;
}

int cl_acme_order_new(struct cl_acme *a, const struct cl_acme_issue_req *req,
                      struct cl_acme_order **out)
{
	clear_error(a);
	return order_new(a, req, out);
}

static int order_get(struct cl_acme *a, const char *step, const char *url,
                     struct cl_acme_order **out)
{
	struct cl_acme_resp r;
	int rc;

	*out = NULL;
	cl_acme_resp_init(&r);
	if ((rc = fetch(a, step, url, &r)) == CL_OK &&
	    (rc = cl_acme_order_parse(r.body.data, r.body.len, url, out)) != CL_OK)
		rc = cl_acme_fail(a, rc, step, url, "%s",
		                  rc == CL_ERR_NOMEM ? "out of memory" : "not an order object");
	cl_acme_resp_free(&r);
	return rc;
}

int cl_acme_order_get(struct cl_acme *a, const char *url, struct cl_acme_order **out)
{
	clear_error(a);
	return order_get(a, "fetch order", url, out);
}

/* Fetches an authorization; *retry (may be NULL) gets the Retry-After delay. */
static int authz_get(struct cl_acme *a, const char *step, const char *url,
                     struct cl_acme_authz **out, struct cl_acme_resp *r)
{
	int rc;

	*out = NULL;
	if ((rc = fetch(a, step, url, r)) == CL_OK &&
	    (rc = cl_acme_authz_parse(r->body.data, r->body.len, url, out)) != CL_OK)
		rc = cl_acme_fail(a, rc, step, url, "%s",
		                  rc == CL_ERR_NOMEM ? "out of memory" : "not an authorization object");
	return rc;
}

int cl_acme_authz_get(struct cl_acme *a, const char *url, struct cl_acme_authz **out)
{
	struct cl_acme_resp r;
	int rc;

	clear_error(a);
	cl_acme_resp_init(&r);
	rc = authz_get(a, "fetch authorization", url, out, &r);
	cl_acme_resp_free(&r);
	return rc;
}

int cl_acme_chall_prepare(struct cl_acme_chall_buf *cb, const struct cl_acme_authz *z,
                          const struct cl_acme_challenge *ch, const char *thumbprint)
{
	size_t n;
	unsigned int mdlen = 0;

	memset(cb, 0, sizeof *cb);
	if (ch->token == NULL || thumbprint == NULL)
		return CL_ERR_PARSE;
	n = strlen(ch->token) + strlen(thumbprint) + 2;
	if ((cb->key_authz = malloc(n)) == NULL)
		return CL_ERR_NOMEM;
	snprintf(cb->key_authz, n, "%s.%s", ch->token, thumbprint);
	if (EVP_Digest(cb->key_authz, n - 1, cb->c.digest, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32 || (cb->txt_value = cl_acme_b64url(cb->c.digest, 32)) == NULL) {
		cl_acme_chall_release(cb);
		return CL_ERR_NOMEM;
	}
	n = strlen(z->id.value) + sizeof "_acme-challenge.";
	if ((cb->txt_name = malloc(n)) == NULL) {
		cl_acme_chall_release(cb);
		return CL_ERR_NOMEM;
	}
	snprintf(cb->txt_name, n, "_acme-challenge.%s", z->id.value);
	cb->c.type = ch->type;
	cb->c.id_type = z->id.type;
	cb->c.identifier = z->id.value;
	cb->c.wildcard = z->wildcard;
	cb->c.token = ch->token;
	cb->c.key_authz = cb->key_authz;
	cb->c.txt_name = cb->txt_name;
	cb->c.txt_value = cb->txt_value;
	return CL_OK;
}

void cl_acme_chall_release(struct cl_acme_chall_buf *cb)
{
	free(cb->key_authz);
	free(cb->txt_name);
	free(cb->txt_value);
	memset(cb, 0, sizeof *cb);
}

/* One authorization being solved. */
struct pending {
	struct cl_acme_authz *z;
	const struct cl_acme_challenge *ch;
	struct cl_acme_solver *solver;
	struct cl_acme_chall_buf cb;
	bool presented, done;
};

/* The challenge of z the first solver that can take one would answer. */
static bool choose(struct cl_acme_authz *z, struct cl_acme_solver *const *solvers, size_t ns,
                   const struct cl_acme_challenge **ch, struct cl_acme_solver **solver)
{
	size_t i, k;

	for (i = 0; i < ns; i++) {
		for (k = 0; solvers[i] && k < z->nch; k++) {
			if (z->ch[k].type == solvers[i]->ops->type && z->ch[k].token &&
			    z->ch[k].type != CL_ACME_CHALL_OTHER &&
			    (z->ch[k].status == CL_ACME_ST_PENDING ||
			     z->ch[k].status == CL_ACME_ST_PROCESSING)) {
				*ch = &z->ch[k];
				*solver = solvers[i];
				return true;
			}
		}
	}
	return false;
}

/* "http-01, dns-01" into out. */
static char *offered(const struct cl_acme_authz *z, char *out, size_t len)
{
	size_t i, k = 0;

	out[0] = '\0';
	for (i = 0; i < z->nch && k < len; i++)
		k += (size_t)snprintf(out + k, len - k, "%s%s", i ? ", " : "",
		                      cl_acme_chall_name(z->ch[i].type));
	if (out[0] == '\0')
		snprintf(out, len, "none");
	return out;
}

/* Why an authorization failed: its challenge's problem when it has one. */
static int authz_failed(struct cl_acme *a, struct pending *p, struct cl_acme_authz *z)
{
	char step[400];
	size_t i;

	snprintf(step, sizeof step, "authorization for %s%s (%s)", z->wildcard ? "*." : "",
	         z->id.value, p->ch ? cl_acme_chall_name(p->ch->type) : "?");
	for (i = 0; i < z->nch; i++) {
		if (z->ch[i].error) {
			struct cl_acme_problem *pr = z->ch[i].error;

			z->ch[i].error = NULL;
			return fail_problem(a, CL_ERR, step, z->url, pr, 0);
		}
	}
	return cl_acme_fail(a, CL_ERR, step, z->url, "status %s", cl_acme_status_name(z->status));
}

static int authorize(struct cl_acme *a, const struct cl_acme_order *o,
                     struct cl_acme_solver *const *solvers, size_t nsolvers, int timeout_s)
{
	struct pending *v = NULL;
	struct cl_acme_resp r;
	int64_t deadline = now_ms() + (int64_t)(timeout_s > 0 ? timeout_s : DEFAULT_ORDER_TIMEOUT_S) *
	                                  1000;
	size_t i, nv = 0, left;
	char err[512], what[128], step[320];
	int rc = CL_OK, attempt;

	cl_acme_resp_init(&r);
	if (a->thumbprint == NULL)
		return cl_acme_fail(a, CL_ERR_USAGE, "authorize", o->url, "no account key");
	if (o->nauthz && (v = calloc(o->nauthz, sizeof *v)) == NULL)
		return cl_acme_fail(a, CL_ERR_NOMEM, "authorize", o->url, "out of memory");
	/* 1. fetch every authorization and choose its challenge */
	for (i = 0; i < o->nauthz; i++) {
		struct pending *p = &v[nv];

		if ((rc = authz_get(a, "fetch authorization", o->authz[i], &p->z, &r)) != CL_OK)
			goto out;
		nv++;
		if (p->z->status == CL_ACME_ST_VALID) {
			p->done = true;
			continue;
		}
		if (p->z->status != CL_ACME_ST_PENDING) {
			rc = authz_failed(a, p, p->z);
			goto out;
		}
		if (!choose(p->z, solvers, nsolvers, &p->ch, &p->solver)) {
			snprintf(step, sizeof step, "authorization for %s%s", p->z->wildcard ? "*." : "",
			         p->z->id.value);
			rc = cl_acme_fail(a, CL_ERR_UNSUPPORTED, step, p->z->url,
			                  "no solver for the challenges offered (%s)",
			                  offered(p->z, what, sizeof what));
			goto out;
		}
		if ((rc = cl_acme_chall_prepare(&p->cb, p->z, p->ch, a->thumbprint)) != CL_OK) {
			rc = cl_acme_fail(a, rc, "authorization", p->z->url, "cannot prepare the challenge");
			goto out;
		}
	}
	/* 2. present every response before the CA is asked to look */
	for (i = 0; i < nv; i++) {
		struct pending *p = &v[i];

		if (p->done)
			continue;
		err[0] = '\0';
		if ((rc = p->solver->ops->present(p->solver->state, &p->cb.c, err, sizeof err)) !=
		    CL_OK) {
			rc = cl_acme_fail(a, rc, "present challenge", NULL, "%s for %s%s: %s",
			                  p->solver->ops->name, p->z->wildcard ? "*." : "",
			                  p->z->id.value, err[0] ? err : cl_strerror(rc));
			goto out;
		}
		p->presented = true;
	}
	/* 3. tell the CA */
	for (i = 0; i < nv; i++) {
		if (v[i].done || v[i].ch->status == CL_ACME_ST_PROCESSING)
			continue;
		if ((rc = post(a, "respond to challenge", v[i].ch->url, "{}", a->key, true, NULL, &r)) !=
		    CL_OK)
			goto out;
	}
	/* 4. poll until each is valid or one is not */
	for (attempt = 0;; attempt++) {
		int64_t wait = -1;

		left = 0;
		for (i = 0; i < nv; i++) {
			struct pending *p = &v[i];
			struct cl_acme_authz *z = NULL;

			if (p->done)
				continue;
			if ((rc = authz_get(a, "poll authorization", p->z->url, &z, &r)) != CL_OK)
				goto out;
			if (z->status == CL_ACME_ST_VALID) {
				p->done = true;
			} else if (z->status == CL_ACME_ST_PENDING) {
				int64_t d = poll_delay(&r, attempt);

				left++;
				if (wait < 0 || d < wait)
					wait = d;
			} else {
				rc = authz_failed(a, p, z);
				cl_acme_authz_free(z);
				goto out;
			}
			cl_acme_authz_free(z);
		}
		if (left == 0)
			break;
		if (now_ms() + wait > deadline) {
			for (i = 0; i < nv && v[i].done; i++)
				;
			snprintf(step, sizeof step, "authorization for %s%s", v[i].z->wildcard ? "*." : "",
			         v[i].z->id.value);
			rc = cl_acme_fail(a, CL_ERR, step, v[i].z->url, "still pending after %d s",
			                  timeout_s > 0 ? timeout_s : DEFAULT_ORDER_TIMEOUT_S);
			goto out;
		}
		if ((rc = nap(a, wait)) != CL_OK) {
			rc = cl_acme_fail(a, rc, "poll authorization", NULL, "interrupted");
			goto out;
		}
	}
	rc = CL_OK;
out:
	for (i = 0; i < nv; i++) {
		if (v[i].presented && v[i].solver->ops->cleanup)
			v[i].solver->ops->cleanup(v[i].solver->state, &v[i].cb.c);
		cl_acme_chall_release(&v[i].cb);
		cl_acme_authz_free(v[i].z);
	}
	free(v);
	cl_acme_resp_free(&r);
	return rc;
}

int cl_acme_authorize(struct cl_acme *a, const struct cl_acme_order *o,
                      struct cl_acme_solver *const *solvers, size_t nsolvers, int timeout_s)
{
	clear_error(a);
	return authorize(a, o, solvers, nsolvers, timeout_s);
}

static int finalize(struct cl_acme *a, struct cl_acme_order **op, const unsigned char *csr,
                    size_t csr_len, int timeout_s)
{
	struct cl_acme_order *o = *op, *n = NULL;
	struct cl_acme_resp r;
	int64_t deadline = now_ms() + (int64_t)(timeout_s > 0 ? timeout_s : DEFAULT_ORDER_TIMEOUT_S) *
	                                  1000;
	char *c64 = NULL, *payload = NULL;
	int rc = CL_OK, attempt;

	cl_acme_resp_init(&r);
	if (o->status == CL_ACME_ST_READY) {
		if ((c64 = cl_acme_b64url(csr, csr_len)) == NULL ||
		    (payload = dump(json_pack("{s:s}", "csr", c64))) == NULL) {
			rc = cl_acme_fail(a, CL_ERR_NOMEM, "finalize order", o->finalize, "out of memory");
			goto out;
		}
		if ((rc = post(a, "finalize order", o->finalize, payload, a->key, true, NULL, &r)) !=
		    CL_OK)
			goto out;
		if ((rc = cl_acme_order_parse(r.body.data, r.body.len, o->url, &n)) != CL_OK) {
			rc = cl_acme_fail(a, rc, "finalize order", o->finalize, "not an order object");
			goto out;
		}
		cl_acme_order_free(o);
		*op = o = n;
		n = NULL;
	}
	for (attempt = 0; o->status == CL_ACME_ST_PROCESSING || o->status == CL_ACME_ST_READY;
	     attempt++) {
		int64_t wait = poll_delay(&r, attempt);

		if (o->status == CL_ACME_ST_READY && attempt > 0) {
			rc = cl_acme_fail(a, CL_ERR, "finalize order", o->url, "the order is still ready");
			goto out;
		}
		if (now_ms() + wait > deadline) {
			rc = cl_acme_fail(a, CL_ERR, "finalize order", o->url, "still processing after %d s",
			                  timeout_s > 0 ? timeout_s : DEFAULT_ORDER_TIMEOUT_S);
			goto out;
		}
		if ((rc = nap(a, wait)) != CL_OK) {
			rc = cl_acme_fail(a, rc, "finalize order", o->url, "interrupted");
			goto out;
		}
		cl_acme_resp_free(&r);
		cl_acme_resp_init(&r);
		if ((rc = fetch(a, "poll order", o->url, &r)) != CL_OK)
			goto out;
		if ((rc = cl_acme_order_parse(r.body.data, r.body.len, o->url, &n)) != CL_OK) {
			rc = cl_acme_fail(a, rc, "poll order", o->url, "not an order object");
			goto out;
		}
		cl_acme_order_free(o);
		*op = o = n;
		n = NULL;
	}
	if (o->status != CL_ACME_ST_VALID || o->certificate == NULL) {
		if (o->error) {
			struct cl_acme_problem *p = o->error;

			o->error = NULL;
			rc = fail_problem(a, CL_ERR, "finalize order", o->url, p, 0);
		} else {
			rc = cl_acme_fail(a, CL_ERR, "finalize order", o->url, "the order is %s%s",
			                  cl_acme_status_name(o->status),
			                  o->status == CL_ACME_ST_PENDING ? " (not authorized yet)"
			                  : o->status == CL_ACME_ST_VALID ? " but names no certificate"
			                                                  : "");
		}
		goto out;
	}
	rc = CL_OK;
out:
	cl_acme_order_free(n);
	cl_acme_resp_free(&r);
	free(c64);
	free(payload);
	return rc;
}

int cl_acme_finalize(struct cl_acme *a, struct cl_acme_order **o, const unsigned char *csr,
                     size_t csr_len, int timeout_s)
{
	clear_error(a);
	return finalize(a, o, csr, csr_len, timeout_s);
}

/* ------------------------------------------------------------- download --- */

/* Parses a PEM chain: the leaf (new reference) and whether the topmost
 * certificate's issuer CN is preferred. Returns CL_OK or CL_ERR_PARSE. */
static int chain_check(const char *pem, size_t len, const char *preferred, X509 **leaf,
                       bool *matched)
{
	BIO *bio = NULL;
	X509 *x, *top = NULL;
	int n = 0, rc = CL_ERR_PARSE, idx;

	*matched = false;
	if (leaf)
		*leaf = NULL;
	ERR_clear_error();
	if (len == 0 || len > CL_ACME_MAX_BODY || memmem(pem, len, "-----BEGIN", 10) == NULL ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (++n > MAX_CHAIN_CERTS) {
			X509_free(x);
			goto out;
		}
		if (n == 1 && leaf) {
			X509_up_ref(x);
			*leaf = x;
		}
		X509_free(top);
		top = x;
	}
	if (n == 0 || ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE)
		goto out;
	if (preferred && (idx = X509_NAME_get_index_by_NID(X509_get_issuer_name(top),
	                                                   NID_commonName, -1)) >= 0) {
		unsigned char *cn = NULL;
		X509_NAME_ENTRY *e = X509_NAME_get_entry(X509_get_issuer_name(top), idx);
		int cnlen = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(e));

		*matched = cnlen >= 0 && (size_t)cnlen == strlen(preferred) &&
		           memcmp(cn, preferred, (size_t)cnlen) == 0;
		OPENSSL_free(cn);
	}
	rc = CL_OK;
out:
	ERR_clear_error();
	if (rc != CL_OK && leaf) {
		X509_free(*leaf);
		*leaf = NULL;
	}
	X509_free(top);
	BIO_free(bio);
	return rc;
}

static int download(struct cl_acme *a, const char *url, const char *preferred, char **pem,
                    size_t *len, char **chosen, bool *matched)
{
	struct cl_acme_resp r;
	char **alts = NULL, *ok_url = NULL;
	size_t nalts = 0, i;
	bool m = false;
	int rc;

	*pem = NULL;
	*len = 0;
	if (chosen)
		*chosen = NULL;
	if (matched)
		*matched = false;
	cl_acme_resp_init(&r);
	if ((rc = post(a, "download certificate", url, "", a->key, true,
	               "application/pem-certificate-chain", &r)) != CL_OK)
		goto out;
	if ((rc = chain_check(r.body.data, r.body.len, preferred, NULL, &m)) != CL_OK) {
		rc = cl_acme_fail(a, rc, "download certificate", url, "not a PEM certificate chain");
		goto out;
	}
	if (preferred && !m) {
		if ((rc = cl_acme_link_parse(r.links.data ? r.links.data : "", r.links.len, "alternate",
		                             &alts, &nalts)) != CL_OK) {
			rc = cl_acme_fail(a, rc, "download certificate", url, "out of memory");
			goto out;
		}
		for (i = 0; i < nalts && !m; i++) {
			struct cl_acme_resp ar;
			bool am = false;

			if (strncasecmp(alts[i], "https://", 8) != 0)
				continue;
			cl_acme_resp_init(&ar);
			if ((rc = post(a, "download alternate chain", alts[i], "", a->key, true,
			               "application/pem-certificate-chain", &ar)) != CL_OK) {
				cl_acme_resp_free(&ar);
				goto out;
			}
			if (chain_check(ar.body.data, ar.body.len, preferred, NULL, &am) == CL_OK && am) {
				cl_buf_free(&r.body);
				r.body = ar.body;
				cl_buf_init(&ar.body, CL_ACME_MAX_BODY);
				m = true;
				ok_url = alts[i];
			}
			cl_acme_resp_free(&ar);
		}
	}
	*len = r.body.len;
	*pem = cl_buf_take(&r.body);
	if (chosen && (*chosen = strdup(ok_url ? ok_url : url)) == NULL) {
		free(*pem);
		*pem = NULL;
		*len = 0;
		rc = cl_acme_fail(a, CL_ERR_NOMEM, "download certificate", url, "out of memory");
		goto out;
	}
	if (matched)
		*matched = m;
	rc = CL_OK;
out:
	cl_acme_strv_free(alts, nalts);
	cl_acme_resp_free(&r);
	return rc;
}

int cl_acme_download(struct cl_acme *a, const char *url, const char *preferred, char **pem,
                     size_t *len, char **chosen_url, bool *matched)
{
	clear_error(a);
	return download(a, url, preferred, pem, len, chosen_url, matched);
}

/* ----------------------------------------------------------------- issue --- */

void cl_acme_cert_clear(struct cl_acme_cert *c)
{
	if (c == NULL)
		return;
	free(c->pem);
	EVP_PKEY_free(c->key);
	free(c->order_url);
	free(c->cert_url);
	memset(c, 0, sizeof *c);
}

int cl_acme_issue(struct cl_acme *a, const struct cl_acme_issue_req *req, struct cl_acme_cert *out)
{
	struct cl_acme_ident *ids = NULL;
	struct cl_acme_order *o = NULL, *n = NULL;
	struct cl_acme_issue_req nreq;
	json_t *arr = NULL;
	EVP_PKEY *key = NULL, *want;
	X509_REQ *csrx = NULL;
	X509 *leaf = NULL;
	unsigned char *csr = NULL;
	const unsigned char *p;
	size_t csr_len = 0, i;
	bool m;
	int rc;

	memset(out, 0, sizeof *out);
	clear_error(a);
	if ((rc = idents(a, req->ids, req->nids, &arr, &ids)) != CL_OK)
		goto out;
	nreq = *req;
	nreq.ids = ids;
	/* the CSR first: a bad key or CSR fails before any request */
	if (req->csr_der) {
		p = req->csr_der;
		if (req->csr_len == 0 || req->csr_len > (1u << 20) ||
		    (csrx = d2i_X509_REQ(NULL, &p, (long)req->csr_len)) == NULL ||
		    X509_REQ_get0_pubkey(csrx) == NULL) {
			ERR_clear_error();
			rc = cl_acme_fail(a, CL_ERR_USAGE, "issue", NULL, "the CSR given is not DER");
			goto out;
		}
		want = X509_REQ_get0_pubkey(csrx);
	} else {
		if (req->key) {
			EVP_PKEY_up_ref(req->key);
			key = req->key;
		} else if ((rc = cl_acme_key_new(&key, req->key_type)) != CL_OK) {
			rc = cl_acme_fail(a, rc, "issue", NULL, "cannot generate the certificate key");
			goto out;
		}
		if ((rc = cl_acme_csr_new(key, ids, req->nids, &csr, &csr_len)) != CL_OK) {
			rc = cl_acme_fail(a, rc, "issue", NULL, "cannot make the CSR");
			goto out;
		}
		want = key;
	}
	if ((rc = order_new(a, &nreq, &o)) != CL_OK)
		goto out;
	if (o->status == CL_ACME_ST_PENDING &&
	    (rc = authorize(a, o, req->solvers, req->nsolvers, req->timeout_s)) != CL_OK)
		goto out;
	if ((rc = order_get(a, "fetch order", o->url, &n)) != CL_OK)
		goto out;
	cl_acme_order_free(o);
	o = n;
	n = NULL;
	if ((rc = finalize(a, &o, req->csr_der ? req->csr_der : csr,
	                   req->csr_der ? req->csr_len : csr_len, req->timeout_s)) != CL_OK)
		goto out;
	if ((rc = download(a, o->certificate, req->preferred_chain, &out->pem, &out->pem_len,
	                   &out->cert_url, &out->chain_matched)) != CL_OK)
		goto out;
	if (chain_check(out->pem, out->pem_len, NULL, &leaf, &m) != CL_OK || leaf == NULL ||
	    EVP_PKEY_eq(X509_get0_pubkey(leaf), want) != 1) {
		ERR_clear_error();
		rc = cl_acme_fail(a, CL_ERR, "download certificate", out->cert_url,
		                  "the certificate is not for the CSR's key");
		goto out;
	}
	if ((out->order_url = strdup(o->url)) == NULL) {
		rc = cl_acme_fail(a, CL_ERR_NOMEM, "issue", NULL, "out of memory");
		goto out;
	}
	out->key = key;
	key = NULL;
	rc = CL_OK;
out:
	if (rc != CL_OK)
		cl_acme_cert_clear(out);
	X509_free(leaf);
	X509_REQ_free(csrx);
	OPENSSL_free(csr);
	EVP_PKEY_free(key);
	cl_acme_order_free(o);
	cl_acme_order_free(n);
	json_decref(arr);
	for (i = 0; ids && i < req->nids; i++)
		free((char *)ids[i].value);
	free(ids);
	return rc;
}

/* ------------------------------------------------------------ revocation --- */

int cl_acme_revoke(struct cl_acme *a, const unsigned char *der, size_t len, int reason,
                   EVP_PKEY *cert_key)
{
	struct cl_acme_resp r;
	json_t *pl = NULL;
	char *c64 = NULL, *payload = NULL;
	int rc;

	clear_error(a);
	cl_acme_resp_init(&r);
	if ((rc = cl_acme_directory(a)) != CL_OK)
		goto out;
	if (a->dir.revoke_cert == NULL) {
		rc = cl_acme_fail(a, CL_ERR_UNSUPPORTED, "revoke certificate", NULL,
		                  "the directory offers no revokeCert");
		goto out;
	}
	if (der == NULL || len == 0 || reason < -1 || reason > 10 || reason == 7 ||
	    (cert_key == NULL && a->key == NULL) ||
	    (cert_key && cl_acme_jws_alg(cert_key) == NULL)) {
		rc = cl_acme_fail(a, CL_ERR_USAGE, "revoke certificate", NULL,
		                  "needs a certificate, a reason code 0-10 (not 7) and a usable key");
		goto out;
	}
	if ((c64 = cl_acme_b64url(der, len)) == NULL ||
	    (pl = json_pack("{s:s}", "certificate", c64)) == NULL ||
	    (reason >= 0 && json_object_set_new(pl, "reason", json_integer(reason)) != 0) ||
	    (payload = json_dumps(pl, JSON_COMPACT)) == NULL) {
		rc = cl_acme_fail(a, CL_ERR_NOMEM, "revoke certificate", NULL, "out of memory");
		goto out;
	}
	rc = post(a, "revoke certificate", a->dir.revoke_cert, payload, cert_key ? cert_key : a->key,
	          cert_key == NULL, NULL, &r);
out:
	cl_acme_resp_free(&r);
	json_decref(pl);
	free(c64);
	free(payload);
	return rc;
}

/* ------------------------------------------------------------------ ARI --- */

int cl_acme_renewal_info(struct cl_acme *a, const unsigned char *der, size_t len,
                         struct cl_acme_renewal_info *out)
{
	struct cl_acme_resp r;
	char *id = NULL, *url = NULL;
	size_t n;
	int rc;

	memset(out, 0, sizeof *out);
	clear_error(a);
	cl_acme_resp_init(&r);
	if ((rc = cl_acme_directory(a)) != CL_OK)
		goto out;
	if (a->dir.renewal_info == NULL) {
		rc = cl_acme_fail(a, CL_ERR_UNSUPPORTED, "renewal info", NULL,
		                  "the directory offers no renewalInfo");
		goto out;
	}
	if ((rc = cl_acme_cert_id(der, len, &id)) != CL_OK) {
		rc = cl_acme_fail(a, rc, "renewal info", NULL, "%s",
		                  rc == CL_ERR_NOTFOUND ? "the certificate has no Authority Key "
		                                          "Identifier"
		                                        : "not a DER certificate");
		goto out;
	}
	n = strlen(a->dir.renewal_info) + strlen(id) + 2;
	if ((url = malloc(n)) == NULL) {
		rc = cl_acme_fail(a, CL_ERR_NOMEM, "renewal info", NULL, "out of memory");
		goto out;
	}
	n = strlen(a->dir.renewal_info);
	snprintf(url, n + strlen(id) + 2, "%s%s%s", a->dir.renewal_info,
	         n && a->dir.renewal_info[n - 1] == '/' ? "" : "/", id);
	if ((rc = cl_acme_http(a, "renewal info", "GET", url, NULL, NULL, &r)) != CL_OK)
		goto out;
	if (r.status != 200) {
		rc = fail_answer(a, "renewal info", url, &r);
		goto out;
	}
	if ((rc = cl_acme_ari_parse(r.body.data, r.body.len, out)) != CL_OK) {
		rc = cl_acme_fail(a, rc, "renewal info", url,
		                  "not a renewalInfo object (suggestedWindow start and end)");
		goto out;
	}
	out->retry_after = r.retry_after > 0 ? r.retry_after : 0;
out:
	cl_acme_resp_free(&r);
	free(id);
	free(url);
	return rc;
}
