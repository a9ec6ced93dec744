/*
 * Alert evaluation (see alert/eval.h). Passes, in order: the firing
 * alerts, the failing endpoints, the open findings, the change events,
 * then one pass over the present certificates, which also fills in the
 * certificate facts (owner, locations, ...) the earlier alerts need, so
 * that no alert costs a query of its own.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>
#include "alert/eval.h"
#include "alert/notify.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/strmap.h"
#include "core/util.h"

#define DAY 86400

/* The certificate facts an alert message carries (owned copies). */
struct certinfo {
	char fp[65];
	bool found;
	char *subject, *subject_cn, *serial, *issuer, *issuer_cn, *owner, *environment;
	int64_t not_before, not_after;
	char **locs;
	size_t nlocs;
	char **tags;
	size_t ntags;
};

/* A condition that holds now, or a transition to record. */
struct pending {
	char *key, *type, *severity, *level, *summary, *detail, *target;
	long cert;            /* index into certs, -1 none */
	bool oneshot;
	long firing;          /* index into firing, -1 none */
	const char *threshold;
	char *managed;        /* manage.* alerts: the certificate's name in the spec */
	int failures;
	int64_t next_attempt;
};

/* An open manage.* finding whose alert is not firing yet: its managed row
 * is read after the findings pass. */
struct mfind {
	char *rule, *name, *fp, *message;
	int64_t id;
};

struct eval {
	struct cl_store *s;
	const struct cl_config *cfg;
	const struct cl_alert_rules *ru;
	int64_t now, last_eval;
	struct cl_eval_stats *st;
	/* firing alerts */
	struct cl_alert_row *firing;  /* owned strings */
	bool *seen;
	size_t nfiring, capfiring;
	struct cl_strmap fmap;        /* key -> index */
	/* certificates some alert needs */
	struct certinfo *certs;
	size_t ncerts, capcerts;
	struct cl_strmap want;        /* fp -> index into certs */
	/* non-certificate alerts waiting for the certificate pass */
	struct pending *pend;
	size_t npend, cappend;
	/* watched domains: "pattern\x1fissuer" known before / seen now */
	struct cl_strmap known_issuers, now_issuers;
	struct cl_strmap patterns_known;  /* patterns with a known issuer */
	/* manage.* findings to alert on */
	struct mfind *mf;
	size_t nmf, capmf;
	int64_t event_cursor;
	int rc;
};

/* ---- small helpers -------------------------------------------------------- */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void certinfo_free(struct certinfo *c)
{
	size_t i;

	free(c->subject);
	free(c->subject_cn);
	free(c->serial);
	free(c->issuer);
	free(c->issuer_cn);
	free(c->owner);
	free(c->environment);
	for (i = 0; i < c->nlocs; i++)
		free(c->locs[i]);
	free(c->locs);
	for (i = 0; i < c->ntags; i++)
		free(c->tags[i]);
	free(c->tags);
}

static void pending_free(struct pending *p)
{
	free(p->key);
	free(p->type);
	free(p->severity);
	free(p->level);
	free(p->summary);
	free(p->detail);
	free(p->target);
	free(p->managed);
}

static void alert_row_free(struct cl_alert_row *r)
{
	free((char *)r->key);
	free((char *)r->type);
	free((char *)r->severity);
	free((char *)r->level);
	free((char *)r->fp);
	free((char *)r->target);
	free((char *)r->summary);
}

int cl_alert_new_id(char out[33])
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof r) != 1)
		return CL_ERR;
	cl_hex(out, r, sizeof r);
	return CL_OK;
}

static long days_left(int64_t not_after, int64_t now)
{
	return (long)cl_floordiv(not_after - now, DAY);
}

static const char *day_str(char *buf, size_t len, int64_t t)
{
	char full[40];

	cl_time_fmt(full, sizeof full, t);
	snprintf(buf, len, "%.10s", full);
	return buf;
}

/* Index of the certificate fp in certs, adding an empty slot if needed. */
static long want_cert(struct eval *e, const char *fp)
{
	long *v;

	if (!fp || strlen(fp) != 64)
		return -1;
	if ((v = cl_strmap_get(&e->want, fp)) != NULL)
		return *v;
	if (CL_GROW(e->certs, e->capcerts, e->ncerts + 1) != CL_OK ||
	    cl_strmap_put(&e->want, fp, (long)e->ncerts) != CL_OK) {
		e->rc = CL_ERR_NOMEM;
		return -1;
	}
	memset(&e->certs[e->ncerts], 0, sizeof e->certs[0]);
	snprintf(e->certs[e->ncerts].fp, sizeof e->certs[0].fp, "%s", fp);
	return (long)e->ncerts++;
}

/* Copies the facts (once: a certificate wanted by several alerts is filled
 * by the first). tags is the stored ",a,b," form. */
static int certinfo_set(struct certinfo *ci, const char *subject, const char *subject_cn,
                        const char *serial, const char *issuer, const char *issuer_cn,
                        const char *owner, const char *environment, const char *tags,
                        int64_t not_before, int64_t not_after)
{
	const char *p, *q;
	size_t cap = 0;

	if (ci->found)
		return CL_OK;
	ci->found = true;
	ci->subject = xstrdup(subject);
	ci->subject_cn = xstrdup(subject_cn);
	ci->serial = xstrdup(serial);
	ci->issuer = xstrdup(issuer);
	ci->issuer_cn = xstrdup(issuer_cn);
	ci->owner = xstrdup(owner);
	ci->environment = xstrdup(environment);
	ci->not_before = not_before;
	ci->not_after = not_after;
	for (p = tags ? tags : ""; *p; p = q) {
		while (*p == ',')
			p++;
		if (!*p)
			break;
		q = strchr(p, ',');
		if (!q)
			q = p + strlen(p);
		if (CL_GROW(ci->tags, cap, ci->ntags + 1) != CL_OK ||
		    !(ci->tags[ci->ntags] = strndup(p, (size_t)(q - p))))
			return CL_ERR_NOMEM;
		ci->ntags++;
	}
	return CL_OK;
}

