/* Streaming table, JSON and CSV output. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "core/util.h"
#include "report/report.h"

int cl_format_parse(const char *s, enum cl_format *out)
{
	if (strcmp(s, "table") == 0)
		*out = CL_FMT_TABLE;
	else if (strcmp(s, "json") == 0)
		*out = CL_FMT_JSON;
	else if (strcmp(s, "csv") == 0)
		*out = CL_FMT_CSV;
	else
		return CL_ERR_USAGE;
	return CL_OK;
}

void cl_writer_init(struct cl_writer *w, FILE *out, enum cl_format fmt, int64_t now)
{
	memset(w, 0, sizeof *w);
	w->out = out;
	w->fmt = fmt;
	w->tty = isatty(fileno(out));
	w->now = now;
}

void cl_csv_field(FILE *out, const char *s, bool first)
{
	if (!first)
		fputc(',', out);
	if (!s)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* Comma separated list → JSON array (NULL → empty array). */
static json_t *csv_json(const char *s)
{
	json_t *a = json_array();
	const char *p = s, *c;

	while (p && *p) {
		c = strchr(p, ',');
		json_array_append_new(a, json_stringn(p, c ? (size_t)(c - p) : strlen(p)));
		p = c ? c + 1 : NULL;
	}
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/*
 * Builders for the hot path (ls of tens of thousands of rows): keys are
 * literals and values come from the model, which only holds valid UTF-8
 * (names and paths are escaped on the way in), so jansson's checks are
 * skipped.
 */
static void put(json_t *o, const char *k, json_t *v)
{
	json_object_set_new_nocheck(o, k, v ? v : json_null());
}

static json_t *str_nc(const char *s)
{
	return s ? json_stringn_nocheck(s, strlen(s)) : json_null();
}

static json_t *strv_nc(const struct cl_strv *v)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < v->n; i++)
		json_array_append_new(a, str_nc(v->v[i]));
	return a;
}

static json_t *time_nc(int64_t t)
{
	char buf[40];

	cl_time_fmt(buf, sizeof buf, t);
	return json_stringn_nocheck(buf, strlen(buf));
}

json_t *cl_report_cert_json(const struct cl_inv_row *row, int64_t now)
{
	const struct cl_cert *c = row->c;
	char fp[65], spki[65];
	json_t *o = json_object(), *locs = json_array();
	size_t i;

	if (!o || !locs) {
		json_decref(o);
		json_decref(locs);
		return NULL;
	}
	cl_hex(fp, c->fp, CL_SHA256_LEN);
	cl_hex(spki, c->spki_sha256, CL_SHA256_LEN);
	put(o, "fingerprint_sha256", json_stringn_nocheck(fp, 64));
	put(o, "serial", str_nc(c->serial));
	put(o, "subject", str_nc(c->subject));
	put(o, "subject_cn", str_nc(c->subject_cn));
	put(o, "issuer", str_nc(c->issuer));
	put(o, "issuer_cn", str_nc(c->issuer_cn));
	put(o, "sans", strv_nc(&c->sans));
	put(o, "not_before", time_nc(c->not_before));
	put(o, "not_after", time_nc(c->not_after));
	put(o, "days_left", json_integer(cl_cert_days_left(c, now)));
	put(o, "validity_days", json_integer(cl_cert_validity_days(c->not_before, c->not_after)));
	put(o, "key_type", str_nc(c->key_type));
	put(o, "key_oid", str_nc(c->key_oid));
	put(o, "key_bits", c->key_bits > 0 ? json_integer(c->key_bits) : json_null());
	put(o, "curve", str_nc(c->curve));
	put(o, "sig_alg", str_nc(c->sig_alg));
	put(o, "is_ca", json_boolean(c->is_ca));
	put(o, "path_len", c->path_len >= 0 ? json_integer(c->path_len) : json_null());
	put(o, "self_signed", json_boolean(c->self_signed));
	put(o, "key_usage", csv_json(c->key_usage));
	put(o, "eku", csv_json(c->eku));
	put(o, "ski", str_nc(c->ski));
	put(o, "aki", str_nc(c->aki));
	put(o, "ocsp_urls", strv_nc(&c->ocsp));
	put(o, "crl_urls", strv_nc(&c->crl));
	put(o, "ca_issuers_urls", strv_nc(&c->ca_issuers));
	put(o, "sct_count", json_integer(c->sct_count));
	put(o, "spki_sha256", json_stringn_nocheck(spki, 64));
	put(o, "version", json_integer(c->version));
	put(o, "owner", str_nc(row->owner));
	put(o, "environment", str_nc(row->environment));
	put(o, "tags", strv_nc(row->tags));
	put(o, "first_seen", time_nc(row->first_seen));
	for (i = 0; i < row->nlocs; i++) {
		const struct cl_loc_row *l = &row->locs[i];
		json_t *lo = json_object();
		if (!lo)
			break;
		put(lo, "kind", str_nc(l->kind));
		put(lo, "where", str_nc(l->where));
		put(lo, "state", str_nc(l->state));
		put(lo, "first_seen", time_nc(l->first_seen));
		put(lo, "last_seen", time_nc(l->last_seen));
		put(lo, "detail", str_nc(l->detail));
		json_array_append_new(locs, lo);
	}
	put(o, "locations", locs);
	return o;
}

