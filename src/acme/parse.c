/*
 * Everything the ACME client reads from a CA, as pure functions (fuzzed by
 * tests/fuzz/fuzz_acme.c): problem documents, Link and Retry-After
 * headers, the directory, orders, authorizations and renewalInfo. JSON is
 * jansson's; strings quoted from the CA are sanitised before anyone sees
 * them, URLs the client will use must be https.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "acme/acme_int.h"
#include "core/util.h"

/* ------------------------------------------------------------- sanitise --- */

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code
 * point, or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], v;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (len == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	*cp = v;
	return len;
}

char *cl_acme_sanitize(char *out, size_t outlen, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k = 0, max;
	bool space = false;

	if (outlen == 0)
		return out;
	max = outlen - 1;
	while (i < n) {
		unsigned cp = 0;
		size_t len = utf8_seq(p + i, n - i, &cp);
		const char *put;
		char q[1] = { '?' };
		size_t plen;

		if (len == 0) {
			put = q;
			plen = 1;
			len = 1;
		} else if (cp == '\t' || cp == '\n' || cp == '\r') {
			i += len;
			if (!space && k > 0)
				space = true;
			continue;
		} else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
		           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f) {
			i += len;
			continue;
		} else {
			put = (const char *)p + i;
			plen = len;
		}
		if (k + (space ? 1 : 0) + plen > max) {
			/* cut: make room for "..." on a character boundary */
			while (k > 0 && k + 3 > max) {
				k--;
				while (k > 0 && ((unsigned char)out[k] & 0xc0) == 0x80)
					k--;
			}
			if (k + 3 <= max) {
				memcpy(out + k, "...", 3);
				k += 3;
			}
			break;
		}
		if (space) {
			out[k++] = ' ';
			space = false;
		}
		memcpy(out + k, put, plen);
		k += plen;
		i += len;
	}
	out[k] = '\0';
	return out;
}

char *cl_acme_sanitize_dup(const char *s, size_t max)
{
	char *out;

	if (s == NULL)
		s = "";
	if ((out = malloc(max + 1)) == NULL)
		return NULL;
	return cl_acme_sanitize(out, max + 1, s, strlen(s));
}

/* -------------------------------------------------------------- problems --- */

void cl_acme_problem_free(struct cl_acme_problem *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->type);
	free(p->detail);
	for (i = 0; i < p->nsub; i++) {
		free(p->sub[i].type);
		free(p->sub[i].detail);
		free((char *)p->sub[i].id.value);
	}
	free(p->sub);
	free(p);
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

struct cl_acme_problem *cl_acme_problem_from_json(json_t *j, long http_status)
{
	struct cl_acme_problem *p;
	json_t *subs, *s, *st;
	size_t i;

	if (!json_is_object(j) || (!json_is_string(json_object_get(j, "type")) &&
	                           !json_is_string(json_object_get(j, "detail"))))
		return NULL;
	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	st = json_object_get(j, "status");
	p->status = json_is_integer(st) && json_integer_value(st) >= 100 &&
	                    json_integer_value(st) <= 599
	                ? (int)json_integer_value(st)
	                : (int)http_status;
	if ((p->type = cl_acme_sanitize_dup(jstr(j, "type"), 200)) == NULL ||
	    (p->detail = cl_acme_sanitize_dup(jstr(j, "detail"), CL_ACME_MAX_DETAIL)) == NULL)
		goto nomem;
	subs = json_object_get(j, "subproblems");
	if (json_is_array(subs) && json_array_size(subs) > 0) {
		size_t n = json_array_size(subs);

		if (n > CL_ACME_MAX_SUB)
			n = CL_ACME_MAX_SUB;
		if ((p->sub = calloc(n, sizeof *p->sub)) == NULL)
			goto nomem;
		json_array_foreach(subs, i, s) {
			struct cl_acme_subproblem *sp;
			json_t *id;

			if (p->nsub == n)
				break;
			if (!json_is_object(s))
				continue;
			sp = &p->sub[p->nsub++];
			if ((sp->type = cl_acme_sanitize_dup(jstr(s, "type"), 200)) == NULL ||
			    (sp->detail = cl_acme_sanitize_dup(jstr(s, "detail"), 300)) == NULL)
				goto nomem;
			id = json_object_get(s, "identifier");
			sp->id.type = strcmp(jstr(id, "type") ? jstr(id, "type") : "", "ip") == 0
			                  ? CL_ACME_ID_IP
			                  : CL_ACME_ID_DNS;
			if (jstr(id, "value") &&
			    (sp->id.value = cl_acme_sanitize_dup(jstr(id, "value"), 255)) == NULL)
				goto nomem;
		}
	}
	return p;
nomem:
	cl_acme_problem_free(p);
	return NULL;
}

