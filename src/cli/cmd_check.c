/* certledger check [FILTERS]: the policy over the inventory, findings kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/sha.h>
#include "cli/cli.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "policy/policy.h"
#include "policy/revocation.h"

enum { O_POLICY = 1, O_FAIL_ON, O_EXAMPLES, O_REVOCATION, O_REV_TIMEOUT };

static const struct option check_opts[] = {
	{ "policy", required_argument, NULL, O_POLICY },
	{ "fail-on", required_argument, NULL, O_FAIL_ON },
	{ "examples", required_argument, NULL, O_EXAMPLES },
	{ "revocation", no_argument, NULL, O_REVOCATION },
	{ "revocation-timeout", required_argument, NULL, O_REV_TIMEOUT },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ 0 },
};

/* ---- a small map from a 64-hex key to a value ------------------------------ */

struct hent {
	char key[2 * CL_SHA256_LEN + 1];
	long val;          /* a count, or an index into a side array */
};

struct hmap {
	struct hent *e;
	size_t cap, n;
};

static size_t hslot(const struct hmap *m, const char *key)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h & (m->cap - 1);
}

static struct hent *hget(const struct hmap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = hslot(m, key); m->e[i].key[0]; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->e[i].key, key) == 0)
			return &m->e[i];
	return NULL;
}

static int hput(struct hmap *m, const char *key, long val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		struct hmap bigger = { .cap = m->cap ? m->cap * 2 : 64 };
		if (!(bigger.e = calloc(bigger.cap, sizeof *bigger.e)))
			return CL_ERR_NOMEM;
		for (i = 0; i < m->cap; i++)
			if (m->e[i].key[0]) {
				size_t j = hslot(&bigger, m->e[i].key);
				while (bigger.e[j].key[0])
					j = (j + 1) & (bigger.cap - 1);
				bigger.e[j] = m->e[i];
			}
		bigger.n = m->n;
		free(m->e);
		*m = bigger;
	}
	for (i = hslot(m, key); m->e[i].key[0]; i = (i + 1) & (m->cap - 1))
		if (strcmp(m->e[i].key, key) == 0) {
			m->e[i].val = val;
			return CL_OK;
		}
	snprintf(m->e[i].key, sizeof m->e[i].key, "%s", key);
	m->e[i].val = val;
	m->n++;
	return CL_OK;
}

/* ---- open findings, by a 64-bit hash of rule, target and fingerprint ------- */

struct ofind {
	uint64_t key;            /* 0: empty slot */
	uint64_t fph;            /* hash of the fingerprint (scoped runs) */
	uint64_t body;           /* hash of severity and message */
	int64_t id;
	bool seen;
};

struct oindex {
	struct ofind *e;
	size_t cap, n;
};

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;  /* separator */
}

static uint64_t finding_key(const char *rule, const char *target, const char *fp)
{
	uint64_t h = fnv(fnv(fnv(1469598103934665603ULL, rule), target), fp);

	return h ? h : 1;
}

static struct ofind *oget(struct oindex *x, uint64_t key, bool add)
{
	size_t i;

	if (add && (x->n + 1) * 2 > x->cap) {
		struct oindex big = { .cap = x->cap ? x->cap * 2 : 1024 };
		if (!(big.e = calloc(big.cap, sizeof *big.e)))
			return NULL;
		for (i = 0; i < x->cap; i++)
			if (x->e[i].key) {
				size_t j = x->e[i].key & (big.cap - 1);
				while (big.e[j].key)
					j = (j + 1) & (big.cap - 1);
				big.e[j] = x->e[i];
			}
		big.n = x->n;
		free(x->e);
		*x = big;
	}
	if (!x->cap)
		return NULL;
	for (i = key & (x->cap - 1); x->e[i].key; i = (i + 1) & (x->cap - 1))
		if (x->e[i].key == key)
			return &x->e[i];
	if (!add)
		return NULL;
	x->e[i].key = key;
	x->n++;
	return &x->e[i];
}

/* ---- context gathered before the pass ------------------------------------- */

struct place_note {         /* an endpoint's chain problem, or an exposed key */
	char *location, *verify, *detail;
	int mode;
	long next;              /* next note of the same certificate/key, -1 */
};

