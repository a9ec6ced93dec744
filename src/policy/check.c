/* A policy check of the inventory: context, one pass, findings kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/strmap.h"
#include "core/util.h"
#include "policy/check.h"
#include "policy/revocation.h"

#define HEX_LEN (2 * CL_SHA256_LEN + 1)

/* ---- a map from a 64-hex key (fingerprint, SPKI hash) to a value -------------
 * The keys live in the table: no allocation per entry, which matters for
 * the maps filled from whole-inventory queries. */

struct hent {
	char key[HEX_LEN];
	long val;          /* a count, or an index into a side array */
};

struct hmap {
	struct hent *e;
	size_t cap, n;
};

/* The keys are SHA-256 values: their first 16 digits hash as well as all 64. */
static size_t hslot(const struct hmap *m, const char *key)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = key; *p && p < key + 16; p++)
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

struct rev_slot {           /* the revocation status of one leaf */
	char fp[HEX_LEN];
	enum cl_rev_status status;
	char detail[1200];
};

struct check {
	struct cl_store *s;
	const struct cl_check_opts *o;
	const struct cl_policy *pol;
	struct cl_check_stats *st;
	struct cl_filter f;     /* what is checked (limit cleared) */
	bool scoped;
	int64_t now, run_id;
	struct hmap shared;     /* spki -> certificates with it */
	struct hmap hosts;      /* spki -> hosts serving it */
	struct hmap keydone;    /* spki already reported (key.shared: one finding per key) */
	struct cl_strmap cafp;  /* CA subject -> index into cas (fp:/spki: approvals) */
	struct { char fp[HEX_LEN], spki[HEX_LEN]; } *cas;
	size_t ncas, capcas;
	struct hmap weak;       /* fp -> index into weak_keys */
	struct { int64_t e; bool roca; } *weak_keys;
	size_t nweak, capweak;
	struct hmap chain;      /* leaf fp -> first note */
	struct hmap keys;       /* spki -> first note */
	struct place_note *notes;
	size_t nnotes, capnotes;
	struct oindex open;     /* open policy findings */
	struct oindex checked;  /* fingerprints evaluated (scoped runs) */
	struct hmap rev;        /* fp -> index into revs */
	struct rev_slot **revs;
	size_t nrevs, caprevs;
	/* the certificate being evaluated */
	const struct cl_policy_row *row;
	const char *profile;
	char fp[HEX_LEN];
};

static bool stopping(const struct check *k)
{
	return k->o->stop && *k->o->stop;
}

/*
 * Whether f selects fewer certificates than the whole present inventory:
 * any criterion but the evaluation time, the order and the limit. f is
 * compared as a whole (so a criterion added to the filter counts too).
 */
static bool narrows(const struct cl_filter *f)
{
	struct cl_filter d;

	cl_filter_init(&d);
	d.now = f->now;
	d.sort = f->sort;
	d.desc = f->desc;
	d.limit = f->limit;
	return memcmp(&d, f, sizeof d) != 0;
}

static int add_note(struct check *k, struct hmap *by, const char *key, const char *location,
                    const char *verify, const char *detail, int mode)
{
	struct place_note *n;
	struct hent *prev = hget(by, key);

	if (CL_GROW(k->notes, k->capnotes, k->nnotes + 1) != CL_OK)
		return CL_ERR_NOMEM;
	n = &k->notes[k->nnotes++];  /* counted now: freed with the check */
	n->location = strdup(location);
	n->verify = verify ? strdup(verify) : NULL;
	n->detail = detail ? strdup(detail) : NULL;
	n->mode = mode;
	n->next = prev ? prev->val : -1;
	if (!n->location || (verify && !n->verify) || (detail && !n->detail))
		return CL_ERR_NOMEM;
	return hput(by, key, (long)(k->nnotes - 1));
}

static int on_shared(void *arg, const char *spki, long n)
{
	return hput(&((struct check *)arg)->shared, spki, n);
}

static int on_hosts(void *arg, const char *spki, long n)
{
	return hput(&((struct check *)arg)->hosts, spki, n);
}

