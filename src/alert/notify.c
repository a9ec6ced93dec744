/*
 * Notifiers: dispatch, the payload builders of the HTTP types (pure: the
 * unit tests check them field by field), the webhook signature, shared
 * text helpers and the JSON lines file.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <curl/curl.h>
#include "alert/notify_int.h"
#include "core/util.h"

/* Names for error messages (the config's spelling). */
static const char *const type_names[CL_NT_COUNT] = {
	[CL_NT_WEBHOOK] = "webhook", [CL_NT_SLACK] = "slack", [CL_NT_TEAMS] = "teams",
	[CL_NT_PAGERDUTY] = "pagerduty", [CL_NT_ALERTMANAGER] = "alertmanager",
	[CL_NT_SERVICENOW] = "servicenow", [CL_NT_JIRA] = "jira", [CL_NT_EMAIL] = "email",
	[CL_NT_SYSLOG] = "syslog", [CL_NT_JSONL] = "jsonl",
};

/* Caps on what one message may put into a payload. */
#define MAX_FIELD 2000          /* Slack allows 2000 per field, 3000 per text */
#define MAX_LOCATIONS_CHAT 5    /* locations listed in a chat message */
#define JSONL_MAX (64u << 20)   /* one batch of JSON lines */

/* ---- shared helpers ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cl_notify_curl_init(void)
{
	pthread_once(&curl_once, curl_init);
	return curl_init_rc == CURLE_OK ? CL_OK : CL_ERR;
}

int cl_notify_timeout_ms(const struct cl_notifier *nt)
{
	return nt->timeout_ms > 0 ? nt->timeout_ms : CL_NOTIFY_DEFAULT_TIMEOUT_MS;
}

bool cl_notify_is_resolved(const struct cl_alert_msg *m)
{
	return m->action && strcmp(m->action, "resolved") == 0;
}

bool cl_notify_skip(const struct cl_notifier *nt, const struct cl_alert_msg *m)
{
	return !nt->send_resolved && cl_notify_is_resolved(m);
}

void cl_notify_err(char *err, size_t errlen, const struct cl_notifier *nt, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (err == NULL || errlen == 0)
		return;
	k = snprintf(err, errlen, "%s %s: ",
	             (unsigned)nt->type < CL_NT_COUNT ? type_names[nt->type] : "notifier",
	             nt->name ? nt->name : "-");
	if (k < 0 || (size_t)k >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
	va_end(ap);
}

char *cl_notify_sanitize(char *out, const void *p, size_t n, size_t max)
{
	const unsigned char *s = p;
	size_t i, o = 0;

	for (i = 0; i < n && o < max; i++) {
		unsigned char c = s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
		} else {
			out[o++] = c > 0x20 && c < 0x7f ? (char)c : '?';
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

int cl_notify_sev_rank(const char *sev)
{
	static const char *const names[] = { "critical", "error", "warning", "info" };
	int i;

	for (i = 0; sev && i < 4; i++) {
		if (strcmp(sev, names[i]) == 0)
			return i;
	}
	return 4;
}

const char *cl_notify_event_title(const char *t)
{
	static const struct {
		const char *type, *title;
	} titles[] = {
		{ CL_AT_EXPIRING, "Certificate expiring" },
		{ CL_AT_EXPIRED, "Certificate expired" },
		{ CL_AT_RENEWAL_OVERDUE, "Certificate renewal overdue" },
		{ CL_AT_CHANGED, "Endpoint certificate changed" },
		{ CL_AT_UNREACHABLE, "Endpoint unreachable" },
		{ CL_AT_NEW_CERT, "New certificate for a watched domain" },
		{ CL_AT_NEW_ISSUER, "New issuer for a watched domain" },
		{ CL_AT_FINDING, "Policy finding" },
		{ CL_AT_RENEWAL_FAILING, "Certificate renewal failing" },
		{ CL_AT_HOOK_FAILED, "Deploy hook failed" },
		{ CL_AT_TEST, "Test alert" },
	};
	size_t i;

	for (i = 0; t && i < CL_ARRAY_LEN(titles); i++) {
		if (strcmp(t, titles[i].type) == 0)
			return titles[i].title;
	}
	return "Certificate alert";
}

char *cl_notify_days_text(char *out, size_t len, const struct cl_alert_msg *m)
{
	long d = m->days_left;

	if (m->expiration_date == 0)
		snprintf(out, len, "%s", "");
	else if (d >= 0)
		snprintf(out, len, "%ld day%s left", d, d == 1 ? "" : "s");
	else
		snprintf(out, len, "expired %ld day%s ago", -d, d == -1 ? "" : "s");
	return out;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t l = p[0] < 0x80 ? 1 : p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;

	if (l > n || !cl_utf8_valid((const char *)p, l))
		return 0;
	return l;
}

int cl_notify_put_text(struct cl_buf *b, const char *s, size_t max, bool keep_nl)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, l, used = 0;
	int rc = CL_OK;

	while (i < n && rc == CL_OK) {
		l = utf8_len(p + i, n - i);
		if (used + (l ? l : 1) > max) {
			rc = cl_buf_addstr(b, "...");
			break;
		}
		if (l == 0) {
			rc = cl_buf_addc(b, '?');
			l = 1;
		} else if ((p[i] < 0x20 && !(keep_nl && p[i] == '\n')) || p[i] == 0x7f) {
			rc = cl_buf_addc(b, ' ');
		} else {
			rc = cl_buf_add(b, p + i, l);
		}
		i += l;
		used += l;
	}
	return rc;
}

/* The tags joined by ", ", the list cut ("...") past 2000 bytes. New
 * string or NULL. */