struct check {
	struct cl_store *s;
	const struct cl_policy *pol;
	int64_t now, run_id;
	enum cl_format fmt;
	enum cl_sev fail_on;
	long examples;
	bool scoped;
	int rc;
	struct hmap shared;     /* spki -> certificates with it */
	struct hmap hosts;      /* spki -> hosts serving it */
	struct hmap keydone;    /* spki already reported (key.shared: one finding per key) */
	struct hmap cafp;       /* issuer subject hash -> index into cas (fp:/spki: approvals) */
	struct { char fp[2 * CL_SHA256_LEN + 1], spki[2 * CL_SHA256_LEN + 1]; } *cas;
	size_t ncas, capcas;
	struct hmap weak;       /* fp -> index into weak_e (roca in the sign bit) */
	int64_t *weak_e;
	bool *weak_roca;
	size_t nweak, capweak;
	struct hmap chain;      /* leaf fp -> first note */
	struct hmap keys;       /* spki -> first note */
	struct oindex open;     /* open policy findings */
	struct hmap rev;        /* fp -> index into revs */
	struct rev_slot **revs;
	size_t nrevs, caprevs;
	long rev_counts[5], rev_noissuer;
	struct oindex checked;  /* fingerprints evaluated (scoped runs) */
	struct place_note *notes;
	size_t nnotes, capnotes;
	/* the certificate being evaluated */
	const struct cl_policy_row *row;
	const char *profile;
	char fp[2 * CL_SHA256_LEN + 1];
	/* results */
	long certs, counts[4], opened, changed, resolved;
	int worst;
	struct cl_writer w;
	struct group *groups;
	size_t ngroups, capgroups;
	struct cl_buf msg;
};

/* Table output: findings grouped by severity, owner and rule, with examples. */
struct group {
	enum cl_sev sev;
	char *owner;
	enum cl_rule rule;
	long n;
	char **ex;
	size_t nex;
};

static int add_note(struct check *k, struct hmap *by, const char *key, const char *location,
                    const char *verify, const char *detail, int mode)
{
	struct place_note *n;
	struct hent *prev = hget(by, key);

	if (CL_GROW(k->notes, k->capnotes, k->nnotes + 1) != CL_OK)
		return CL_ERR_NOMEM;
	n = &k->notes[k->nnotes];
	n->location = strdup(location);
	n->verify = verify ? strdup(verify) : NULL;
	n->detail = detail ? strdup(detail) : NULL;
	n->mode = mode;
	n->next = prev ? prev->val : -1;
	if (!n->location || (verify && !n->verify) || (detail && !n->detail))
		return CL_ERR_NOMEM;
	return hput(by, key, (long)k->nnotes++);
}

static int on_shared(void *arg, const char *spki, long n)
{
	return hput(&((struct check *)arg)->shared, spki, n);
}

static int on_hosts(void *arg, const char *spki, long n)
{
	return hput(&((struct check *)arg)->hosts, spki, n);
}

/* A hex key for a subject name (the map is keyed by 64 hex digits). */
static const char *name_key(char *out, const char *name)
{
	unsigned char md[CL_SHA256_LEN];

	SHA256((const unsigned char *)name, strlen(name), md);
	cl_hex(out, md, CL_SHA256_LEN);
	return out;
}

/* CA certificates by subject, for issuers.approve fp:/spki: entries. */
static int on_ca_fp(void *arg, const char *subject, const char *ski, const unsigned char *der,
                    size_t len)
{
	struct check *k = arg;
	struct cl_cert *c = NULL;
	char key[2 * CL_SHA256_LEN + 1];

	(void)ski;
	if (hget(&k->cafp, name_key(key, subject)))
		return CL_OK;  /* the first (present, latest) wins */
	if (cl_cert_parse_der(der, len, &c, NULL) != CL_OK)
		return CL_OK;
	if (CL_GROW(k->cas, k->capcas, k->ncas + 1) != CL_OK) {
		cl_cert_free(c);
		return CL_ERR_NOMEM;
	}
	cl_hex(k->cas[k->ncas].fp, c->fp, CL_SHA256_LEN);
	cl_hex(k->cas[k->ncas].spki, c->spki_sha256, CL_SHA256_LEN);
	cl_cert_free(c);
	return hput(&k->cafp, key, (long)k->ncas++);
}

static int on_exposed(void *arg, const char *location, const char *spki, int mode)
{
	struct check *k = arg;

	return add_note(k, &k->keys, spki, location, NULL, NULL, mode);
}