static int add_loc(void *arg, const char *location)
{
	struct certinfo *ci = arg;
	size_t cap = ci->nlocs;   /* CL_GROW doubles: exact count is a valid capacity */

	if (CL_GROW(ci->locs, cap, ci->nlocs + 1) != CL_OK ||
	    !(ci->locs[ci->nlocs] = strdup(location)))
		return CL_ERR_NOMEM;
	ci->nlocs++;
	return CL_OK;
}

/* The facts of a certificate the scan delivered, with its locations. */
static int certinfo_scan(struct eval *e, struct certinfo *ci, const struct cl_alert_cert *c)
{
	if (ci->found)
		return CL_OK;
	if (certinfo_set(ci, c->subject, c->subject_cn, c->serial, c->issuer, c->issuer_cn,
	                 c->owner, c->environment, c->tags, c->not_before, c->not_after) != CL_OK)
		return CL_ERR_NOMEM;
	return cl_store_cert_locations(e->s, ci->fp, add_loc, ci);
}

/* ---- routing and queueing --------------------------------------------------- */

static bool any_glob(const struct cl_strlist *l, const char *s)
{
	size_t i;

	if (l->n == 0)
		return true;
	if (!s)
		return false;
	for (i = 0; i < l->n; i++)
		if (cl_glob(l->v[i], s))
			return true;
	return false;
}

static bool route_match(const struct cl_route *rt, const struct cl_alert_msg *m)
{
	size_t i;
	bool tag_ok = rt->tag.n == 0;

	if (!any_glob(&rt->owner, m->owner) || !any_glob(&rt->environment, m->environment) ||
	    !any_glob(&rt->type, m->event_type))
		return false;
	for (i = 0; !tag_ok && i < m->ntags; i++)
		tag_ok = any_glob(&rt->tag, m->tags[i]);
	if (!tag_ok)
		return false;
	if (rt->min_severity &&
	    cl_severity_rank(m->severity) < cl_severity_rank(rt->min_severity))
		return false;
	return true;
}

/* Marks in chosen[] the notifiers the routes send m to. */
static void choose(const struct cl_config *cfg, const struct cl_alert_msg *m, bool *chosen)
{
	size_t r, k;

	for (r = 0; r < cfg->nroutes; r++) {
		const struct cl_route *rt = &cfg->routes[r];
		if (!route_match(rt, m))
			continue;
		for (k = 0; k < rt->nnotify; k++)
			chosen[rt->notify[k]] = true;
		if (rt->stop)
			break;
	}
}

bool cl_alert_routes_to(const struct cl_config *cfg, const struct cl_alert_msg *m, size_t k)
{
	size_t r, i;

	for (r = 0; r < cfg->nroutes; r++) {
		const struct cl_route *rt = &cfg->routes[r];
		if (!route_match(rt, m))
			continue;
		for (i = 0; i < rt->nnotify; i++)
			if (rt->notify[i] == k)
				return true;
		if (rt->stop)
			break;
	}
	return false;
}

int64_t cl_alert_ttl(const struct cl_config *cfg)
{
	return 3 * cfg->alerts.evaluate_every + 600;
}

int cl_alert_route(struct cl_store *s, const struct cl_config *cfg, int64_t alert_id,
                   const struct cl_alert_msg *m, const char *payload, const char *only,
                   int64_t now, long *queued)
{
	bool *chosen = NULL;
	json_t *j = NULL;
	char *own = NULL;
	size_t k;
	long n = 0;
	int rc = CL_OK;

	if (queued)
		*queued = 0;
	if (cfg->nnotifiers == 0)
		return CL_OK;
	if (!(chosen = calloc(cfg->nnotifiers, sizeof *chosen)))
		return CL_ERR_NOMEM;
	if (only) {
		for (k = 0; k < cfg->nnotifiers; k++)
			chosen[k] = strcmp(cfg->notifiers[k].name, only) == 0;
	} else {
		choose(cfg, m, chosen);
	}
	for (k = 0; k < cfg->nnotifiers; k++) {
		if (!chosen[k])
			continue;
		if (strcmp(m->action, "resolved") == 0 && !cfg->notifiers[k].send_resolved)
			continue;
		if (!payload) {
			if (!(j = cl_alert_msg_json(m)) ||
			    !(own = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII))) {
				rc = CL_ERR_NOMEM;
				goto out;
			}
			payload = own;
		}
		if ((rc = cl_store_outbox_add(s, alert_id, cfg->notifiers[k].name, m->action, m->id,
		                              payload, now)) != CL_OK)
			goto out;
		n++;
	}
out:
	if (queued)
		*queued = n;
	free(own);
	json_decref(j);
	free(chosen);
	return rc;
}

