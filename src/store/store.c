/* Backend selection and dispatch for the inventory store. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pwd.h>
#include <unistd.h>
#include "core/util.h"
#include "store/backend.h"

static const struct cl_store_backend *const backends[] = {
	&cl_store_sqlite,
};

const char *const cl_store_sort_fields[] = {
	"not_after", "not_before", "days_left", "subject", "issuer", "serial",
	"fingerprint", "key_type", "key_bits", "sig_alg", "owner", "environment",
	"first_seen", NULL,
};

int cl_store_fail(struct cl_store *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
	va_end(ap);
	return rc;
}

const char *cl_store_default_path(char *buf, size_t len)
{
	const char *e = getenv("CERTLEDGER_DB"), *home;
	struct passwd *pw;

	if (e && *e) {
		snprintf(buf, len, "%s", e);
		return buf;
	}
	if ((e = getenv("XDG_DATA_HOME")) && *e == '/') {
		snprintf(buf, len, "%s/certledger/inventory.db", e);
		return buf;
	}
	home = getenv("HOME");
	if ((!home || !*home) && (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	snprintf(buf, len, "%s/.local/share/certledger/inventory.db", home ? home : ".");
	return buf;
}

int cl_store_open(struct cl_store **out, const char *uri, unsigned flags,
                  char *err, size_t errlen)
{
	const char *path;
	size_t i;

	*out = NULL;
	for (i = 0; i < CL_ARRAY_LEN(backends); i++)
		if (backends[i]->claims(uri, &path))
			return backends[i]->open(out, path, flags, err, errlen);
	snprintf(err, errlen, "%s: no store backend for this URI", uri);
	return CL_ERR_USAGE;
}

void cl_store_close(struct cl_store *s)
{
	if (s)
		s->be->close(s);
}

const char *cl_store_errmsg(const struct cl_store *s) { return s->errmsg; }
int cl_store_begin(struct cl_store *s) { return s->be->begin(s); }
int cl_store_commit(struct cl_store *s) { return s->be->commit(s); }
int cl_store_rollback(struct cl_store *s) { return s->be->rollback(s); }

int cl_store_run_begin(struct cl_store *s, const char *kind, const char *args,
                       int64_t now, int64_t *run_id)
{
	return s->be->run_begin(s, kind, args, now, run_id);
}

int cl_store_run_end(struct cl_store *s, int64_t run_id, const char *status,
                     const char *stats_json, int64_t now)
{
	return s->be->run_end(s, run_id, status, stats_json, now);
}

int cl_store_observe_cert(struct cl_store *s, int64_t run_id, const struct cl_cert *c,
                          const char *kind, const char *where, const char *detail,
                          int64_t now, unsigned *what)
{
	unsigned w = 0;
	int rc = s->be->observe_cert(s, run_id, c, kind, where, detail, now, &w);

	if (what)
		*what = w;
	return rc;
}

int cl_store_observe_key(struct cl_store *s, int64_t run_id, const struct cl_key_obs *k,
                         const char *kind, const char *where, int64_t now, bool *is_new)
{
	bool n = false;
	int rc = s->be->observe_key(s, run_id, k, kind, where, now, &n);

	if (is_new)
		*is_new = n;
	return rc;
}

int cl_store_location_done(struct cl_store *s, int64_t run_id, const char *kind,
                           const char *where, int64_t now, long *ngone)
{
	long n = 0;
	int rc = s->be->location_done(s, run_id, kind, where, now, &n);

	if (ngone)
		*ngone = n;
	return rc;
}

int cl_store_sweep(struct cl_store *s, int64_t run_id, const char *kind, const char *root,
                   cl_exists_cb exists, void *arg, int64_t now, long *ngone)
{
	long n = 0;
	int rc = s->be->sweep(s, run_id, kind, root, exists, arg, now, &n);

	if (ngone)
		*ngone = n;
	return rc;
}

int cl_store_finding_raise(struct cl_store *s, int64_t run_id, const char *rule,
                           const char *severity, const char *target, const char *fp,
                           const char *message, int64_t now, bool *is_new)
{
	bool n = false;
	int rc = s->be->finding_raise(s, run_id, rule, severity, target, fp, message, now, &n);

	if (is_new)
		*is_new = n;
	return rc;
}

int cl_store_finding_settle(struct cl_store *s, int64_t run_id, const char *rule_prefix,
                            const char *target, int64_t now)
{
	return s->be->finding_settle(s, run_id, rule_prefix, target, now);
}

int cl_store_tag(struct cl_store *s, const char *fp_prefix, const char *location,
                 const struct cl_tag_edit *e, const char *actor, int64_t now,
                 long *nchanged)
{
	long n = 0;
	int rc = s->be->tag(s, fp_prefix, location, e, actor, now, &n);

	if (nchanged)
		*nchanged = n;
	return rc;
}

void cl_filter_init(struct cl_filter *f)
{
	memset(f, 0, sizeof *f);
	f->now = cl_now();
	f->expiring = -1;
	f->self_signed = CL_ANY;
	f->ca = CL_ANY;
	f->state = CL_STATE_PRESENT;
}

int cl_store_query(struct cl_store *s, const struct cl_filter *f, cl_row_cb cb, void *arg)
{
	return s->be->query(s, f, cb, arg);
}

int cl_store_query_json(struct cl_store *s, const struct cl_filter *f, cl_json_cb cb, void *arg)
{
	return s->be->query_json(s, f, cb, arg);
}

int cl_store_get_der(struct cl_store *s, const char *fp_hex, unsigned char **der, size_t *len)
{
	return s->be->get_der(s, fp_hex, der, len);
}

int cl_store_summary(struct cl_store *s, const struct cl_filter *f, struct cl_summary *out)
{
	memset(out, 0, sizeof *out);
	return s->be->summary(s, f, out);
}

static void counts_free(struct cl_count *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(c[i].name);
	free(c);
}

void cl_summary_free(struct cl_summary *sum)
{
	counts_free(sum->by_issuer, sum->nissuer);
	counts_free(sum->by_key, sum->nkey);
	counts_free(sum->by_sig, sum->nsig);
	memset(sum, 0, sizeof *sum);
}

int cl_store_events(struct cl_store *s, const struct cl_event_filter *f,
                    int (*cb)(void *arg, const struct cl_event_row *e), void *arg)
{
	return s->be->events(s, f, cb, arg);
}

int cl_store_findings(struct cl_store *s, const struct cl_finding_filter *f,
                      int (*cb)(void *arg, const struct cl_finding_row *r), void *arg)
{
	return s->be->findings(s, f, cb, arg);
}

int cl_store_keys(struct cl_store *s, const char *spki_hex,
                  int (*cb)(void *arg, const struct cl_key_row *k), void *arg)
{
	return s->be->keys(s, spki_hex, cb, arg);
}

const char *cl_endpoint_location(char *buf, size_t len, const char *address, int port,
                                 const char *sni)
{
	bool v6 = strchr(address, ':') != NULL;

	snprintf(buf, len, "tls:%s%s%s:%d%s%s", v6 ? "[" : "", address, v6 ? "]" : "", port,
	         sni && *sni ? "/" : "", sni && *sni ? sni : "");
	return buf;
}

int cl_store_observe_endpoint(struct cl_store *s, int64_t run_id, struct cl_endpoint_obs *e,
                              int64_t now, char *buf, size_t buflen, unsigned *what,
                              long *certs_new)
{
	unsigned w = 0;
	long n = 0;
	int rc;

	e->r.location = cl_endpoint_location(buf, buflen, e->r.address, e->r.port, e->r.sni);
	rc = s->be->observe_endpoint(s, run_id, e, now, e->r.location, &w, &n);
	if (what)
		*what = w;
	if (certs_new)
		*certs_new = n;
	return rc;
}

int cl_store_endpoints(struct cl_store *s, const struct cl_endpoint_filter *f,
                       int (*cb)(void *arg, const struct cl_endpoint_row *r), void *arg)
{
	return s->be->endpoints(s, f, cb, arg);
}

int cl_store_findings_open(struct cl_store *s, const char *rule_prefix,
                           int (*cb)(void *arg, int64_t id, const char *rule,
                                     const char *target, const char *fp,
                                     const char *severity, const char *message),
                           void *arg)
{
	return s->be->findings_open(s, rule_prefix, cb, arg);
}

int cl_store_findings_stage_begin(struct cl_store *s)
{
	return s->be->findings_stage_begin(s);
}

int cl_store_findings_stage(struct cl_store *s, const char *rule, const char *severity,
                            const char *target, const char *fp, const char *message)
{
	return s->be->findings_stage(s, rule, severity, target, fp, message);
}

int cl_store_findings_stage_resolve(struct cl_store *s, int64_t id)
{
	return s->be->findings_stage_resolve(s, id);
}

int cl_store_findings_stage_end(struct cl_store *s, int64_t run_id, int64_t now,
                                long *opened, long *changed, long *resolved)
{
	long o = 0, c = 0, r = 0;
	int rc = s->be->findings_stage_end(s, run_id, now, &o, &c, &r);

	if (opened)
		*opened = o;
	if (changed)
		*changed = c;
	if (resolved)
		*resolved = r;
	return rc;
}

int cl_store_policy_rows(struct cl_store *s, const struct cl_filter *f, bool locations,
                         int (*cb)(void *arg, const struct cl_policy_row *r), void *arg)
{
	return s->be->policy_rows(s, f, locations, cb, arg);
}

int cl_store_ca_certs(struct cl_store *s,
                      int (*cb)(void *arg, const char *subject, const char *ski,
                                const unsigned char *der, size_t len), void *arg)
{
	return s->be->ca_certs(s, cb, arg);
}

int cl_store_key_hosts(struct cl_store *s, int (*cb)(void *arg, const char *spki, long n),
                       void *arg)
{
	return s->be->key_hosts(s, cb, arg);
}

int cl_store_shared_keys(struct cl_store *s, int (*cb)(void *arg, const char *spki, long n),
                         void *arg)
{
	return s->be->shared_keys(s, cb, arg);
}

int cl_store_exposed_keys(struct cl_store *s,
                          int (*cb)(void *arg, const char *location, const char *spki,
                                    int mode), void *arg)
{
	return s->be->exposed_keys(s, cb, arg);
}

int cl_store_weak_rsa(struct cl_store *s, long min_e,
                      int (*cb)(void *arg, const char *fp, int64_t e, bool roca), void *arg)
{
	return s->be->weak_rsa(s, min_e, cb, arg);
}

int cl_store_meta_get(struct cl_store *s, const char *key, char **value)
{
	return s->be->meta_get(s, key, value);
}

int cl_store_meta_set(struct cl_store *s, const char *key, const char *value)
{
	return s->be->meta_set(s, key, value);
}

int cl_store_alerts(struct cl_store *s, const struct cl_alert_filter *f,
                    int (*cb)(void *arg, const struct cl_alert_row *r), void *arg)
{
	return s->be->alerts(s, f, cb, arg);
}

int cl_store_alerts_firing(struct cl_store *s,
                           int (*cb)(void *arg, const struct cl_alert_row *r), void *arg)
{
	return s->be->alerts_firing(s, cb, arg);
}

int cl_store_alert_fire(struct cl_store *s, const char *key, const char *type,
                        const char *severity, const char *level, const char *fp,
                        const char *target, const char *summary, const char *payload,
                        bool oneshot, int64_t now,
                        int64_t *id)
{
	return s->be->alert_fire(s, key, type, severity, level, fp, target, summary, payload,
	                         oneshot, now, id);
}

int cl_store_alert_resolve(struct cl_store *s, int64_t id, int64_t now)
{
	return s->be->alert_resolve(s, id, now);
}

int cl_store_alert_certs(struct cl_store *s, const struct cl_alert_scan *q,
                         int (*cb)(void *arg, const struct cl_alert_cert *c), void *arg)
{
	return s->be->alert_certs(s, q, cb, arg);
}

int cl_store_cert_locations(struct cl_store *s, const char *fp,
                            int (*cb)(void *arg, const char *location), void *arg)
{
	return s->be->cert_locations(s, fp, cb, arg);
}

int cl_store_alert_counts(struct cl_store *s,
                          int (*cb)(void *arg, const char *type, const char *severity, long n),
                          void *arg)
{
	return s->be->alert_counts(s, cb, arg);
}

int cl_store_outbox_add(struct cl_store *s, int64_t alert_id, const char *notifier,
                        const char *action, const char *msg_id, const char *payload,
                        int64_t now)
{
	return s->be->outbox_add(s, alert_id, notifier, action, msg_id, payload, now);
}

int cl_store_outbox_due(struct cl_store *s, int64_t now, long limit,
                        int (*cb)(void *arg, const struct cl_outbox_row *r), void *arg)
{
	return s->be->outbox_due(s, now, limit, cb, arg);
}

int cl_store_outbox_update(struct cl_store *s, int64_t id, const char *state, int attempts,
                           int64_t next_at, const char *error, int64_t now)
{
	return s->be->outbox_update(s, id, state, attempts, next_at, error, now);
}

int cl_store_outbox_next(struct cl_store *s, int64_t *next_at)
{
	return s->be->outbox_next(s, next_at);
}

int cl_store_outbox_counts(struct cl_store *s,
                           int (*cb)(void *arg, const char *notifier, const char *state,
                                     long n),
                           void *arg)
{
	return s->be->outbox_counts(s, cb, arg);
}

int cl_store_metric_series(struct cl_store *s, long limit,
                           int (*cb)(void *arg, const struct cl_metric_row *r), void *arg,
                           long *total)
{
	return s->be->metric_series(s, limit, cb, arg, total);
}

int cl_store_finding_counts(struct cl_store *s,
                            int (*cb)(void *arg, const char *rule, const char *severity,
                                      long n),
                            void *arg)
{
	return s->be->finding_counts(s, cb, arg);
}

int cl_store_managed_put(struct cl_store *s, const struct cl_managed_row *r)
{
	return s->be->managed_put(s, r);
}

int cl_store_managed_rows(struct cl_store *s, const char *name,
                          int (*cb)(void *arg, const struct cl_managed_row *r), void *arg)
{
	return s->be->managed_rows(s, name, cb, arg);
}

int cl_store_managed_event(struct cl_store *s, const char *type, const char *name,
                           const char *fp, const char *detail, int64_t now)
{
	return s->be->managed_event(s, type, name, fp, detail, now);
}

int cl_store_managed_spec_put(struct cl_store *s, const char *source, const char *text,
                              int64_t now)
{
	return s->be->managed_spec_put(s, source, text, now);
}

int cl_store_managed_specs(struct cl_store *s,
                           int (*cb)(void *arg, const char *source, const char *text,
                                     int64_t applied_at), void *arg)
{
	return s->be->managed_specs(s, cb, arg);
}

int cl_severity_rank(const char *sev)
{
	static const char *const names[] = { "info", "warning", "error", "critical" };
	size_t i;

	for (i = 0; sev && i < CL_ARRAY_LEN(names); i++)
		if (strcasecmp(sev, names[i]) == 0)
			return (int)i;
	return -1;
}
