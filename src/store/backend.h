/*
 * Store backends. Each backend is a const table of callbacks mirroring
 * the public functions of store/store.h one to one; store.c dispatches.
 * A backend's handle embeds struct cl_store as its first member.
 */
#ifndef CL_STORE_BACKEND_H
#define CL_STORE_BACKEND_H

#include "store/store.h"

struct cl_store_backend;

struct cl_store {
	const struct cl_store_backend *be;
	char errmsg[512];
};

struct cl_store_backend {
	const char *name;
	/* Returns true when uri belongs to this backend; sets *path to the
	 * backend-specific part (borrowed from uri). */
	bool (*claims)(const char *uri, const char **path);
	int (*open)(struct cl_store **out, const char *path, unsigned flags,
	            char *err, size_t errlen);
	void (*close)(struct cl_store *s);
	int (*begin)(struct cl_store *s);
	int (*commit)(struct cl_store *s);
	int (*rollback)(struct cl_store *s);
	int (*run_begin)(struct cl_store *s, const char *kind, const char *args,
	                 int64_t now, int64_t *run_id);
	int (*run_end)(struct cl_store *s, int64_t run_id, const char *status,
	               const char *stats_json, int64_t now);
	int (*observe_cert)(struct cl_store *s, int64_t run_id, const struct cl_cert *c,
	                    const char *kind, const char *where, const char *detail,
	                    int64_t now, unsigned *what);
	int (*observe_key)(struct cl_store *s, int64_t run_id, const struct cl_key_obs *k,
	                   const char *kind, const char *where, int64_t now, bool *is_new);
	int (*location_done)(struct cl_store *s, int64_t run_id, const char *kind,
	                     const char *where, int64_t now, long *ngone);
	int (*sweep)(struct cl_store *s, int64_t run_id, const char *kind, const char *root,
	             cl_exists_cb exists, void *arg, int64_t now, long *ngone);
	int (*finding_raise)(struct cl_store *s, int64_t run_id, const char *rule,
	                     const char *severity, const char *target, const char *fp,
	                     const char *message, int64_t now, bool *is_new);
	int (*finding_settle)(struct cl_store *s, int64_t run_id, const char *rule_prefix,
	                      const char *target, int64_t now);
	int (*tag)(struct cl_store *s, const char *fp_prefix, const char *location,
	           const struct cl_tag_edit *e, const char *actor, int64_t now, long *nchanged);
	int (*query)(struct cl_store *s, const struct cl_filter *f, cl_row_cb cb, void *arg);
	int (*query_json)(struct cl_store *s, const struct cl_filter *f, cl_json_cb cb, void *arg);
	int (*get_der)(struct cl_store *s, const char *fp_hex, unsigned char **der, size_t *len);
	int (*summary)(struct cl_store *s, const struct cl_filter *f, struct cl_summary *out);
	int (*events)(struct cl_store *s, const struct cl_event_filter *f,
	              int (*cb)(void *arg, const struct cl_event_row *e), void *arg);
	int (*findings)(struct cl_store *s, const struct cl_finding_filter *f,
	                int (*cb)(void *arg, const struct cl_finding_row *r), void *arg);
	int (*keys)(struct cl_store *s, const char *spki_hex,
	            int (*cb)(void *arg, const struct cl_key_row *k), void *arg);
	int (*observe_endpoint)(struct cl_store *s, int64_t run_id, struct cl_endpoint_obs *e,
	                        int64_t now, const char *location, unsigned *what,
	                        long *certs_new);
	int (*endpoints)(struct cl_store *s, const struct cl_endpoint_filter *f,
	                 int (*cb)(void *arg, const struct cl_endpoint_row *r), void *arg);
	int (*findings_open)(struct cl_store *s, const char *rule_prefix,
	                     int (*cb)(void *arg, int64_t id, const char *rule, const char *target,
	                               const char *fp, const char *severity, const char *message),
	                     void *arg);
	int (*findings_stage_begin)(struct cl_store *s);
	int (*findings_stage)(struct cl_store *s, const char *rule, const char *severity,
	                      const char *target, const char *fp, const char *message);
	int (*findings_stage_resolve)(struct cl_store *s, int64_t id);
	int (*findings_stage_end)(struct cl_store *s, int64_t run_id, int64_t now, long *opened,
	                          long *changed, long *resolved);
	int (*policy_rows)(struct cl_store *s, const struct cl_filter *f, bool locations,
	                   int (*cb)(void *arg, const struct cl_policy_row *r), void *arg);
	int (*ca_certs)(struct cl_store *s,
	                int (*cb)(void *arg, const char *subject, const char *ski,
	                          const unsigned char *der, size_t len), void *arg);
	int (*meta_get)(struct cl_store *s, const char *key, char **value);
	int (*meta_set)(struct cl_store *s, const char *key, const char *value);
	int (*alerts)(struct cl_store *s, const struct cl_alert_filter *f,
	              int (*cb)(void *arg, const struct cl_alert_row *r), void *arg);
	int (*alerts_firing)(struct cl_store *s,
	                     int (*cb)(void *arg, const struct cl_alert_row *r), void *arg);
	int (*alert_fire)(struct cl_store *s, const char *key, const char *type,
	                  const char *severity, const char *level, const char *fp,
	                  const char *target, const char *summary, const char *payload,
	                  bool oneshot, int64_t now,
	                  int64_t *id);
	int (*alert_resolve)(struct cl_store *s, int64_t id, int64_t now);
	int (*alert_certs)(struct cl_store *s, const struct cl_alert_scan *q,
	                   int (*cb)(void *arg, const struct cl_alert_cert *c), void *arg);
	int (*cert_locations)(struct cl_store *s, const char *fp,
	                      int (*cb)(void *arg, const char *location), void *arg);
	int (*alert_counts)(struct cl_store *s,
	                    int (*cb)(void *arg, const char *type, const char *severity, long n),
	                    void *arg);
	int (*outbox_add)(struct cl_store *s, int64_t alert_id, const char *notifier,
	                  const char *action, const char *msg_id, const char *payload,
	                  int64_t now);
	int (*outbox_due)(struct cl_store *s, int64_t now, long limit,
	                  int (*cb)(void *arg, const struct cl_outbox_row *r), void *arg);
	int (*outbox_update)(struct cl_store *s, int64_t id, const char *state, int attempts,
	                     int64_t next_at, const char *error, int64_t now);
	int (*outbox_next)(struct cl_store *s, int64_t *next_at);
	int (*outbox_counts)(struct cl_store *s,
	                     int (*cb)(void *arg, const char *notifier, const char *state, long n),
	                     void *arg);
	int (*metric_series)(struct cl_store *s, long limit,
	                     int (*cb)(void *arg, const struct cl_metric_row *r), void *arg,
	                     long *total);
	int (*finding_counts)(struct cl_store *s,
	                      int (*cb)(void *arg, const char *rule, const char *severity, long n),
	                      void *arg);
	int (*key_hosts)(struct cl_store *s, int (*cb)(void *arg, const char *spki, long n),
	                 void *arg);
	int (*shared_keys)(struct cl_store *s, int (*cb)(void *arg, const char *spki, long n),
	                   void *arg);
	int (*exposed_keys)(struct cl_store *s,
	                    int (*cb)(void *arg, const char *location, const char *spki, int mode),
	                    void *arg);
	int (*weak_rsa)(struct cl_store *s, long min_e,
	                int (*cb)(void *arg, const char *fp, int64_t e, bool roca), void *arg);
	int (*managed_put)(struct cl_store *s, const struct cl_managed_row *r);
	int (*managed_rows)(struct cl_store *s, const char *name,
	                    int (*cb)(void *arg, const struct cl_managed_row *r), void *arg);
	int (*managed_event)(struct cl_store *s, const char *type, const char *name,
	                     const char *fp, const char *detail, int64_t now);
	int (*managed_spec_put)(struct cl_store *s, const char *source, const char *text,
	                        int64_t now);
	int (*managed_specs)(struct cl_store *s,
	                     int (*cb)(void *arg, const char *source, const char *text,
	                               int64_t applied_at), void *arg);
};

extern const struct cl_store_backend cl_store_sqlite;

/* Formats a message into s->errmsg and returns rc. */
int cl_store_fail(struct cl_store *s, int rc, const char *fmt, ...) CL_PRINTF(3, 4);

#endif