/* Records one transition and queues its message. */
static int transition(struct eval *e, const struct pending *p, const struct certinfo *ci,
                      const char *action)
{
	struct cl_alert_msg m = { 0 };
	char id[33], *payload = NULL;
	json_t *j = NULL;
	int64_t alert_id = 0;
	long queued = 0;
	int rc;

	if ((rc = cl_alert_new_id(id)) != CL_OK)
		return rc;
	m.id = id;
	m.alert_key = p->key;
	m.event_type = p->type;
	m.action = action;
	m.severity = p->severity;
	m.summary = p->summary;
	m.timestamp = e->now;
	m.threshold = p->threshold;
	m.detail = p->detail;
	m.dashboard_url = e->cfg->dashboard_url;
	m.managed = p->managed;
	m.failures = p->failures;
	m.next_attempt = p->next_attempt;
	if (ci) {
		m.fingerprint_sha256 = ci->fp;
		if (ci->found) {
			m.certificate_subject = ci->subject;
			m.subject_cn = ci->subject_cn;
			m.certificate_serial = ci->serial;
			m.issuer = ci->issuer;
			m.issuer_cn = ci->issuer_cn;
			m.not_before = ci->not_before;
			m.expiration_date = ci->not_after;
			m.days_left = days_left(ci->not_after, e->now);
			m.locations = (const char *const *)ci->locs;
			m.nlocations = ci->nlocs;
			m.owner = ci->owner;
			m.environment = ci->environment;
			m.tags = (const char *const *)ci->tags;
			m.ntags = ci->ntags;
		}
	}
	if (!m.nlocations && p->target) {
		m.locations = (const char *const *)&p->target;
		m.nlocations = 1;
	}
	if (strcmp(action, "firing") == 0 && !p->oneshot)
		m.ends_at = e->now + cl_alert_ttl(e->cfg);
	if (!(j = cl_alert_msg_json(&m)) || !(payload = json_dumps(j, JSON_COMPACT |
	                                                             JSON_ENSURE_ASCII))) {
		json_decref(j);
		return CL_ERR_NOMEM;
	}
	if (strcmp(action, "resolved") == 0) {
		alert_id = e->firing[p->firing].id;
		rc = cl_store_alert_resolve(e->s, alert_id, e->now);
	} else {
		rc = cl_store_alert_fire(e->s, p->key, p->type, p->severity, p->level,
		                         ci ? ci->fp : NULL, p->target, p->summary, payload,
		                         p->oneshot, e->now, &alert_id);
	}
	if (rc == CL_OK)
		rc = cl_alert_route(e->s, e->cfg, alert_id, &m, payload, NULL, e->now, &queued);
	free(payload);
	json_decref(j);
	e->st->queued += queued;
	if (queued == 0)
		e->st->unrouted++;
	return rc;
}

/* Expiry levels compare by urgency: larger is more urgent. */
static long level_rank(const char *level)
{
	if (!level)
		return LONG_MIN;
	if (strcmp(level, "expired") == 0)
		return LONG_MAX;
	if (strchr(level, '%'))
		return -atol(level);
	return -atol(level) * 100;
}

/*
 * True when the condition key (at level) is already firing at that level
 * or a more urgent one: it is marked seen and nothing else is needed. The
 * fast path of a steady inventory.
 */
static bool already(struct eval *e, const char *key, const char *level)
{
	long *fi = cl_strmap_get(&e->fmap, key);
	const struct cl_alert_row *f;

	if (!fi)
		return false;
	f = &e->firing[*fi];
	if (level && (!f->level || level_rank(level) > level_rank(f->level)))
		return false;
	e->seen[*fi] = true;
	e->st->holding++;
	return true;
}

/* A condition holds: fire it, move it to a more urgent level, or keep it. */
static int holds(struct eval *e, struct pending *p, const struct certinfo *ci)
{
	long *fi = p->oneshot ? NULL : cl_strmap_get(&e->fmap, p->key);
	int rc;

	e->st->holding++;
	if (fi) {
		const struct cl_alert_row *f = &e->firing[*fi];
		e->seen[*fi] = true;
		if (!p->level || (f->level && level_rank(p->level) <= level_rank(f->level)))
			return CL_OK;     /* same level, or less urgent (a config change) */
		p->firing = *fi;
		if ((rc = transition(e, p, ci, "firing")) == CL_OK)
			e->st->escalated++;
		return rc;
	}
	if ((rc = transition(e, p, ci, "firing")) == CL_OK)
		e->st->fired++;
	return rc;
}

static int add_pending(struct eval *e, const struct pending *p)
{
	if (CL_GROW(e->pend, e->cappend, e->npend + 1) != CL_OK)
		return CL_ERR_NOMEM;
	e->pend[e->npend++] = *p;
	return CL_OK;
}

static struct pending mkpending_c(const char *key, const char *type, const char *severity,
                                  const char *level, const char *summary, const char *detail,
                                  const char *target, long cert, bool oneshot)
{
	struct pending p = {
		.key = xstrdup(key), .type = xstrdup(type), .severity = xstrdup(severity),
		.level = xstrdup(level), .summary = xstrdup(summary), .detail = xstrdup(detail),
		.target = xstrdup(target), .cert = cert, .oneshot = oneshot, .firing = -1,
	};
	return p;
}

/* A condition about the certificate being looked at (no index). */
static struct pending mkpending(const char *key, const char *type, const char *severity,
                                const char *level, const char *summary, const char *detail,
                                const char *target, bool oneshot)
{
	return mkpending_c(key, type, severity, level, summary, detail, target, -1, oneshot);
}

/* ---- passes ------------------------------------------------------------------- */

static int on_firing(void *arg, const struct cl_alert_row *r)
{
	struct eval *e = arg;
	struct cl_alert_row c = {
		.id = r->id, .key = xstrdup(r->key), .type = xstrdup(r->type),
		.severity = xstrdup(r->severity), .level = xstrdup(r->level), .fp = xstrdup(r->fp),
		.target = xstrdup(r->target), .summary = xstrdup(r->summary),
		.fired_at = r->fired_at,
	};

	if (CL_GROW(e->firing, e->capfiring, e->nfiring + 1) != CL_OK ||
	    cl_strmap_put(&e->fmap, r->key, (long)e->nfiring) != CL_OK) {
		alert_row_free(&c);
		return CL_ERR_NOMEM;
	}
	e->firing[e->nfiring++] = c;
	return CL_OK;
}

static int on_endpoint(void *arg, const struct cl_endpoint_row *r)
{
	struct eval *e = arg;
	char key[1200], summary[1400], since[40];
	struct pending p;
	long ci;

	if (r->unreachable_since <= 0 || e->now - r->unreachable_since < e->ru->unreachable_after)
		return CL_OK;
	ci = want_cert(e, r->leaf_fp);
	snprintf(key, sizeof key, "%s:%s", CL_AT_UNREACHABLE, r->location);
	cl_time_fmt(since, sizeof since, r->unreachable_since);
	snprintf(summary, sizeof summary, "%s unreachable since %s: %s%s%s", r->location, since,
	         r->status, r->error && *r->error ? " (" : "", r->error && *r->error ? r->error : "");
	if (r->error && *r->error)
		strncat(summary, ")", sizeof summary - strlen(summary) - 1);
	p = mkpending_c(key, CL_AT_UNREACHABLE, "error", NULL, summary, r->error, r->location, ci,
	              false);
	return add_pending(e, &p) == CL_OK ? e->rc : CL_ERR_NOMEM;
}

