/*
 * The HTTP notifiers (webhook, Slack, Teams, PagerDuty, Alertmanager,
 * ServiceNow, Jira): one request per message through one libcurl easy
 * handle (connections are reused), no redirects, the answer classified:
 * 2xx is sent, 408, 429, 5xx and network trouble are worth a retry, any
 * other status is permanent.
 *
 * Messages never show a secret: only scheme://host[:port] of Slack and
 * Teams URLs (the URL is the credential), no query string or user info of
 * any URL, no header values, tokens, passwords or routing keys.
 *
 * Resolutions: Jira has no resolution (an issue is closed by people, so
 * resolved messages count as sent without a request); ServiceNow finds
 * the open records of the alert by correlation_id (GET) and resolves each
 * (PATCH state 6, close_code "Solution provided").
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "alert/notify_int.h"

#define HTTP_MAX_ANSWER (1u << 20)   /* kept of an answer (ServiceNow lookups) */
#define SN_MAX_RESOLVE 20            /* records one resolution closes */
#define PD_DEFAULT_URL "https://events.pagerduty.com/v2/enqueue"

struct http {
	const struct cl_notifier *nt;
	CURL *e;
	struct cl_buf answer;
	int overflow;                /* the answer was longer than kept */
	char curlerr[CURL_ERROR_SIZE];
	char *err;
	size_t errlen;
};

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct http *h = ud;
	size_t n = size * nmemb, room = h->answer.max - h->answer.len;

	if (n > room) {
		h->overflow = 1;
		n = room;
	}
	if (n && cl_buf_add(&h->answer, p, n) != CL_OK)
		h->overflow = 1;
	return size * nmemb;   /* the rest is read and dropped */
}

void cl_notify_shown_url(char *out, size_t len, const char *url, bool with_path)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, tmp[600];

	snprintf(out, len, "%s", "(invalid URL)");
	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	if (!with_path || curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		path = NULL;
	snprintf(tmp, sizeof tmp, "%s://%s%s%s%s", scheme, host, port ? ":" : "", port ? port : "",
	         path && strcmp(path, "/") != 0 ? path : "");
	cl_notify_sanitize(out, tmp, strlen(tmp), len > 1 ? len - 1 : 0);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
}

/* Adds "name: value"; false when value could smuggle in another header. */
static bool hdr_add(struct curl_slist **l, const char *name, const char *value)
{
	struct curl_slist *n;
	char line[1024];
	const char *p;

	for (p = value; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	}
	if ((size_t)snprintf(line, sizeof line, "%s: %s", name, value) >= sizeof line)
		return false;
	if ((n = curl_slist_append(*l, line)) == NULL)
		return false;
	*l = n;
	return true;
}

static bool hdr_add_raw(struct curl_slist **l, const char *line)
{
	struct curl_slist *n;

	if ((n = curl_slist_append(*l, line)) == NULL)
		return false;
	*l = n;
	return true;
}

/* The headers every request carries, and the configured extra ones. */
static enum cl_send_rc base_headers(struct http *h, struct curl_slist **l)
{
	const struct cl_notifier *nt = h->nt;
	const char *p;
	size_t i;

	if (!hdr_add_raw(l, "Content-Type: application/json") ||
	    !hdr_add_raw(l, "Accept: application/json") || !hdr_add_raw(l, "Expect:")) {
		cl_notify_err(h->err, h->errlen, nt, "out of memory");
		return CL_SEND_RETRY;
	}
	for (i = 0; i < nt->headers.n; i++) {
		const char *hv = nt->headers.v[i];
		const char *colon = strchr(hv, ':');
		bool ok = colon != NULL && colon != hv;

		for (p = hv; ok && *p; p++)
			ok = (unsigned char)*p >= 0x20 && *p != 0x7f;
		for (p = hv; ok && p < colon; p++)
			ok = (unsigned char)*p > 0x20 && *p != 0x7f;
		if (!ok) {
			/* the header is not shown: it may hold a credential */
			cl_notify_err(h->err, h->errlen, nt, "header %zu is not \"Name: value\"",
			              i + 1);
			return CL_SEND_FAIL;
		}
		if (!hdr_add_raw(l, hv)) {
			cl_notify_err(h->err, h->errlen, nt, "out of memory");
			return CL_SEND_RETRY;
		}
	}
	return CL_SEND_OK;
}

static enum cl_send_rc http_open(struct http *h)
{
	const struct cl_notifier *nt = h->nt;
	long tmo = cl_notify_timeout_ms(nt);
	CURL *e;