/* CA certificates by subject, for issuers.approve fp:/spki: entries. */
static int on_ca_fp(void *arg, const char *subject, const char *ski, const unsigned char *der,
                    size_t len)
{
	struct check *k = arg;
	struct cl_cert *c = NULL;

	(void)ski;
	if (cl_strmap_get(&k->cafp, subject))
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
	return cl_strmap_put(&k->cafp, subject, (long)k->ncas++);
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

	if (CL_GROW(k->weak_keys, k->capweak, k->nweak + 1) != CL_OK)
		return CL_ERR_NOMEM;
	k->weak_keys[k->nweak].e = e;
	k->weak_keys[k->nweak].roca = roca;
	return hput(&k->weak, fp, (long)k->nweak++);
}

/* ---- findings ---------------------------------------------------------------- */

static int on_violation(void *arg, const struct cl_violation *v)
{
	struct check *k = arg;
	struct cl_check_stats *st = k->st;
	char rule[64], target[600];
	const char *ffp;
	struct ofind *o;
	uint64_t body;
	int rc;

	snprintf(rule, sizeof rule, "policy.%s", cl_rules[v->rule].name);
	if (v->where)
		snprintf(target, sizeof target, "%s", v->where);
	else
		snprintf(target, sizeof target, "cert:%s", k->fp);
	/* a finding about a key (key:SPKI) is the same whichever certificate
	 * showed it first */
	ffp = v->where && strncmp(v->where, "key:", 4) == 0 ? "" : k->fp;
	o = oget(&k->open, finding_key(rule, target, ffp), false);
	body = fnv(fnv(1469598103934665603ULL, cl_sev_name(v->severity)), v->message);
	if (o)
		o->seen = true;
	/* unchanged findings cost nothing: only new and changed are staged */
	if ((!o || o->body != body) &&
	    (rc = cl_store_findings_stage(k->s, rule, cl_sev_name(v->severity), target, ffp,
	                                  v->message)) != CL_OK)
		return rc;
	st->violations++;
	st->by_sev[v->severity]++;
	if ((int)v->severity > st->worst)
		st->worst = v->severity;
	if (k->o->on_hit) {
		struct cl_check_hit h = { .v = v, .row = k->row, .rule = rule, .target = target,
		                          .fp = k->fp, .profile = k->profile };
		return k->o->on_hit(k->o->arg, &h);
	}
	return CL_OK;
}