struct cl_acme_problem *cl_acme_problem_parse(const char *body, size_t len, long http_status)
{
	struct cl_acme_problem *p;
	json_error_t e;
	json_t *j;

	if (body == NULL || len == 0 ||
	    (j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e)) == NULL)
		return NULL;
	p = cl_acme_problem_from_json(j, http_status);
	json_decref(j);
	return p;
}

char *cl_acme_problem_format(const struct cl_acme_problem *p, char *out, size_t len)
{
	size_t i, k;

	if (len == 0)
		return out;
	snprintf(out, len, "%s%s%s", p->type[0] ? p->type : "(no problem type)",
	         p->detail[0] ? ": " : "", p->detail);
	for (i = 0; i < p->nsub; i++) {
		const struct cl_acme_subproblem *s = &p->sub[i];

		k = strlen(out);
		if (k + 1 >= len)
			break;
		snprintf(out + k, len - k, "; %s%s%s%s%s", s->id.value ? s->id.value : "",
		         s->id.value ? ": " : "", s->type, s->detail[0] ? ": " : "", s->detail);
	}
	return out;
}

/* ----------------------------------------------------------------- Link --- */

void cl_acme_strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* true when the space-separated rel list r[0..n) holds rel. */
static bool rel_has(const char *r, size_t n, const char *rel)
{
	size_t i = 0, want = strlen(rel);

	while (i < n) {
		size_t j;

		while (i < n && (r[i] == ' ' || r[i] == '\t'))
			i++;
		for (j = i; j < n && r[j] != ' ' && r[j] != '\t'; j++)
			;
		if (j - i == want && strncasecmp(r + i, rel, want) == 0)
			return true;
		i = j;
	}
	return false;
}

int cl_acme_link_parse(const char *hdr, size_t len, const char *rel, char ***urls, size_t *n)
{
	const char *p = hdr, *end = hdr + len;
	char **v = NULL;
	size_t nv = 0;

	*urls = NULL;
	*n = 0;
	while (p < end) {
		const char *u0, *u1;
		bool match = false;

		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p >= end)
			break;
		if (*p != '<') {   /* not a link-value: skip to the next comma */
			while (p < end && *p != ',')
				p++;
			continue;
		}
		u0 = ++p;
		while (p < end && *p != '>')
			p++;
		if (p >= end)
			break;
		u1 = p++;
		/* parameters: ;name[=value | ="quoted"] */
		for (;;) {
			const char *k0, *k1, *v0 = NULL, *v1 = NULL;

			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			if (p >= end || *p != ';')
				break;
			p++;
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			k0 = p;
			while (p < end && *p != '=' && *p != ';' && *p != ',' && *p != ' ' && *p != '\t')
				p++;
			k1 = p;
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			if (p < end && *p == '=') {
				p++;
				while (p < end && (*p == ' ' || *p == '\t'))
					p++;
				if (p < end && *p == '"') {
					v0 = ++p;
					while (p < end && *p != '"') {
						if (*p == '\\' && p + 1 < end)
							p++;
						p++;
					}
					v1 = p;
					if (p < end)
						p++;
				} else {
					v0 = p;
					while (p < end && *p != ';' && *p != ',' && *p != ' ' && *p != '\t')
						p++;
					v1 = p;
				}
			}
			if (k1 - k0 == 3 && strncasecmp(k0, "rel", 3) == 0 && v0 &&
			    rel_has(v0, (size_t)(v1 - v0), rel))
				match = true;
		}
		while (p < end && *p != ',')   /* whatever else is in this value */
			p++;
		for (const char *q = u0; match && q < u1; q++) {
			if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
				match = false;   /* not a URI: never followed */
		}
		if (match && u1 > u0 && nv < CL_ACME_MAX_LINKS) {
			char **nvv = realloc(v, (nv + 1) * sizeof *v);

			if (nvv == NULL || (nvv[nv] = strndup(u0, (size_t)(u1 - u0))) == NULL) {
				cl_acme_strv_free(nvv ? nvv : v, nv);
				return CL_ERR_NOMEM;
			}
			v = nvv;
			nv++;
		}
	}
	*urls = v;
	*n = nv;
	return CL_OK;
}