	cl_buf_init(&h->answer, HTTP_MAX_ANSWER);
	if (cl_notify_curl_init() != CL_OK || (h->e = e = curl_easy_init()) == NULL) {
		cl_notify_err(h->err, h->errlen, nt, "cannot initialise libcurl");
		return CL_SEND_RETRY;
	}
	if (curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, tmo) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
#else
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) !=
	        CURLE_OK ||
#endif
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)h) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->curlerr) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "certledger/" CL_VERSION) != CURLE_OK ||
	    (nt->ca_bundle && curl_easy_setopt(e, CURLOPT_CAINFO, nt->ca_bundle) != CURLE_OK)) {
		cl_notify_err(h->err, h->errlen, nt, "cannot set up libcurl");
		return CL_SEND_RETRY;
	}
	if ((nt->type == CL_NT_SERVICENOW && nt->username) ||
	    (nt->type == CL_NT_JIRA && nt->username)) {
		const char *pw = nt->type == CL_NT_JIRA ? nt->token : nt->password;

		if (curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_USERNAME, nt->username) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_PASSWORD, pw ? pw : "") != CURLE_OK) {
			cl_notify_err(h->err, h->errlen, nt, "cannot set up libcurl");
			return CL_SEND_RETRY;
		}
	} else if (nt->type == CL_NT_WEBHOOK && nt->token && nt->token[0]) {
		if (curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, nt->token) != CURLE_OK) {
			cl_notify_err(h->err, h->errlen, nt, "cannot set up libcurl");
			return CL_SEND_RETRY;
		}
	}
	return CL_SEND_OK;
}

static void http_close(struct http *h)
{
	if (h->e)
		curl_easy_cleanup(h->e);
	h->e = NULL;
	cl_buf_free(&h->answer);
}

/*
 * One request: method "GET", "POST" or "PATCH" with body (NULL for GET).
 * On a 2xx answer returns CL_SEND_OK with the answer in h->answer; else
 * describes the failure in h->err and classifies it.
 */
static enum cl_send_rc http_request(struct http *h, const char *method, const char *url,
                                    const char *body, struct curl_slist *hdrs)
{
	const struct cl_notifier *nt = h->nt;
	bool with_path = nt->type != CL_NT_SLACK && nt->type != CL_NT_TEAMS;
	char shown[520], quote[CL_NOTIFY_QUOTE + 1];
	long status = 0;
	CURLcode cc;
	CURL *e = h->e;
	bool get = strcmp(method, "GET") == 0;

	cl_buf_reset(&h->answer);
	h->overflow = 0;
	h->curlerr[0] = '\0';
	cl_notify_shown_url(shown, sizeof shown, url, with_path);
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
	                     strcmp(method, "PATCH") == 0 ? "PATCH" : NULL) != CURLE_OK ||
	    (get ? curl_easy_setopt(e, CURLOPT_HTTPGET, 1L)
	         : curl_easy_setopt(e, CURLOPT_POSTFIELDS, body)) != CURLE_OK ||
	    (!get && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	                              (curl_off_t)strlen(body)) != CURLE_OK)) {
		cl_notify_err(h->err, h->errlen, nt, "cannot set up the request to %s", shown);
		return CL_SEND_RETRY;
	}
	if ((cc = curl_easy_perform(e)) != CURLE_OK) {
		cl_notify_err(h->err, h->errlen, nt, "%s: %s", shown,
		              h->curlerr[0] ? h->curlerr : curl_easy_strerror(cc));
		/* a URL libcurl cannot use will not get better by itself */
		return cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL ? CL_SEND_FAIL
		                                                                     : CL_SEND_RETRY;
	}
	if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	if (status >= 200 && status < 300)
		return CL_SEND_OK;
	cl_notify_sanitize(quote, h->answer.data ? h->answer.data : "", h->answer.len,
	                   CL_NOTIFY_QUOTE);
	cl_notify_err(h->err, h->errlen, nt, "HTTP %ld from %s%s%s", status, shown,
	              quote[0] ? ": " : "", quote);
	return status == 408 || status == 429 || status >= 500 || status == 0 ? CL_SEND_RETRY
	                                                                        : CL_SEND_FAIL;
}

/* base + suffix without a doubled slash. NULL on allocation failure. */
static char *url_join(const char *base, const char *suffix)
{
	size_t n = strlen(base);
	char *u;

	while (n > 0 && base[n - 1] == '/')
		n--;
	if ((u = malloc(n + strlen(suffix) + 1)) == NULL)
		return NULL;
	memcpy(u, base, n);
	strcpy(u + n, suffix);
	return u;
}

/* A name that may go into a URL path as it is. */
static bool path_safe(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	}
	return true;
}