static int on_chain(void *arg, const struct cl_endpoint_row *r)
{
	struct check *k = arg;

	if (!r->leaf_fp || !r->verify)
		return CL_OK;
	return add_note(k, &k->chain, r->leaf_fp, r->location, r->verify, r->verify_detail, -1);
}

static int on_open(void *arg, int64_t id, const char *rule, const char *target,
                   const char *fp, const char *severity, const char *message)
{
	struct check *k = arg;
	struct ofind *o = oget(&k->open, finding_key(rule, target, fp), true);

	if (!o)
		return CL_ERR_NOMEM;
	o->id = id;
	o->fph = finding_key(fp, "", "");
	o->body = fnv(fnv(1469598103934665603ULL, severity), message);
	return CL_OK;
}

static int on_weak(void *arg, const char *fp, int64_t e, bool roca)
{
	struct check *k = arg;

	if (CL_GROW(k->weak_e, k->capweak, k->nweak + 1) != CL_OK)
		return CL_ERR_NOMEM;
	k->weak_roca = realloc(k->weak_roca, k->capweak * sizeof *k->weak_roca);
	if (!k->weak_roca)
		return CL_ERR_NOMEM;
	k->weak_e[k->nweak] = e;
	k->weak_roca[k->nweak] = roca;
	return hput(&k->weak, fp, (long)k->nweak++);
}

/* ---- findings ---------------------------------------------------------------- */

static int group_add(struct check *k, enum cl_sev sev, const char *owner, enum cl_rule rule,
                     const char *line)
{
	struct group *g = NULL;
	size_t i;

	for (i = 0; i < k->ngroups; i++)
		if (k->groups[i].sev == sev && k->groups[i].rule == rule &&
		    strcmp(k->groups[i].owner, owner) == 0) {
			g = &k->groups[i];
			break;
		}
	if (!g) {
		if (CL_GROW(k->groups, k->capgroups, k->ngroups + 1) != CL_OK)
			return CL_ERR_NOMEM;
		g = &k->groups[k->ngroups++];
		memset(g, 0, sizeof *g);
		g->sev = sev;
		g->rule = rule;
		if (!(g->owner = strdup(owner)))
			return CL_ERR_NOMEM;
	}
	g->n++;
	if (k->examples == 0 || (long)g->nex < k->examples) {
		char **ex = realloc(g->ex, (g->nex + 1) * sizeof *ex);
		if (!ex)
			return CL_ERR_NOMEM;
		g->ex = ex;
		if (!(g->ex[g->nex] = strdup(line)))
			return CL_ERR_NOMEM;
		g->nex++;
	}
	return CL_OK;
}

static int on_violation(void *arg, const struct cl_violation *v)
{
	struct check *k = arg;
	const struct cl_policy_row *row = k->row;
	const char *owner = row->owner && *row->owner ? row->owner : "(no owner)";
	char rule[64], target[600], line[1200];
	const char *ffp;
	int rc;

	snprintf(rule, sizeof rule, "policy.%s", cl_rules[v->rule].name);
	if (v->where)
		snprintf(target, sizeof target, "%s", v->where);
	else
		snprintf(target, sizeof target, "cert:%s", k->fp);
	/* a finding about a key (key:SPKI) is the same whichever certificate
	 * showed it first */
	ffp = v->where && strncmp(v->where, "key:", 4) == 0 ? "" : k->fp;
	{
		struct ofind *o = oget(&k->open, finding_key(rule, target, ffp), false);
		uint64_t body = fnv(fnv(1469598103934665603ULL, cl_sev_name(v->severity)),
		                    v->message);
		if (o)
			o->seen = true;
		/* unchanged findings cost nothing: only new and changed are staged */
		if ((!o || o->body != body) &&
		    (rc = cl_store_findings_stage(k->s, rule, cl_sev_name(v->severity), target, ffp,
		                                  v->message)) != CL_OK)
			return rc;
	}
	k->counts[v->severity]++;
	if ((int)v->severity > k->worst)
		k->worst = v->severity;
	if (k->fmt == CL_FMT_TABLE) {
		snprintf(line, sizeof line, "%.12s  %s: %s%s%s", k->fp, row->c->subject_cn[0] ?
		         row->c->subject_cn : row->c->subject, v->message, v->where ? " at " : "",
		         v->where ? v->where : "");
		return group_add(k, v->severity, owner, v->rule, line);
	}
	if (k->fmt == CL_FMT_JSON) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:s?,s:s,s:s,s:s,s:s,s:s}",
		                      "rule", rule, "severity", cl_sev_name(v->severity),
		                      "target", target, "fingerprint_sha256", k->fp,
		                      "subject", row->c->subject, "owner", row->owner,
		                      "environment", row->environment, "profile", k->profile,
		                      "found", v->found ? v->found : "", "limit",
		                      v->limit ? v->limit : "", "message", v->message, "fix", v->fix);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!s)
			return CL_ERR_NOMEM;
		fputs(k->w.rows++ ? ",\n" : "\n", stdout);
		fputs(s, stdout);
		free(s);
		return CL_OK;
	}
	{
		const char *f[] = { rule, cl_sev_name(v->severity), target, k->fp, row->c->subject,
		                    row->owner, row->environment, k->profile, v->found, v->limit,
		                    v->message, v->fix };
		for (size_t i = 0; i < CL_ARRAY_LEN(f); i++)
			cl_csv_field(stdout, f[i] ? f[i] : "", i == 0);
		fputs("\r\n", stdout);
	}
	return CL_OK;
}