/* ---- revocation ------------------------------------------------------------------ */

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

	if (stopping(k))
		return CL_ERR_INTERRUPTED;
	if (c->ocsp.n == 0 && c->crl.n == 0) {
		k->st->rev[CL_REV_NONE]++;
		return CL_OK;
	}
	for (i = 0; i < rp->ncas && !issuer; i++)
		if (strcmp(rp->cas[i].subject, c->issuer) == 0 &&
		    (!c->aki || !rp->cas[i].ski || strcmp(c->aki, rp->cas[i].ski) == 0))
			issuer = &rp->cas[i];
	if (!issuer) {
		k->st->rev_noissuer++;
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

/* The revocation status of every leaf checked (into k->rev), all at once. */
static int revocation_pass(struct check *k)
{
	struct cl_rev_opts ro = { .timeout_ms = k->o->revocation_timeout_ms > 0 ?
	                                        k->o->revocation_timeout_ms :
	                                        CL_REV_DEFAULT_TIMEOUT_MS,
	                          .now = k->now, .cache_dir = k->o->crl_cache_dir };
	struct rev_pass rp = { .k = k };
	struct cl_filter leaves = k->f;
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
		k->st->rev[k->revs[i]->status]++;
	cl_revoker_free(rp.rv);
	for (i = 0; i < rp.ncas; i++) {
		free(rp.cas[i].subject);
		free(rp.cas[i].ski);
		free(rp.cas[i].der);
	}
	free(rp.cas);
	return rc;
}

/* ---- the pass ------------------------------------------------------------------- */

static int evaluate(void *arg, const struct cl_policy_row *row)
{
	struct check *k = arg;
	struct cl_eval_ctx ctx = { .now = k->now, .key_mode = -1 };
	char spki[HEX_LEN];
	const struct cl_profile *pr;
	struct cl_cert c = *row->c;
	struct hent *h;
	long ni, *ca;
	int rc;

	if (stopping(k))
		return CL_ERR_INTERRUPTED;
	k->row = row;
	k->st->certs++;
	cl_hex(k->fp, c.fp, CL_SHA256_LEN);
	cl_hex(spki, c.spki_sha256, CL_SHA256_LEN);
	if (k->scoped && !oget(&k->checked, finding_key(k->fp, "", ""), true))
		return CL_ERR_NOMEM;
	pr = cl_policy_select(k->pol, row->environment, row->owner, row->tags, row->locations,
	                      row->nlocations);
	k->profile = pr->name;
	if ((h = hget(&k->weak, k->fp)) != NULL) {
		c.rsa_e = k->weak_keys[h->val].e;
		c.rsa_roca = k->weak_keys[h->val].roca;
	}
	/* a shared key is one finding per key, reported with its first
	 * certificate, not one per certificate (a million copies of one key
	 * are one problem) */
	{
		struct hent *sh = hget(&k->shared, spki), *hh = hget(&k->hosts, spki);
		if ((sh || hh) && !hget(&k->keydone, spki)) {
			char where[4 + HEX_LEN];
			struct cl_eval_ctx x = { .now = k->now, .key_mode = -1,
			                         .shared_certs = sh ? sh->val - 1 : 0,
			                         .hosts = hh ? hh->val : 0, .key_where = where };
			snprintf(where, sizeof where, "key:%s", spki);
			if ((rc = hput(&k->keydone, spki, 1)) != CL_OK)
				return rc;
			if ((rc = cl_policy_eval_context(pr, &x, on_violation, k)) != CL_OK)
				return rc;
		}
	}
	if (k->ncas && (ca = cl_strmap_get(&k->cafp, c.issuer)) != NULL) {
		ctx.issuer_fp = k->cas[*ca].fp;
		ctx.issuer_spki = k->cas[*ca].spki;
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

/* Everything gathered before the pass. */
static int gather(struct check *k)
{
	const struct cl_policy *pol = k->pol;
	struct cl_endpoint_filter ef = { .chain_problems = true };
	bool approvals_by_key = false;
	long max_min_e = pol->base.rsa_min_exponent;
	int rc;

	/* the strictest exponent rule of any profile decides which keys to load */
	for (size_t i = 0; i <= pol->nprofiles; i++) {
		const struct cl_profile *pp = i < pol->nprofiles ? &pol->profiles[i] : &pol->base;
		if (pp->rsa_min_exponent > max_min_e)
			max_min_e = pp->rsa_min_exponent;
		for (size_t j = 0; j < pp->issuers.n; j++)
			approvals_by_key = approvals_by_key || strncmp(pp->issuers.v[j], "fp:", 3) == 0 ||
			                   strncmp(pp->issuers.v[j], "spki:", 5) == 0;
	}
	rc = cl_store_shared_keys(k->s, on_shared, k);
	if (rc == CL_OK)
		rc = cl_store_key_hosts(k->s, on_hosts, k);
	if (rc == CL_OK && approvals_by_key)
		rc = cl_store_ca_certs(k->s, on_ca_fp, k);
	if (rc == CL_OK)
		rc = cl_store_exposed_keys(k->s, on_exposed, k);
	if (rc == CL_OK)
		rc = cl_store_endpoints(k->s, &ef, on_chain, k);
	if (rc == CL_OK)
		rc = cl_store_weak_rsa(k->s, max_min_e, on_weak, k);
	if (rc == CL_OK)
		rc = cl_store_findings_open(k->s, "policy.", on_open, k);
	if (rc == CL_OK && stopping(k))
		rc = CL_ERR_INTERRUPTED;
	if (rc == CL_OK && k->o->revocation)
		rc = revocation_pass(k);
	if (rc == CL_OK && stopping(k))
		rc = CL_ERR_INTERRUPTED;
	return rc;
}

/* Locations are read only when a profile matches on them. */
static bool needs_locations(const struct cl_policy *pol)
{
	bool locations = pol->base.m_location.n > 0;

	for (size_t i = 0; i < pol->nprofiles; i++)
		locations = locations || pol->profiles[i].m_location.n > 0;
	return locations;
}

/* The pass, in the transaction: stage what changed, resolve what is gone. */
static int pass(struct check *k)
{
	struct cl_check_stats *st = k->st;
	int rc;

	if ((rc = cl_store_findings_stage_begin(k->s)) == CL_OK)
		rc = cl_store_policy_rows(k->s, &k->f, needs_locations(k->pol), evaluate, k);
	/* what was open and did not come back is resolved (in scope only) */
	for (size_t i = 0; rc == CL_OK && i < k->open.cap; i++) {
		const struct ofind *o = &k->open.e[i];
		if (o->key && !o->seen && (!k->scoped || oget(&k->checked, o->fph, false)))
			rc = cl_store_findings_stage_resolve(k->s, o->id);
	}
	if (rc == CL_OK)
		rc = cl_store_findings_stage_end(k->s, k->run_id, cl_now(), &st->opened,
		                                 &st->changed, &st->resolved);
	return rc;
}

static void check_free(struct check *k)
{
	size_t i;

	for (i = 0; i < k->nnotes; i++) {
		free(k->notes[i].location);
		free(k->notes[i].verify);
		free(k->notes[i].detail);
	}
	free(k->notes);
	free(k->shared.e);
	free(k->hosts.e);
	free(k->keydone.e);
	cl_strmap_free(&k->cafp);
	free(k->cas);
	free(k->weak.e);
	free(k->weak_keys);
	free(k->chain.e);
	free(k->keys.e);
	free(k->open.e);
	free(k->checked.e);
	for (i = 0; i < k->nrevs; i++)
		free(k->revs[i]);
	free(k->revs);
	free(k->rev.e);
}

int cl_policy_check(struct cl_store *s, const struct cl_check_opts *o,
                    struct cl_check_stats *st)
{
	struct check k = { .s = s, .o = o, .st = st };
	struct timespec t0, t1;
	char stats[300];
	bool begun = false;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(st, 0, sizeof *st);
	st->worst = -1;
	if (!s || !o || !o->policy)
		return CL_ERR_USAGE;
	k.pol = o->policy;
	if (o->filter) {
		/* any filter but --now narrows what is checked: only those
		 * certificates' findings may be resolved */
		k.scoped = narrows(o->filter);
		memcpy(&k.f, o->filter, sizeof k.f);
	} else {
		cl_filter_init(&k.f);
	}
	k.f.limit = 0;
	k.now = k.f.now;
	if ((rc = cl_store_run_begin(s, "check", o->args ? o->args : k.pol->source, cl_now(),
	                             &k.run_id)) != CL_OK)
		return rc;
	if ((rc = gather(&k)) != CL_OK || (rc = cl_store_begin(s)) != CL_OK)
		goto out;
	begun = true;
	if (o->on_start && (rc = o->on_start(o->arg)) != CL_OK)
		goto out;
	if ((rc = pass(&k)) == CL_OK)
		rc = cl_store_commit(s);
out:
	if (rc != CL_OK) {
		if (begun)
			cl_store_rollback(s);
		st->opened = st->changed = st->resolved = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	snprintf(stats, sizeof stats, "{\"certificates\":%ld,\"critical\":%ld,\"error\":%ld,"
	         "\"warning\":%ld,\"info\":%ld,\"opened\":%ld,\"changed\":%ld,\"resolved\":%ld}",
	         st->certs, st->by_sev[CL_SEV_CRITICAL], st->by_sev[CL_SEV_ERROR],
	         st->by_sev[CL_SEV_WARNING], st->by_sev[CL_SEV_INFO], st->opened, st->changed,
	         st->resolved);
	/* best effort: the findings are settled either way (after a failure,
	 * one here would replace the store's message) */
	(void)cl_store_run_end(s, k.run_id, rc == CL_OK ? "ok" :
	                       rc == CL_ERR_INTERRUPTED ? "interrupted" : "failed", stats, cl_now());
	check_free(&k);
	return rc;
}