/* ---- certificates ---------------------------------------------------------- */

static const char *const cert_csv_cols[] = {
	"fingerprint_sha256", "serial", "subject", "issuer", "sans", "not_before", "not_after",
	"days_left", "validity_days", "key_type", "key_bits", "curve", "sig_alg", "is_ca",
	"self_signed", "spki_sha256", "owner", "environment", "tags", "kind", "where", "state",
	"first_seen", "last_seen",
};

static void begin(struct cl_writer *w, const char *const *cols, size_t ncols, const char *head);

void cl_report_certs_begin(struct cl_writer *w)
{
	char head[160];

	snprintf(head, sizeof head, "%-12s  %-10s  %5s  %-32s  %-24s  %-12s  %s\n", "FINGERPRINT",
	         "NOT AFTER", "DAYS", "SUBJECT", "ISSUER", "KEY", "LOCATION");
	begin(w, cert_csv_cols, CL_ARRAY_LEN(cert_csv_cols), head);
}

static void join_strv(char *out, size_t len, const struct cl_strv *v, const char *sep)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < v->n && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s", i ? sep : "", v->v[i]);
}

/* Copies s into out, cut to width display characters (UTF-8 aware) when cut. */
static const char *fit(char *out, size_t len, const char *s, size_t width, bool cut)
{
	size_t i = 0, chars = 0;

	if (!cut || !s) {
		snprintf(out, len, "%s", s ? s : "");
		return out;
	}
	while (s[i] && i + 4 < len) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (chars == width)
				break;
			chars++;
		}
		out[i] = s[i];
		i++;
	}
	out[i] = '\0';
	if (s[i] && i >= 3 && width > 1) {
		/* mark the cut with a trailing '~' on a character boundary */
		while (i > 0 && ((unsigned char)out[i - 1] & 0xc0) == 0x80)
			i--;
		if (i > 0)
			out[i - 1] = '~';
		out[i] = '\0';
	}
	return out;
}