int64_t cl_acme_retry_after_parse(const char *v, int64_t now)
{
	int64_t secs = 0;
	time_t t;
	const char *p = v;

	if (v == NULL)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		for (; isdigit((unsigned char)*p); p++) {
			if (secs > 86400 * 366)
				return -1;
			secs = secs * 10 + (*p - '0');
		}
		while (*p == ' ' || *p == '\t')
			p++;
		return *p == '\0' ? secs : -1;
	}
	if ((t = curl_getdate(p, NULL)) == -1)
		return -1;
	return (int64_t)t <= now ? 0 : (int64_t)t - now;
}

/* ----------------------------------------------------------------- names --- */

static const char *const status_names[] = {
	[CL_ACME_ST_UNKNOWN] = "unknown", [CL_ACME_ST_PENDING] = "pending",
	[CL_ACME_ST_READY] = "ready", [CL_ACME_ST_PROCESSING] = "processing",
	[CL_ACME_ST_VALID] = "valid", [CL_ACME_ST_INVALID] = "invalid",
	[CL_ACME_ST_DEACTIVATED] = "deactivated", [CL_ACME_ST_EXPIRED] = "expired",
	[CL_ACME_ST_REVOKED] = "revoked",
};

const char *cl_acme_status_name(enum cl_acme_status s)
{
	return (size_t)s < CL_ARRAY_LEN(status_names) ? status_names[s] : "unknown";
}

enum cl_acme_status cl_acme_status_parse(const char *s)
{
	size_t i;

	for (i = 1; s && i < CL_ARRAY_LEN(status_names); i++) {
		if (strcmp(s, status_names[i]) == 0)
			return (enum cl_acme_status)i;
	}
	return CL_ACME_ST_UNKNOWN;
}

const char *cl_acme_chall_name(enum cl_acme_chall_type t)
{
	switch (t) {
	case CL_ACME_HTTP01: return "http-01";
	case CL_ACME_DNS01: return "dns-01";
	case CL_ACME_TLSALPN01: return "tls-alpn-01";
	default: return "other";
	}
}

enum cl_acme_chall_type cl_acme_chall_parse(const char *s)
{
	if (s == NULL)
		return CL_ACME_CHALL_OTHER;
	if (strcmp(s, "http-01") == 0)
		return CL_ACME_HTTP01;
	if (strcmp(s, "dns-01") == 0)
		return CL_ACME_DNS01;
	if (strcmp(s, "tls-alpn-01") == 0)
		return CL_ACME_TLSALPN01;
	return CL_ACME_CHALL_OTHER;
}

