/*
 * The ACME client's HTTP transport: one libcurl easy handle per client
 * (connections to the CA are reused), https only, no redirects, bodies
 * capped at CL_ACME_MAX_BODY, and the headers ACME needs kept:
 * Replay-Nonce, Location, Retry-After, Content-Type and every Link.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "acme/acme_int.h"
#include "core/util.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_init_once(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int cl_acme_curl_init(void)
{
	pthread_once(&curl_once, curl_init_once);
	return curl_ok ? CL_OK : CL_ERR;
}

void cl_acme_errf(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(out, len, fmt, ap);
	va_end(ap);
}

int cl_acme_fail(struct cl_acme *a, int rc, const char *step, const char *url, const char *fmt,
                 ...)
{
	char raw[sizeof a->err];
	size_t k;
	va_list ap;

	k = (size_t)snprintf(raw, sizeof raw, "%s%s%s: ", step, url ? " " : "", url ? url : "");
	if (k < sizeof raw) {
		va_start(ap, fmt);
		vsnprintf(raw + k, sizeof raw - k, fmt, ap);
		va_end(ap);
	}
	cl_acme_sanitize(a->err, sizeof a->err, raw, strlen(raw));
	return rc;
}

void cl_acme_resp_init(struct cl_acme_resp *r)
{
	memset(r, 0, sizeof *r);
	cl_buf_init(&r->body, CL_ACME_MAX_BODY);
	cl_buf_init(&r->links, 4 * CL_ACME_MAX_HEADER);
	r->retry_after = -1;
}

void cl_acme_resp_free(struct cl_acme_resp *r)
{
	cl_buf_free(&r->body);
	cl_buf_free(&r->links);
	free(r->nonce);
	free(r->location);
	free(r->content_type);
	r->nonce = r->location = r->content_type = NULL;
}

static void resp_reset(struct cl_acme_resp *r)
{
	cl_acme_resp_free(r);
	cl_acme_resp_init(r);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct cl_acme_resp *r = ud;
	size_t n = size * nmemb;

	if (r->overflow)
		return n;
	if (r->body.len + n > r->body.max || cl_buf_add(&r->body, p, n) != CL_OK) {
		r->overflow = true;
		return 0;   /* abort the transfer: never keep a truncated answer */
	}
	return n;
}

/* A copy of the header's value (trimmed), or NULL. */
static char *hdr_value(const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n > CL_ACME_MAX_HEADER)
		return NULL;
	return strndup(p, n);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct cl_acme_resp *r = ud;
	size_t n = size * nmemb, klen;
	const char *colon;
	char **dst = NULL, *v;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {   /* a new response (after 1xx) */
		resp_reset(r);
		return n;
	}
	if ((colon = memchr(p, ':', n)) == NULL)
		return n;
	klen = (size_t)(colon - p);
#define IS(name) (klen == sizeof(name) - 1 && strncasecmp(p, name, klen) == 0)
	if (IS("Replay-Nonce"))
		dst = &r->nonce;
	else if (IS("Location"))
		dst = &r->location;
	else if (IS("Content-Type"))
		dst = &r->content_type;
	if (IS("Link") || IS("Retry-After") || dst) {
		if ((v = hdr_value(colon + 1, n - klen - 1)) == NULL)
			return n;   /* too long or no memory: as if absent */
		if (dst) {
			free(*dst);
			*dst = v;
		} else if (IS("Retry-After")) {
			r->retry_after = cl_acme_retry_after_parse(v, cl_now());
			free(v);
		} else {
			if (r->links.len)
				(void)cl_buf_addstr(&r->links, ", ");
			(void)cl_buf_addstr(&r->links, v);   /* capped: the rest is dropped */
			free(v);
		}
	}
#undef IS
	return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct cl_acme *a = ud;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return a->stop && *a->stop ? 1 : 0;
}

static int setup(struct cl_acme *a)
{
	CURL *e;

	if (a->curl)
		return CL_OK;
	if (cl_acme_curl_init() != CL_OK || (e = curl_easy_init()) == NULL)
		return CL_ERR_NOMEM;
	a->curl = e;
	if (curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, a->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, a->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
#else
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS) != CURLE_OK ||
#endif
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)a) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->curlerr) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, a->user_agent) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK ||
	    (a->ca_bundle && curl_easy_setopt(e, CURLOPT_CAINFO, a->ca_bundle) != CURLE_OK))
		return CL_ERR;
	return CL_OK;
}

int cl_acme_http(struct cl_acme *a, const char *step, const char *method, const char *url,
                 const char *body, const char *accept, struct cl_acme_resp *r)
{
	struct curl_slist *h = NULL, *n;
	char acc[128];
	CURLcode cc;
	CURL *e;
	int rc;

	resp_reset(r);
	a->curlerr[0] = '\0';
	if (a->stop && *a->stop)
		return cl_acme_fail(a, CL_ERR_INTERRUPTED, step, url, "interrupted");
	if ((rc = setup(a)) != CL_OK)
		return cl_acme_fail(a, rc, step, url, "cannot set up libcurl");
	e = a->curl;
	snprintf(acc, sizeof acc, "Accept: %s", accept ? accept : "application/json");
	if ((n = curl_slist_append(h, acc)) == NULL)
		goto nomem;
	h = n;
	if ((n = curl_slist_append(h, "Expect:")) == NULL)
		goto nomem;
	h = n;
	if (body) {
		if ((n = curl_slist_append(h, "Content-Type: application/jose+json")) == NULL)
			goto nomem;
		h = n;
	}
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)r) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)r) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L) != CURLE_OK ||
	    (strcmp(method, "GET") == 0 && curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK) ||
	    (body && (curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	              curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) !=
	                  CURLE_OK))) {
		curl_slist_free_all(h);
		return cl_acme_fail(a, CL_ERR, step, url, "cannot set up the request");
	}
	cc = curl_easy_perform(e);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(h);
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return cl_acme_fail(a, CL_ERR_INTERRUPTED, step, url, "interrupted");
	if (r->overflow)
		return cl_acme_fail(a, CL_ERR_TOOBIG, step, url, "answer larger than %u bytes",
		                    CL_ACME_MAX_BODY);
	if (cc != CURLE_OK)
		return cl_acme_fail(a, CL_ERR_IO, step, url, "%s",
		                    a->curlerr[0] ? a->curlerr : curl_easy_strerror(cc));
	if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status) != CURLE_OK)
		r->status = 0;
	if (r->nonce && !cl_acme_is_b64url(r->nonce, 512)) {   /* RFC 8555 6.5.1 */
		free(r->nonce);
		r->nonce = NULL;
	}
	return CL_OK;
nomem:
	curl_slist_free_all(h);
	return cl_acme_fail(a, CL_ERR_NOMEM, step, url, "out of memory");
}