int cl_report_cert(void *arg, const struct cl_inv_row *row)
{
	struct cl_writer *w = arg;
	const struct cl_cert *c = row->c;
	char fp[65], spki[65], nb[40], na[40], num[32], bits[16], sans[4096], tags[1024];
	char sub[512], iss[512], key[64], loc[4200];
	size_t i, nlocs;

	cl_hex(fp, c->fp, CL_SHA256_LEN);
	switch (w->fmt) {
	case CL_FMT_JSON: {
		json_t *o = cl_report_cert_json(row, w->now);
		size_t n;
		if (!o)
			return CL_ERR_NOMEM;
		/* one buffer for all rows and one fwrite per row: jansson's
		 * FILE output writes token by token */
		while ((n = json_dumpb(o, w->buf, w->bufcap, JSON_COMPACT)) > w->bufcap) {
			char *grown = realloc(w->buf, n * 2);
			if (!grown) {
				json_decref(o);
				return CL_ERR_NOMEM;
			}
			w->buf = grown;
			w->bufcap = n * 2;
		}
		json_decref(o);
		if (n == 0)
			return CL_ERR;
		fputs(w->rows ? ",\n" : "\n", w->out);
		fwrite(w->buf, 1, n, w->out);
		break;
	}
	case CL_FMT_CSV:
		cl_hex(spki, c->spki_sha256, CL_SHA256_LEN);
		join_strv(sans, sizeof sans, &c->sans, ";");
		join_strv(tags, sizeof tags, row->tags, ";");
		cl_time_fmt(nb, sizeof nb, c->not_before);
		cl_time_fmt(na, sizeof na, c->not_after);
		snprintf(bits, sizeof bits, "%d", c->key_bits);
		nlocs = row->nlocs ? row->nlocs : 1;
		for (i = 0; i < nlocs; i++) {
			const struct cl_loc_row *l = row->nlocs ? &row->locs[i] : NULL;
			char fs[40] = "", ls[40] = "";
			cl_csv_field(w->out, fp, true);
			cl_csv_field(w->out, c->serial, false);
			cl_csv_field(w->out, c->subject, false);
			cl_csv_field(w->out, c->issuer, false);
			cl_csv_field(w->out, sans, false);
			cl_csv_field(w->out, nb, false);
			cl_csv_field(w->out, na, false);
			snprintf(num, sizeof num, "%lld", (long long)cl_cert_days_left(c, w->now));
			cl_csv_field(w->out, num, false);
			snprintf(num, sizeof num, "%lld",
			         (long long)cl_cert_validity_days(c->not_before, c->not_after));
			cl_csv_field(w->out, num, false);
			cl_csv_field(w->out, c->key_type, false);
			cl_csv_field(w->out, c->key_bits > 0 ? bits : "", false);
			cl_csv_field(w->out, c->curve, false);
			cl_csv_field(w->out, c->sig_alg, false);
			cl_csv_field(w->out, c->is_ca ? "true" : "false", false);
			cl_csv_field(w->out, c->self_signed ? "true" : "false", false);
			cl_csv_field(w->out, spki, false);
			cl_csv_field(w->out, row->owner, false);
			cl_csv_field(w->out, row->environment, false);
			cl_csv_field(w->out, tags, false);
			if (l) {
				cl_time_fmt(fs, sizeof fs, l->first_seen);
				cl_time_fmt(ls, sizeof ls, l->last_seen);
			}
			cl_csv_field(w->out, l ? l->kind : NULL, false);
			cl_csv_field(w->out, l ? l->where : NULL, false);
			cl_csv_field(w->out, l ? l->state : NULL, false);
			cl_csv_field(w->out, l ? fs : NULL, false);
			cl_csv_field(w->out, l ? ls : NULL, false);
			fputs("\r\n", w->out);
		}
		break;
	case CL_FMT_TABLE:
		cl_time_fmt(na, sizeof na, c->not_after);
		na[10] = '\0';
		if (c->curve)
			snprintf(key, sizeof key, "%s %s", c->key_type, c->curve);
		else if (c->key_bits > 0 && (!strcmp(c->key_type, "RSA") || !strcmp(c->key_type, "DSA")))
			snprintf(key, sizeof key, "%s %d", c->key_type, c->key_bits);
		else
			snprintf(key, sizeof key, "%s", c->key_type);
		if (row->nlocs == 0)
			snprintf(loc, sizeof loc, "-");
		else if (row->nlocs == 1)
			snprintf(loc, sizeof loc, "%s:%s%s", row->locs[0].kind, row->locs[0].where,
			         strcmp(row->locs[0].state, "gone") == 0 ? " (gone)" : "");
		else
			snprintf(loc, sizeof loc, "%s:%s (+%zu more)", row->locs[0].kind,
			         row->locs[0].where, row->nlocs - 1);
		fprintf(w->out, "%.12s  %-10s  %5lld  %-32s  %-24s  %-12s  %s\n", fp, na,
		        (long long)cl_cert_days_left(c, w->now),
		        fit(sub, sizeof sub, *c->subject_cn ? c->subject_cn : c->subject, 32, w->tty),
		        fit(iss, sizeof iss, *c->issuer_cn ? c->issuer_cn : c->issuer, 24, w->tty),
		        key, loc);
		break;
	}
	w->rows++;
	return CL_OK;
}