bool cl_acme_dns_name_ok(const char *name, bool wildcard, bool single)
{
	size_t total, labels = 0, i = 0, n;

	if (name == NULL)
		return false;
	if (wildcard && name[0] == '*' && name[1] == '.')
		name += 2;
	total = strlen(name);
	if (total == 0 || total > 253)
		return false;
	while (i < total) {
		size_t j = i;

		while (j < total && name[j] != '.') {
			unsigned char c = (unsigned char)name[j];

			if (!isalnum(c) && c != '-')
				return false;
			j++;
		}
		n = j - i;
		if (n == 0 || n > 63 || name[i] == '-' || name[j - 1] == '-')
			return false;
		labels++;
		i = j + 1;
		if (j + 1 == total)   /* trailing dot */
			return false;
	}
	return single || labels >= 2;
}

int cl_acme_ip_norm(const char *s, char *out, size_t len)
{
	unsigned char a[16];

	if (s == NULL || len < INET6_ADDRSTRLEN)
		return CL_ERR_PARSE;
	if (inet_pton(AF_INET, s, a) == 1)
		return inet_ntop(AF_INET, a, out, (socklen_t)len) ? CL_OK : CL_ERR_PARSE;
	if (inet_pton(AF_INET6, s, a) == 1)
		return inet_ntop(AF_INET6, a, out, (socklen_t)len) ? CL_OK : CL_ERR_PARSE;
	return CL_ERR_PARSE;
}

/* --------------------------------------------------------------- objects --- */

static json_t *load(const char *body, size_t len)
{
	json_error_t e;
	json_t *j;

	if (body == NULL || len == 0 ||
	    (j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e)) == NULL)
		return NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A URL the client may use: https, printable ASCII, bounded. */
static bool url_ok(const char *u)
{
	size_t i;

	if (u == NULL || strncasecmp(u, "https://", 8) != 0 || strlen(u) > 2048 || u[8] == '\0')
		return false;
	for (i = 0; u[i]; i++) {
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return false;
	}
	return true;
}

/* Copies the https URL member k of o into *dst (NULL when absent).
 * Returns CL_OK, CL_ERR_PARSE (present and not a usable URL) or NOMEM. */
static int take_url(json_t *o, const char *k, char **dst, bool required)
{
	json_t *v = json_object_get(o, k);

	*dst = NULL;
	if (v == NULL || json_is_null(v))
		return required ? CL_ERR_PARSE : CL_OK;
	if (!url_ok(json_string_value(v)))
		return CL_ERR_PARSE;
	return (*dst = strdup(json_string_value(v))) ? CL_OK : CL_ERR_NOMEM;
}

void cl_acme_dir_clear(struct cl_acme_dir *d)
{
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->renewal_info);
	free(d->tos);
	memset(d, 0, sizeof *d);
}

int cl_acme_dir_parse(const char *body, size_t len, struct cl_acme_dir *d)
{
	json_t *j = load(body, len), *meta, *tos;
	int rc = CL_ERR_PARSE;

	memset(d, 0, sizeof *d);
	if (j == NULL)
		return CL_ERR_PARSE;
	if ((rc = take_url(j, "newNonce", &d->new_nonce, true)) != CL_OK ||
	    (rc = take_url(j, "newAccount", &d->new_account, true)) != CL_OK ||
	    (rc = take_url(j, "newOrder", &d->new_order, true)) != CL_OK ||
	    (rc = take_url(j, "revokeCert", &d->revoke_cert, false)) != CL_OK ||
	    (rc = take_url(j, "keyChange", &d->key_change, false)) != CL_OK ||
	    (rc = take_url(j, "renewalInfo", &d->renewal_info, false)) != CL_OK)
		goto out;
	meta = json_object_get(j, "meta");
	d->eab_required = json_is_true(json_object_get(meta, "externalAccountRequired"));
	tos = json_object_get(meta, "termsOfService");
	if (json_is_string(tos) &&
	    (d->tos = cl_acme_sanitize_dup(json_string_value(tos), 1024)) == NULL) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	rc = CL_OK;
out:
	if (rc != CL_OK)
		cl_acme_dir_clear(d);
	json_decref(j);
	return rc;
}

