/*
 * Alert evaluation: from the inventory to alert transitions in the outbox.
 *
 * One evaluation reads every present certificate once (expiry thresholds,
 * expired, renewal overdue), the failing endpoints (unreachable), the open
 * findings, the events since the last evaluation (certificate changed on
 * an endpoint) and the certificates of watched domains (new certificate,
 * new issuer). It compares what holds with the firing alerts:
 *  - a condition that starts holding fires once;
 *  - an expiry alert moving to a more urgent threshold (30d -> 14d ->
 *    expired) fires again under the same alert key (one incident, a
 *    notification per crossing); several thresholds crossed since the last
 *    evaluation fire once, at the most urgent;
 *  - a firing alert whose condition no longer holds resolves: a
 *    certificate replaced everywhere is no longer present, so nothing is
 *    repeated for it;
 *  - changes and new certificates are one-shot alerts.
 * Every transition is queued for the notifiers of the routes it matches,
 * in the same transaction as the alert state, so a crash loses nothing.
 */
#ifndef CL_ALERT_EVAL_H
#define CL_ALERT_EVAL_H

#include <stdint.h>
#include "serve/config.h"
#include "store/store.h"

struct cl_eval_stats {
	long certs;          /* present certificates looked at */
	long holding;        /* conditions that hold now */
	long fired;          /* new alerts (including one-shot) */
	long escalated;      /* firing alerts moved to a more urgent threshold */
	long resolved;
	long queued;         /* outbox rows written */
	long unrouted;       /* transitions no route matched */
	double seconds;
};

/*
 * Evaluates the alert rules of cfg at now over s and records the
 * transitions (and their outbox rows) in one transaction. The first
 * evaluation of a store does not alert on events recorded before it.
 * Returns CL_OK or a store error (cl_store_errmsg).
 */
int cl_alert_evaluate(struct cl_store *s, const struct cl_config *cfg, int64_t now,
                      struct cl_eval_stats *st);

/*
 * Queues one message for the notifiers of the routes matching it (or
 * for the notifier named only, when only is not NULL), under alert_id.
 * payload is m as JSON (cl_alert_msg_json), or NULL to encode it here.
 * *queued (may be NULL) receives the number of outbox rows written.
 */
int cl_alert_route(struct cl_store *s, const struct cl_config *cfg, int64_t alert_id,
                   const struct cl_alert_msg *m, const char *payload, const char *only,
                   int64_t now, long *queued);

/* Whether the routes of cfg send m to notifier number k. */
bool cl_alert_routes_to(const struct cl_config *cfg, const struct cl_alert_msg *m, size_t k);

/*
 * How long a firing alert stays active at receivers that expire alerts
 * (Alertmanager's endsAt) when not sent again: three evaluation
 * intervals and ten minutes; the daemon sends firing alerts to them again
 * after every evaluation (cl_alert_refresh).
 */
int64_t cl_alert_ttl(const struct cl_config *cfg);

/*
 * Sends the firing alerts not updated at now again, with a new ends_at,
 * to the notifiers of types that expire alerts (Alertmanager): directly,
 * not through the outbox (a missed refresh is made good by the next).
 * *sent (may be NULL) receives the number of messages sent.
 */
int cl_alert_refresh(struct cl_store *s, const struct cl_config *cfg, int64_t now, long *sent);

/* A new idempotency key: 32 random lowercase hex digits and a NUL. */
int cl_alert_new_id(char out[33]);

#endif
