/*
 * Delivery of the outbox: due messages go to their notifier, grouped per
 * notifier (one e-mail digest per recipient, one syslog connection, ...);
 * each attempt is recorded in its own small transaction after the send,
 * so a crash at any point sends a message again rather than never (at
 * least once; receivers dedupe on the message id). Failures are retried
 * with exponential backoff and jitter until the config's give_up age.
 */
#ifndef CL_ALERT_DELIVER_H
#define CL_ALERT_DELIVER_H

#include <signal.h>
#include <stdint.h>
#include "serve/config.h"
#include "store/store.h"

struct cl_deliver_stats {
	long attempted, sent, retry, failed;
};

/*
 * Sends every outbox row due at now (cl_now() for the timestamps of the
 * records); stops early when *stop becomes set (may be NULL). Returns
 * CL_OK or a store error; send failures are recorded, not returned.
 */
int cl_alert_deliver(struct cl_store *s, const struct cl_config *cfg, int64_t now,
                     volatile sig_atomic_t *stop, struct cl_deliver_stats *st);

/*
 * Seconds before attempt number attempts + 1 (attempts >= 1 made so far):
 * backoff_min * 2^(attempts-1), at most backoff_max, times a factor in
 * [0.8, 1.2) taken from jitter (uniform in [0, 1)).
 */
int64_t cl_alert_backoff(const struct cl_config *cfg, int attempts, double jitter);

#endif