/*
 * POSTs the JSON j to url with *hdrs, signed with sign_key when given (the
 * signature header is added to *hdrs, which the caller frees).
 */
static enum cl_send_rc post_json(struct http *h, const char *url, json_t *j,
                                 struct curl_slist **hdrs, const char *sign_key)
{
	enum cl_send_rc rc = CL_SEND_RETRY;
	char sig[80], *body = json_dumps(j, JSON_COMPACT);

	if (body == NULL) {
		cl_notify_err(h->err, h->errlen, h->nt, "out of memory");
		goto out;
	}
	if (sign_key) {
		cl_notify_signature(sig, sign_key, body, strlen(body));
		if (sig[0] == '\0' || !hdr_add(hdrs, "X-Certledger-Signature", sig)) {
			cl_notify_err(h->err, h->errlen, h->nt, "cannot sign the body");
			goto out;
		}
	}
	rc = http_request(h, "POST", url, body, *hdrs);
out:
	free(body);
	return rc;
}

/* ServiceNow: resolves the open records carrying m's correlation_id. */
static enum cl_send_rc sn_resolve(struct http *h, const char *table_url,
                                  const struct cl_alert_msg *m, struct curl_slist *hdrs)
{
	enum cl_send_rc rc = CL_SEND_RETRY;
	char corr[128], query[300], *q = NULL, *url = NULL, *body = NULL;
	char ids[SN_MAX_RESOLVE][33];
	size_t i, nids = 0, n;
	json_t *j = NULL, *res, *r, *note = NULL;
	json_error_t jerr;

	cl_notify_sn_correlation(corr, sizeof corr, m);
	snprintf(query, sizeof query, "correlation_id=%s^active=true", corr);
	if ((q = curl_easy_escape(h->e, query, 0)) == NULL)
		goto nomem;
	n = strlen(table_url) + strlen(q) + 80;
	if ((url = malloc(n)) == NULL)
		goto nomem;
	snprintf(url, n, "%s?sysparm_query=%s&sysparm_fields=sys_id&sysparm_limit=%d", table_url, q,
	         SN_MAX_RESOLVE);
	if ((rc = http_request(h, "GET", url, NULL, hdrs)) != CL_SEND_OK)
		goto out;
	rc = CL_SEND_RETRY;
	if (h->overflow ||
	    (j = json_loadb(h->answer.data ? h->answer.data : "", h->answer.len, 0, &jerr)) ==
	        NULL ||
	    !json_is_array(res = json_object_get(j, "result"))) {
		cl_notify_err(h->err, h->errlen, h->nt, "unexpected answer looking up %s", corr);
		goto out;
	}
	json_array_foreach(res, i, r) {
		const char *id = json_string_value(json_object_get(r, "sys_id"));
		size_t k;

		if (id == NULL || strlen(id) != 32 || nids == SN_MAX_RESOLVE)
			continue;
		for (k = 0; k < 32 && isxdigit((unsigned char)id[k]); k++)
			;
		if (k == 32)
			memcpy(ids[nids++], id, 33);
	}
	{
		struct cl_buf notes;

		cl_buf_init(&notes, 8192);
		if (cl_buf_addstr(&notes, "Resolved by certledger: ") != CL_OK ||
		    cl_notify_put_text(&notes, m->summary ? m->summary : "the alert's cause is gone",
		                       4000, true) != CL_OK)
			goto nomem;
		note = json_pack("{s:s, s:s, s:s%}", "state", "6", "close_code", "Solution provided",
		                 "close_notes", notes.data, notes.len);
		cl_buf_free(&notes);
	}
	if (note == NULL || (body = json_dumps(note, JSON_COMPACT)) == NULL)
		goto nomem;
	for (i = 0; i < nids; i++) {
		free(url);
		n = strlen(table_url) + 40;
		if ((url = malloc(n)) == NULL)
			goto nomem;
		snprintf(url, n, "%s/%s", table_url, ids[i]);
		if ((rc = http_request(h, "PATCH", url, body, hdrs)) != CL_SEND_OK)
			goto out;
	}
	rc = CL_SEND_OK;
	goto out;
nomem:
	cl_notify_err(h->err, h->errlen, h->nt, "out of memory");
	rc = CL_SEND_RETRY;
out:
	json_decref(note);
	json_decref(j);
	free(body);
	free(url);
	curl_free(q);
	return rc;
}

static enum cl_send_rc send_one(struct http *h, const struct cl_alert_msg *m)
{
	const struct cl_notifier *nt = h->nt;
	enum cl_send_rc rc;
	struct curl_slist *hdrs = NULL;
	json_t *j = NULL, *a;
	char *url = NULL;
	const char *key = NULL, *target;

