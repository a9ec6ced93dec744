/*
 * E-mail: one digest per recipient per delivery round, sent with libcurl
 * over SMTP (STARTTLS required unless turned off, or smtps://).
 *
 * Recipients are the fixed `to` list (every message) and, with to_owner,
 * each message's owner when it is an e-mail address (that owner's
 * messages). Any failing digest fails the whole batch (nothing counts as
 * sent, so a retry may repeat digests that did go out): a 4xx reply or a
 * network problem is worth a retry, a 5xx reply is permanent.
 *
 * Header values never carry CR or LF (no header injection); the Subject
 * is RFC 2047 encoded when it is not ASCII.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include "alert/notify_int.h"
#include "core/util.h"

#define DIGEST_MAX (32u << 20)
#define ADDR_MAX 254

/* ---- the digest ---- */

/* Appends s as a header value: control characters (CR, LF) become spaces. */
static int hdr_value(struct cl_buf *b, const char *s, size_t max)
{
	return cl_notify_put_text(b, s ? s : "", max, false);
}

static bool is_ascii(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
	}
	return true;
}

/* "Subject: ..." and CRLF; RFC 2047 encoded words when s is not ASCII. */
static int put_subject(struct cl_buf *b, const char *s)
{
	unsigned char enc[80];
	size_t n = strlen(s), i = 0, k;
	int rc;

	if (is_ascii(s))
		return cl_buf_printf(b, "Subject: %s\r\n", s);
	if ((rc = cl_buf_addstr(b, "Subject:")) != CL_OK)
		return rc;
	while (i < n) {
		/* 45 bytes encode to 60 characters: each word stays within the
		   75 RFC 2047 allows, and a character is never split */
		k = n - i > 45 ? 45 : n - i;
		while (k > 0 && i + k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80)
			k--;
		if (k == 0)
			k = 1;
		EVP_EncodeBlock(enc, (const unsigned char *)s + i, (int)k);
		if ((rc = cl_buf_printf(b, "%s =?UTF-8?B?%s?=", i ? "\r\n" : "", enc)) != CL_OK)
			return rc;
		i += k;
	}
	return cl_buf_addstr(b, "\r\n");
}

/* The subject text (no "Subject: "), sanitised. New buffer or NULL. */
static char *subject_text(const struct cl_alert_msg *const *msgs, size_t n)
{
	struct cl_buf b;
	size_t i, crit = 0, errs = 0, resolved = 0, k = 0;
	const char *sep = " (";
	int rc;

	cl_buf_init(&b, 1024);
	if (n == 1) {
		rc = cl_buf_printf(&b, "certledger: %s", cl_notify_is_resolved(msgs[0]) ?
		                                             "resolved: " : "");
		if (rc == CL_OK)
			rc = cl_notify_put_text(&b, msgs[0]->summary && msgs[0]->summary[0] ?
			                            msgs[0]->summary :
			                            cl_notify_event_title(msgs[0]->event_type),
			                        200, false);
		return rc == CL_OK ? cl_buf_take(&b) : NULL;
	}
	for (i = 0; i < n; i++) {
		if (cl_notify_is_resolved(msgs[i]))
			resolved++;
		else if (cl_notify_sev_rank(msgs[i]->severity) == 0)
			crit++;
		else if (cl_notify_sev_rank(msgs[i]->severity) == 1)
			errs++;
	}
	rc = cl_buf_printf(&b, "certledger: %zu alerts", n);
	if (rc == CL_OK && crit)
		rc = cl_buf_printf(&b, "%s%zu critical", k++ ? ", " : sep, crit);
	if (rc == CL_OK && errs)
		rc = cl_buf_printf(&b, "%s%zu error%s", k++ ? ", " : sep, errs, errs > 1 ? "s" : "");
	if (rc == CL_OK && resolved)
		rc = cl_buf_printf(&b, "%s%zu resolved", k++ ? ", " : sep, resolved);
	if (rc == CL_OK && k)
		rc = cl_buf_addc(&b, ')');
	return rc == CL_OK ? cl_buf_take(&b) : NULL;
}

/* The domain of the address in s (for Message-ID), or "certledger.invalid". */
static void addr_domain(char *out, size_t len, const char *s)
{
	const char *at = s ? strrchr(s, '@') : NULL;
	size_t i = 0;

	if (at) {
		for (at++; *at && i + 1 < len; at++) {
			char c = *at;

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      c == '.' || c == '-'))
				break;
			out[i++] = c;
		}
	}
	out[i] = '\0';
	if (i == 0 || out[0] == '.' || out[0] == '-')
		snprintf(out, len, "%s", "certledger.invalid");
}