int cl_report_cert_encoded(void *arg, const char *json, size_t len)
{
	struct cl_writer *w = arg;

	fputs(w->rows ? ",\n" : "\n", w->out);
	fwrite(json, 1, len, w->out);
	w->rows++;
	return CL_OK;
}

void cl_report_certs_end(struct cl_writer *w)
{
	if (w->fmt == CL_FMT_JSON)
		fputs(w->rows ? "\n]\n" : "]\n", w->out);
	fflush(w->out);
	free(w->buf);
	w->buf = NULL;
	w->bufcap = 0;
}

/* Writes o (consumed) as the next element of a JSON array. */
static int put_json(struct cl_writer *w, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!s)
		return CL_ERR_NOMEM;
	fputs(w->rows ? ",\n" : "\n", w->out);
	fputs(s, w->out);
	free(s);
	return CL_OK;
}

/* Opens a listing: "[" for JSON, the header row for CSV, head for a table. */
static void begin(struct cl_writer *w, const char *const *cols, size_t ncols, const char *head)
{
	size_t i;

	if (w->fmt == CL_FMT_JSON) {
		fputs("[", w->out);
	} else if (w->fmt == CL_FMT_CSV) {
		for (i = 0; i < ncols; i++)
			cl_csv_field(w->out, cols[i], i == 0);
		fputs("\r\n", w->out);
	} else {
		fputs(head, w->out);
	}
}

/* ---- events ---------------------------------------------------------------- */

void cl_report_events_begin(struct cl_writer *w)
{
	static const char *const cols[] = { "id", "timestamp", "event_type", "fingerprint_sha256",
	                                    "location", "actor", "detail" };
	char head[100];

	snprintf(head, sizeof head, "%-20s  %-16s  %-12s  %s\n", "TIME", "EVENT", "FINGERPRINT",
	         "LOCATION / DETAIL");
	begin(w, cols, CL_ARRAY_LEN(cols), head);
}

int cl_report_event(void *arg, const struct cl_event_row *e)
{
	struct cl_writer *w = arg;
	char ts[40], id[32];
	json_t *o, *detail = NULL;

	cl_time_fmt(ts, sizeof ts, e->ts);
	switch (w->fmt) {
	case CL_FMT_JSON:
		if (e->detail)
			detail = json_loads(e->detail, 0, NULL);
		o = json_pack("{s:I,s:s,s:s,s:o,s:o,s:o,s:o}", "id", (json_int_t)e->id,
		              "timestamp", ts, "event_type", e->type,
		              "fingerprint_sha256", str_or_null(e->fp),
		              "location", str_or_null(e->location), "actor", str_or_null(e->actor),
		              "detail", detail ? detail : json_object());
		if (put_json(w, o) != CL_OK)
			return CL_ERR_NOMEM;
		break;
	case CL_FMT_CSV:
		snprintf(id, sizeof id, "%lld", (long long)e->id);
		cl_csv_field(w->out, id, true);
		cl_csv_field(w->out, ts, false);
		cl_csv_field(w->out, e->type, false);
		cl_csv_field(w->out, e->fp, false);
		cl_csv_field(w->out, e->location, false);
		cl_csv_field(w->out, e->actor, false);
		cl_csv_field(w->out, e->detail, false);
		fputs("\r\n", w->out);
		break;
	case CL_FMT_TABLE:
		fprintf(w->out, "%-20s  %-16s  %-12.12s  %s%s%s\n", ts, e->type, e->fp ? e->fp : "-",
		        e->location ? e->location : "", e->location && e->detail ? " " : "",
		        e->detail ? e->detail : "");
		break;
	}
	w->rows++;
	return CL_OK;
}