	if ((rc = base_headers(h, &hdrs)) != CL_SEND_OK)
		goto out;
	rc = CL_SEND_FAIL;
	if (nt->type != CL_NT_PAGERDUTY && (nt->url == NULL || nt->url[0] == '\0')) {
		cl_notify_err(h->err, h->errlen, nt, "no url");
		goto out;
	}
	switch (nt->type) {
	case CL_NT_WEBHOOK:
		j = cl_alert_msg_json(m);
		if (m->id && !hdr_add(&hdrs, "X-Certledger-Id", m->id)) {
			cl_notify_err(h->err, h->errlen, nt, "message id unfit for a header");
			goto out;
		}
		if (m->event_type && !hdr_add(&hdrs, "X-Certledger-Event", m->event_type)) {
			cl_notify_err(h->err, h->errlen, nt, "event type unfit for a header");
			goto out;
		}
		if (nt->secret && nt->secret[0])
			key = nt->secret;
		break;
	case CL_NT_SLACK:
		j = cl_notify_slack_payload(m);
		break;
	case CL_NT_TEAMS:
		j = cl_notify_teams_payload(m);
		break;
	case CL_NT_PAGERDUTY:
		if (nt->routing_key == NULL || nt->routing_key[0] == '\0') {
			cl_notify_err(h->err, h->errlen, nt, "no routing_key");
			goto out;
		}
		j = cl_notify_pagerduty_payload(m, nt->routing_key);
		break;
	case CL_NT_ALERTMANAGER:
		url = url_join(nt->url, "/api/v2/alerts");
		if ((a = cl_notify_alertmanager_alert(m)) != NULL) {
			if ((j = json_array()) != NULL && json_array_append_new(j, a) != 0) {
				json_decref(j);
				j = NULL;
			}
			if (j == NULL)
				json_decref(a);
		}
		break;
	case CL_NT_SERVICENOW: {
		const char *table = nt->table && nt->table[0] ? nt->table : "incident";
		char path[160];

		if (!path_safe(table) || strlen(table) > 80) {
			cl_notify_err(h->err, h->errlen, nt, "table name is not [A-Za-z0-9_]");
			goto out;
		}
		snprintf(path, sizeof path, "/api/now/table/%s", table);
		if ((url = url_join(nt->url, path)) == NULL)
			break;
		if (cl_notify_is_resolved(m)) {
			rc = sn_resolve(h, url, m, hdrs);
			goto out;
		}
		j = cl_notify_servicenow_payload(m);
		break;
	}
	case CL_NT_JIRA:
		if (cl_notify_is_resolved(m)) {
			/* an issue is closed by the people working on it */
			rc = CL_SEND_OK;
			goto out;
		}
		if (nt->project == NULL || nt->project[0] == '\0') {
			cl_notify_err(h->err, h->errlen, nt, "no project");
			goto out;
		}
		url = url_join(nt->url, "/rest/api/2/issue");
		j = cl_notify_jira_payload(m, nt->project, nt->issue_type);
		break;
	default:
		cl_notify_err(h->err, h->errlen, nt, "not an HTTP notifier");
		goto out;
	}
	if (j == NULL || ((nt->type == CL_NT_ALERTMANAGER || nt->type == CL_NT_SERVICENOW ||
	                   nt->type == CL_NT_JIRA) && url == NULL)) {
		cl_notify_err(h->err, h->errlen, nt, "out of memory");
		rc = CL_SEND_RETRY;
		goto out;
	}
	if (url)
		target = url;
	else if (nt->type == CL_NT_PAGERDUTY && (nt->url == NULL || nt->url[0] == '\0'))
		target = PD_DEFAULT_URL;
	else
		target = nt->url;
	rc = post_json(h, target, j, &hdrs, key);
out:
	json_decref(j);
	free(url);
	curl_slist_free_all(hdrs);
	return rc;
}

enum cl_send_rc cl_notify_http_send(const struct cl_notifier *nt,
                                    const struct cl_alert_msg *const *msgs, size_t n,
                                    size_t *nsent, char *err, size_t errlen)
{
	struct http h;
	enum cl_send_rc rc;
	size_t i;

	memset(&h, 0, sizeof h);
	h.nt = nt;
	h.err = err;
	h.errlen = errlen;
	*nsent = 0;
	if ((rc = http_open(&h)) != CL_SEND_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if (!cl_notify_skip(nt, msgs[i]) && (rc = send_one(&h, msgs[i])) != CL_SEND_OK)
			goto out;
		(*nsent)++;
	}
	rc = CL_SEND_OK;
out:
	http_close(&h);
	return rc;
}
