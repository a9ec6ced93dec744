/* Outbox delivery (see alert/deliver.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>
#include "alert/deliver.h"
#include "alert/notify.h"
#include "core/log.h"
#include "core/util.h"

#define BATCH 256

struct item {
	int64_t id, created;
	int attempts;
	char *notifier;
	json_t *json;             /* the payload, parsed */
	struct cl_alert_msg msg;
	void *strs;
	bool ok;                  /* payload readable */
};

struct due {
	struct item *v;
	size_t n, cap;
};

static int on_due(void *arg, const struct cl_outbox_row *r)
{
	struct due *d = arg;
	struct item *it;

	if (CL_GROW(d->v, d->cap, d->n + 1) != CL_OK)
		return CL_ERR_NOMEM;
	it = &d->v[d->n++];
	memset(it, 0, sizeof *it);
	it->id = r->id;
	it->created = r->created;
	it->attempts = r->attempts;
	if (!(it->notifier = strdup(r->notifier)))
		return CL_ERR_NOMEM;
	it->json = json_loads(r->payload, 0, NULL);
	it->ok = it->json && cl_alert_msg_from_json(&it->msg, it->json, &it->strs) == CL_OK;
	return CL_OK;
}

static void due_free(struct due *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].notifier);
		free(d->v[i].strs);
		json_decref(d->v[i].json);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}

int64_t cl_alert_backoff(const struct cl_config *cfg, int attempts, double jitter)
{
	double d = (double)cfg->backoff_min;
	int i;

	for (i = 1; i < attempts && d < (double)cfg->backoff_max; i++)
		d *= 2;
	if (d > (double)cfg->backoff_max)
		d = (double)cfg->backoff_max;
	d *= 0.8 + 0.4 * jitter;
	return d < 1 ? 1 : (int64_t)d;
}

static double jitter(void)
{
	uint32_t r;

	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		return 0.5;
	return (double)r / 4294967296.0;
}

/* Records the outcome of one row. */
static int record(struct cl_store *s, const struct cl_config *cfg, struct item *it,
                  enum cl_send_rc res, const char *err, int64_t now, struct cl_deliver_stats *st)
{
	int attempts = it->attempts + 1;

	if (res == CL_SEND_OK) {
		st->sent++;
		return cl_store_outbox_update(s, it->id, "sent", attempts, now, NULL, now);
	}
	if (res == CL_SEND_RETRY && now - it->created < cfg->give_up) {
		int64_t next = now + cl_alert_backoff(cfg, attempts, jitter());
		st->retry++;
		return cl_store_outbox_update(s, it->id, "pending", attempts, next, err, now);
	}
	st->failed++;
	cl_log(CL_LOG_WARN, "alert delivery %lld via %s given up after %d attempt%s: %s",
	       (long long)it->id, it->notifier, attempts, attempts == 1 ? "" : "s", err);
	return cl_store_outbox_update(s, it->id, "failed", attempts, now, err, now);
}

/* Sends the rows of one notifier (items[0..n), all for nt). */
static int send_group(struct cl_store *s, const struct cl_config *cfg,
                      const struct cl_notifier *nt, struct item **items, size_t n, int64_t now,
                      struct cl_deliver_stats *st)
{
	const struct cl_alert_msg **msgs = calloc(n, sizeof *msgs);
	char err[1024];
	enum cl_send_rc res;
	size_t i, nsent = 0;
	int rc = CL_OK;

	if (!msgs)
		return CL_ERR_NOMEM;
	for (i = 0; i < n; i++)
		msgs[i] = &items[i]->msg;
	err[0] = '\0';
	st->attempted += (long)n;
	res = cl_notify_send(nt, msgs, n, &nsent, err, sizeof err);
	if (res != CL_SEND_OK)
		cl_log(CL_LOG_WARN, "notifier %s: %s", nt->name, err[0] ? err : "failed");
	/* the outcomes of one send in one transaction (one fsync, not n) */
	if ((rc = cl_store_begin(s)) != CL_OK) {
		free(msgs);
		return rc;
	}
	for (i = 0; rc == CL_OK && i < n; i++) {
		enum cl_send_rc r = res;
		if (res == CL_SEND_OK || i < nsent)
			r = CL_SEND_OK;
		else if (res == CL_SEND_FAIL && nsent < n && i > nsent)
			continue;     /* not tried: the next round sends it */
		rc = record(s, cfg, items[i], r, err, now, st);
	}
	if (rc == CL_OK)
		rc = cl_store_commit(s);
	else
		cl_store_rollback(s);
	free(msgs);
	return rc;
}

int cl_alert_deliver(struct cl_store *s, const struct cl_config *cfg, int64_t now,
                     volatile sig_atomic_t *stop, struct cl_deliver_stats *st)
{
	struct due d = { 0 };
	struct item **group = NULL;
	size_t i, k, n, rounds = 0;
	bool *done = NULL;
	int rc = CL_OK;

	memset(st, 0, sizeof *st);
	/* a round takes a batch of due rows; rows retried later are no longer due */
	while (rc == CL_OK && !(stop && *stop) && rounds++ < 1000) {
		due_free(&d);
		free(group);
		free(done);
		group = NULL;
		done = NULL;
		if ((rc = cl_store_outbox_due(s, now, BATCH, on_due, &d)) != CL_OK || d.n == 0)
			break;
		if (!(group = calloc(d.n, sizeof *group)) || !(done = calloc(d.n, sizeof *done))) {
			rc = CL_ERR_NOMEM;
			break;
		}
		for (i = 0; rc == CL_OK && i < d.n && !(stop && *stop); i++) {
			const struct cl_notifier *nt;
			if (done[i])
				continue;
			nt = cl_config_notifier(cfg, d.v[i].notifier);
			n = 0;
			for (k = i; k < d.n; k++)
				if (!done[k] && strcmp(d.v[k].notifier, d.v[i].notifier) == 0) {
					done[k] = true;
					if (!d.v[k].ok) {
						st->attempted++;
						rc = record(s, cfg, &d.v[k], CL_SEND_FAIL,
						            "the queued message is unreadable", now, st);
					} else if (!nt) {
						char why[256];
						snprintf(why, sizeof why, "notifier '%s' is no longer configured",
						         d.v[k].notifier);
						st->attempted++;
						rc = record(s, cfg, &d.v[k], CL_SEND_FAIL, why, now, st);
					} else {
						group[n++] = &d.v[k];
					}
					if (rc != CL_OK)
						break;
				}
			if (rc == CL_OK && n)
				rc = send_group(s, cfg, nt, group, n, now, st);
		}
	}
	due_free(&d);
	free(group);
	free(done);
	return rc;
}