static int64_t jtime(json_t *o, const char *k)
{
	int64_t t = 0;
	const char *s = jstr(o, k);

	return s && cl_time_parse(s, &t) == CL_OK ? t : 0;
}

/* Fills id from {"type","value"}: dns names LDH (wildcard allowed), ip
 * addresses canonical; anything else is an error. */
static int take_ident(json_t *o, struct cl_acme_ident *id)
{
	const char *type = jstr(o, "type"), *value = jstr(o, "value");
	char ip[64];

	if (type == NULL || value == NULL)
		return CL_ERR_PARSE;
	if (strcmp(type, "dns") == 0) {
		if (!cl_acme_dns_name_ok(value, true, true))
			return CL_ERR_PARSE;
		id->type = CL_ACME_ID_DNS;
		return (id->value = strdup(value)) ? CL_OK : CL_ERR_NOMEM;
	}
	if (strcmp(type, "ip") == 0 && cl_acme_ip_norm(value, ip, sizeof ip) == CL_OK) {
		id->type = CL_ACME_ID_IP;
		return (id->value = strdup(ip)) ? CL_OK : CL_ERR_NOMEM;
	}
	return CL_ERR_PARSE;
}

void cl_acme_order_free(struct cl_acme_order *o)
{
	size_t i;

	if (o == NULL)
		return;
	free(o->url);
	for (i = 0; i < o->nids; i++)
		free((char *)o->ids[i].value);
	free(o->ids);
	cl_acme_strv_free(o->authz, o->nauthz);
	free(o->finalize);
	free(o->certificate);
	cl_acme_problem_free(o->error);
	free(o);
}