static char *tags_text(const struct cl_alert_msg *m)
{
	struct cl_buf b;
	size_t i;
	int rc = CL_OK;

	cl_buf_init(&b, 4096);
	for (i = 0; i < m->ntags && rc == CL_OK; i++) {
		if (b.len + strlen(m->tags[i]) > 2000) {
			rc = cl_buf_addstr(&b, i ? ", ..." : "...");
			break;
		}
		rc = cl_buf_printf(&b, "%s%s", i ? ", " : "", m->tags[i]);
	}
	return rc == CL_OK ? cl_buf_take(&b) : NULL;
}

/* "Label:" padded to a column, then the value. */
static int detail_line(struct cl_buf *b, const char *indent, const char *eol, const char *label,
                       const char *value)
{
	int rc;

	if (value == NULL || value[0] == '\0')
		return CL_OK;
	if ((rc = cl_buf_printf(b, "%s%-13s ", indent, label)) != CL_OK ||
	    (rc = cl_notify_put_text(b, value, 900, false)) != CL_OK)
		return rc;
	return cl_buf_addstr(b, eol);
}

int cl_notify_text_details(struct cl_buf *b, const struct cl_alert_msg *m, const char *indent,
                           const char *eol)
{
	char t[40], days[64], exp[128], ev[128];
	size_t i, shown;
	int rc;

	snprintf(ev, sizeof ev, "%s (%s)", m->event_type ? m->event_type : "-",
	         m->action ? m->action : "-");
	if ((rc = detail_line(b, indent, eol, "Event:", ev)) != CL_OK ||
	    (rc = detail_line(b, indent, eol, "Severity:", m->severity)) != CL_OK ||
	    (rc = detail_line(b, indent, eol, "Subject:", m->certificate_subject ?
	                      m->certificate_subject : m->subject_cn)) != CL_OK ||
	    (rc = detail_line(b, indent, eol, "Issuer:", m->issuer ? m->issuer : m->issuer_cn)) !=
	        CL_OK ||
	    (rc = detail_line(b, indent, eol, "Serial:", m->certificate_serial)) != CL_OK ||
	    (rc = detail_line(b, indent, eol, "Fingerprint:", m->fingerprint_sha256)) != CL_OK)
		return rc;
	if (m->not_before &&
	    (rc = detail_line(b, indent, eol, "Not before:",
	                      cl_time_fmt(t, sizeof t, m->not_before))) != CL_OK)
		return rc;
	if (m->expiration_date) {
		snprintf(exp, sizeof exp, "%s (%s)", cl_time_fmt(t, sizeof t, m->expiration_date),
		         cl_notify_days_text(days, sizeof days, m));
		if ((rc = detail_line(b, indent, eol, "Expires:", exp)) != CL_OK)
			return rc;
	}
	shown = m->nlocations < 20 ? m->nlocations : 20;
	for (i = 0; i < shown; i++) {
		if ((rc = detail_line(b, indent, eol, i == 0 ? "Locations:" : "",
		                      m->locations[i])) != CL_OK)
			return rc;
	}
	if (shown < m->nlocations &&
	    (rc = cl_buf_printf(b, "%s%-13s (and %zu more)%s", indent, "", m->nlocations - shown,
	                        eol)) != CL_OK)
		return rc;
	if ((rc = detail_line(b, indent, eol, "Owner:", m->owner)) != CL_OK ||
	    (rc = detail_line(b, indent, eol, "Environment:", m->environment)) != CL_OK)
		return rc;
	if (m->ntags) {
		char *tags = tags_text(m);

		if (tags == NULL)
			return CL_ERR_NOMEM;
		rc = detail_line(b, indent, eol, "Tags:", tags);
		free(tags);
		if (rc != CL_OK)
			return rc;
	}
	if ((rc = detail_line(b, indent, eol, "Managed:", m->managed)) != CL_OK)
		return rc;
	if (m->failures) {
		char n[32];

		snprintf(n, sizeof n, "%d in a row", m->failures);
		if ((rc = detail_line(b, indent, eol, "Failures:", n)) != CL_OK)
			return rc;
	}
	if (m->next_attempt &&
	    (rc = detail_line(b, indent, eol, "Next attempt:",
	                      cl_time_fmt(t, sizeof t, m->next_attempt))) != CL_OK)
		return rc;
	if ((rc = detail_line(b, indent, eol, "Threshold:", m->threshold)) != CL_OK ||
	    (rc = detail_line(b, indent, eol, "Detail:", m->detail)) != CL_OK ||
	    (rc = detail_line(b, indent, eol, "Alert:", m->alert_key)) != CL_OK ||
	    (rc = detail_line(b, indent, eol, "Id:", m->id)) != CL_OK)
		return rc;
	if (m->timestamp &&
	    (rc = detail_line(b, indent, eol, "Time:", cl_time_fmt(t, sizeof t, m->timestamp))) !=
	        CL_OK)
		return rc;
	return detail_line(b, indent, eol, "Dashboard:", m->dashboard_url);
}

