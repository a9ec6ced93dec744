/* iCalendar feed of expiry dates: see ics.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "core/buf.h"
#include "core/util.h"
#include "report/ics.h"

/*
 * Writes one content line: "NAME:value" (value already escaped), folded
 * at 75 octets with CRLF and a space (RFC 5545 3.1), never inside a UTF-8
 * sequence.
 */
static void line(FILE *out, const char *name, const char *value)
{
	size_t col = 0, n;
	const char *p;
	char head[80];

	snprintf(head, sizeof head, "%s:", name);
	fputs(head, out);
	col = strlen(head);
	for (p = value; *p; p += n) {
		n = 1;
		while ((p[n] & 0xc0) == 0x80)  /* the rest of a UTF-8 sequence */
			n++;
		if (col + n > 75) {
			fputs("\r\n ", out);
			col = 1;
		}
		fwrite(p, 1, n, out);
		col += n;
	}
	fputs("\r\n", out);
}

/* TEXT escaping (RFC 5545 3.3.11) into b. */
static const char *text(struct cl_buf *b, const char *s)
{
	cl_buf_reset(b);
	for (; s && *s; s++) {
		switch (*s) {
		case '\\': cl_buf_addstr(b, "\\\\"); break;
		case ';': cl_buf_addstr(b, "\\;"); break;
		case ',': cl_buf_addstr(b, "\\,"); break;
		case '\n': cl_buf_addstr(b, "\\n"); break;
		case '\r': break;
		default: cl_buf_addc(b, *s); break;
		}
	}
	return b->data ? b->data : "";
}

static void date(char *out, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y%m%d", &tm);
}

void cl_ics_begin(struct cl_ics *x, FILE *out, int64_t now)
{
	x->out = out;
	x->now = now;
	x->rows = 0;
	fputs("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", out);
	line(out, "PRODID", "-//certledger//certledger " CL_VERSION "//EN");
	fputs("CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n", out);
	line(out, "X-WR-CALNAME", "certledger: certificate expiry");
}

int cl_ics_cert(void *arg, const struct cl_inv_row *row)
{
	struct cl_ics *x = arg;
	const struct cl_cert *c = row->c;
	char fp[2 * CL_SHA256_LEN + 1], day[16], next[16], stamp[32], na[40], uid[100];
	struct cl_buf b, d;
	time_t now = (time_t)x->now;
	struct tm tm;
	size_t i;

	cl_buf_init(&b, 1 << 20);
	cl_buf_init(&d, 1 << 20);
	cl_hex(fp, c->fp, CL_SHA256_LEN);
	date(day, sizeof day, c->not_after);
	date(next, sizeof next, c->not_after + 86400);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(uid, sizeof uid, "%s@certledger", fp);
	/* the description: what it is and where, for whoever gets the reminder */
	cl_buf_printf(&d, "Subject: %s\nIssuer: %s\nNot after: %s\nSHA-256: %s\n", c->subject,
	              c->issuer, cl_time_fmt(na, sizeof na, c->not_after), fp);
	if (row->owner && *row->owner)
		cl_buf_printf(&d, "Owner: %s\n", row->owner);
	if (row->environment && *row->environment)
		cl_buf_printf(&d, "Environment: %s\n", row->environment);
	for (i = 0; i < row->nlocs; i++)
		cl_buf_printf(&d, "Location: %s:%s\n", row->locs[i].kind, row->locs[i].where);
	fputs("BEGIN:VEVENT\r\n", x->out);
	line(x->out, "UID", uid);
	line(x->out, "DTSTAMP", stamp);
	line(x->out, "DTSTART;VALUE=DATE", day);
	line(x->out, "DTEND;VALUE=DATE", next);
	cl_buf_reset(&b);
	{
		char summary[600];
		snprintf(summary, sizeof summary, "Certificate expires: %s",
		         c->subject_cn[0] ? c->subject_cn : c->subject);
		line(x->out, "SUMMARY", text(&b, summary));
	}
	line(x->out, "DESCRIPTION", text(&b, d.data ? d.data : ""));
	line(x->out, "CATEGORIES", "certificate,expiry");
	fputs("TRANSP:TRANSPARENT\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-P7D\r\n", x->out);
	{
		char alarm[600];
		snprintf(alarm, sizeof alarm, "Certificate expires in 7 days: %s",
		         c->subject_cn[0] ? c->subject_cn : c->subject);
		line(x->out, "DESCRIPTION", text(&b, alarm));
	}
	fputs("END:VALARM\r\nEND:VEVENT\r\n", x->out);
	cl_buf_free(&b);
	cl_buf_free(&d);
	x->rows++;
	return ferror(x->out) ? CL_ERR_IO : CL_OK;
}

void cl_ics_end(struct cl_ics *x)
{
	fputs("END:VCALENDAR\r\n", x->out);
	fflush(x->out);
}