static int on_finding(void *arg, const struct cl_finding_row *r)
{
	struct eval *e = arg;
	char key[64], summary[2048];
	struct pending p;
	long ci;

	/* covered by the expiry, unreachable and managed-certificate alerts */
	if (strncmp(r->rule, "policy.expiry.", 14) == 0 || strncmp(r->rule, "manage.", 7) == 0 ||
	    (strncmp(r->rule, "tls.", 4) == 0 && strncmp(r->rule, "tls.verify.", 11) != 0))
		return CL_OK;
	ci = want_cert(e, r->fp);
	snprintf(key, sizeof key, "finding:%lld", (long long)r->id);
	snprintf(summary, sizeof summary, "%s at %s: %s", r->rule, r->target, r->message);
	p = mkpending_c(key, CL_AT_FINDING, r->severity, NULL, summary, r->message, r->target, ci,
	              false);
	return add_pending(e, &p) == CL_OK ? e->rc : CL_ERR_NOMEM;
}

static void mfind_free(struct mfind *f)
{
	free(f->rule);
	free(f->name);
	free(f->fp);
	free(f->message);
}

/* Open manage.renewal_failing / manage.hook_failed findings (target manage:NAME). */
static int on_manage_finding(void *arg, const struct cl_finding_row *r)
{
	struct eval *e = arg;
	const char *type, *name;
	char key[400];
	struct mfind f = { 0 };

	if (strcmp(r->rule, "manage.renewal_failing") == 0 && e->ru->renewal_failing)
		type = CL_AT_RENEWAL_FAILING;
	else if (strcmp(r->rule, "manage.hook_failed") == 0 && e->ru->hook_failed)
		type = CL_AT_HOOK_FAILED;
	else
		return CL_OK;
	if (!r->target || strncmp(r->target, "manage:", 7) != 0 || !r->target[7])
		return CL_OK;
	name = r->target + 7;
	/* one alert per failure streak: the finding's row lives as long as it */
	snprintf(key, sizeof key, "%s:%.200s:%lld", type, name, (long long)r->id);
	if (already(e, key, NULL))
		return CL_OK;
	f.id = r->id;
	if (!(f.rule = strdup(type)) || !(f.name = strdup(name)) ||
	    (r->fp && !(f.fp = strdup(r->fp))) || (r->message && !(f.message = strdup(r->message))) ||
	    CL_GROW(e->mf, e->capmf, e->nmf + 1) != CL_OK) {
		mfind_free(&f);
		return CL_ERR_NOMEM;
	}
	e->mf[e->nmf++] = f;
	return CL_OK;
}

/* What an alert needs of a managed certificate's state (owned copies). */
struct mstate {
	bool found;
	char *fp, *last_error;
	int64_t not_after, next_attempt;
	int failures;
};

static int on_managed(void *arg, const struct cl_managed_row *r)
{
	struct mstate *m = arg;

	m->found = true;
	m->not_after = r->not_after;
	m->next_attempt = r->next_attempt;
	m->failures = r->failures;
	if ((r->fp && !(m->fp = strdup(r->fp))) ||
	    (r->last_error && !(m->last_error = strdup(r->last_error))))
		return CL_ERR_NOMEM;
	return CL_OK;
}

/* s with control characters as spaces, cut to len - 1 bytes (never a secret:
 * the reconcile keeps none in its errors). */
static const char *sanitized(char *buf, size_t len, const char *s)
{
	size_t i;

	snprintf(buf, len, "%s", s ? s : "");
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	return buf;
}

/* The alerts of the manage.* findings collected: read each one's state, then
 * queue it for the certificate pass (which fills the deployed certificate's
 * facts). */
static int manage_pending(struct eval *e)
{
	char key[400], summary[2048], err[1100], nx[40], day[16], left[160];
	size_t i;
	int rc = CL_OK;

	for (i = 0; rc == CL_OK && i < e->nmf; i++) {
		const struct mfind *f = &e->mf[i];
		struct mstate m = { 0 };
		const char *fp, *sev;
		char target[300];
		struct pending p;
		long ci;

		if ((rc = cl_store_managed_rows(e->s, f->name, on_managed, &m)) != CL_OK)
			goto next;
		fp = m.fp ? m.fp : f->fp;
		ci = want_cert(e, fp);
		snprintf(key, sizeof key, "%s:%.200s:%lld", f->rule, f->name, (long long)f->id);
		snprintf(target, sizeof target, "manage:%s", f->name);
		if (strcmp(f->rule, CL_AT_RENEWAL_FAILING) == 0) {
			bool valid = m.fp && m.not_after > e->now;
			long dl = valid ? days_left(m.not_after, e->now) : 0;
			sanitized(err, sizeof err, m.last_error ? m.last_error : f->message);
			if (!valid)
				snprintf(left, sizeof left, "no valid certificate is deployed");
			else
				snprintf(left, sizeof left, "the deployed certificate expires in %ld day%s "
				         "(%s)", dl, dl == 1 ? "" : "s", day_str(day, sizeof day, m.not_after));
			if (m.next_attempt)
				cl_time_fmt(nx, sizeof nx, m.next_attempt);
			else
				snprintf(nx, sizeof nx, "at the next run");
			snprintf(summary, sizeof summary, "%s: %s failing (%d failure%s in a row): %.1000s; "
			         "next attempt %s; %s", f->name, m.fp ? "renewal" : "issuance",
			         m.failures, m.failures == 1 ? "" : "s", err, nx, left);
			/* critical when nothing valid will be deployed by the next attempt */
			sev = !valid || (m.next_attempt && m.not_after <= m.next_attempt) ? "critical"
			      : m.not_after - e->now <= 7 * DAY ? "error" : "warning";
		} else {
			sanitized(err, sizeof err, f->message);
			snprintf(summary, sizeof summary, "%s: a deploy hook failed: %.1000s (the new "
			         "files are in place; the hooks run again at every reconcile)", f->name,
			         err);
			sev = "error";
		}
		p = mkpending_c(key, f->rule, sev, NULL, summary, err, target, ci, false);
		if (!(p.managed = strdup(f->name))) {
			pending_free(&p);
			rc = CL_ERR_NOMEM;
			goto next;
		}
		if (strcmp(f->rule, CL_AT_RENEWAL_FAILING) == 0) {
			p.failures = m.failures;
			p.next_attempt = m.next_attempt;
		}
		if ((rc = add_pending(e, &p)) != CL_OK)
			pending_free(&p);
next:
		free(m.fp);
		free(m.last_error);
	}
	return rc == CL_OK ? e->rc : rc;
}