/* ---- JSON building ---- */

/* Collects allocation failures so that a builder checks once at its end. */
struct jb {
	int failed;
};

static json_t *jb_chk(struct jb *b, json_t *v)
{
	if (v == NULL)
		b->failed = 1;
	return v;
}

/*
 * A JSON string of s cut at max bytes on a character boundary ("..."
 * marks the cut), with control characters as spaces and invalid UTF-8 as
 * '?'. NULL only on allocation failure (recorded in b).
 */
static json_t *jb_str(struct jb *b, const char *s, size_t max)
{
	struct cl_buf t;
	json_t *v;

	if (s == NULL)
		s = "";
	cl_buf_init(&t, max + 8);
	if (cl_notify_put_text(&t, s, max, true) != CL_OK) {
		b->failed = 1;
		return NULL;
	}
	v = json_stringn(t.data ? t.data : "", t.len);
	cl_buf_free(&t);
	return jb_chk(b, v);
}

static void jb_set(struct jb *b, json_t *o, const char *key, json_t *v)
{
	if (v == NULL || o == NULL || json_object_set_new(o, key, v) != 0) {
		if (o == NULL)
			json_decref(v);
		b->failed = 1;
	}
}

/* Sets key to s (cut at max) unless s is NULL or empty. */
static void jb_opt(struct jb *b, json_t *o, const char *key, const char *s, size_t max)
{
	if (s && s[0])
		jb_set(b, o, key, jb_str(b, s, max));
}

static void jb_append(struct jb *b, json_t *a, json_t *v)
{
	if (v == NULL || a == NULL || json_array_append_new(a, v) != 0) {
		if (a == NULL)
			json_decref(v);
		b->failed = 1;
	}
}

static json_t *jb_done(struct jb *b, json_t *root)
{
	if (b->failed || root == NULL) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ---- facts: the labelled values the chat formats show ---- */

#define MAX_FACTS 20

struct facts {
	const char *name[MAX_FACTS];
	char *value[MAX_FACTS];
	size_t n;
	int failed;
};

static void fact_add(struct facts *f, const char *name, const char *value)
{
	char *v;

	if (value == NULL || value[0] == '\0' || f->n == MAX_FACTS)
		return;
	if ((v = strdup(value)) == NULL) {
		f->failed = 1;
		return;
	}
	f->name[f->n] = name;
	f->value[f->n++] = v;
}

static void facts_free(struct facts *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->value[i]);
	f->n = 0;
}

static const char *facts_get(const struct facts *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	}
	return NULL;
}

/* The first few locations joined by sep, "(and N more)" after them. */
static char *locations_text(const struct cl_alert_msg *m, const char *pre, const char *sep,
                            size_t max)
{
	struct cl_buf b;
	size_t i, shown = m->nlocations < max ? m->nlocations : max;
	int rc = CL_OK;

	cl_buf_init(&b, 64 * 1024);
	for (i = 0; i < shown && rc == CL_OK; i++) {
		if (i && (rc = cl_buf_addstr(&b, sep)) != CL_OK)
			break;
		if ((rc = cl_buf_addstr(&b, pre)) == CL_OK)
			rc = cl_notify_put_text(&b, m->locations[i], 512, false);
	}
	if (rc == CL_OK && shown < m->nlocations)
		rc = cl_buf_printf(&b, "%s(and %zu more)", shown ? sep : "", m->nlocations - shown);
	if (rc != CL_OK)
		return NULL;
	return cl_buf_take(&b);
}

static void facts_of(struct facts *f, const struct cl_alert_msg *m, const char *loc_pre,
                     const char *loc_sep)
{
	char t[40], days[64], sev[64];
	char *locs;

	memset(f, 0, sizeof *f);
	snprintf(sev, sizeof sev, "%s%s", m->severity ? m->severity : "unknown",
	         cl_notify_is_resolved(m) ? " (resolved)" : "");
	fact_add(f, "Severity", sev);
	fact_add(f, "Subject", m->certificate_subject ? m->certificate_subject : m->subject_cn);
	fact_add(f, "Issuer", m->issuer ? m->issuer : m->issuer_cn);
	if (m->expiration_date) {
		fact_add(f, "Expires", cl_time_fmt(t, sizeof t, m->expiration_date));
		fact_add(f, "Days left", cl_notify_days_text(days, sizeof days, m));
	}
	fact_add(f, "Owner", m->owner);
	fact_add(f, "Environment", m->environment);
	fact_add(f, "Threshold", m->threshold);
	fact_add(f, "Managed", m->managed);
	if (m->failures) {
		char n[32];

		snprintf(n, sizeof n, "%d in a row", m->failures);
		fact_add(f, "Failures", n);
	}
	if (m->next_attempt)
		fact_add(f, "Next attempt", cl_time_fmt(t, sizeof t, m->next_attempt));
	fact_add(f, "Serial", m->certificate_serial);
	fact_add(f, "Fingerprint", m->fingerprint_sha256);
	if (m->nlocations) {
		if ((locs = locations_text(m, loc_pre, loc_sep, MAX_LOCATIONS_CHAT)) == NULL)
			f->failed = 1;
		fact_add(f, "Locations", locs);
		free(locs);
	}
	if (m->ntags) {
		if ((locs = tags_text(m)) == NULL)
			f->failed = 1;
		fact_add(f, "Tags", locs);
		free(locs);
	}
	fact_add(f, "Detail", m->detail);
	fact_add(f, "Alert", m->alert_key);
}