void cl_report_events_end(struct cl_writer *w)
{
	cl_report_certs_end(w);
}

/* ---- findings ---------------------------------------------------------------- */

void cl_report_findings_begin(struct cl_writer *w)
{
	static const char *const cols[] = { "id", "severity", "rule", "target",
	                                    "fingerprint_sha256", "message", "first_seen",
	                                    "last_seen", "resolved_at" };
	char head[100];

	snprintf(head, sizeof head, "%-8s  %-20s  %-10s  %s\n", "SEVERITY", "RULE", "SINCE",
	         "TARGET: MESSAGE");
	begin(w, cols, CL_ARRAY_LEN(cols), head);
}

int cl_report_finding(void *arg, const struct cl_finding_row *f)
{
	struct cl_writer *w = arg;
	char fs[40], ls[40], rs[40], id[32];
	json_t *o;

	cl_time_fmt(fs, sizeof fs, f->first_seen);
	cl_time_fmt(ls, sizeof ls, f->last_seen);
	if (f->resolved_at)
		cl_time_fmt(rs, sizeof rs, f->resolved_at);
	switch (w->fmt) {
	case CL_FMT_JSON:
		o = json_pack("{s:I,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:o}", "id", (json_int_t)f->id,
		              "severity", f->severity, "rule", f->rule, "target", f->target,
		              "fingerprint_sha256", str_or_null(f->fp), "message", f->message,
		              "first_seen", fs, "last_seen", ls,
		              "resolved_at", f->resolved_at ? json_string(rs) : json_null());
		if (put_json(w, o) != CL_OK)
			return CL_ERR_NOMEM;
		break;
	case CL_FMT_CSV:
		snprintf(id, sizeof id, "%lld", (long long)f->id);
		cl_csv_field(w->out, id, true);
		cl_csv_field(w->out, f->severity, false);
		cl_csv_field(w->out, f->rule, false);
		cl_csv_field(w->out, f->target, false);
		cl_csv_field(w->out, f->fp, false);
		cl_csv_field(w->out, f->message, false);
		cl_csv_field(w->out, fs, false);
		cl_csv_field(w->out, ls, false);
		cl_csv_field(w->out, f->resolved_at ? rs : NULL, false);
		fputs("\r\n", w->out);
		break;
	case CL_FMT_TABLE:
		fs[10] = '\0';
		fprintf(w->out, "%-8s  %-20s  %-10s  %s: %s%s%s%s\n", f->severity, f->rule, fs,
		        f->target, f->message, f->resolved_at ? " (resolved " : "",
		        f->resolved_at ? rs : "", f->resolved_at ? ")" : "");
		break;
	}
	w->rows++;
	return CL_OK;
}

void cl_report_findings_end(struct cl_writer *w)
{
	cl_report_certs_end(w);
}

/* ---- alerts ------------------------------------------------------------------ */

void cl_report_alerts_begin(struct cl_writer *w)
{
	static const char *const cols[] = { "id", "state", "severity", "type", "level",
	                                    "summary", "fingerprint_sha256", "target", "key",
	                                    "fired_at", "updated_at", "resolved_at",
	                                    "deliveries" };
	char head[120];

	snprintf(head, sizeof head, "%-6s  %-8s  %-8s  %-21s  %-16s  %s\n", "ID", "STATE",
	         "SEVERITY", "TYPE", "UPDATED", "SUMMARY [DELIVERIES]");
	begin(w, cols, CL_ARRAY_LEN(cols), head);
}