int cl_acme_order_parse(const char *body, size_t len, const char *url, struct cl_acme_order **out)
{
	struct cl_acme_order *o = NULL;
	json_t *j = load(body, len), *ids, *az, *v;
	int rc = CL_ERR_PARSE;
	size_t i;

	*out = NULL;
	if (j == NULL)
		return CL_ERR_PARSE;
	if ((o = calloc(1, sizeof *o)) == NULL || (url && (o->url = strdup(url)) == NULL)) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	o->status = cl_acme_status_parse(jstr(j, "status"));
	o->expires = jtime(j, "expires");
	ids = json_object_get(j, "identifiers");
	az = json_object_get(j, "authorizations");
	if (o->status == CL_ACME_ST_UNKNOWN || !json_is_array(ids) || !json_is_array(az) ||
	    json_array_size(ids) > CL_ACME_MAX_IDS || json_array_size(az) > CL_ACME_MAX_IDS)
		goto out;
	if (json_array_size(ids) &&
	    (o->ids = calloc(json_array_size(ids), sizeof *o->ids)) == NULL) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(ids, i, v) {
		if ((rc = take_ident(v, &o->ids[o->nids])) != CL_OK)
			goto out;
		o->nids++;
	}
	rc = CL_ERR_PARSE;
	if (json_array_size(az) && (o->authz = calloc(json_array_size(az), sizeof *o->authz)) == NULL) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(az, i, v) {
		if (!url_ok(json_string_value(v)))
			goto out;
		if ((o->authz[o->nauthz] = strdup(json_string_value(v))) == NULL) {
			rc = CL_ERR_NOMEM;
			goto out;
		}
		o->nauthz++;
	}
	if ((rc = take_url(j, "finalize", &o->finalize, true)) != CL_OK ||
	    (rc = take_url(j, "certificate", &o->certificate, false)) != CL_OK)
		goto out;
	if (json_is_object(json_object_get(j, "error")) &&
	    (o->error = cl_acme_problem_from_json(json_object_get(j, "error"), 0)) == NULL &&
	    (json_is_string(json_object_get(json_object_get(j, "error"), "type")) ||
	     json_is_string(json_object_get(json_object_get(j, "error"), "detail")))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	*out = o;
	o = NULL;
	rc = CL_OK;
out:
	cl_acme_order_free(o);
	json_decref(j);
	return rc;
}

void cl_acme_authz_free(struct cl_acme_authz *z)
{
	size_t i;

	if (z == NULL)
		return;
	free(z->url);
	free((char *)z->id.value);
	for (i = 0; i < z->nch; i++) {
		free(z->ch[i].url);
		free(z->ch[i].token);
		cl_acme_problem_free(z->ch[i].error);
	}
	free(z->ch);
	free(z);
}

int cl_acme_authz_parse(const char *body, size_t len, const char *url, struct cl_acme_authz **out)
{
	struct cl_acme_authz *z = NULL;
	json_t *j = load(body, len), *chs, *c;
	int rc = CL_ERR_PARSE;
	size_t i;

	*out = NULL;
	if (j == NULL)
		return CL_ERR_PARSE;
	if ((z = calloc(1, sizeof *z)) == NULL || (url && (z->url = strdup(url)) == NULL)) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	z->status = cl_acme_status_parse(jstr(j, "status"));
	z->expires = jtime(j, "expires");
	z->wildcard = json_is_true(json_object_get(j, "wildcard"));
	chs = json_object_get(j, "challenges");
	if (z->status == CL_ACME_ST_UNKNOWN || !json_is_array(chs) ||
	    (rc = take_ident(json_object_get(j, "identifier"), &z->id)) != CL_OK)
		goto out;
	rc = CL_ERR_PARSE;
	if (z->id.type == CL_ACME_ID_DNS && z->id.value[0] == '*')   /* RFC 8555 7.1.4 */
		goto out;
	if (json_array_size(chs) &&
	    (z->ch = calloc(json_array_size(chs) < CL_ACME_MAX_CHALLS ? json_array_size(chs)
	                                                              : CL_ACME_MAX_CHALLS,
	                    sizeof *z->ch)) == NULL) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(chs, i, c) {
		struct cl_acme_challenge *ch;
		const char *tok;

		if (z->nch == CL_ACME_MAX_CHALLS)
			break;
		if (!json_is_object(c) || !url_ok(jstr(c, "url")))
			continue;   /* one we could not use anyway */
		ch = &z->ch[z->nch++];
		ch->type = cl_acme_chall_parse(jstr(c, "type"));
		ch->status = cl_acme_status_parse(jstr(c, "status"));
		tok = jstr(c, "token");
		if ((ch->url = strdup(jstr(c, "url"))) == NULL ||
		    (cl_acme_is_b64url(tok, 256) && (ch->token = strdup(tok)) == NULL)) {
			rc = CL_ERR_NOMEM;
			goto out;
		}
		if (json_is_object(json_object_get(c, "error")))
			ch->error = cl_acme_problem_from_json(json_object_get(c, "error"), 0);
	}
	*out = z;
	z = NULL;
	rc = CL_OK;
out:
	cl_acme_authz_free(z);
	json_decref(j);
	return rc;
}

int cl_acme_ari_parse(const char *body, size_t len, struct cl_acme_renewal_info *out)
{
	json_t *j = load(body, len), *w;
	const char *s, *e, *x;
	int rc = CL_ERR_PARSE;

	memset(out, 0, sizeof *out);
	if (j == NULL)
		return CL_ERR_PARSE;
	w = json_object_get(j, "suggestedWindow");
	s = jstr(w, "start");
	e = jstr(w, "end");
	if (s == NULL || e == NULL || cl_time_parse(s, &out->start) != CL_OK ||
	    cl_time_parse(e, &out->end) != CL_OK || out->end < out->start)
		goto out;
	x = jstr(j, "explanationURL");
	if (x && (out->explanation_url = cl_acme_sanitize_dup(x, 1024)) == NULL) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	rc = CL_OK;
out:
	if (rc != CL_OK)
		memset(out, 0, sizeof *out);
	json_decref(j);
	return rc;
}
