/*
 * Internals shared by the notifier implementations (notify.c,
 * notify_http.c, notify_mail.c, notify_syslog.c); not for other modules.
 */
#ifndef CL_ALERT_NOTIFY_INT_H
#define CL_ALERT_NOTIFY_INT_H

#include <stdarg.h>
#include "alert/notify.h"
#include "core/buf.h"

/* Default per-attempt timeout when the notifier gives none. */
#define CL_NOTIFY_DEFAULT_TIMEOUT_MS 10000
/* How much of a receiver's answer an error message quotes. */
#define CL_NOTIFY_QUOTE 200

/* The notifier's timeout in milliseconds (the default when unset). */
int cl_notify_timeout_ms(const struct cl_notifier *nt);

/* true when m is not to be sent through nt (a resolution and
 * send_resolved is off); such messages count as sent. */
bool cl_notify_skip(const struct cl_notifier *nt, const struct cl_alert_msg *m);

/*
 * Writes "TYPE NAME: " and the formatted text into err (always NUL
 * terminated when errlen > 0). The text must hold no secret.
 */
void cl_notify_err(char *err, size_t errlen, const struct cl_notifier *nt,
                   const char *fmt, ...) CL_PRINTF(4, 5);

/*
 * Copies at most max bytes of p[0..n) into out (size >= max + 1) with every
 * byte outside printable ASCII replaced by '?' and runs of white space
 * squeezed, for quoting a receiver's answer. Returns out.
 */
char *cl_notify_sanitize(char *out, const void *p, size_t n, size_t max);

/*
 * Appends s to b with control characters as spaces (line feeds kept when
 * keep_nl) and invalid UTF-8 as '?', cut on a character boundary at max
 * bytes ("..." marks the cut). Returns CL_OK or the buffer's error.
 */
int cl_notify_put_text(struct cl_buf *b, const char *s, size_t max, bool keep_nl);

/* Rank of a severity, 0 (critical) to 3 (info); 4 when unknown. */
int cl_notify_sev_rank(const char *sev);

/* true when m is a resolution. */
bool cl_notify_is_resolved(const struct cl_alert_msg *m);

/* A human name for an event type ("Certificate expiring"); never NULL. */
const char *cl_notify_event_title(const char *event_type);

/* "3 days left", "1 day left", "expired 2 days ago"; "" without a
 * certificate. Written into out (size >= 48). Returns out. */
char *cl_notify_days_text(char *out, size_t len, const struct cl_alert_msg *m);

/*
 * Appends the plain-text detail lines of m ("  Subject:     ...") to b,
 * each starting with indent and ending with eol, control characters
 * replaced by spaces. Returns CL_OK or an error code, after which b is to
 * be freed.
 */
int cl_notify_text_details(struct cl_buf *b, const struct cl_alert_msg *m, const char *indent,
                           const char *eol);

/*
 * What a message may show of url: scheme://host[:port], and the path when
 * with_path; never user info, query or fragment. "(invalid URL)" when
 * libcurl cannot parse it. Written into out.
 */
void cl_notify_shown_url(char *out, size_t len, const char *url, bool with_path);

/* Initialises libcurl once per process. Returns CL_OK or CL_ERR. */
int cl_notify_curl_init(void);

/*
 * The ServiceNow correlation_id for m (at most 100 characters, the
 * field's size): the alert key when it fits and holds only characters
 * that are safe in a query, else "certledger:" and its SHA-256 in hex.
 * Written into out (size >= 101).
 */
void cl_notify_sn_correlation(char *out, size_t len, const struct cl_alert_msg *m);

/* Senders, one per transport; the contract is cl_notify_send's. */
enum cl_send_rc cl_notify_http_send(const struct cl_notifier *nt,
                                    const struct cl_alert_msg *const *msgs, size_t n,
                                    size_t *nsent, char *err, size_t errlen);
enum cl_send_rc cl_notify_email_send(const struct cl_notifier *nt,
                                     const struct cl_alert_msg *const *msgs, size_t n,
                                     size_t *nsent, char *err, size_t errlen);
enum cl_send_rc cl_notify_syslog_send(const struct cl_notifier *nt,
                                      const struct cl_alert_msg *const *msgs, size_t n,
                                      size_t *nsent, char *err, size_t errlen);

#endif
