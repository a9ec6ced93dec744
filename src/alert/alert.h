/*
 * Alerts: what the monitoring daemon tells people, and how it gets there.
 *
 * An alert is a condition about one certificate or endpoint ("the
 * certificate FP crossed its 14-day threshold", "tls:10.0.0.5:443 stopped
 * answering"). Evaluation (alert/eval.c) derives the conditions that hold
 * from the inventory, compares them with the alerts already recorded and
 * records transitions: an alert fires once per threshold crossing and
 * resolves when its cause is gone. Each transition is queued in the
 * store's outbox once per notifier its route names, in the same
 * transaction, and delivered later (alert/deliver.c) with retries: a crash
 * at any point loses nothing (at least once; receivers dedupe on the
 * message id).
 *
 * A struct cl_alert_msg is one transition as notifiers see it; its JSON
 * form (cl_alert_msg_json) is the generic webhook's body and what the
 * outbox keeps.
 */
#ifndef CL_ALERT_H
#define CL_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/cl.h"

/* Alert types (the event_type field). */
#define CL_AT_EXPIRING "cert.expiring"          /* a threshold was crossed */
#define CL_AT_EXPIRED "cert.expired"
#define CL_AT_RENEWAL_OVERDUE "cert.renewal_overdue" /* past its renewal point */
#define CL_AT_CHANGED "endpoint.cert_changed"  /* an endpoint serves another leaf */
#define CL_AT_UNREACHABLE "endpoint.unreachable"
#define CL_AT_NEW_CERT "domain.new_cert"        /* new certificate for a watched domain */
#define CL_AT_NEW_ISSUER "domain.new_issuer"    /* ... from an issuer not seen for it */
#define CL_AT_FINDING "finding.opened"          /* a policy finding */
#define CL_AT_RENEWAL_FAILING "manage.renewal_failing" /* a managed certificate's renewal
                                                   (or issuance) keeps failing */
#define CL_AT_HOOK_FAILED "manage.hook_failed"  /* a managed certificate's deploy hook failed */
#define CL_AT_TEST "test"                       /* `certledger alerts test` */

/*
 * One alert transition, as delivered. Strings may be NULL (sent as null
 * or left out); times are Unix seconds, 0 when unknown.
 */
struct cl_alert_msg {
	const char *id;            /* idempotency key, unique per transition:
	                              32 lowercase hex */
	const char *alert_key;     /* stable for the alert across its transitions
	                              (PagerDuty dedup key, Alertmanager labels):
	                              "cert.expiring:FP:14d" */
	const char *event_type;    /* CL_AT_* */
	const char *action;        /* "firing" or "resolved" */
	const char *severity;      /* info, warning, error, critical */
	const char *summary;       /* one human line */
	int64_t timestamp;         /* of the transition */
	/* the certificate (all NULL/0 for an alert about an endpoint that
	 * presented none) */
	const char *certificate_subject, *subject_cn;
	const char *certificate_serial;   /* hex */
	const char *issuer, *issuer_cn;
	const char *fingerprint_sha256;
	int64_t not_before, expiration_date;
	long days_left;            /* floor((not_after - timestamp) / 86400) */
	const char *const *locations;     /* "kind:where" where it is deployed */
	size_t nlocations;
	const char *owner, *environment;
	const char *const *tags;
	size_t ntags;
	const char *threshold;     /* "14d", "33%", or NULL */
	const char *detail;        /* e.g. "was 1a2b..., now 3c4d...", a finding's
	                              message */
	const char *dashboard_url; /* link back, from the config; may be NULL */
	/* managed certificates (manage.* alerts): the name in the spec, the
	 * consecutive failures and when renewal is tried next (NULL/0 else) */
	const char *managed;
	int failures;
	int64_t next_attempt;
	int64_t ends_at;           /* firing: until when a receiver that expires
	                              alerts (Alertmanager) keeps it active unless
	                              it is sent again; 0 = the receiver's default */
};

/*
 * The generic webhook body: an object with timestamp (RFC 3339 UTC),
 * event_type, action, severity, summary, alert_key, id, certificate_subject,
 * certificate_serial, issuer, expiration_date (RFC 3339), days_left,
 * fingerprint_sha256, locations (array), owner, environment, tags,
 * threshold, detail; for manage.* alerts also managed, failures and
 * next_attempt (RFC 3339), left out for the others. New reference.
 */
json_t *cl_alert_msg_json(const struct cl_alert_msg *m);

/*
 * Reads back what cl_alert_msg_json wrote (the outbox keeps that). The
 * strings in *m point into j (and into arrays allocated in *strs, freed
 * with free()); j must outlive *m. CL_ERR_PARSE when a field has the
 * wrong type.
 */
int cl_alert_msg_from_json(struct cl_alert_msg *m, json_t *j, void **strs);

#endif