static int on_change(void *arg, const struct cl_event_row *ev)
{
	struct eval *e = arg;
	char key[1400], summary[1600], detail[200];
	const char *old_fp = NULL, *new_fp = ev->fp;
	json_t *d = NULL;
	struct pending p;
	long ci;
	int rc;

	if (ev->id <= e->event_cursor)
		return CL_OK;
	e->event_cursor = ev->id;
	if (e->last_eval == 0 || !e->ru->changed || !ev->location)
		return CL_OK;   /* first evaluation: history is not news */
	if (ev->detail && (d = json_loads(ev->detail, 0, NULL)) != NULL) {
		old_fp = json_string_value(json_object_get(d, "old_fp"));
		if (json_string_value(json_object_get(d, "new_fp")))
			new_fp = json_string_value(json_object_get(d, "new_fp"));
	}
	ci = want_cert(e, new_fp);
	snprintf(key, sizeof key, "%s:%s:%s", CL_AT_CHANGED, ev->location, new_fp ? new_fp : "");
	snprintf(detail, sizeof detail, "was %.64s, now %.64s", old_fp ? old_fp : "unknown",
	         new_fp ? new_fp : "unknown");
	snprintf(summary, sizeof summary, "%s serves another certificate (%.16s, was %.16s)",
	         ev->location, new_fp ? new_fp : "?", old_fp ? old_fp : "?");
	p = mkpending_c(key, CL_AT_CHANGED, "info", NULL, summary, detail, ev->location, ci, true);
	rc = add_pending(e, &p);
	json_decref(d);
	return rc == CL_OK ? e->rc : rc;
}

/* The watched pattern a certificate belongs to (first match), or NULL. */
static const char *watched(const struct eval *e, const struct cl_alert_cert *c)
{
	const struct cl_strlist *w = &e->ru->watch_domains;
	char name[512];
	size_t i, n;
	bool any = false;

	for (i = 0; i < w->n; i++) {
		const char *p = c->sans ? c->sans : "";
		while (*p) {
			n = strcspn(p, "\n");
			any = true;
			if (n > 4 && n - 4 < sizeof name && strncmp(p, "DNS:", 4) == 0) {
				memcpy(name, p + 4, n - 4);
				name[n - 4] = '\0';
				if (cl_glob(w->v[i], name))
					return w->v[i];
			}
			p += n;
			if (*p == '\n')
				p++;
		}
		if (!any && c->subject_cn && cl_glob(w->v[i], c->subject_cn))
			return w->v[i];
	}
	return NULL;
}

static int watch_cert(struct eval *e, const struct cl_alert_cert *c, long *ci)
{
	const char *pat = watched(e, c);
	char key[1024], summary[1400];
	struct pending p;
	bool new_issuer;
	int rc;

	if (!pat)
		return CL_OK;
	snprintf(key, sizeof key, "%s\x1f%s", pat, c->issuer ? c->issuer : "");
	new_issuer = cl_strmap_get(&e->patterns_known, pat) && !cl_strmap_get(&e->known_issuers, key);
	if ((rc = cl_strmap_put(&e->now_issuers, key, 1)) != CL_OK)
		return rc;
	if (e->last_eval == 0 || c->first_seen < e->last_eval)
		return CL_OK;
	if (*ci < 0 && (*ci = want_cert(e, c->fp)) < 0)
		return e->rc;
	snprintf(key, sizeof key, "%s:%s", CL_AT_NEW_CERT, c->fp);
	snprintf(summary, sizeof summary, "new certificate for %s (watched %s) from %s",
	         c->subject_cn, pat, c->issuer_cn ? c->issuer_cn : "?");
	p = mkpending_c(key, CL_AT_NEW_CERT, "info", NULL, summary, NULL, NULL, *ci, true);
	if ((rc = add_pending(e, &p)) != CL_OK || !new_issuer)
		return rc;
	snprintf(key, sizeof key, "%s:%s", CL_AT_NEW_ISSUER, c->fp);
	snprintf(summary, sizeof summary, "%s (watched %s) is issued by %s, an issuer not seen"
	         " for it before", c->subject_cn, pat, c->issuer_cn ? c->issuer_cn : "?");
	p = mkpending_c(key, CL_AT_NEW_ISSUER, "warning", NULL, summary, c->issuer, NULL, *ci,
	                true);
	return add_pending(e, &p);
}

static const char *first_loc(const struct certinfo *ci, char *buf, size_t len)
{
	if (ci->nlocs == 0)
		return "";
	if (ci->nlocs == 1)
		snprintf(buf, len, " at %s", ci->locs[0]);
	else
		snprintf(buf, len, " at %s and %zu more", ci->locs[0], ci->nlocs - 1);
	return buf;
}