int cl_report_alert(void *arg, const struct cl_alert_row *a)
{
	struct cl_writer *w = arg;
	char fs[40], us[40], rs[40], id[32];
	json_t *o;

	cl_time_fmt(fs, sizeof fs, a->fired_at);
	cl_time_fmt(us, sizeof us, a->updated_at);
	if (a->resolved_at)
		cl_time_fmt(rs, sizeof rs, a->resolved_at);
	switch (w->fmt) {
	case CL_FMT_JSON:
		o = json_pack("{s:I,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:s,s:s,s:s,s:o,s:o}",
		              "id", (json_int_t)a->id, "state", a->state, "severity", a->severity,
		              "type", a->type, "level", str_or_null(a->level), "summary", a->summary,
		              "fingerprint_sha256", str_or_null(a->fp), "target", str_or_null(a->target),
		              "key", a->key, "fired_at", fs, "updated_at", us,
		              "resolved_at", a->resolved_at ? json_string(rs) : json_null(),
		              "deliveries", str_or_null(a->deliveries));
		if (put_json(w, o) != CL_OK)
			return CL_ERR_NOMEM;
		break;
	case CL_FMT_CSV:
		snprintf(id, sizeof id, "%lld", (long long)a->id);
		cl_csv_field(w->out, id, true);
		cl_csv_field(w->out, a->state, false);
		cl_csv_field(w->out, a->severity, false);
		cl_csv_field(w->out, a->type, false);
		cl_csv_field(w->out, a->level, false);
		cl_csv_field(w->out, a->summary, false);
		cl_csv_field(w->out, a->fp, false);
		cl_csv_field(w->out, a->target, false);
		cl_csv_field(w->out, a->key, false);
		cl_csv_field(w->out, fs, false);
		cl_csv_field(w->out, us, false);
		cl_csv_field(w->out, a->resolved_at ? rs : NULL, false);
		cl_csv_field(w->out, a->deliveries, false);
		fputs("\r\n", w->out);
		break;
	case CL_FMT_TABLE:
		us[16] = '\0';
		us[10] = ' ';
		fprintf(w->out, "%-6lld  %-8s  %-8s  %-21s  %-16s  %s%s%s%s\n", (long long)a->id,
		        a->state, a->severity, a->type, us, a->summary,
		        a->deliveries ? " [" : "", a->deliveries ? a->deliveries : "",
		        a->deliveries ? "]" : "");
		break;
	}
	w->rows++;
	return CL_OK;
}

void cl_report_alerts_end(struct cl_writer *w)
{
	cl_report_certs_end(w);
}

/* ---- endpoints ------------------------------------------------------------ */

static const char *const endpoint_cols[] = {
	"address", "port", "sni", "hostname", "status", "error", "starttls", "tls_version",
	"cipher", "group", "alpn", "ocsp_stapled", "leaf_fingerprint", "subject", "issuer",
	"not_after", "days_left", "verify", "verify_detail", "chain", "location", "first_seen",
	"last_seen", "unreachable_since",
};

void cl_report_endpoints_begin(struct cl_writer *w)
{
	char head[160];

	snprintf(head, sizeof head, "%-28s  %-9s  %-7s  %-12s  %-10s  %5s  %-17s  %s\n",
	         "ENDPOINT", "STATUS", "TLS", "FINGERPRINT", "NOT AFTER", "DAYS", "VERIFY",
	         "SUBJECT / ERROR");
	begin(w, endpoint_cols, CL_ARRAY_LEN(endpoint_cols), head);
}

static json_t *str_or_empty(const char *s)
{
	return json_string(s ? s : "");
}