/* "CRITICAL: Certificate expiring" or "RESOLVED: Certificate expiring". */
static void headline(char *out, size_t len, const struct cl_alert_msg *m)
{
	char sev[16];
	size_t i;

	snprintf(sev, sizeof sev, "%s",
	         cl_notify_is_resolved(m) ? "resolved" : m->severity ? m->severity : "alert");
	for (i = 0; sev[i]; i++)
		sev[i] = (char)(sev[i] >= 'a' && sev[i] <= 'z' ? sev[i] - 'a' + 'A' : sev[i]);
	snprintf(out, len, "%s: %s", sev, cl_notify_event_title(m->event_type));
}

static const char *summary_of(const struct cl_alert_msg *m)
{
	return m->summary && m->summary[0] ? m->summary : cl_notify_event_title(m->event_type);
}

/* ---- Slack ---- */

/* Slack mrkdwn: &, < and > are control characters and must be escaped. */
static json_t *slack_text(struct jb *jb, const char *bold, const char *s, size_t max)
{
	struct cl_buf raw, b;
	json_t *v = NULL;
	size_t i;
	int rc;

	cl_buf_init(&raw, max + 8);
	cl_buf_init(&b, 6 * max + 256);
	if ((rc = cl_notify_put_text(&raw, s ? s : "", max, true)) != CL_OK)
		goto out;
	if (bold && (rc = cl_buf_printf(&b, "*%s*\n", bold)) != CL_OK)
		goto out;
	for (i = 0; i < raw.len && rc == CL_OK; i++) {
		switch (raw.data[i]) {
		case '&': rc = cl_buf_addstr(&b, "&amp;"); break;
		case '<': rc = cl_buf_addstr(&b, "&lt;"); break;
		case '>': rc = cl_buf_addstr(&b, "&gt;"); break;
		default: rc = cl_buf_addc(&b, raw.data[i]); break;
		}
	}
	if (rc == CL_OK)
		v = json_pack("{s:s, s:s%}", "type", "mrkdwn", "text", b.data ? b.data : "",
		              b.len);
out:
	cl_buf_free(&raw);
	cl_buf_free(&b);
	return jb_chk(jb, v);
}

static const char *slack_emoji(const struct cl_alert_msg *m)
{
	static const char *const e[] = { ":red_circle:", ":large_orange_circle:",
	                                 ":large_yellow_circle:", ":large_blue_circle:",
	                                 ":bell:" };

	if (cl_notify_is_resolved(m))
		return ":white_check_mark:";
	return e[cl_notify_sev_rank(m->severity)];
}