static int on_cert(void *arg, const struct cl_alert_cert *c)
{
	struct eval *e = arg;
	const struct cl_alert_rules *ru = e->ru;
	int64_t life = c->not_after - c->not_before, left = c->not_after - e->now;
	char key[128], level[16], summary[1600], where[1100], day[16];
	const char *sev = NULL, *type = CL_AT_EXPIRING, *fp = c->fp;
	struct certinfo tmp = { 0 }, *info;
	struct pending p;
	bool overdue = false;
	long ci, *w, dl;
	size_t i;
	int rc;

	e->st->certs++;
	if (!fp || strlen(fp) != 64)
		return CL_OK;
	w = cl_strmap_get(&e->want, fp);
	ci = w ? *w : -1;
	if (ru->watch_domains.n && (rc = watch_cert(e, c, &ci)) != CL_OK)
		return rc;
	level[0] = '\0';
	dl = days_left(c->not_after, e->now);
	if (c->is_ca && !ru->include_ca) {
		/* no alerts of its own */
	} else if (left <= 0) {
		if (ru->expired) {
			snprintf(level, sizeof level, "expired");
			type = CL_AT_EXPIRED;
			sev = "critical";
		}
	} else if (life > 0 && life < ru->short_lived) {
		double share = (double)left / (double)life;
		for (i = ru->nremaining; i-- > 0;)
			if (share <= ru->remaining[i]) {
				snprintf(level, sizeof level, "%d%%", (int)lround(ru->remaining[i] * 100));
				sev = i + 1 == ru->nremaining ? "error" : "warning";
				break;
			}
	} else {
		for (i = ru->ndays; i-- > 0;)
			if (left <= (int64_t)ru->days[i] * DAY) {
				int d = ru->days[i];
				snprintf(level, sizeof level, "%dd", d);
				sev = d <= 3 ? "critical" : d <= 7 ? "error" : d <= 14 ? "warning" : "info";
				break;
			}
	}
	overdue = ru->renewal_at > 0 && !c->is_ca && life > 0 &&
	          e->now >= c->not_before + (int64_t)((double)life * ru->renewal_at);
	/* conditions already firing at their level need nothing more */
	if (level[0]) {
		snprintf(key, sizeof key, "cert.expiry:%s", fp);
		if (already(e, key, level))
			level[0] = '\0';
	}
	if (overdue) {
		snprintf(key, sizeof key, "%s:%s", CL_AT_RENEWAL_OVERDUE, fp);
		overdue = !already(e, key, NULL);
	}
	if (ci < 0 && !level[0] && !overdue)
		return e->rc;
	/* the facts: kept when another alert wants them, else for this call */
	info = ci >= 0 ? &e->certs[ci] : &tmp;
	snprintf(info->fp, sizeof info->fp, "%s", fp);
	if ((rc = certinfo_scan(e, info, c)) != CL_OK)
		goto out;
	if (level[0]) {
		snprintf(key, sizeof key, "cert.expiry:%s", fp);
		if (left <= 0)
			snprintf(summary, sizeof summary, "%s expired %ld day%s ago (%s)%s",
			         c->subject_cn, -dl, dl == -1 ? "" : "s",
			         day_str(day, sizeof day, c->not_after),
			         first_loc(info, where, sizeof where));
		else
			snprintf(summary, sizeof summary, "%s expires in %ld day%s (%s)%s",
			         c->subject_cn, dl, dl == 1 ? "" : "s",
			         day_str(day, sizeof day, c->not_after),
			         first_loc(info, where, sizeof where));
		p = mkpending(key, type, sev, level, summary, NULL, NULL, false);
		p.threshold = level;
		rc = holds(e, &p, info);
		pending_free(&p);
		if (rc != CL_OK)
			goto out;
	}
	if (overdue) {
		snprintf(key, sizeof key, "%s:%s", CL_AT_RENEWAL_OVERDUE, fp);
		snprintf(summary, sizeof summary, "%s is past its renewal point (%d%% of its lifetime"
		         " used) and still deployed%s; it expires %s", c->subject_cn,
		         (int)lround(100.0 * (double)(e->now - c->not_before) / (double)life),
		         first_loc(info, where, sizeof where), day_str(day, sizeof day, c->not_after));
		p = mkpending(key, CL_AT_RENEWAL_OVERDUE, "warning", NULL, summary, NULL, NULL, false);
		rc = holds(e, &p, info);
		pending_free(&p);
	}
out:
	certinfo_free(&tmp);
	return rc != CL_OK ? rc : e->rc;
}

/* Fills certificate facts for alerts whose certificate the scan did not see. */
static int on_gone_cert(void *arg, const struct cl_inv_row *row)
{
	struct certinfo *ci = arg;
	const struct cl_cert *c = row->c;
	size_t i;
	int rc;

	if ((rc = certinfo_set(ci, c->subject, c->subject_cn, c->serial, c->issuer, c->issuer_cn,
	                       row->owner, row->environment, NULL, c->not_before,
	                       c->not_after)) != CL_OK)
		return rc;
	for (i = 0; i < row->nlocs; i++) {
		char loc[4200];
		if (strcmp(row->locs[i].state, "present") != 0)
			continue;
		snprintf(loc, sizeof loc, "%s:%s", row->locs[i].kind, row->locs[i].where);
		if ((rc = add_loc(ci, loc)) != CL_OK)
			return rc;
	}
	return CL_OK;
}

static int fill_missing(struct eval *e, long ci)
{
	struct cl_filter f;

	if (ci < 0 || e->certs[ci].found)
		return CL_OK;
	cl_filter_init(&f);
	f.now = e->now;
	f.state = CL_STATE_ALL;
	f.fp_prefix = e->certs[ci].fp;
	f.limit = 1;
	return cl_store_query(e->s, &f, on_gone_cert, &e->certs[ci]);
}

/* ---- watched issuers, kept between evaluations ------------------------------ */

static int load_known(struct eval *e)
{
	char *v = NULL;
	json_t *a;
	size_t i;
	int rc = cl_store_meta_get(e->s, "alerts.watch_issuers", &v);

	if (rc == CL_ERR_NOTFOUND)
		return CL_OK;
	if (rc != CL_OK)
		return rc;
	if ((a = json_loads(v, 0, NULL)) != NULL && json_is_array(a)) {
		for (i = 0; rc == CL_OK && i < json_array_size(a); i++) {
			const char *k = json_string_value(json_array_get(a, i));
			char pat[1024];
			if (!k)
				continue;
			snprintf(pat, sizeof pat, "%.*s", (int)strcspn(k, "\x1f"), k);
			rc = cl_strmap_put(&e->known_issuers, k, 1);
			if (rc == CL_OK)
				rc = cl_strmap_put(&e->patterns_known, pat, 1);
		}
	}
	json_decref(a);
	free(v);
	return rc;
}