int cl_report_endpoint(void *arg, const struct cl_endpoint_row *r)
{
	struct cl_writer *w = arg;
	char na[40] = "", fs[40], ls[40], us[40] = "", days[24] = "", port[16];
	bool tls = r->leaf_fp && *r->leaf_fp;
	int64_t dl = tls ? cl_floordiv(r->not_after - w->now, 86400) : 0;
	json_t *o, *chain;
	size_t i, n;

	if (tls) {
		cl_time_fmt(na, sizeof na, r->not_after);
		snprintf(days, sizeof days, "%lld", (long long)dl);
	}
	cl_time_fmt(fs, sizeof fs, r->first_seen);
	cl_time_fmt(ls, sizeof ls, r->last_seen);
	if (r->unreachable_since)
		cl_time_fmt(us, sizeof us, r->unreachable_since);
	snprintf(port, sizeof port, "%d", r->port);
	switch (w->fmt) {
	case CL_FMT_JSON:
		chain = json_array();
		for (const char *p = r->chain; p && *p; p += n) {
			p += strspn(p, " ");
			n = strcspn(p, " ");
			if (n)
				json_array_append_new(chain, json_stringn(p, n));
		}
		o = json_pack("{s:o,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
		              "s:o,s:o,s:o,s:o,s:o,s:s,s:s,s:o}",
		              "address", str_or_empty(r->address), "port", r->port,
		              "sni", str_or_empty(r->sni), "hostname", str_or_empty(r->hostname),
		              "status", str_or_empty(r->status), "error", str_or_empty(r->error),
		              "starttls", str_or_empty(r->starttls),
		              "tls_version", str_or_empty(r->tls_version),
		              "cipher", str_or_empty(r->cipher), "group", str_or_empty(r->group),
		              "alpn", str_or_empty(r->alpn),
		              "ocsp_stapled", r->ocsp_stapled < 0 ? json_null()
		                              : json_boolean(r->ocsp_stapled),
		              "leaf_fingerprint", str_or_empty(r->leaf_fp),
		              "subject", str_or_empty(r->subject), "issuer", str_or_empty(r->issuer),
		              "not_after", tls ? json_string(na) : json_string(""),
		              "days_left", tls ? json_integer(dl) : json_null(),
		              "verify", str_or_empty(r->verify),
		              "verify_detail", str_or_empty(r->verify_detail), "chain", chain,
		              "location", str_or_empty(r->location), "first_seen", fs,
		              "last_seen", ls, "unreachable_since", str_or_empty(us));
		if (put_json(w, o) != CL_OK)
			return CL_ERR_NOMEM;
		break;
	case CL_FMT_CSV: {
		const char *f[] = {
			r->address, port, r->sni, r->hostname, r->status, r->error, r->starttls,
			r->tls_version, r->cipher, r->group, r->alpn,
			r->ocsp_stapled < 0 ? "" : r->ocsp_stapled ? "true" : "false", r->leaf_fp,
			r->subject, r->issuer, na, days, r->verify, r->verify_detail, r->chain,
			r->location, fs, ls, us,
		};
		for (i = 0; i < CL_ARRAY_LEN(f); i++)
			cl_csv_field(w->out, f[i] ? f[i] : "", i == 0);
		fputs("\r\n", w->out);
		break;
	}
	case CL_FMT_TABLE: {
		char ep[300], sub[100];
		snprintf(ep, sizeof ep, "%s", r->location ? r->location + 4 : "");
		if (strcmp(r->status, "ok") != 0)
			snprintf(sub, sizeof sub, "%s%s%s", r->error ? r->error : "",
			         tls && r->subject ? " | last: " : "", tls && r->subject ? r->subject : "");
		else
			snprintf(sub, sizeof sub, "%s", r->subject ? r->subject : "");
		fprintf(w->out, "%-28s  %-9s  %-7s  %-12.12s  %-10.10s  %5s  %-17s  %s\n", ep,
		        r->status, r->tls_version ? r->tls_version : "-", tls ? r->leaf_fp : "-",
		        tls ? na : "-", tls ? days : "-", r->verify ? r->verify : "-", sub);
		break;
	}
	}
	w->rows++;
	return CL_OK;
}

void cl_report_endpoints_end(struct cl_writer *w)
{
	cl_report_certs_end(w);
}