json_t *cl_notify_slack_payload(const struct cl_alert_msg *m)
{
	static const char *const field_names[] = { "Severity", "Subject", "Expires", "Days left",
	                                            "Owner", "Environment", "Threshold",
	                                            "Issuer", "Failures", "Next attempt" };
	struct jb jb = { 0 };
	struct facts f;
	json_t *root = json_object(), *blocks = json_array(), *fields = json_array(), *ctx;
	char head[160], fallback[2200], ctxt[512];
	const char *v;
	size_t i;

	facts_of(&f, m, "\xe2\x80\xa2 ", "\n");   /* "• " */
	if (f.failed)
		jb.failed = 1;
	headline(head, sizeof head, m);
	snprintf(fallback, sizeof fallback, "[%s] %.2000s", head, summary_of(m));
	jb_set(&jb, root, "text", jb_str(&jb, fallback, MAX_FIELD));
	/* header: plain text, up to 150 characters */
	jb_append(&jb, blocks,
	          jb_chk(&jb, json_pack("{s:s, s:{s:s, s:o, s:b}}", "type", "header", "text",
	                                "type", "plain_text", "text",
	                                jb_str(&jb, head, 140), "emoji", 1)));
	{
		char lead[2200];

		snprintf(lead, sizeof lead, "%s %.2000s", slack_emoji(m), summary_of(m));
		jb_append(&jb, blocks,
		          jb_chk(&jb, json_pack("{s:s, s:o}", "type", "section", "text",
		                                slack_text(&jb, NULL, lead, 2900))));
	}
	for (i = 0; i < CL_ARRAY_LEN(field_names); i++) {
		if ((v = facts_get(&f, field_names[i])) != NULL)
			jb_append(&jb, fields, slack_text(&jb, field_names[i], v, 1900));
	}
	if (json_array_size(fields) > 0) {
		jb_append(&jb, blocks, jb_chk(&jb, json_pack("{s:s, s:O}", "type", "section",
		                                             "fields", fields)));
	}
	if ((v = facts_get(&f, "Locations")) != NULL)
		jb_append(&jb, blocks, jb_chk(&jb, json_pack("{s:s, s:o}", "type", "section", "text",
		                                             slack_text(&jb, "Locations", v, 2900))));
	if ((v = facts_get(&f, "Detail")) != NULL)
		jb_append(&jb, blocks, jb_chk(&jb, json_pack("{s:s, s:o}", "type", "section", "text",
		                                             slack_text(&jb, "Detail", v, 2900))));
	snprintf(ctxt, sizeof ctxt, "certledger \xc2\xb7 %s \xc2\xb7 %.300s",
	         m->action ? m->action : "-", m->alert_key ? m->alert_key : "-");
	ctx = json_array();
	jb_append(&jb, ctx, slack_text(&jb, NULL, ctxt, 500));
	if (m->dashboard_url && m->dashboard_url[0]) {
		/* a link: <URL|text>, with the characters Slack reserves escaped */
		struct cl_buf u;
		int rc = CL_OK;

		cl_buf_init(&u, 4200);
		rc = cl_buf_addc(&u, '<');
		for (v = m->dashboard_url; *v && rc == CL_OK; v++) {
			switch (*v) {
			case '&': rc = cl_buf_addstr(&u, "&amp;"); break;
			case '<': rc = cl_buf_addstr(&u, "%3C"); break;
			case '>': rc = cl_buf_addstr(&u, "%3E"); break;
			case '|': rc = cl_buf_addstr(&u, "%7C"); break;
			default:
				rc = (unsigned char)*v > 0x20 && *v != 0x7f ? cl_buf_addc(&u, *v)
				                                             : CL_OK;
			}
		}
		if (rc == CL_OK)
			rc = cl_buf_addstr(&u, "|Open in certledger>");
		if (rc == CL_OK)
			jb_append(&jb, ctx, jb_chk(&jb, json_pack("{s:s, s:s}", "type", "mrkdwn",
			                                          "text", u.data)));
		else
			jb.failed = 1;
		cl_buf_free(&u);
	}
	jb_append(&jb, blocks, jb_chk(&jb, json_pack("{s:s, s:O}", "type", "context", "elements",
	                                             ctx)));
	json_decref(ctx);
	jb_set(&jb, root, "blocks", blocks);
	json_decref(fields);
	facts_free(&f);
	return jb_done(&jb, root);
}

/* ---- Microsoft Teams (MessageCard) ---- */

static const char *teams_color(const struct cl_alert_msg *m)
{
	static const char *const c[] = { "B00020", "E81123", "FFB900", "0078D7", "808080" };

	if (cl_notify_is_resolved(m))
		return "2EB886";
	return c[cl_notify_sev_rank(m->severity)];
}

json_t *cl_notify_teams_payload(const struct cl_alert_msg *m)
{
	struct jb jb = { 0 };
	struct facts f;
	json_t *root = json_object(), *section = json_object(), *facts = json_array(), *secs;
	char head[160], sub[512];
	size_t i;

	facts_of(&f, m, "", ", ");
	if (f.failed)
		jb.failed = 1;
	headline(head, sizeof head, m);
	jb_set(&jb, root, "@type", jb_chk(&jb, json_string("MessageCard")));
	jb_set(&jb, root, "@context", jb_chk(&jb, json_string("https://schema.org/extensions")));
	jb_set(&jb, root, "themeColor", jb_chk(&jb, json_string(teams_color(m))));
	jb_set(&jb, root, "summary", jb_str(&jb, summary_of(m), 1000));
	jb_set(&jb, root, "title", jb_str(&jb, head, 200));
	jb_set(&jb, section, "activityTitle", jb_str(&jb, summary_of(m), MAX_FIELD));
	snprintf(sub, sizeof sub, "certledger \xc2\xb7 %s \xc2\xb7 %.300s",
	         m->event_type ? m->event_type : "-", m->action ? m->action : "-");
	jb_set(&jb, section, "activitySubtitle", jb_str(&jb, sub, 500));
	for (i = 0; i < f.n; i++)
		jb_append(&jb, facts, jb_chk(&jb, json_pack("{s:s, s:o}", "name", f.name[i], "value",
		                                            jb_str(&jb, f.value[i], MAX_FIELD))));
	jb_set(&jb, section, "facts", facts);
	/* values are shown as they are, not read as markdown */
	jb_set(&jb, section, "markdown", json_false());
	secs = json_array();
	jb_append(&jb, secs, section);
	jb_set(&jb, root, "sections", secs);
	if (m->dashboard_url && m->dashboard_url[0]) {
		jb_set(&jb, root, "potentialAction",
		       jb_chk(&jb, json_pack("[{s:s, s:s, s:[{s:s, s:o}]}]", "@type", "OpenUri",
		                             "name", "Open in certledger", "targets", "os", "default",
		                             "uri", jb_str(&jb, m->dashboard_url, 4000))));
	}
	facts_free(&f);
	return jb_done(&jb, root);
}