static int save_known(struct eval *e)
{
	json_t *a = json_array();
	char *txt = NULL;
	size_t i;
	int rc = CL_ERR_NOMEM;

	if (!a)
		return rc;
	for (i = 0; i < e->known_issuers.cap; i++)
		if (e->known_issuers.e[i].key)
			json_array_append_new(a, json_string(e->known_issuers.e[i].key));
	for (i = 0; i < e->now_issuers.cap; i++)
		if (e->now_issuers.e[i].key && !cl_strmap_get(&e->known_issuers, e->now_issuers.e[i].key))
			json_array_append_new(a, json_string(e->now_issuers.e[i].key));
	if ((txt = json_dumps(a, JSON_COMPACT)) != NULL)
		rc = cl_store_meta_set(e->s, "alerts.watch_issuers", txt);
	free(txt);
	json_decref(a);
	return rc;
}

/* ---- the evaluation --------------------------------------------------------- */

static int get_meta_i64(struct cl_store *s, const char *key, int64_t *out)
{
	char *v = NULL;
	int rc = cl_store_meta_get(s, key, &v);

	*out = 0;
	if (rc == CL_OK)
		*out = strtoll(v, NULL, 10);
	free(v);
	return rc == CL_ERR_NOTFOUND ? CL_OK : rc;
}

static int set_meta_i64(struct cl_store *s, const char *key, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%lld", (long long)v);
	return cl_store_meta_set(s, key, buf);
}

static int resolve_unseen(struct eval *e)
{
	char summary[1600];
	size_t i;
	int rc = CL_OK;

	for (i = 0; rc == CL_OK && i < e->nfiring; i++) {
		const struct cl_alert_row *f = &e->firing[i];
		struct pending p;
		long ci = f->fp ? want_cert(e, f->fp) : -1;
		const char *why = "the condition no longer holds";

		if (e->seen[i])
			continue;
		if ((rc = fill_missing(e, ci)) != CL_OK)
			break;
		if (strncmp(f->key, "cert.", 5) == 0)
			why = ci >= 0 && e->certs[ci].found && e->certs[ci].nlocs == 0 &&
			      e->certs[ci].not_after > 0
			      ? "the certificate is no longer deployed anywhere (replaced or removed)"
			      : "no longer within an alert threshold";
		else if (strncmp(f->key, CL_AT_UNREACHABLE, strlen(CL_AT_UNREACHABLE)) == 0)
			why = "the endpoint answers TLS again, or is no longer scanned";
		else if (strncmp(f->key, "finding:", 8) == 0)
			why = "the finding was resolved";
		else if (strcmp(f->type, CL_AT_RENEWAL_FAILING) == 0)
			why = !e->ru->renewal_failing ? "alerts.renewal_failing was switched off"
			      : "the renewal succeeded (or the certificate is no longer managed)";
		else if (strcmp(f->type, CL_AT_HOOK_FAILED) == 0)
			why = !e->ru->hook_failed ? "alerts.hook_failed was switched off"
			      : "the deploy hooks succeeded (or the certificate is no longer managed)";
		snprintf(summary, sizeof summary, "resolved: %s (%s)", f->summary, why);
		p = mkpending_c(f->key, f->type, f->severity, f->level, summary, why, f->target, ci,
		              false);
		if (strncmp(f->type, "manage.", 7) == 0 && f->target &&
		    strncmp(f->target, "manage:", 7) == 0)
			p.managed = xstrdup(f->target + 7);
		p.firing = (long)i;
		p.threshold = f->level;
		rc = transition(e, &p, ci >= 0 ? &e->certs[ci] : NULL, "resolved");
		pending_free(&p);
		if (rc == CL_OK)
			e->st->resolved++;
	}
	return rc;
}

int cl_alert_evaluate(struct cl_store *s, const struct cl_config *cfg, int64_t now,
                      struct cl_eval_stats *st)
{
	struct eval e = { .s = s, .cfg = cfg, .ru = &cfg->alerts, .now = now, .st = st };
	struct cl_endpoint_filter ef = { .failing = true };
	struct cl_finding_filter ff = { 0 };
	struct cl_event_filter evf = { .type = "endpoint.changed" };
	struct cl_alert_scan scan = { 0 };
	struct timespec t0, t1;
	size_t i;
	int rc;