/* ---- revocation (check --revocation) ------------------------------------------ */

struct rev_slot {
	char fp[2 * CL_SHA256_LEN + 1];
	enum cl_rev_status status;
	char detail[1200];
};

struct ca_cert {
	char *subject, *ski;
	unsigned char *der;
	size_t len;
};

struct rev_pass {
	struct check *k;
	struct cl_revoker *rv;
	struct ca_cert *cas;
	size_t ncas, capcas;
	int rc;
};

static int on_ca(void *arg, const char *subject, const char *ski, const unsigned char *der,
                 size_t len)
{
	struct rev_pass *rp = arg;
	struct ca_cert *ca;

	if (CL_GROW(rp->cas, rp->capcas, rp->ncas + 1) != CL_OK)
		return CL_ERR_NOMEM;
	ca = &rp->cas[rp->ncas];
	ca->subject = strdup(subject);
	ca->ski = ski ? strdup(ski) : NULL;
	ca->der = malloc(len);
	ca->len = len;
	if (!ca->subject || (ski && !ca->ski) || !ca->der) {
		free(ca->subject);
		free(ca->ski);
		free(ca->der);
		return CL_ERR_NOMEM;
	}
	memcpy(ca->der, der, len);
	rp->ncas++;
	return CL_OK;
}

static void on_rev(void *arg, const struct cl_rev_result *res)
{
	struct rev_slot *slot = arg;
	char when[40];

	slot->status = res->status;
	if (res->status == CL_REV_REVOKED)
		snprintf(slot->detail, sizeof slot->detail, "%s%s%s on %s, per %s %s",
		         res->reason_name ? "reason " : "", res->reason_name ? res->reason_name : "",
		         res->reason_name ? "," : "", cl_time_fmt(when, sizeof when, res->revoked_at),
		         res->method ? res->method : "?", res->url);  /* cut if huge */
	else
		snprintf(slot->detail, sizeof slot->detail, "%s%s%s", res->detail,
		         res->url[0] ? " at " : "", res->url);
}

/* Queues a present leaf with OCSP or CRL URLs whose issuer is stored. */
static int rev_candidate(void *arg, const struct cl_inv_row *row)
{
	struct rev_pass *rp = arg;
	struct check *k = rp->k;
	const struct cl_cert *c = row->c;
	const struct ca_cert *issuer = NULL;
	struct rev_slot *slot;
	unsigned char *der = NULL;
	size_t len, i;
	int rc;

	if (c->ocsp.n == 0 && c->crl.n == 0) {
		k->rev_counts[CL_REV_NONE]++;
		return CL_OK;
	}
	for (i = 0; i < rp->ncas && !issuer; i++)
		if (strcmp(rp->cas[i].subject, c->issuer) == 0 &&
		    (!c->aki || !rp->cas[i].ski || strcmp(c->aki, rp->cas[i].ski) == 0))
			issuer = &rp->cas[i];
	if (!issuer) {
		k->rev_noissuer++;
		return CL_OK;
	}
	if (CL_GROW(k->revs, k->caprevs, k->nrevs + 1) != CL_OK ||
	    !(slot = calloc(1, sizeof *slot)))
		return CL_ERR_NOMEM;
	k->revs[k->nrevs] = slot;
	cl_hex(slot->fp, c->fp, CL_SHA256_LEN);
	slot->status = CL_REV_UNREACHABLE;
	if ((rc = hput(&k->rev, slot->fp, (long)k->nrevs++)) != CL_OK ||
	    (rc = cl_store_get_der(k->s, slot->fp, &der, &len)) != CL_OK)
		return rc;
	rc = cl_revoker_add(rp->rv, der, len, issuer->der, issuer->len, on_rev, slot);
	free(der);
	return rc == CL_ERR_PARSE ? CL_OK : rc;
}

