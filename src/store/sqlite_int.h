/*
 * Internals of the SQLite backend shared by its source files: sqlite.c
 * (inventory, endpoints, policy), sqlite_alert.c (alerts, outbox, daemon
 * state), sqlite_manage.c (managed certificates) and sqlite_metrics.c
 * (aggregates for /metrics). Not a public interface: callers use
 * store/store.h.
 */
#ifndef CL_STORE_SQLITE_INT_H
#define CL_STORE_SQLITE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>
#include "store/backend.h"

enum sq_stmt {
	ST_CERT_BY_FP,
	ST_CERT_INSERT,
	ST_DER_INSERT,
	ST_LISTING_BOUNDS,
	ST_PLACE_GET,
	ST_PLACE_INSERT,
	ST_SIGHT_GET,
	ST_SIGHT_INSERT,
	ST_SIGHT_REFRESH,
	ST_CERT_SET_PRESENT,
	ST_CERT_RECOMPUTE_PRESENT,
	ST_PLACE_META,
	ST_PREV_CERT_META,
	ST_CERT_SET_META,
	ST_EVENT_INSERT,
	ST_STALE_SIGHTINGS,
	ST_SIGHT_GONE,
	ST_KEY_GET,
	ST_KEY_INSERT,
	ST_KEY_REFRESH,
	ST_STALE_KEYS,
	ST_KEY_GONE,
	ST_FINDING_GET,
	ST_FINDING_INSERT,
	ST_FINDING_REFRESH,
	ST_FINDING_STALE,
	ST_FINDING_RESOLVE,
	ST_EP_GET,
	ST_EP_OK,
	ST_EP_FAIL,
	ST_EP_TIMES,
	ST_RSA_INSERT,
	ST_COUNT
};

/* Cached statements of the other files (cl_sq_prep). */
enum sq_ext_stmt {
	CL_SQX_ALERT_INSERT,
	CL_SQX_ALERT_UPDATE,
	CL_SQX_ALERT_RESOLVE,
	CL_SQX_OUTBOX_INSERT,
	CL_SQX_OUTBOX_RESULT,
	CL_SQX_META_GET,
	CL_SQX_META_SET,
	CL_SQX_CERT_LOCATIONS,
	CL_SQX_MANAGED_PUT,
	CL_SQX_COUNT
};

struct sq_store {
	struct cl_store base;
	sqlite3 *db;
	char *path;
	bool in_txn;
	char actor[64];
	sqlite3_stmt *st[ST_COUNT];
	sqlite3_stmt *st_stage, *st_scope;   /* on temporary tables */
	bool readonly;
	/* statements of the other sqlite_*.c files, by their CL_SQX_* slot */
	sqlite3_stmt *ext[CL_SQX_COUNT];
	/* the last place looked up: files hold several certificates */
	char *pc_kind, *pc_loc;
	int64_t pc_id, pc_created_run;
};

#define SQ(s) ((struct sq_store *)(s))

/* Maps a SQLite result code to CL_ERR_* and records a message naming what. */
int cl_sq_rc(struct sq_store *q, int src, const char *what);
/* The cached statement id, reset and with bindings cleared; NULL on error. */
sqlite3_stmt *cl_sq_stmt(struct sq_store *q, enum sq_stmt id);
/* Same for the statements of the other files: prepared from sql once. */
sqlite3_stmt *cl_sq_prep(struct sq_store *q, enum sq_ext_stmt slot, const char *sql);
int cl_sq_exec(struct sq_store *q, const char *sql);
/* Binds s as text, or NULL. */
void cl_sq_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Steps a statement that returns no rows. */
int cl_sq_done(struct sq_store *q, sqlite3_stmt *st, const char *what);
/* Methods called outside cl_store_begin wrap themselves in a transaction. */
int cl_sq_auto_begin(struct sq_store *q, bool *mine);
int cl_sq_auto_end(struct sq_store *q, bool mine, int rc);
/* Appends an audit event. */
int cl_sq_event(struct sq_store *q, int64_t now, const char *type, const char *fp,
                const char *location, const char *detail);
const char *cl_sq_col_text(sqlite3_stmt *st, int i);
/* Runs a "SELECT text, text, count" grouping and feeds cb each row; what
 * names it in errors. */
int cl_sq_count3(struct sq_store *q, const char *sql, const char *what,
                 int (*cb)(void *arg, const char *a, const char *b, long n), void *arg);

/* sqlite_alert.c: the methods of the same names in store/store.h */
int cl_sq_meta_get(struct cl_store *s, const char *key, char **value);
int cl_sq_meta_set(struct cl_store *s, const char *key, const char *value);
int cl_sq_alerts(struct cl_store *s, const struct cl_alert_filter *f,
                 int (*cb)(void *arg, const struct cl_alert_row *r), void *arg);
int cl_sq_alerts_firing(struct cl_store *s,
                        int (*cb)(void *arg, const struct cl_alert_row *r), void *arg);
int cl_sq_alert_fire(struct cl_store *s, const char *key, const char *type,
                     const char *severity, const char *level, const char *fp,
                     const char *target, const char *summary, const char *payload,
                     bool oneshot, int64_t now,
                     int64_t *id);
int cl_sq_alert_resolve(struct cl_store *s, int64_t id, int64_t now);
int cl_sq_alert_certs(struct cl_store *s, const struct cl_alert_scan *q,
                      int (*cb)(void *arg, const struct cl_alert_cert *c), void *arg);
int cl_sq_cert_locations(struct cl_store *s, const char *fp,
                         int (*cb)(void *arg, const char *location), void *arg);
int cl_sq_alert_counts(struct cl_store *s,
                       int (*cb)(void *arg, const char *type, const char *severity, long n),
                       void *arg);
int cl_sq_outbox_add(struct cl_store *s, int64_t alert_id, const char *notifier,
                     const char *action, const char *msg_id, const char *payload, int64_t now);
int cl_sq_outbox_due(struct cl_store *s, int64_t now, long limit,
                     int (*cb)(void *arg, const struct cl_outbox_row *r), void *arg);
int cl_sq_outbox_update(struct cl_store *s, int64_t id, const char *state, int attempts,
                        int64_t next_at, const char *error, int64_t now);
int cl_sq_outbox_next(struct cl_store *s, int64_t *next_at);
int cl_sq_outbox_counts(struct cl_store *s,
                        int (*cb)(void *arg, const char *notifier, const char *state, long n),
                        void *arg);

/* sqlite_manage.c */
int cl_sq_managed_put(struct cl_store *s, const struct cl_managed_row *r);
int cl_sq_managed_rows(struct cl_store *s, const char *name,
                       int (*cb)(void *arg, const struct cl_managed_row *r), void *arg);
int cl_sq_managed_event(struct cl_store *s, const char *type, const char *name, const char *fp,
                        const char *detail, int64_t now);
int cl_sq_managed_spec_put(struct cl_store *s, const char *source, const char *text,
                           int64_t now);
int cl_sq_managed_specs(struct cl_store *s,
                        int (*cb)(void *arg, const char *source, const char *text,
                                  int64_t applied_at), void *arg);

/* sqlite_metrics.c */
int cl_sq_metric_series(struct cl_store *s, long limit,
                        int (*cb)(void *arg, const struct cl_metric_row *r), void *arg,
                        long *total);
int cl_sq_finding_counts(struct cl_store *s,
                         int (*cb)(void *arg, const char *rule, const char *severity, long n),
                         void *arg);

#endif