/* ---- PagerDuty Events API v2 ---- */

static const char *pd_severity(const char *sev)
{
	static const char *const s[] = { "critical", "error", "warning", "info", "info" };

	return s[cl_notify_sev_rank(sev)];
}

json_t *cl_notify_pagerduty_payload(const struct cl_alert_msg *m, const char *routing_key)
{
	struct jb jb = { 0 };
	json_t *root = json_object(), *p, *cd;
	char t[40];
	const char *source;

	jb_set(&jb, root, "routing_key", jb_str(&jb, routing_key ? routing_key : "", 256));
	jb_set(&jb, root, "event_action",
	       jb_chk(&jb, json_string(cl_notify_is_resolved(m) ? "resolve" : "trigger")));
	jb_set(&jb, root, "dedup_key", jb_str(&jb, m->alert_key ? m->alert_key : m->id, 255));
	if (cl_notify_is_resolved(m))
		return jb_done(&jb, root);   /* a resolve event carries nothing else */
	jb_set(&jb, root, "client", jb_chk(&jb, json_string("certledger")));
	jb_opt(&jb, root, "client_url", m->dashboard_url, 4000);
	p = json_object();
	jb_set(&jb, p, "summary", jb_str(&jb, summary_of(m), 1000));   /* max 1024 */
	source = m->nlocations ? m->locations[0] : m->subject_cn ? m->subject_cn : "certledger";
	jb_set(&jb, p, "source", jb_str(&jb, source, 255));
	jb_set(&jb, p, "severity", jb_chk(&jb, json_string(pd_severity(m->severity))));
	if (m->timestamp)
		jb_set(&jb, p, "timestamp",
		       jb_chk(&jb, json_string(cl_time_fmt(t, sizeof t, m->timestamp))));
	jb_opt(&jb, p, "component", m->subject_cn, 255);
	jb_opt(&jb, p, "group", m->environment, 255);
	jb_opt(&jb, p, "class", m->event_type, 255);
	/* the generic body, so that nothing is lost */
	cd = jb_chk(&jb, cl_alert_msg_json(m));
	if (cd) {
		json_object_del(cd, "summary");
		json_object_del(cd, "dashboard_url");
	}
	jb_set(&jb, p, "custom_details", cd);
	jb_set(&jb, root, "payload", p);
	if (m->dashboard_url && m->dashboard_url[0])
		jb_set(&jb, root, "links",
		       jb_chk(&jb, json_pack("[{s:o, s:s}]", "href",
		                             jb_str(&jb, m->dashboard_url, 4000), "text",
		                             "Open in certledger")));
	return jb_done(&jb, root);
}

/* ---- Alertmanager ---- */

json_t *cl_notify_alertmanager_alert(const struct cl_alert_msg *m)
{
	struct jb jb = { 0 };
	json_t *root = json_object(), *labels = json_object(), *ann = json_object();
	char name[128], t[40], days[64];
	size_t i;

	snprintf(name, sizeof name, "certledger_%.100s", m->event_type ? m->event_type : "alert");
	for (i = 0; name[i]; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			name[i] = '_';
	}
	jb_set(&jb, labels, "alertname", jb_chk(&jb, json_string(name)));
	jb_opt(&jb, labels, "severity", m->severity, 64);
	jb_opt(&jb, labels, "alert_key", m->alert_key, 512);
	jb_opt(&jb, labels, "fingerprint", m->fingerprint_sha256, 128);
	jb_opt(&jb, labels, "subject_cn", m->subject_cn, 512);
	jb_opt(&jb, labels, "owner", m->owner, 512);
	jb_opt(&jb, labels, "environment", m->environment, 512);
	jb_opt(&jb, labels, "managed", m->managed, 512);
	jb_set(&jb, root, "labels", labels);
	jb_opt(&jb, ann, "summary", summary_of(m), 4000);
	jb_opt(&jb, ann, "detail", m->detail, 4000);
	jb_opt(&jb, ann, "certificate_subject", m->certificate_subject, 4000);
	jb_opt(&jb, ann, "issuer", m->issuer, 4000);
	if (m->expiration_date) {
		jb_set(&jb, ann, "expiration_date",
		       jb_chk(&jb, json_string(cl_time_fmt(t, sizeof t, m->expiration_date))));
		jb_set(&jb, ann, "days_left",
		       jb_chk(&jb, json_string(cl_notify_days_text(days, sizeof days, m))));
	}
	if (m->nlocations) {
		char *locs = locations_text(m, "", ", ", 20);

		if (locs == NULL)
			jb.failed = 1;
		else
			jb_opt(&jb, ann, "locations", locs, 8000);
		free(locs);
	}
	jb_opt(&jb, ann, "threshold", m->threshold, 64);
	if (m->failures) {
		char n[32];

		snprintf(n, sizeof n, "%d", m->failures);
		jb_opt(&jb, ann, "failures", n, 32);
	}
	if (m->next_attempt)
		jb_set(&jb, ann, "next_attempt",
		       jb_chk(&jb, json_string(cl_time_fmt(t, sizeof t, m->next_attempt))));
	jb_opt(&jb, ann, "id", m->id, 64);
	jb_set(&jb, root, "annotations", ann);
	if (m->timestamp) {
		cl_time_fmt(t, sizeof t, m->timestamp);
		jb_set(&jb, root, "startsAt", jb_chk(&jb, json_string(t)));
		if (cl_notify_is_resolved(m))
			jb_set(&jb, root, "endsAt", jb_chk(&jb, json_string(t)));
	}
	if (!cl_notify_is_resolved(m) && m->ends_at) {
		/* kept active until then; the daemon sends firing alerts again
		 * after every evaluation, well before */
		cl_time_fmt(t, sizeof t, m->ends_at);
		jb_set(&jb, root, "endsAt", jb_chk(&jb, json_string(t)));
	}
	jb_opt(&jb, root, "generatorURL", m->dashboard_url, 4000);
	return jb_done(&jb, root);
}