static int revocation_pass(struct check *k, const struct cl_filter *f, int timeout_ms,
                           const char *cache_dir)
{
	struct cl_rev_opts ro = { .timeout_ms = timeout_ms, .now = k->now, .cache_dir = cache_dir };
	struct rev_pass rp = { .k = k };
	struct cl_filter leaves = *f;
	size_t i;
	int rc;

	leaves.ca = CL_NO;
	if ((rc = cl_revoker_new(&rp.rv, &ro)) != CL_OK)
		return rc;
	rc = cl_store_ca_certs(k->s, on_ca, &rp);
	if (rc == CL_OK)
		rc = cl_store_query(k->s, &leaves, rev_candidate, &rp);
	if (rc == CL_OK)
		rc = cl_revoker_run(rp.rv);
	for (i = 0; rc == CL_OK && i < k->nrevs; i++)
		k->rev_counts[k->revs[i]->status]++;
	cl_revoker_free(rp.rv);
	for (i = 0; i < rp.ncas; i++) {
		free(rp.cas[i].subject);
		free(rp.cas[i].ski);
		free(rp.cas[i].der);
	}
	free(rp.cas);
	return rc;
}

static int evaluate(void *arg, const struct cl_policy_row *row)
{
	struct check *k = arg;
	struct cl_eval_ctx ctx = { .now = k->now, .key_mode = -1 };
	char spki[2 * CL_SHA256_LEN + 1];
	const struct cl_profile *pr;
	struct cl_cert c = *row->c;
	struct hent *h;
	long ni;
	int rc;

	k->row = row;
	k->certs++;
	cl_hex(k->fp, c.fp, CL_SHA256_LEN);
	cl_hex(spki, c.spki_sha256, CL_SHA256_LEN);
	if (k->scoped && !oget(&k->checked, finding_key(k->fp, "", ""), true))
		return CL_ERR_NOMEM;
	pr = cl_policy_select(k->pol, row->environment, row->owner, row->tags, row->locations,
	                      row->nlocations);
	k->profile = pr->name;
	if ((h = hget(&k->weak, k->fp)) != NULL) {
		c.rsa_e = k->weak_e[h->val];
		c.rsa_roca = k->weak_roca[h->val];
	}
	/* a shared key is one finding per key, reported with its first
	 * certificate, not one per certificate (a million copies of one key
	 * are one problem) */
	{
		struct hent *sh = hget(&k->shared, spki), *hh = hget(&k->hosts, spki);
		if ((sh || hh) && !hget(&k->keydone, spki)) {
			char where[4 + 2 * CL_SHA256_LEN + 1];
			struct cl_eval_ctx x = { .now = k->now, .key_mode = -1,
			                         .shared_certs = sh ? sh->val - 1 : 0,
			                         .hosts = hh ? hh->val : 0, .key_where = where };
			snprintf(where, sizeof where, "key:%s", spki);
			if ((rc = hput(&k->keydone, spki, 1)) != CL_OK)
				return rc;
			k->row = row;
			k->profile = pr->name;
			if ((rc = cl_policy_eval_context(pr, &x, on_violation, k)) != CL_OK)
				return rc;
		}
	}
	if (k->ncas) {
		char key[2 * CL_SHA256_LEN + 1];
		if ((h = hget(&k->cafp, name_key(key, c.issuer))) != NULL) {
			ctx.issuer_fp = k->cas[h->val].fp;
			ctx.issuer_spki = k->cas[h->val].spki;
		}
	}
	if ((h = hget(&k->rev, k->fp)) != NULL && k->revs[h->val]->status != CL_REV_NONE) {
		ctx.revocation = (int)k->revs[h->val]->status + 1;  /* see cl_eval_ctx */
		ctx.revocation_detail = k->revs[h->val]->detail;
	}
	if ((rc = cl_policy_eval(pr, &c, &ctx, on_violation, k)) != CL_OK)
		return rc;
	/* once per place: each endpoint serving a bad chain, each exposed key file */
	for (h = hget(&k->chain, k->fp), ni = h ? h->val : -1; ni >= 0; ni = k->notes[ni].next) {
		struct cl_eval_ctx x = { .now = k->now, .key_mode = -1,
		                         .verify = k->notes[ni].verify,
		                         .verify_detail = k->notes[ni].detail,
		                         .endpoint = k->notes[ni].location };
		if ((rc = cl_policy_eval_context(pr, &x, on_violation, k)) != CL_OK)
			return rc;
	}
	for (h = hget(&k->keys, spki), ni = h ? h->val : -1; ni >= 0; ni = k->notes[ni].next) {
		struct cl_eval_ctx x = { .now = k->now, .key_mode = k->notes[ni].mode,
		                         .key_location = k->notes[ni].location };
		if ((rc = cl_policy_eval_context(pr, &x, on_violation, k)) != CL_OK)
			return rc;
	}
	return CL_OK;
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c;

	if (x->sev != y->sev)
		return x->sev > y->sev ? -1 : 1;
	if ((c = strcmp(x->owner, y->owner)) != 0)
		return c;
	return (int)x->rule - (int)y->rule;
}