	memset(st, 0, sizeof *st);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = cl_store_begin(s)) != CL_OK)
		return rc;
	if ((rc = get_meta_i64(s, "alerts.last_eval", &e.last_eval)) != CL_OK ||
	    (rc = get_meta_i64(s, "alerts.event_cursor", &e.event_cursor)) != CL_OK)
		goto out;
	if ((rc = cl_store_alerts_firing(s, on_firing, &e)) != CL_OK)
		goto out;
	if (!(e.seen = calloc(e.nfiring + 1, sizeof *e.seen))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	if (e.ru->unreachable && (rc = cl_store_endpoints(s, &ef, on_endpoint, &e)) != CL_OK)
		goto out;
	if (e.ru->finding_min_severity) {
		ff.severity = e.ru->finding_min_severity;
		if ((rc = cl_store_findings(s, &ff, on_finding, &e)) != CL_OK)
			goto out;
	}
	if (e.ru->renewal_failing || e.ru->hook_failed) {
		struct cl_finding_filter mff = { .rule = "manage.*" };
		if ((rc = cl_store_findings(s, &mff, on_manage_finding, &e)) != CL_OK ||
		    (rc = manage_pending(&e)) != CL_OK)
			goto out;
	}
	evf.since = e.last_eval;
	if ((rc = cl_store_events(s, &evf, on_change, &e)) != CL_OK)
		goto out;
	if (e.ru->watch_domains.n && (rc = load_known(&e)) != CL_OK)
		goto out;
	/* the certificates that can raise an alert: their own alerts, and facts
	 * for the others (the rest are read one by one afterwards) */
	scan.now = now;
	scan.expiring_by = now + (e.ru->ndays ? (int64_t)e.ru->days[0] * DAY : 0);
	if (e.ru->short_lived > 0 && now + e.ru->short_lived > scan.expiring_by)
		scan.expiring_by = now + e.ru->short_lived;
	scan.renewal_at = e.ru->renewal_at;
	scan.new_since = e.ru->watch_domains.n ? e.last_eval : -1;
	scan.all = e.ru->watch_domains.n && e.last_eval == 0;
	if ((rc = cl_store_alert_certs(s, &scan, on_cert, &e)) != CL_OK)
		goto out;
	for (i = 0; rc == CL_OK && i < e.npend; i++) {
		long ci = e.pend[i].cert;
		if ((rc = fill_missing(&e, ci)) == CL_OK)
			rc = holds(&e, &e.pend[i], ci >= 0 ? &e.certs[ci] : NULL);
	}
	if (rc == CL_OK)
		rc = resolve_unseen(&e);
	if (rc == CL_OK && e.ru->watch_domains.n)
		rc = save_known(&e);
	if (rc == CL_OK)
		rc = set_meta_i64(s, "alerts.last_eval", now);
	if (rc == CL_OK)
		rc = set_meta_i64(s, "alerts.event_cursor", e.event_cursor);
out:
	if (rc == CL_OK && e.rc != CL_OK)
		rc = e.rc;
	if (rc == CL_OK)
		rc = cl_store_commit(s);
	else
		cl_store_rollback(s);
	for (i = 0; i < e.nfiring; i++)
		alert_row_free(&e.firing[i]);
	free(e.firing);
	free(e.seen);
	for (i = 0; i < e.ncerts; i++)
		certinfo_free(&e.certs[i]);
	free(e.certs);
	for (i = 0; i < e.npend; i++)
		pending_free(&e.pend[i]);
	free(e.pend);
	for (i = 0; i < e.nmf; i++)
		mfind_free(&e.mf[i]);
	free(e.mf);
	cl_strmap_free(&e.fmap);
	cl_strmap_free(&e.want);
	cl_strmap_free(&e.known_issuers);
	cl_strmap_free(&e.now_issuers);
	cl_strmap_free(&e.patterns_known);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return rc;
}

/* ---- sending firing alerts again ---------------------------------------------- */

struct refresh {
	const struct cl_config *cfg;
	int64_t now;
	size_t k;                       /* the notifier */
	json_t **js;                    /* parsed payloads */
	struct cl_alert_msg *msgs;
	void **strs;
	size_t n, cap;
	long sent;
	int rc;
};

static void refresh_clear(struct refresh *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->strs[i]);
		json_decref(r->js[i]);
	}
	r->n = 0;
}

static int refresh_flush(struct refresh *r)
{
	const struct cl_alert_msg **v;
	char err[512];
	size_t i, nsent = 0;
	enum cl_send_rc res;

	if (r->n == 0)
		return CL_OK;
	if (!(v = calloc(r->n, sizeof *v)))
		return CL_ERR_NOMEM;
	for (i = 0; i < r->n; i++)
		v[i] = &r->msgs[i];
	err[0] = '\0';
	res = cl_notify_send(&r->cfg->notifiers[r->k], v, r->n, &nsent, err, sizeof err);
	r->sent += (long)(res == CL_SEND_OK ? r->n : nsent);
	if (res != CL_SEND_OK)
		cl_log(CL_LOG_WARN, "notifier %s: sending firing alerts again: %s",
		       r->cfg->notifiers[r->k].name, err);
	free(v);
	refresh_clear(r);
	return CL_OK;
}

static int on_refresh(void *arg, const struct cl_alert_row *a)
{
	struct refresh *r = arg;
	struct cl_alert_msg m;
	void *strs = NULL;
	json_t *j;

	/* just sent through the outbox, or nothing to send */
	if (a->updated_at >= r->now || !a->payload)
		return CL_OK;
	if (!(j = json_loads(a->payload, 0, NULL)))
		return CL_OK;
	if (cl_alert_msg_from_json(&m, j, &strs) != CL_OK || !cl_alert_routes_to(r->cfg, &m, r->k)) {
		free(strs);
		json_decref(j);
		return CL_OK;
	}
	m.ends_at = r->now + cl_alert_ttl(r->cfg);
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		json_t **js = realloc(r->js, cap * sizeof *js);
		struct cl_alert_msg *msgs = js ? realloc(r->msgs, cap * sizeof *msgs) : NULL;
		void **sv = msgs ? realloc(r->strs, cap * sizeof *sv) : NULL;
		if (js)
			r->js = js;
		if (msgs)
			r->msgs = msgs;
		if (!sv) {
			free(strs);
			json_decref(j);
			return CL_ERR_NOMEM;
		}
		r->strs = sv;
		r->cap = cap;
	}
	r->js[r->n] = j;
	r->msgs[r->n] = m;
	r->strs[r->n] = strs;
	r->n++;
	return r->n >= 100 ? refresh_flush(r) : CL_OK;
}

int cl_alert_refresh(struct cl_store *s, const struct cl_config *cfg, int64_t now, long *sent)
{
	struct refresh r = { .cfg = cfg, .now = now };
	int rc = CL_OK;

	for (r.k = 0; rc == CL_OK && r.k < cfg->nnotifiers; r.k++) {
		if (cfg->notifiers[r.k].type != CL_NT_ALERTMANAGER)
			continue;
		rc = cl_store_alerts_firing(s, on_refresh, &r);
		if (rc == CL_OK)
			rc = refresh_flush(&r);
		refresh_clear(&r);
	}
	free(r.js);
	free(r.msgs);
	free(r.strs);
	if (sent)
		*sent = r.sent;
	return rc;
}