/* ---- ServiceNow ---- */

/* urgency, impact (1 high .. 3 low) by severity */
static void sn_levels(const char *sev, const char **urgency, const char **impact)
{
	static const char *const u[] = { "1", "2", "2", "3", "3" };
	static const char *const i[] = { "1", "2", "3", "3", "3" };
	int r = cl_notify_sev_rank(sev);

	*urgency = u[r];
	*impact = i[r];
}

/* Details as plain text with LF line ends. NULL on allocation failure. */
static char *plain_details(const struct cl_alert_msg *m, const char *first)
{
	struct cl_buf b;

	cl_buf_init(&b, 256 * 1024);
	if ((first && (cl_notify_put_text(&b, first, 4000, false) != CL_OK ||
	               cl_buf_addstr(&b, "\n\n") != CL_OK)) ||
	    cl_notify_text_details(&b, m, "", "\n") != CL_OK) {
		cl_buf_free(&b);
		return NULL;
	}
	return cl_buf_take(&b);
}

json_t *cl_notify_servicenow_payload(const struct cl_alert_msg *m)
{
	struct jb jb = { 0 };
	json_t *root = json_object();
	const char *urgency, *impact;
	char short_desc[200], corr[128], *desc;

	sn_levels(m->severity, &urgency, &impact);
	/* short_description holds 160 characters */
	snprintf(short_desc, sizeof short_desc, "[certledger] %s", summary_of(m));
	jb_set(&jb, root, "short_description", jb_str(&jb, short_desc, 157));
	if ((desc = plain_details(m, summary_of(m))) == NULL)
		jb.failed = 1;
	jb_set(&jb, root, "description", jb_str(&jb, desc ? desc : "", 60000));
	free(desc);
	jb_set(&jb, root, "urgency", jb_chk(&jb, json_string(urgency)));
	jb_set(&jb, root, "impact", jb_chk(&jb, json_string(impact)));
	cl_notify_sn_correlation(corr, sizeof corr, m);
	jb_set(&jb, root, "correlation_id", jb_chk(&jb, json_string(corr)));
	jb_set(&jb, root, "correlation_display", jb_chk(&jb, json_string("certledger")));
	return jb_done(&jb, root);
}

void cl_notify_sn_correlation(char *out, size_t len, const struct cl_alert_msg *m)
{
	const char *key = m->alert_key ? m->alert_key : m->id ? m->id : "";
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i, n = strlen(key);
	bool safe = n <= 100;

	for (i = 0; safe && i < n; i++) {
		unsigned char c = (unsigned char)key[i];

		safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		       strchr(".:_-/@%", c) != NULL;
	}
	if (safe) {
		snprintf(out, len, "%s", key);
		return;
	}
	if (EVP_Digest(key, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		snprintf(out, len, "%s", "certledger:unknown");
		return;
	}
	if (len >= 11 + 65) {
		memcpy(out, "certledger:", 11);
		cl_hex(out + 11, md, 32);
	} else if (len) {
		out[0] = '\0';
	}
}

/* ---- Jira ---- */

/* A Jira label: no white space (Jira splits on it), at most 255 bytes. */
static json_t *jira_label(struct jb *jb, const char *s)
{
	char buf[256];
	size_t i;

	snprintf(buf, sizeof buf, "%s", s);
	for (i = 0; buf[i]; i++) {
		if ((unsigned char)buf[i] <= 0x20 || buf[i] == 0x7f)
			buf[i] = '_';
	}
	return jb_str(jb, buf, 255);
}

json_t *cl_notify_jira_payload(const struct cl_alert_msg *m, const char *project,
                               const char *issue_type)
{
	struct jb jb = { 0 };
	json_t *root = json_object(), *fields = json_object(), *labels = json_array();
	char summary[300], *desc;

	jb_set(&jb, fields, "project",
	       jb_chk(&jb, json_pack("{s:o}", "key", jb_str(&jb, project ? project : "", 255))));
	jb_set(&jb, fields, "issuetype",
	       jb_chk(&jb, json_pack("{s:o}", "name",
	                             jb_str(&jb, issue_type && issue_type[0] ? issue_type : "Task",
	                                    255))));
	snprintf(summary, sizeof summary, "[certledger] %s", summary_of(m));
	jb_set(&jb, fields, "summary", jb_str(&jb, summary, 250));   /* max 255 */
	if ((desc = plain_details(m, summary_of(m))) == NULL)
		jb.failed = 1;
	jb_set(&jb, fields, "description", jb_str(&jb, desc ? desc : "", 30000));
	free(desc);
	jb_append(&jb, labels, jira_label(&jb, "certledger"));
	if (m->event_type)
		jb_append(&jb, labels, jira_label(&jb, m->event_type));
	if (m->severity)
		jb_append(&jb, labels, jira_label(&jb, m->severity));
	if (m->environment && m->environment[0])
		jb_append(&jb, labels, jira_label(&jb, m->environment));
	jb_set(&jb, fields, "labels", labels);
	jb_set(&jb, root, "fields", fields);
	return jb_done(&jb, root);
}

/* ---- webhook signature ---- */

void cl_notify_signature(char *out, const char *key, const void *body, size_t len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;

	out[0] = '\0';
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, strlen(key), body, len, mac,
	              sizeof mac, &maclen) == NULL || maclen != 32)
		return;
	memcpy(out, "sha256=", 7);
	cl_hex(out + 7, mac, maclen);
}