static void print_groups(struct check *k)
{
	size_t i, j;
	int sev = -2;
	const char *owner = NULL;

	if (k->ngroups)
		qsort(k->groups, k->ngroups, sizeof *k->groups, group_cmp);
	for (i = 0; i < k->ngroups; i++) {
		const struct group *g = &k->groups[i];
		if ((int)g->sev != sev) {
			char up[16];
			snprintf(up, sizeof up, "%s", cl_sev_name(g->sev));
			for (char *p = up; *p; p++)
				*p = (char)(*p - 32 * (*p >= 'a' && *p <= 'z'));
			printf("%s%s (%ld)\n", i ? "\n" : "", up, k->counts[g->sev]);
			sev = g->sev;
			owner = NULL;
		}
		if (!owner || strcmp(owner, g->owner) != 0) {
			printf("  %s\n", g->owner);
			owner = g->owner;
		}
		printf("    policy.%s (%ld): %s\n", cl_rules[g->rule].name, g->n,
		       cl_rules[g->rule].summary);
		for (j = 0; j < g->nex; j++)
			printf("      %s\n", g->ex[j]);
		if ((long)g->nex < g->n)
			printf("      ... and %ld more (certledger findings --rule policy.%s)\n",
			       g->n - (long)g->nex, cl_rules[g->rule].name);
		printf("      fix: %s\n", cl_rules[g->rule].fix);
	}
}

static void check_free(struct check *k)
{
	size_t i, j;

	for (i = 0; i < k->nnotes; i++) {
		free(k->notes[i].location);
		free(k->notes[i].verify);
		free(k->notes[i].detail);
	}
	for (i = 0; i < k->ngroups; i++) {
		for (j = 0; j < k->groups[i].nex; j++)
			free(k->groups[i].ex[j]);
		free(k->groups[i].ex);
		free(k->groups[i].owner);
	}
	free(k->groups);
	free(k->notes);
	free(k->shared.e);
	free(k->hosts.e);
	free(k->keydone.e);
	free(k->cafp.e);
	free(k->cas);
	free(k->weak.e);
	free(k->chain.e);
	free(k->keys.e);
	free(k->weak_e);
	free(k->weak_roca);
	free(k->open.e);
	free(k->checked.e);
	for (i = 0; i < k->nrevs; i++)
		free(k->revs[i]);
	free(k->revs);
	free(k->rev.e);
	cl_buf_free(&k->msg);
}

