/*
 * Notifiers: where alerts go. Each type turns alert messages into what its
 * receiver expects (a payload builder, a pure function the tests check
 * field by field) and sends it (libcurl for HTTP and SMTP, a socket for
 * syslog, a file for JSON lines).
 *
 * Senders are blocking and called from the delivery thread only; they
 * report whether a failure is worth retrying. Secrets (tokens, passwords,
 * HMAC keys) never appear in messages or logs.
 */
#ifndef CL_ALERT_NOTIFY_H
#define CL_ALERT_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "alert/alert.h"

enum cl_notifier_type {
	CL_NT_WEBHOOK,       /* generic JSON POST (cl_alert_msg_json), optional HMAC */
	CL_NT_SLACK,         /* Slack incoming webhook */
	CL_NT_TEAMS,         /* Microsoft Teams incoming webhook (MessageCard) */
	CL_NT_PAGERDUTY,     /* PagerDuty Events API v2: trigger / resolve, dedup_key */
	CL_NT_ALERTMANAGER,  /* Prometheus Alertmanager POST /api/v2/alerts */
	CL_NT_SERVICENOW,    /* ServiceNow table API: POST /api/now/table/TABLE */
	CL_NT_JIRA,          /* Jira REST: POST /rest/api/2/issue */
	CL_NT_EMAIL,         /* SMTP, one digest per recipient per delivery round */
	CL_NT_SYSLOG,        /* RFC 5424 over a local socket, TCP or TLS */
	CL_NT_JSONL,         /* one JSON object per line appended to a file */
	CL_NT_COUNT
};

/* "webhook", "slack", ... (the config's `type:`); -1 if unknown. */
int cl_notifier_type_parse(const char *s);
const char *cl_notifier_type_name(enum cl_notifier_type t);

/* A string list owned by the config. */
struct cl_strlist {
	char **v;
	size_t n;
};

/*
 * One configured notifier. Which fields a type uses is documented in
 * examples/certledger.yaml; the config loader checks that the required
 * ones are present. Secrets are already resolved (from env: / file:).
 */
struct cl_notifier {
	char *name;
	int line;                   /* where it was defined in the config */
	enum cl_notifier_type type;
	bool send_resolved;         /* also send resolutions (default true) */
	int timeout_ms;             /* per attempt (default 10000) */
	char *ca_bundle;            /* trust anchors for TLS; NULL = system */
	/* HTTP types */
	char *url;                  /* webhook/slack/teams URL; PagerDuty events
	                               endpoint (default
	                               https://events.pagerduty.com/v2/enqueue);
	                               Alertmanager, ServiceNow, Jira base URL */
	struct cl_strlist headers;  /* extra "Name: value" headers */
	char *secret;               /* webhook: HMAC-SHA256 key; header
	                               X-Certledger-Signature: sha256=HEX of the body */
	char *routing_key;          /* PagerDuty integration key */
	char *username, *password;  /* ServiceNow basic auth; Jira user (e-mail) */
	char *token;                /* Jira API token (basic user:token) or a bearer
	                               token for webhook (Authorization: Bearer) */
	char *table;                /* ServiceNow table (default "incident") */
	char *project, *issue_type; /* Jira project key, issue type (default "Task") */
	/* e-mail */
	char *smtp_url;             /* smtp://host:port (STARTTLS required unless
	                               starttls: false) or smtps://host:port */
	bool starttls;              /* default true */
	char *from;
	struct cl_strlist to;       /* fixed recipients */
	bool to_owner;              /* also the certificate's owner when it is an
	                               e-mail address */
	/* syslog */
	char *address;              /* "unix:/dev/log" (default), "tcp:HOST:PORT",
	                               "tls:HOST:PORT" */
	char *app_name;             /* default "certledger" */
	int facility;               /* 0..23, default 1 (user) */
	/* JSON lines */
	char *path;
};

/* Outcome of one send. */
enum cl_send_rc {
	CL_SEND_OK = 0,
	CL_SEND_RETRY = 1,     /* temporary: network, 5xx, 429, timeout */
	CL_SEND_FAIL = 2,      /* permanent: 4xx, rejected recipient, bad config */
};

/*
 * Sends msgs (n >= 1) through notifier nt. E-mail sends one digest per
 * recipient holding every message; JSON lines and syslog write every
 * message; HTTP types send one request per message and stop at the first
 * failure (*nsent says how many went out, in order, before it; messages
 * after it are to be retried). err receives what failed, with the
 * receiver's status and the start of its answer, never a secret.
 */
enum cl_send_rc cl_notify_send(const struct cl_notifier *nt,
                               const struct cl_alert_msg *const *msgs, size_t n,
                               size_t *nsent, char *err, size_t errlen);

/*
 * Payload builders (no I/O), one per HTTP type, for the senders and the
 * tests. Each returns a new JSON reference or NULL on allocation failure.
 */
json_t *cl_notify_slack_payload(const struct cl_alert_msg *m);
json_t *cl_notify_teams_payload(const struct cl_alert_msg *m);
json_t *cl_notify_pagerduty_payload(const struct cl_alert_msg *m, const char *routing_key);
/* Alertmanager takes an array of alerts; this is one element. */
json_t *cl_notify_alertmanager_alert(const struct cl_alert_msg *m);
json_t *cl_notify_servicenow_payload(const struct cl_alert_msg *m);
json_t *cl_notify_jira_payload(const struct cl_alert_msg *m, const char *project,
                               const char *issue_type);

/* The RFC 5424 line for m (no trailing newline, no octet count), with
 * hostname and app_name; written into a new buffer (free()). */
char *cl_notify_syslog_line(const struct cl_alert_msg *m, int facility, const char *hostname,
                            const char *app_name);

/* The digest mail for one recipient (headers and body, CRLF line ends).
 * New buffer (free()). */
char *cl_notify_email_digest(const struct cl_alert_msg *const *msgs, size_t n,
                             const char *from, const char *to, int64_t now);

/* HMAC-SHA256 of body with key, as "sha256=" and 64 hex digits, into out
 * (72 bytes or more). */
void cl_notify_signature(char *out, const char *key, const void *body, size_t len);

#endif