/* ---- JSON lines ---- */

static enum cl_send_rc jsonl_send(const struct cl_notifier *nt,
                                  const struct cl_alert_msg *const *msgs, size_t n,
                                  size_t *nsent, char *err, size_t errlen)
{
	enum cl_send_rc rc = CL_SEND_RETRY;
	struct cl_buf b;
	json_t *j;
	char *line;
	size_t i, off = 0;
	ssize_t w;
	int fd = -1, e;

	cl_buf_init(&b, JSONL_MAX);
	if (nt->path == NULL || nt->path[0] == '\0') {
		cl_notify_err(err, errlen, nt, "no path");
		rc = CL_SEND_FAIL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (cl_notify_skip(nt, msgs[i]))
			continue;
		j = cl_alert_msg_json(msgs[i]);
		line = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (line == NULL || cl_buf_addstr(&b, line) != CL_OK || cl_buf_addc(&b, '\n') != CL_OK) {
			free(line);
			cl_notify_err(err, errlen, nt, "out of memory");
			goto out;
		}
		free(line);
	}
	if (b.len == 0) {
		*nsent = n;
		rc = CL_SEND_OK;
		goto out;
	}
	if ((fd = open(nt->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640)) < 0) {
		e = errno;
		cl_notify_err(err, errlen, nt, "cannot open %s: %s", nt->path, strerror(e));
		/* a path that cannot be written to is the configuration's fault */
		if (e == EACCES || e == EPERM || e == EISDIR || e == ENOTDIR || e == ENOENT ||
		    e == ELOOP || e == EROFS || e == ENAMETOOLONG)
			rc = CL_SEND_FAIL;
		goto out;
	}
	/* one write for the batch: with O_APPEND, lines of concurrent writers
	   do not interleave; a short write (disk full) is continued */
	while (off < b.len) {
		w = write(fd, b.data + off, b.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			cl_notify_err(err, errlen, nt, "cannot write to %s: %s", nt->path,
			              w < 0 ? strerror(errno) : "no progress");
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		cl_notify_err(err, errlen, nt, "cannot fsync %s: %s", nt->path, strerror(errno));
		goto out;
	}
	*nsent = n;
	rc = CL_SEND_OK;
out:
	if (fd >= 0 && close(fd) != 0 && rc == CL_SEND_OK) {
		cl_notify_err(err, errlen, nt, "cannot close %s: %s", nt->path, strerror(errno));
		*nsent = 0;
		rc = CL_SEND_RETRY;
	}
	cl_buf_free(&b);
	return rc;
}

/* ---- dispatch ---- */

enum cl_send_rc cl_notify_send(const struct cl_notifier *nt,
                               const struct cl_alert_msg *const *msgs, size_t n,
                               size_t *nsent, char *err, size_t errlen)
{
	*nsent = 0;
	if (err && errlen)
		err[0] = '\0';
	if (n == 0)
		return CL_SEND_OK;
	switch (nt->type) {
	case CL_NT_WEBHOOK:
	case CL_NT_SLACK:
	case CL_NT_TEAMS:
	case CL_NT_PAGERDUTY:
	case CL_NT_ALERTMANAGER:
	case CL_NT_SERVICENOW:
	case CL_NT_JIRA:
		return cl_notify_http_send(nt, msgs, n, nsent, err, errlen);
	case CL_NT_EMAIL:
		return cl_notify_email_send(nt, msgs, n, nsent, err, errlen);
	case CL_NT_SYSLOG:
		return cl_notify_syslog_send(nt, msgs, n, nsent, err, errlen);
	case CL_NT_JSONL:
		return jsonl_send(nt, msgs, n, nsent, err, errlen);
	case CL_NT_COUNT:
		break;
	}
	cl_notify_err(err, errlen, nt, "unknown notifier type %d", (int)nt->type);
	return CL_SEND_FAIL;
}