int cl_cmd_check(struct cl_cli *cli, int argc, char **argv)
{
	struct check k = { .fmt = CL_FMT_TABLE, .fail_on = CL_SEV_ERROR, .examples = 5,
	                   .worst = -1 };
	struct cl_endpoint_filter ef = { .chain_problems = true };
	struct cl_policy *pol = NULL;
	struct cl_filter f;
	const char *policy = NULL;
	char err[600], *end, stats[300];
	bool revocation = false, locations, approvals_by_key = false;
	int rev_timeout = CL_REV_DEFAULT_TIMEOUT_MS;
	char cache_dir[4200];
	long max_min_e;
	int opt, rc, frc;

	cl_filter_init(&f);
	cl_buf_init(&k.msg, 1 << 16);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(check_opts, true), NULL)) != -1) {
		switch (opt) {
		case O_POLICY: policy = optarg; break;
		case O_FAIL_ON:
			if (cl_sev_parse(optarg, &k.fail_on) != CL_OK || k.fail_on == CL_SEV_OFF)
				return cl_cli_usage("check", "--fail-on must be info, warning, error or "
				                    "critical");
			break;
		case O_EXAMPLES:
			k.examples = strtol(optarg, &end, 10);
			if (*end || k.examples < 0)
				return cl_cli_usage("check", "--examples needs a number >= 0 (0: all)");
			break;
		case O_REVOCATION: revocation = true; break;
		case O_REV_TIMEOUT: {
			int64_t secs;
			char *ms = strstr(optarg, "ms");
			if (ms && ms[2] == '\0') {
				rev_timeout = (int)strtol(optarg, &end, 10);
				if (end != ms || rev_timeout <= 0)
					return cl_cli_usage("check", "--revocation-timeout: '%s' is not a "
					                    "timeout (500ms, 5s)", optarg);
			} else if (cl_duration_parse(optarg, &secs) == CL_OK && secs > 0 &&
			           secs < 3600) {
				rev_timeout = (int)secs * 1000;
			} else {
				return cl_cli_usage("check", "--revocation-timeout: '%s' is not a timeout "
				                    "(500ms, 5s)", optarg);
			}
			break;
		}
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &k.fmt) != CL_OK)
				return cl_cli_usage("check", "--format must be table, json or csv");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("check")); return CL_EXIT_OK;
		default:
			frc = cl_filter_option("check", &f, opt, optarg);
			if (frc == CL_ERR_USAGE)
				return CL_EXIT_USAGE;
			if (frc != CL_OK)
				return cl_cli_usage("check", "unknown option");
		}
	}
	{
		/* any filter but --now narrows what is checked: only those
		 * certificates' findings may be resolved */
		struct cl_filter d;
		cl_filter_init(&d);
		d.now = f.now;
		d.sort = f.sort;
		d.desc = f.desc;
		d.limit = f.limit;
		k.scoped = memcmp(&d, &f, sizeof d) != 0;
	}
	if (optind < argc)
		return cl_cli_usage("check", "unexpected argument '%s'", argv[optind]);
	if ((rc = cl_policy_load(&pol, policy, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", err);
		return rc == CL_ERR_IO ? CL_EXIT_RUNTIME : CL_EXIT_USAGE;
	}
	k.pol = pol;
	k.now = f.now;
	f.limit = 0;
	/* the strictest exponent rule of any profile decides which keys to load */
	max_min_e = pol->base.rsa_min_exponent;
	locations = pol->base.m_location.n > 0;
	for (size_t i = 0; i <= pol->nprofiles; i++) {
		const struct cl_profile *pp = i < pol->nprofiles ? &pol->profiles[i] : &pol->base;
		if (pp->rsa_min_exponent > max_min_e)
			max_min_e = pp->rsa_min_exponent;
		locations = locations || pp->m_location.n > 0;
		for (size_t j = 0; j < pp->issuers.n; j++)
			approvals_by_key = approvals_by_key || strncmp(pp->issuers.v[j], "fp:", 3) == 0 ||
			                   strncmp(pp->issuers.v[j], "spki:", 5) == 0;
	}
	if ((rc = cl_cli_open(cli, 0, &k.s)) != CL_OK)
		goto out;
	rc = cl_store_run_begin(k.s, "check", policy ? policy : "built-in default", cl_now(),
	                        &k.run_id);
	if (rc == CL_OK)
		rc = cl_store_shared_keys(k.s, on_shared, &k);
	if (rc == CL_OK)
		rc = cl_store_key_hosts(k.s, on_hosts, &k);
	if (rc == CL_OK && approvals_by_key)
		rc = cl_store_ca_certs(k.s, on_ca_fp, &k);

	if (rc == CL_OK)
		rc = cl_store_exposed_keys(k.s, on_exposed, &k);
	if (rc == CL_OK)
		rc = cl_store_endpoints(k.s, &ef, on_chain, &k);
	if (rc == CL_OK)
		rc = cl_store_weak_rsa(k.s, max_min_e, on_weak, &k);
	if (rc == CL_OK)
		rc = cl_store_findings_open(k.s, "policy.", on_open, &k);
	if (rc == CL_OK && revocation) {
		/* downloaded CRLs are kept beside the inventory until nextUpdate */
		const char *db = strncmp(cli->db, "sqlite:", 7) == 0 ? cli->db + 7 : cli->db;
		const char *slash = strrchr(db, '/');
		snprintf(cache_dir, sizeof cache_dir, "%.*s%scrl-cache",
		         slash ? (int)(slash - db) : 0, db, slash ? "/" : "");
		rc = revocation_pass(&k, &f, rev_timeout, cache_dir);
	}

	if (rc == CL_OK)
		rc = cl_store_begin(k.s);
	if (rc != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(k.s));
		goto out;
	}
	if (k.fmt == CL_FMT_JSON)
		fputs("[", stdout);
	else if (k.fmt == CL_FMT_CSV)
		fputs("rule,severity,target,fingerprint_sha256,subject,owner,environment,profile,"
		      "found,limit,message,fix\r\n", stdout);
	if ((rc = cl_store_findings_stage_begin(k.s)) == CL_OK)
		rc = cl_store_policy_rows(k.s, &f, locations, evaluate, &k);
	/* what was open and did not come back is resolved (in scope only) */
	for (size_t i = 0; rc == CL_OK && i < k.open.cap; i++) {
		const struct ofind *o = &k.open.e[i];
		if (o->key && !o->seen &&
		    (!k.scoped || oget(&k.checked, o->fph, false)))
			rc = cl_store_findings_stage_resolve(k.s, o->id);
	}
	if (rc == CL_OK)
		rc = cl_store_findings_stage_end(k.s, k.run_id, cl_now(), &k.opened, &k.changed,
		                                 &k.resolved);
	if (rc == CL_OK)
		rc = cl_store_commit(k.s);
	else
		cl_store_rollback(k.s);
	if (k.fmt == CL_FMT_JSON)
		fputs(k.w.rows ? "\n]\n" : "]\n", stdout);
	if (rc != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(k.s));
		goto out;
	}
	snprintf(stats, sizeof stats, "{\"certificates\":%ld,\"critical\":%ld,\"error\":%ld,"
	         "\"warning\":%ld,\"info\":%ld,\"opened\":%ld,\"changed\":%ld,\"resolved\":%ld}",
	         k.certs, k.counts[CL_SEV_CRITICAL], k.counts[CL_SEV_ERROR],
	         k.counts[CL_SEV_WARNING], k.counts[CL_SEV_INFO], k.opened, k.changed, k.resolved);
	cl_store_run_end(k.s, k.run_id, "ok", stats, cl_now());
	if (k.fmt == CL_FMT_TABLE) {
		print_groups(&k);
		printf("%schecked %ld certificate%s against %s: %ld critical, %ld error, %ld warning, "
		       "%ld info; %ld finding%s opened, %ld resolved\n", k.ngroups ? "\n" : "",
		       k.certs, k.certs == 1 ? "" : "s", pol->source, k.counts[CL_SEV_CRITICAL],
		       k.counts[CL_SEV_ERROR], k.counts[CL_SEV_WARNING], k.counts[CL_SEV_INFO],
		       k.opened, k.opened == 1 ? "" : "s", k.resolved);
		if (revocation)
			printf("revocation: %ld good, %ld revoked, %ld unknown, %ld unreachable; %ld "
			       "without OCSP or CRL, %ld whose issuer is not in the inventory\n",
			       k.rev_counts[CL_REV_GOOD], k.rev_counts[CL_REV_REVOKED],
			       k.rev_counts[CL_REV_UNKNOWN], k.rev_counts[CL_REV_UNREACHABLE],
			       k.rev_counts[CL_REV_NONE], k.rev_noissuer);
	}
	fflush(stdout);
out:
	cl_store_close(k.s);
	check_free(&k);
	cl_policy_free(pol);
	if (rc != CL_OK)
		return cl_cli_exit_for(rc);
	return k.worst >= (int)k.fail_on ? CL_EXIT_NOMATCH : CL_EXIT_OK;
}