/* RFC 5322 date, always in UTC: "Mon, 23 Nov 2026 18:22:27 +0000". */
static void mail_date(char *out, size_t len, int64_t now)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)now;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, len, "%s", "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday % 7], tm.tm_mday,
	         mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Message-ID local part: a digest of what makes this mail unique. */
static int message_id(char *out, const struct cl_alert_msg *const *msgs, size_t n,
                      const char *to, int64_t now)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int mdlen = 0;
	char nowbuf[32];
	size_t i;
	int rc = CL_ERR;

	snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, to ? to : "", to ? strlen(to) + 1 : 0) != 1 ||
	    EVP_DigestUpdate(c, nowbuf, strlen(nowbuf) + 1) != 1)
		goto out;
	for (i = 0; i < n; i++) {
		const char *id = msgs[i]->id ? msgs[i]->id : "";

		if (EVP_DigestUpdate(c, id, strlen(id) + 1) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(c, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	cl_hex(out, md, 16);
	rc = CL_OK;
out:
	EVP_MD_CTX_free(c);
	return rc;
}

struct ordered {
	const struct cl_alert_msg *m;
	size_t pos;
	int rank;
};

/* Firing messages first, most severe first; otherwise in the given order. */
static int order_cmp(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

char *cl_notify_email_digest(const struct cl_alert_msg *const *msgs, size_t n,
                             const char *from, const char *to, int64_t now)
{
	struct cl_buf b;
	struct ordered *ord = NULL;
	char date[64], mid[40], domain[256], sev[16], *subject = NULL, *res = NULL;
	size_t i, k;
	int rc;

	cl_buf_init(&b, DIGEST_MAX);
	if ((subject = subject_text(msgs, n)) == NULL ||
	    (ord = calloc(n ? n : 1, sizeof *ord)) == NULL || message_id(mid, msgs, n, to, now))
		goto out;
	for (i = 0; i < n; i++) {
		ord[i].m = msgs[i];
		ord[i].pos = i;
		ord[i].rank = cl_notify_is_resolved(msgs[i]) ? 10 : cl_notify_sev_rank(msgs[i]->severity);
	}
	qsort(ord, n, sizeof *ord, order_cmp);
	mail_date(date, sizeof date, now);
	addr_domain(domain, sizeof domain, from);
	if (cl_buf_addstr(&b, "From: ") || hdr_value(&b, from, 900) ||
	    cl_buf_addstr(&b, "\r\nTo: ") || hdr_value(&b, to, 900) ||
	    cl_buf_addstr(&b, "\r\n") || put_subject(&b, subject) ||
	    cl_buf_printf(&b, "Date: %s\r\n", date) ||
	    cl_buf_printf(&b, "Message-ID: <%s.%lld@%s>\r\n", mid, (long long)now, domain) ||
	    cl_buf_addstr(&b, "MIME-Version: 1.0\r\n"
	                      "Content-Type: text/plain; charset=utf-8\r\n"
	                      "Content-Transfer-Encoding: 8bit\r\n"
	                      "Auto-Submitted: auto-generated\r\n"
	                      "\r\n") ||
	    cl_buf_printf(&b, "%s\r\n", subject))
		goto out;
	for (i = 0; i < n; i++) {
		const struct cl_alert_msg *m = ord[i].m;

		snprintf(sev, sizeof sev, "%s",
		         cl_notify_is_resolved(m) ? "resolved" : m->severity ? m->severity : "alert");
		for (k = 0; sev[k]; k++)
			sev[k] = (char)(sev[k] >= 'a' && sev[k] <= 'z' ? sev[k] - 'a' + 'A' : sev[k]);
		rc = cl_buf_printf(&b, "\r\n%zu. [%s] ", i + 1, sev);
		if (rc == CL_OK)
			rc = cl_notify_put_text(&b, m->summary && m->summary[0] ?
			                            m->summary : cl_notify_event_title(m->event_type),
			                        900, false);
		if (rc == CL_OK)
			rc = cl_buf_addstr(&b, "\r\n");
		if (rc == CL_OK)
			rc = cl_notify_text_details(&b, m, "   ", "\r\n");
		if (rc != CL_OK)
			goto out;
	}
	if (cl_buf_addstr(&b, "\r\n-- \r\ncertledger " CL_VERSION "\r\n"))
		goto out;
	res = cl_buf_take(&b);
out:
	cl_buf_free(&b);
	free(subject);
	free(ord);
	return res;
}

/* ---- sending ---- */

/* A plain address: local@domain, printable ASCII, nothing SMTP or a
 * header could read as syntax. */
static bool addr_ok(const char *a)
{
	const char *at = strchr(a, '@'), *p;
	size_t n = strlen(a);

	if (n == 0 || n > ADDR_MAX || at == NULL || at == a || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return false;
	for (p = a; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
			return false;
	}
	return true;
}

/* The address in "Name <addr>" or "addr" into out; false if none. */
static bool envelope_addr(const char *s, char *out, size_t len)
{
	const char *lt, *gt, *p = s;
	size_t n;

	if (s == NULL)
		return false;
	for (lt = s; *lt; lt++) {
		if ((unsigned char)*lt < 0x20 || *lt == 0x7f)
			return false;   /* CR, LF: somebody tries to inject */
	}
	if ((lt = strrchr(s, '<')) != NULL) {
		if ((gt = strchr(lt, '>')) == NULL)
			return false;
		p = lt + 1;
		n = (size_t)(gt - p);
	} else {
		while (*p == ' ' || *p == '\t')
			p++;
		n = strlen(p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
	}
	if (n + 1 > len)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return addr_ok(out);
}

struct rcpt {
	char addr[ADDR_MAX + 1];
	const char *hdr;          /* To: as configured, or addr */
	bool all;                 /* a fixed recipient: every message */
	const struct cl_alert_msg **sel;
	size_t nsel;
};

struct upload {
	const char *p;
	size_t left;
};

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct upload *u = ud;
	size_t n = size * nitems;

	if (n > u->left)
		n = u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

static struct rcpt *rcpt_find(struct rcpt *r, size_t nr, const char *addr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		if (strcasecmp(r[i].addr, addr) == 0)
			return &r[i];
	}
	return NULL;
}

/* Sends one digest; classifies a failure. */
static enum cl_send_rc send_digest(const struct cl_notifier *nt, CURL *e, const char *shown,
                                   const struct rcpt *r, char *curlerr, char *err,
                                   size_t errlen)
{
	enum cl_send_rc rc = CL_SEND_RETRY;
	struct curl_slist *to = NULL;
	struct upload up;
	char *mail, line[ADDR_MAX + 3];
	long code = 0;
	CURLcode cc;

	mail = cl_notify_email_digest(r->sel, r->nsel, nt->from, r->hdr, cl_now());
	snprintf(line, sizeof line, "<%s>", r->addr);
	if (mail == NULL || (to = curl_slist_append(NULL, line)) == NULL) {
		cl_notify_err(err, errlen, nt, "out of memory");
		goto out;
	}
	up.p = mail;
	up.left = strlen(mail);
	curlerr[0] = '\0';
	if (curl_easy_setopt(e, CURLOPT_MAIL_RCPT, to) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_READDATA, (void *)&up) != CURLE_OK) {
		cl_notify_err(err, errlen, nt, "cannot set up libcurl");
		goto out;
	}
	cc = curl_easy_perform(e);
	if (cc == CURLE_OK) {
		rc = CL_SEND_OK;
		goto out;
	}
	if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	if (code >= 400 && code < 600)
		cl_notify_err(err, errlen, nt, "SMTP %ld from %s for %s: %s", code, shown, r->addr,
		              curlerr[0] ? curlerr : curl_easy_strerror(cc));
	else
		cl_notify_err(err, errlen, nt, "%s for %s: %s", shown, r->addr,
		              curlerr[0] ? curlerr : curl_easy_strerror(cc));
	if (code >= 500 && code < 600)
		rc = CL_SEND_FAIL;
	else if (code >= 400 && code < 500)
		rc = CL_SEND_RETRY;
	else if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL ||
	         cc == CURLE_USE_SSL_FAILED || cc == CURLE_LOGIN_DENIED)
		rc = CL_SEND_FAIL;   /* the configuration's fault */
	else
		rc = CL_SEND_RETRY;
out:
	/* the handle may outlive the list: unhook it before it goes */
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, (struct curl_slist *)NULL);
	curl_slist_free_all(to);
	free(mail);
	return rc;
}

enum cl_send_rc cl_notify_email_send(const struct cl_notifier *nt,
                                     const struct cl_alert_msg *const *msgs, size_t n,
                                     size_t *nsent, char *err, size_t errlen)
{
	enum cl_send_rc rc = CL_SEND_FAIL;
	struct rcpt *r = NULL, *x;
	size_t nr = 0, i, k, nsend = 0;
	char from[ADDR_MAX + 3], addr[ADDR_MAX + 1], shown[300], curlerr[CURL_ERROR_SIZE];
	long tmo = cl_notify_timeout_ms(nt);
	bool smtps;
	CURL *e = NULL;

	*nsent = 0;
	if (nt->smtp_url == NULL ||
	    (strncasecmp(nt->smtp_url, "smtp://", 7) != 0 &&
	     strncasecmp(nt->smtp_url, "smtps://", 8) != 0)) {
		cl_notify_err(err, errlen, nt, "smtp_url must be smtp:// or smtps://");
		goto out;
	}
	smtps = strncasecmp(nt->smtp_url, "smtps://", 8) == 0;
	cl_notify_shown_url(shown, sizeof shown, nt->smtp_url, false);
	if (!envelope_addr(nt->from, addr, sizeof addr)) {
		cl_notify_err(err, errlen, nt, "from is not an e-mail address");
		goto out;
	}
	snprintf(from, sizeof from, "<%s>", addr);
	if ((r = calloc(nt->to.n + n, sizeof *r)) == NULL)
		goto nomem;
	for (i = 0; i < nt->to.n; i++) {
		if (!envelope_addr(nt->to.v[i], addr, sizeof addr)) {
			cl_notify_err(err, errlen, nt, "recipient %zu is not an e-mail address", i + 1);
			goto out;
		}
		if (rcpt_find(r, nr, addr))
			continue;
		snprintf(r[nr].addr, sizeof r[nr].addr, "%s", addr);
		r[nr].hdr = nt->to.v[i];
		r[nr++].all = true;
	}
	for (i = 0; nt->to_owner && i < n; i++) {
		if (cl_notify_skip(nt, msgs[i]) || !envelope_addr(msgs[i]->owner, addr, sizeof addr) ||
		    rcpt_find(r, nr, addr))
			continue;
		snprintf(r[nr].addr, sizeof r[nr].addr, "%s", addr);
		r[nr].hdr = r[nr].addr;
		nr++;
	}
	/* each recipient's messages */
	for (k = 0; k < nr; k++) {
		if ((r[k].sel = calloc(n, sizeof *r[k].sel)) == NULL)
			goto nomem;
		for (i = 0; i < n; i++) {
			if (cl_notify_skip(nt, msgs[i]))
				continue;
			if (!r[k].all && !(nt->to_owner &&
			                   envelope_addr(msgs[i]->owner, addr, sizeof addr) &&
			                   strcasecmp(addr, r[k].addr) == 0))
				continue;
			r[k].sel[r[k].nsel++] = msgs[i];
		}
		nsend += r[k].nsel ? 1 : 0;
	}
	for (i = 0, k = 0; i < n; i++)
		k += !cl_notify_skip(nt, msgs[i]);
	if (k == 0) {
		*nsent = n;   /* only resolutions, which are not sent */
		rc = CL_SEND_OK;
		goto out;
	}
	if (nsend == 0) {
		cl_notify_err(err, errlen, nt, "no recipient (`to` is empty and no owner is an "
		                               "e-mail address)");
		goto out;
	}
	rc = CL_SEND_RETRY;
	if (cl_notify_curl_init() != CL_OK || (e = curl_easy_init()) == NULL) {
		cl_notify_err(err, errlen, nt, "cannot initialise libcurl");
		goto out;
	}
	if (curl_easy_setopt(e, CURLOPT_URL, nt->smtp_url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, tmo) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK ||
#else
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS)) !=
	        CURLE_OK ||
#endif
	    curl_easy_setopt(e, CURLOPT_USE_SSL,
	                     (long)(smtps || nt->starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE)) !=
	        CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, curlerr) != CURLE_OK ||
	    (nt->ca_bundle && curl_easy_setopt(e, CURLOPT_CAINFO, nt->ca_bundle) != CURLE_OK) ||
	    (nt->username && nt->username[0] &&
	     (curl_easy_setopt(e, CURLOPT_USERNAME, nt->username) != CURLE_OK ||
	      curl_easy_setopt(e, CURLOPT_PASSWORD, nt->password ? nt->password : "") !=
	          CURLE_OK))) {
		cl_notify_err(err, errlen, nt, "cannot set up libcurl");
		goto out;
	}
	for (k = 0; k < nr; k++) {
		if (r[k].nsel && (rc = send_digest(nt, e, shown, &r[k], curlerr, err, errlen)) !=
		                     CL_SEND_OK)
			goto out;
	}
	*nsent = n;
	rc = CL_SEND_OK;
	goto out;
nomem:
	cl_notify_err(err, errlen, nt, "out of memory");
	rc = CL_SEND_RETRY;
out:
	if (e)
		curl_easy_cleanup(e);
	for (x = r; x && x < r + nr; x++)
		free(x->sel);
	free(r);
	return rc;
}
