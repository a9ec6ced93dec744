/*
 * The JSON form of an alert message: the generic webhook's body and what
 * the outbox keeps. cl_alert_msg_from_json reads back exactly what
 * cl_alert_msg_json wrote.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "alert/alert.h"
#include "core/util.h"

/* ---- writing ---- */

struct jw {
	json_t *o;
	int failed;
};

static void put(struct jw *w, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new_nocheck(w->o, key, v) != 0)
		w->failed = 1;
}

/*
 * A JSON string for s. The message holds UTF-8 (names are escaped on their
 * way into the inventory); anything else is written escaped rather than
 * dropped.
 */
static json_t *jstr(const char *s)
{
	json_t *v;
	char *esc;

	if (s == NULL)
		return json_null();
	if ((v = json_string(s)) != NULL)
		return v;
	if ((esc = cl_escape_bytes(s, strlen(s))) == NULL)
		return NULL;
	v = json_string(esc);
	free(esc);
	return v;
}

static json_t *jtime(int64_t t)
{
	char buf[40];

	if (t == 0)
		return json_null();
	cl_time_fmt(buf, sizeof buf, t);
	return json_string(buf);
}

static json_t *jint(int64_t v)
{
	return v == 0 ? json_null() : json_integer((json_int_t)v);
}

static json_t *jstrv(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++) {
		if (json_array_append_new(a, jstr(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *cl_alert_msg_json(const struct cl_alert_msg *m)
{
	struct jw w = { json_object(), 0 };

	if (w.o == NULL)
		return NULL;
	put(&w, "id", jstr(m->id));
	put(&w, "alert_key", jstr(m->alert_key));
	put(&w, "event_type", jstr(m->event_type));
	put(&w, "action", jstr(m->action));
	put(&w, "severity", jstr(m->severity));
	put(&w, "summary", jstr(m->summary));
	put(&w, "timestamp", jtime(m->timestamp));
	put(&w, "certificate_subject", jstr(m->certificate_subject));
	put(&w, "subject_cn", jstr(m->subject_cn));
	put(&w, "certificate_serial", jstr(m->certificate_serial));
	put(&w, "issuer", jstr(m->issuer));
	put(&w, "issuer_cn", jstr(m->issuer_cn));
	put(&w, "fingerprint_sha256", jstr(m->fingerprint_sha256));
	put(&w, "expiration_date", jtime(m->expiration_date));
	/* days_left means nothing without a certificate: null then (and only
	   then, so that the round trip stays exact) */
	put(&w, "days_left", m->expiration_date == 0 && m->days_left == 0 ?
	                         json_null() : json_integer((json_int_t)m->days_left));
	put(&w, "not_before", jint(m->not_before));
	put(&w, "not_after", jint(m->expiration_date));
	put(&w, "locations", jstrv(m->locations, m->nlocations));
	put(&w, "owner", jstr(m->owner));
	put(&w, "environment", jstr(m->environment));
	put(&w, "tags", jstrv(m->tags, m->ntags));
	put(&w, "threshold", jstr(m->threshold));
	put(&w, "detail", jstr(m->detail));
	put(&w, "dashboard_url", jstr(m->dashboard_url));
	if (m->managed)
		put(&w, "managed", jstr(m->managed));
	if (m->failures)
		put(&w, "failures", json_integer(m->failures));
	if (m->next_attempt)
		put(&w, "next_attempt", jtime(m->next_attempt));
	if (m->ends_at)
		put(&w, "ends_at", jtime(m->ends_at));
	if (w.failed) {
		json_decref(w.o);
		return NULL;
	}
	return w.o;
}

/* ---- reading ---- */

/* A string field: absent or null is NULL; any other type is an error. */
static int get_str(json_t *j, const char *key, const char **out)
{
	json_t *v = json_object_get(j, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return CL_OK;
	if (!json_is_string(v))
		return CL_ERR_PARSE;
	*out = json_string_value(v);
	return CL_OK;
}

/* A time field: RFC 3339 text or Unix seconds; absent or null is 0. */
static int get_time(json_t *j, const char *key, int64_t *out)
{
	json_t *v = json_object_get(j, key);
	const char *s;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return CL_OK;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return CL_OK;
	}
	if (!json_is_string(v))
		return CL_ERR_PARSE;
	s = json_string_value(v);
	/* cl_time_parse also takes "now", which a recorded message never holds */
	if (!isdigit((unsigned char)s[0]))
		return CL_ERR_PARSE;
	return cl_time_parse(s, out);
}

/* An array of strings: the number of elements, or CL_ERR_PARSE. */
static int strv_len(json_t *j, const char *key, size_t *n)
{
	json_t *v = json_object_get(j, key), *e;
	size_t i;

	*n = 0;
	if (v == NULL || json_is_null(v))
		return CL_OK;
	if (!json_is_array(v))
		return CL_ERR_PARSE;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return CL_ERR_PARSE;
	}
	*n = json_array_size(v);
	return CL_OK;
}

static void strv_fill(json_t *j, const char *key, const char **dst)
{
	json_t *v = json_object_get(j, key), *e;
	size_t i;

	if (v == NULL || !json_is_array(v))
		return;
	json_array_foreach(v, i, e)
		dst[i] = json_string_value(e);
}

int cl_alert_msg_from_json(struct cl_alert_msg *m, json_t *j, void **strs)
{
	static const struct {
		const char *key;
		size_t off;
	} sf[] = {
#define SF(k) { #k, offsetof(struct cl_alert_msg, k) }
		SF(id), SF(alert_key), SF(event_type), SF(action), SF(severity), SF(summary),
		SF(certificate_subject), SF(subject_cn), SF(certificate_serial), SF(issuer),
		SF(issuer_cn), SF(fingerprint_sha256), SF(owner), SF(environment), SF(threshold),
		SF(detail), SF(dashboard_url), SF(managed),
#undef SF
	};
	const char **arr = NULL;
	json_t *v;
	size_t i, nloc, ntag;
	int64_t t;
	int rc = CL_ERR_PARSE;

	memset(m, 0, sizeof *m);
	*strs = NULL;
	if (!json_is_object(j))
		goto out;
	for (i = 0; i < CL_ARRAY_LEN(sf); i++) {
		if (get_str(j, sf[i].key, (const char **)((char *)m + sf[i].off)) != CL_OK)
			goto out;
	}
	if (get_time(j, "timestamp", &m->timestamp) != CL_OK ||
	    get_time(j, "not_before", &m->not_before) != CL_OK ||
	    get_time(j, "ends_at", &m->ends_at) != CL_OK ||
	    get_time(j, "next_attempt", &m->next_attempt) != CL_OK)
		goto out;
	v = json_object_get(j, "failures");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT_MAX)
			goto out;
		m->failures = (int)json_integer_value(v);
	}
	/* the exact seconds when present, else the RFC 3339 date */
	v = json_object_get(j, "not_after");
	if (v != NULL && !json_is_null(v)) {
		if (get_time(j, "not_after", &m->expiration_date) != CL_OK)
			goto out;
	} else if (get_time(j, "expiration_date", &m->expiration_date) != CL_OK) {
		goto out;
	}
	v = json_object_get(j, "days_left");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v))
			goto out;
		m->days_left = (long)json_integer_value(v);
	} else if (m->expiration_date != 0 && m->timestamp != 0) {
		/* written by hand without it */
		t = cl_floordiv(m->expiration_date - m->timestamp, 86400);
		m->days_left = (long)t;
	}
	if (strv_len(j, "locations", &nloc) != CL_OK || strv_len(j, "tags", &ntag) != CL_OK)
		goto out;
	if (nloc + ntag > 0) {
		if ((arr = calloc(nloc + ntag, sizeof *arr)) == NULL) {
			rc = CL_ERR_NOMEM;
			goto out;
		}
		strv_fill(j, "locations", arr);
		strv_fill(j, "tags", arr + nloc);
		m->locations = nloc ? arr : NULL;
		m->nlocations = nloc;
		m->tags = ntag ? arr + nloc : NULL;
		m->ntags = ntag;
	}
	*strs = arr;
	arr = NULL;
	rc = CL_OK;
out:
	free(arr);
	if (rc != CL_OK)
		memset(m, 0, sizeof *m);
	return rc;
}
