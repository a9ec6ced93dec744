/* Policy files (YAML), profile selection and rule evaluation. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include "core/pool.h"
#include "core/util.h"
#include "core/yamldoc.h"
#include "policy/policy.h"

#define MAX_POLICY_BYTES (1 << 20)
#define DAY 86400

const char cl_policy_default_yaml[] =
"# certledger built-in default policy (certledger policy show-default).\n"
"# Copy it to a file, adapt it and pass it with --policy FILE; profiles\n"
"# select rules by environment, tag, owner or location (see\n"
"# docs/policy.example.yaml). Every rule is described by\n"
"# `certledger explain RULE`.\n"
"version: 1\n"
"defaults:\n"
"  key:\n"
"    allow: [RSA, EC, Ed25519, Ed448, 'ML-DSA-*', 'SLH-DSA-*']  # globs\n"
"    rsa_min_bits: 2048\n"
"    dsa_min_bits: 2048\n"
"    ec_curves: [P-256, P-384, P-521]\n"
"    rsa_min_exponent: 65537\n"
"    max_hosts: 10          # hosts one key may be served from (0: any)\n"
"  signature:\n"
"    forbid: ['*sha1*', '*md5*', '*md2*', '*md4*']\n"
"    allow: []              # empty: anything not forbidden\n"
"  issuers:\n"
"    approve: []            # empty: any issuer\n"
"  validity:\n"
"    max_days: 0            # 0: no limit of its own\n"
"    cabf: false            # true for public TLS: 398/200/100/47 days by notBefore\n"
"  expiry:\n"
"    warning: [30d, 33%]    # the smaller of 30 days and a third of the lifetime\n"
"    critical: [7d, 10%]\n"
"  san:\n"
"    wildcards: true\n"
"    required: []\n"
"    forbidden: []\n"
"  self_signed: false       # self-signed leaf certificates are findings...\n"
"  ct:\n"
"    require_scts: false\n"
"  chain:\n"
"    intermediate_expiry: 30d\n"
"  severity:\n"
"    cert.self-signed: warning   # ...of warning severity by default\n"
"profiles: []\n";

/* ---- memory: every string and list of a policy lives in one pool ------- */

struct pstate {
	struct cl_policy *p;
	struct cl_pool *pool;
	size_t *profcap;
	yaml_document_t *doc;
	const char *name;
	char *err;
	size_t errlen;
};

static int fail_at(struct pstate *ps, const yaml_node_t *node, const char *fmt, ...)
	CL_PRINTF(3, 4);
static int fail_at(struct pstate *ps, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cl_yaml_vfail(ps->err, ps->errlen, ps->name, node, fmt, ap);
	va_end(ap);
	return rc;
}

static int get_str(struct pstate *ps, yaml_node_t *n, const char *key, char **out)
{
	const char *s = cl_yaml_scalar(n);

	if (!s)
		return fail_at(ps, n, "%s: expected a string", key);
	if (!(*out = cl_pool_add(ps->pool, strdup(s))))
		return CL_ERR_NOMEM;
	return CL_OK;
}

static int get_bool(struct pstate *ps, yaml_node_t *n, const char *key, bool *out)
{
	const char *s = cl_yaml_scalar(n);

	if (s && (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0))
		*out = true;
	else if (s && (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0))
		*out = false;
	else
		return fail_at(ps, n, "%s: expected true or false, got '%s'", key, s ? s : "a list");
	return CL_OK;
}

static int get_long(struct pstate *ps, yaml_node_t *n, const char *key, long lo, long hi,
                    long *out)
{
	const char *s = cl_yaml_scalar(n);
	char *end;
	long v;

	errno = 0;
	v = s ? strtol(s, &end, 10) : 0;
	if (!s || errno || end == s || *end)
		return fail_at(ps, n, "%s: expected a number, got '%s'", key, s ? s : "a list");
	if (v < lo || v > hi)
		return fail_at(ps, n, "%s: %ld is out of range (%ld..%ld)", key, v, lo, hi);
	*out = v;
	return CL_OK;
}

/* Checks one entry of a list; e is the entry's node (for its line). */
typedef int (*entry_fn)(struct pstate *ps, const yaml_node_t *e, const char *key,
                        const char *s, void *arg);

/*
 * A scalar or a sequence of scalars into a list (replacing it); null or ""
 * is the empty list. check, when given, is called for each entry.
 */
static int get_list_checked(struct pstate *ps, yaml_node_t *n, const char *key,
                            struct cl_list *out, entry_fn check, void *arg)
{
	yaml_node_item_t *it;
	size_t cnt;
	int rc;

	if (n->type == YAML_SCALAR_NODE) {
		if (cl_yaml_is_null(n) || !*cl_yaml_scalar(n)) {
			out->n = 0;
			return CL_OK;
		}
		cnt = 1;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	} else {
		return fail_at(ps, n, "%s: expected a list", key);
	}
	if (!(out->v = cl_pool_add(ps->pool, calloc(cnt + 1, sizeof *out->v))))
		return CL_ERR_NOMEM;
	out->n = 0;
	if (n->type == YAML_SCALAR_NODE) {
		if ((rc = get_str(ps, n, key, &out->v[out->n++])) != CL_OK)
			return rc;
		return check ? check(ps, n, key, out->v[0], arg) : CL_OK;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(ps->doc, *it);
		if (!cl_yaml_scalar(e))
			return fail_at(ps, e, "%s: list entries must be strings", key);
		if ((rc = get_str(ps, e, key, &out->v[out->n++])) != CL_OK)
			return rc;
		if (check && (rc = check(ps, e, key, out->v[out->n - 1], arg)) != CL_OK)
			return rc;
	}
	return CL_OK;
}

static int get_list(struct pstate *ps, yaml_node_t *n, const char *key, struct cl_list *out)
{
	return get_list_checked(ps, n, key, out, NULL, NULL);
}

/* One part of a threshold: "30d", "12h" or "33%". */
static int threshold_entry(struct pstate *ps, const yaml_node_t *e, const char *key,
                           const char *s, void *arg)
{
	struct cl_threshold *t = arg;
	size_t len = strlen(s);

	if (len > 1 && s[len - 1] == '%') {
		char *end;
		double v = strtod(s, &end);
		if (end != s + len - 1 || v < 0 || v > 100)
			return fail_at(ps, e, "%s: '%s' is not a share of the lifetime (0%%..100%%)",
			               key, s);
		t->share = v / 100.0;
	} else if (s[0] == '-' || cl_duration_parse(s, &t->seconds) != CL_OK) {
		return fail_at(ps, e, "%s: '%s' is not a duration (30d, 12h) or a share of "
		               "the lifetime (33%%)", key, s);
	}
	return CL_OK;
}

/* "30d", "12h", "33%" (one or a list: the smaller applies). */
static int get_threshold(struct pstate *ps, yaml_node_t *n, const char *key,
                         struct cl_threshold *t)
{
	struct cl_list l = { 0 };
	int rc;

	t->seconds = -1;
	t->share = -1;
	if ((rc = get_list_checked(ps, n, key, &l, threshold_entry, t)) != CL_OK)
		return rc;
	if (l.n == 0)
		return fail_at(ps, n, "%s: give a duration (30d) or a share (33%%), or both", key);
	return CL_OK;
}

static int get_duration(struct pstate *ps, yaml_node_t *n, const char *key, int64_t *out)
{
	const char *s = cl_yaml_scalar(n);

	if (!s || s[0] == '-' || cl_duration_parse(s, out) != CL_OK)
		return fail_at(ps, n, "%s: '%s' is not a duration (30d, 12h, 2w)", key,
		               s ? s : "a list");
	return CL_OK;
}

/* kn is the key's node (for its line), k its text, v the value's node. */
typedef int (*field_fn)(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                        const char *k, yaml_node_t *v);

/*
 * Fails when the key of pair was already given in map (an earlier pair):
 * YAML mapping keys are unique, and "the last one wins" would hide a
 * mistake. Only the pairs before it are compared: those passed already.
 */
static int dup_key(struct pstate *ps, const yaml_node_t *map, const yaml_node_pair_t *pair,
                   const char *section)
{
	const yaml_node_t *k = yaml_document_get_node(ps->doc, pair->key);
	const yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; p < pair; p++) {
		const yaml_node_t *pk = yaml_document_get_node(ps->doc, p->key);
		unsigned long l1 = (unsigned long)pk->start_mark.line + 1;
		unsigned long l2 = (unsigned long)k->start_mark.line + 1;
		if (!cl_yaml_scalar(pk) || strcmp(cl_yaml_scalar(pk), cl_yaml_scalar(k)) != 0)
			continue;
		if (l1 == l2)
			return fail_at(ps, k, "key '%s%s%s' is given twice (both on line %lu)", section,
			               *section ? "." : "", cl_yaml_scalar(k), l2);
		return fail_at(ps, k, "key '%s%s%s' is given twice (lines %lu and %lu)", section,
		               *section ? "." : "", cl_yaml_scalar(k), l1, l2);
	}
	return CL_OK;
}

/*
 * Calls fn for each key of a mapping. what names the mapping in messages;
 * section is the prefix of its keys in messages ("key" for key.allow, ""
 * for the keys of defaults and of a profile).
 */
static int each_pair(struct pstate *ps, yaml_node_t *map, const char *what, const char *section,
                     struct cl_profile *pr, field_fn fn)
{
	yaml_node_pair_t *pair;
	int rc;

	if (map->type != YAML_MAPPING_NODE)
		return fail_at(ps, map, "%s: expected a mapping (key: value)", what);
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(ps->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(ps->doc, pair->value);
		if (!cl_yaml_scalar(k))
			return fail_at(ps, k, "%s: keys must be strings", what);
		if ((rc = dup_key(ps, map, pair, section)) != CL_OK)
			return rc;
		if ((rc = fn(ps, pr, k, cl_yaml_scalar(k), v)) != CL_OK)
			return rc;
	}
	return CL_OK;
}

/* An unknown key: named at the key's own line (its value may start below). */
static int unknown(struct pstate *ps, const yaml_node_t *kn, const char *section,
                   const char *key, const char *known)
{
	return fail_at(ps, kn, "unknown key '%s%s%s' (known: %s)", section, *section ? "." : "",
	               key, known);
}

static int f_key(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                 const char *k, yaml_node_t *v)
{
	long n;
	int rc;

	if (strcmp(k, "allow") == 0)
		return get_list(ps, v, "key.allow", &pr->key_allow);
	if (strcmp(k, "ec_curves") == 0)
		return get_list(ps, v, "key.ec_curves", &pr->ec_curves);
	if (strcmp(k, "rsa_min_bits") == 0 || strcmp(k, "dsa_min_bits") == 0) {
		if ((rc = get_long(ps, v, k, 0, 65536, &n)) != CL_OK)
			return rc;
		*(k[0] == 'r' ? &pr->rsa_min_bits : &pr->dsa_min_bits) = (int)n;
		return CL_OK;
	}
	if (strcmp(k, "rsa_min_exponent") == 0)
		return get_long(ps, v, "key.rsa_min_exponent", 0, 1L << 40, &pr->rsa_min_exponent);
	if (strcmp(k, "max_hosts") == 0)
		return get_long(ps, v, "key.max_hosts", 0, 1000000, &pr->max_hosts);
	return unknown(ps, kn, "key", k, "allow, rsa_min_bits, dsa_min_bits, ec_curves, "
	               "rsa_min_exponent, max_hosts");
}

static int f_sig(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                 const char *k, yaml_node_t *v)
{
	if (strcmp(k, "forbid") == 0)
		return get_list(ps, v, "signature.forbid", &pr->sig_forbid);
	if (strcmp(k, "allow") == 0)
		return get_list(ps, v, "signature.allow", &pr->sig_allow);
	return unknown(ps, kn, "signature", k, "forbid, allow");
}

/* An entry of issuers.approve: a glob, or fp:/spki: and a SHA-256 in hex. */
static int issuer_entry(struct pstate *ps, const yaml_node_t *e, const char *key,
                        const char *s, void *arg)
{
	unsigned char bin[CL_SHA256_LEN];
	const char *hex = NULL;

	(void)arg;
	if (strncmp(s, "fp:", 3) == 0 || strncmp(s, "spki:", 5) == 0)
		hex = strchr(s, ':') + 1;
	if (hex && (strlen(hex) != 64 || cl_unhex(hex, bin, sizeof bin) != CL_OK))
		return fail_at(ps, e, "%s: '%s' needs 64 hex digits (a SHA-256)", key, s);
	return CL_OK;
}

static int f_issuers(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                     const char *k, yaml_node_t *v)
{
	if (strcmp(k, "approve") != 0)
		return unknown(ps, kn, "issuers", k, "approve");
	return get_list_checked(ps, v, "issuers.approve", &pr->issuers, issuer_entry, NULL);
}

static int f_validity(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                      const char *k, yaml_node_t *v)
{
	long n;
	int rc;

	if (strcmp(k, "max_days") == 0) {
		if ((rc = get_long(ps, v, "validity.max_days", 0, 100000, &n)) != CL_OK)
			return rc;
		pr->max_validity_days = (int)n;
		return CL_OK;
	}
	if (strcmp(k, "cabf") == 0)
		return get_bool(ps, v, "validity.cabf", &pr->cabf);
	return unknown(ps, kn, "validity", k, "max_days, cabf");
}

static int f_expiry(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                    const char *k, yaml_node_t *v)
{
	if (strcmp(k, "warning") == 0)
		return get_threshold(ps, v, "expiry.warning", &pr->warn);
	if (strcmp(k, "critical") == 0)
		return get_threshold(ps, v, "expiry.critical", &pr->crit);
	return unknown(ps, kn, "expiry", k, "warning, critical");
}

static int f_san(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                 const char *k, yaml_node_t *v)
{
	if (strcmp(k, "wildcards") == 0)
		return get_bool(ps, v, "san.wildcards", &pr->wildcards);
	if (strcmp(k, "required") == 0)
		return get_list(ps, v, "san.required", &pr->san_required);
	if (strcmp(k, "forbidden") == 0)
		return get_list(ps, v, "san.forbidden", &pr->san_forbidden);
	return unknown(ps, kn, "san", k, "wildcards, required, forbidden");
}

static int f_ct(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                const char *k, yaml_node_t *v)
{
	if (strcmp(k, "require_scts") == 0)
		return get_bool(ps, v, "ct.require_scts", &pr->require_scts);
	return unknown(ps, kn, "ct", k, "require_scts");
}

static int f_chain(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                   const char *k, yaml_node_t *v)
{
	if (strcmp(k, "intermediate_expiry") == 0)
		return get_duration(ps, v, "chain.intermediate_expiry", &pr->intermediate_expiry);
	return unknown(ps, kn, "chain", k, "intermediate_expiry");
}

static int f_severity(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                      const char *k, yaml_node_t *v)
{
	int r = cl_rule_find(k);
	enum cl_sev sev;

	if (r < 0)
		return fail_at(ps, kn, "severity: unknown rule '%s' (certledger explain lists them)", k);
	if (!cl_yaml_scalar(v) || cl_sev_parse(cl_yaml_scalar(v), &sev) != CL_OK)
		return fail_at(ps, v, "severity.%s: expected info, warning, error, critical or off", k);
	pr->sev[r] = sev;
	return CL_OK;
}

static int f_match(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                   const char *k, yaml_node_t *v)
{
	if (strcmp(k, "environment") == 0)
		return get_list(ps, v, "match.environment", &pr->m_env);
	if (strcmp(k, "tag") == 0 || strcmp(k, "tags") == 0)
		return get_list(ps, v, "match.tag", &pr->m_tag);
	if (strcmp(k, "owner") == 0)
		return get_list(ps, v, "match.owner", &pr->m_owner);
	if (strcmp(k, "location") == 0)
		return get_list(ps, v, "match.location", &pr->m_location);
	return unknown(ps, kn, "match", k, "environment, tag, owner, location");
}

/* The rules of a profile (and of defaults). */
static int f_body(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                  const char *k, yaml_node_t *v)
{
	static const struct { const char *name; field_fn fn; } sections[] = {
		{ "key", f_key }, { "signature", f_sig }, { "issuers", f_issuers },
		{ "validity", f_validity }, { "expiry", f_expiry }, { "san", f_san },
		{ "ct", f_ct }, { "chain", f_chain }, { "severity", f_severity },
	};
	size_t i;

	for (i = 0; i < CL_ARRAY_LEN(sections); i++)
		if (strcmp(k, sections[i].name) == 0)
			return each_pair(ps, v, k, k, pr, sections[i].fn);
	if (strcmp(k, "self_signed") == 0)
		return get_bool(ps, v, "self_signed", &pr->self_signed);
	return unknown(ps, kn, "", k, "key, signature, issuers, validity, expiry, san, "
	               "self_signed, ct, chain, severity");
}

static int f_profile(struct pstate *ps, struct cl_profile *pr, const yaml_node_t *kn,
                     const char *k, yaml_node_t *v)
{
	if (strcmp(k, "name") == 0) {
		int rc = get_str(ps, v, "name", &pr->name);
		if (rc == CL_OK && (!*pr->name || strcmp(pr->name, "default") == 0))
			return fail_at(ps, v, "name: '%s' is reserved or empty", pr->name);
		return rc;
	}
	if (strcmp(k, "match") == 0)
		return each_pair(ps, v, "match", "match", pr, f_match);
	return f_body(ps, pr, kn, k, v);
}

static int parse_doc(struct pstate *ps, yaml_node_t *root, bool builtin)
{
	struct cl_policy *p = ps->p;
	yaml_node_pair_t *pair;
	yaml_node_t *profiles = NULL;
	bool version = false;
	int rc;

	if (!root || root->type != YAML_MAPPING_NODE)
		return fail_at(ps, root, "a policy is a mapping with version, defaults and profiles");
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(ps->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(ps->doc, pair->value);
		const char *key = cl_yaml_scalar(k);
		if (!key)
			return fail_at(ps, k, "keys must be strings");
		if ((rc = dup_key(ps, root, pair, "")) != CL_OK)
			return rc;
		if (strcmp(key, "version") == 0) {
			if (!cl_yaml_scalar(v) || strcmp(cl_yaml_scalar(v), "1") != 0)
				return fail_at(ps, v, "version: only version 1 is known");
			version = true;
		} else if (strcmp(key, "defaults") == 0) {
			if ((rc = each_pair(ps, v, "defaults", "", &p->base, f_body)) != CL_OK)
				return rc;
		} else if (strcmp(key, "profiles") == 0) {
			profiles = v;
		} else {
			return fail_at(ps, k, "unknown key '%s' (known: version, defaults, profiles)", key);
		}
	}
	if (!version && !builtin)
		return fail_at(ps, root, "version: 1 is required");
	if (!profiles || builtin)
		return CL_OK;
	if (cl_yaml_is_null(profiles) || (profiles->type == YAML_SCALAR_NODE && !*cl_yaml_scalar(profiles)))
		return CL_OK;  /* profiles: ~ or '': none */
	if (profiles->type != YAML_SEQUENCE_NODE)
		return fail_at(ps, profiles, "profiles: expected a list of profiles");
	for (yaml_node_item_t *it = profiles->data.sequence.items.start;
	     it < profiles->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(ps->doc, *it);
		struct cl_profile *pr;
		if (CL_GROW(p->profiles, *ps->profcap, p->nprofiles + 1) != CL_OK)
			return CL_ERR_NOMEM;
		pr = &p->profiles[p->nprofiles++];
		*pr = p->base;  /* a profile starts from the defaults */
		pr->name = NULL;
		pr->line = (int)n->start_mark.line + 1;
		memset(&pr->m_env, 0, sizeof pr->m_env);
		memset(&pr->m_tag, 0, sizeof pr->m_tag);
		memset(&pr->m_owner, 0, sizeof pr->m_owner);
		memset(&pr->m_location, 0, sizeof pr->m_location);
		if ((rc = each_pair(ps, n, "profile", "", pr, f_profile)) != CL_OK)
			return rc;
		if (!pr->name)
			return fail_at(ps, n, "a profile needs a name");
		for (size_t j = 0; j + 1 < p->nprofiles; j++)
			if (strcmp(p->profiles[j].name, pr->name) == 0)
				return fail_at(ps, n, "profile '%s' is defined twice", pr->name);
	}
	return CL_OK;
}

/* Parses text into ps->p (on top of what is there). */
static int parse_text(struct pstate *ps, const char *text, size_t len, bool builtin)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc;

	if (!yaml_parser_initialize(&parser))
		return CL_ERR_NOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = cl_yaml_error(ps->err, ps->errlen, ps->name, &parser);
		yaml_parser_delete(&parser);
		return rc;
	}
	ps->doc = &doc;
	rc = parse_doc(ps, yaml_document_get_root_node(&doc), builtin);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

struct policy_impl {
	struct cl_policy pub;
	struct cl_pool pool;
	size_t profcap;
};

void cl_policy_free(struct cl_policy *p)
{
	struct policy_impl *pi = (struct policy_impl *)p;

	if (!p)
		return;
	cl_pool_free(&pi->pool);
	free(p->profiles);
	free(p->source);
	free(pi);
}

int cl_policy_parse(struct cl_policy **out, const char *text, size_t len, const char *name,
                    char *err, size_t errlen)
{
	struct policy_impl *pi = calloc(1, sizeof *pi);
	struct pstate ps = { .name = "built-in default", .err = err, .errlen = errlen };
	int rc, i;

	*out = NULL;
	if (!pi)
		return CL_ERR_NOMEM;
	ps.p = &pi->pub;
	ps.pool = &pi->pool;
	ps.profcap = &pi->profcap;
	pi->pub.base.name = "default";
	for (i = 0; i < CL_R_COUNT; i++)
		pi->pub.base.sev[i] = cl_rules[i].severity;
	pi->pub.base.warn = (struct cl_threshold){ -1, -1 };
	pi->pub.base.crit = (struct cl_threshold){ -1, -1 };
	/* the built-in default first, so that a file only states differences */
	rc = parse_text(&ps, cl_policy_default_yaml, strlen(cl_policy_default_yaml), true);
	if (rc == CL_OK && text) {
		ps.name = name;
		rc = parse_text(&ps, text, len, false);
	}
	pi->pub.source = strdup(text ? name : "built-in default");
	if (rc != CL_OK || !pi->pub.source) {
		cl_policy_free(&pi->pub);
		return rc != CL_OK ? rc : CL_ERR_NOMEM;
	}
	*out = &pi->pub;
	return CL_OK;
}

int cl_policy_load(struct cl_policy **out, const char *path, char *err, size_t errlen)
{
	FILE *f;
	char *buf;
	size_t n;
	int rc;

	if (!path)
		return cl_policy_parse(out, NULL, 0, NULL, err, errlen);
	if (!(f = fopen(path, "r"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return CL_ERR_IO;
	}
	if (!(buf = malloc(MAX_POLICY_BYTES + 1))) {
		fclose(f);
		return CL_ERR_NOMEM;
	}
	n = fread(buf, 1, MAX_POLICY_BYTES + 1, f);
	if (ferror(f) || n > MAX_POLICY_BYTES) {
		bool ioerr = ferror(f);
		snprintf(err, errlen, "%s: %s", path, ioerr ? strerror(errno) :
		         "larger than 1 MiB: not a policy file");
		fclose(f);
		free(buf);
		return ioerr ? CL_ERR_IO : CL_ERR_PARSE;
	}
	fclose(f);
	rc = cl_policy_parse(out, buf, n, path, err, errlen);
	free(buf);
	return rc;
}

/* ---- selection ------------------------------------------------------------ */

static bool any_glob(const struct cl_list *l, const char *s)
{
	size_t i;

	for (i = 0; s && i < l->n; i++)
		if (cl_glob(l->v[i], s))
			return true;
	return false;
}

/* Any tag of tags (",a,b," as stored) matches any glob of l. */
static bool any_tag(const struct cl_list *l, const char *tags)
{
	char buf[256], *tag;
	const char *p, *end;
	bool hit;

	for (p = tags; p && *p; p = end) {
		size_t n;
		p += strspn(p, ",");
		end = p + strcspn(p, ",");
		if ((n = (size_t)(end - p)) == 0)
			break;
		if (n < sizeof buf)
			tag = memcpy(buf, p, n);
		else if (!(tag = malloc(n + 1)))
			return false;
		else
			memcpy(tag, p, n);
		tag[n] = '\0';
		hit = any_glob(l, tag);
		if (tag != buf)
			free(tag);
		if (hit)
			return true;
	}
	return false;
}

const struct cl_profile *cl_policy_select(const struct cl_policy *p, const char *environment,
                                          const char *owner, const char *tags,
                                          const char *const *locations, size_t nlocations)
{
	size_t i, k;

	for (i = 0; i < p->nprofiles; i++) {
		const struct cl_profile *pr = &p->profiles[i];
		bool loc = pr->m_location.n == 0;
		for (k = 0; !loc && k < nlocations; k++)
			loc = any_glob(&pr->m_location, locations[k]);
		if ((pr->m_env.n == 0 || any_glob(&pr->m_env, environment)) &&
		    (pr->m_owner.n == 0 || any_glob(&pr->m_owner, owner)) &&
		    (pr->m_tag.n == 0 || any_tag(&pr->m_tag, tags)) && loc)
			return pr;
	}
	return &p->base;
}

const struct cl_profile *cl_policy_profile(const struct cl_policy *p, const char *name)
{
	size_t i;

	if (strcmp(name, "default") == 0)
		return &p->base;
	for (i = 0; i < p->nprofiles; i++)
		if (strcmp(p->profiles[i].name, name) == 0)
			return &p->profiles[i];
	return NULL;
}

/* ---- evaluation ------------------------------------------------------------ */

int cl_cabf_max_days(int64_t nb)
{
	if (nb >= cl_time_from_civil(2029, 3, 15, 0, 0, 0))
		return 47;
	if (nb >= cl_time_from_civil(2027, 3, 15, 0, 0, 0))
		return 100;
	if (nb >= cl_time_from_civil(2026, 3, 15, 0, 0, 0))
		return 200;
	if (nb >= cl_time_from_civil(2020, 9, 1, 0, 0, 0))
		return 398;
	return 825;
}

struct ev {
	const struct cl_profile *pr;
	cl_violation_cb cb;
	void *arg;
	int rc;
};

static void report(struct ev *e, enum cl_rule r, const char *where, const char *found,
                   const char *limit, const char *fmt, ...) CL_PRINTF(6, 7);
static void report(struct ev *e, enum cl_rule r, const char *where, const char *found,
                   const char *limit, const char *fmt, ...)
{
	struct cl_violation v = { .rule = r, .severity = e->pr->sev[r], .found = found,
	                          .limit = limit, .fix = cl_rules[r].fix, .where = where };
	char msg[512];
	va_list ap;

	if (e->rc != CL_OK || v.severity == CL_SEV_OFF)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	v.message = msg;
	e->rc = e->cb(e->arg, &v);
}

static bool in_list_ci(const struct cl_list *l, const char *s)
{
	size_t i;

	for (i = 0; s && i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return true;
	return false;
}

static const char *join(char *buf, size_t len, const struct cl_list *l)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", l->v[i]);
	return buf;
}

/* A SAN pattern: "DNS:*.x", "IP:10.*", or a bare glob meaning DNS. */
static bool san_matches(const char *pat, const char *san)
{
	if (strchr(pat, ':') && !strncasecmp(pat, san, (size_t)(strchr(pat, ':') - pat + 1)))
		return cl_glob(strchr(pat, ':') + 1, strchr(san, ':') + 1);
	if (strncmp(san, "DNS:", 4) == 0 && !strchr(pat, ':'))
		return cl_glob(pat, san + 4);
	return false;
}

/* The time left below which a threshold fires (the smaller of its parts). */
static int64_t threshold(const struct cl_threshold *t, int64_t lifetime)
{
	int64_t a = t->seconds, b = t->share >= 0 ? (int64_t)(t->share * (double)lifetime) : -1;

	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/*
 * A time left (or, negative, past) in its largest sensible unit, rounded
 * toward zero: "20 days", "-5 days", "36 hours", "12 minutes", "0 seconds".
 */
static void fmt_left(char *buf, size_t len, int64_t s)
{
	static const struct { int64_t from, secs; const char *name; } u[] = {
		{ 2 * DAY, DAY, "day" }, { 3600, 3600, "hour" }, { 60, 60, "minute" }, { 0, 1, "second" },
	};
	long long a = s < 0 ? -(long long)s : (long long)s, n;
	size_t i = 0;

	while (a < u[i].from)
		i++;
	n = a / u[i].secs;
	snprintf(buf, len, "%s%lld %s%s", s < 0 ? "-" : "", n, u[i].name, n == 1 ? "" : "s");
}

/*
 * A lifetime exactly: "90 days", "90 days and 1 second", "397 days, 23
 * hours, 59 minutes and 59 seconds".
 */
static void fmt_life(char *buf, size_t len, int64_t s)
{
	static const struct { int64_t secs; const char *name; } u[] = {
		{ DAY, "day" }, { 3600, "hour" }, { 60, "minute" }, { 1, "second" },
	};
	long long part[4];
	size_t i, nparts = 0, done = 0, off = 0;

	if (s <= 0) {
		snprintf(buf, len, "%lld seconds", (long long)s);
		return;
	}
	for (i = 0; i < CL_ARRAY_LEN(u); i++) {
		part[i] = (long long)(s / u[i].secs);
		s %= u[i].secs;
		nparts += part[i] != 0;
	}
	buf[0] = '\0';
	for (i = 0; i < CL_ARRAY_LEN(u) && off < len; i++) {
		if (!part[i])
			continue;
		done++;
		off += (size_t)snprintf(buf + off, len - off, "%s%lld %s%s",
		                        done == 1 ? "" : done == nparts ? " and " : ", ", part[i],
		                        u[i].name, part[i] == 1 ? "" : "s");
	}
}

static void eval_key(struct ev *e, const struct cl_cert *c)
{
	const struct cl_profile *pr = e->pr;
	char found[64], limit[300];

	snprintf(found, sizeof found, "%s %d", c->key_type, c->key_bits);
	if (c->curve)
		snprintf(found, sizeof found, "%s %s", c->key_type, c->curve);
	if (pr->key_allow.n && !any_glob(&pr->key_allow, c->key_type))
		report(e, CL_R_KEY_TYPE, NULL, found, join(limit, sizeof limit, &pr->key_allow),
		       "%s key; the profile allows %s", c->key_type, limit);
	if (strcmp(c->key_type, "RSA") == 0 && c->key_bits < pr->rsa_min_bits) {
		snprintf(limit, sizeof limit, ">= %d bits", pr->rsa_min_bits);
		report(e, CL_R_KEY_SIZE, NULL, found, limit, "RSA key of %d bits; at least %d "
		       "required", c->key_bits, pr->rsa_min_bits);
	} else if (strcmp(c->key_type, "DSA") == 0 && c->key_bits < pr->dsa_min_bits) {
		snprintf(limit, sizeof limit, ">= %d bits", pr->dsa_min_bits);
		report(e, CL_R_KEY_SIZE, NULL, found, limit, "DSA key of %d bits; at least %d "
		       "required", c->key_bits, pr->dsa_min_bits);
	} else if (strcmp(c->key_type, "EC") == 0 && pr->ec_curves.n &&
	           !in_list_ci(&pr->ec_curves, c->curve)) {
		join(limit, sizeof limit, &pr->ec_curves);
		report(e, CL_R_KEY_SIZE, NULL, found, limit, "EC key on curve %s; allowed: %s",
		       c->curve ? c->curve : "unknown", limit);
	}
	if (strcmp(c->key_type, "RSA") == 0 && c->rsa_e > 0 &&
	    (c->rsa_e < pr->rsa_min_exponent || c->rsa_e % 2 == 0)) {
		snprintf(found, sizeof found, "e=%lld", (long long)c->rsa_e);
		snprintf(limit, sizeof limit, "odd, >= %ld", pr->rsa_min_exponent);
		report(e, CL_R_KEY_EXPONENT, NULL, found, limit, "RSA public exponent %lld; an odd "
		       "exponent >= %ld is required", (long long)c->rsa_e, pr->rsa_min_exponent);
	}
	if (c->rsa_roca)
		report(e, CL_R_KEY_ROCA, NULL, found, "no ROCA fingerprint",
		       "the RSA key has the ROCA fingerprint (CVE-2017-15361): its private key can be "
		       "computed");
}

static void eval_names(struct ev *e, const struct cl_cert *c)
{
	const struct cl_profile *pr = e->pr;
	char limit[300];
	size_t i, k;

	if (!c->is_ca && c->sans.n == 0 && (!c->eku || strstr(c->eku, "serverAuth")))
		report(e, CL_R_SAN_MISSING, NULL, "no subjectAltName", "at least one SAN",
		       "no subjectAltName: clients match names against the SAN only");
	for (i = 0; !pr->wildcards && i < c->sans.n; i++)
		if (strncmp(c->sans.v[i], "DNS:*.", 6) == 0) {
			report(e, CL_R_SAN_WILDCARD, NULL, c->sans.v[i], "no wildcards",
			       "wildcard name %s; the profile forbids wildcards", c->sans.v[i] + 4);
			break;
		}
	for (k = 0; k < pr->san_required.n; k++) {
		for (i = 0; i < c->sans.n; i++)
			if (san_matches(pr->san_required.v[k], c->sans.v[i]))
				break;
		if (i == c->sans.n)
			report(e, CL_R_SAN_REQUIRED, NULL, c->sans.n ? c->sans.v[0] : "no SAN",
			       pr->san_required.v[k], "no SAN matches the required %s",
			       pr->san_required.v[k]);
	}
	for (i = 0; i < c->sans.n; i++)
		for (k = 0; k < pr->san_forbidden.n; k++)
			if (san_matches(pr->san_forbidden.v[k], c->sans.v[i])) {
				report(e, CL_R_SAN_FORBIDDEN, NULL, c->sans.v[i],
				       join(limit, sizeof limit, &pr->san_forbidden),
				       "%s matches the forbidden %s", c->sans.v[i], pr->san_forbidden.v[k]);
				break;
			}
}

/* fp:/spki: name the issuing CA certificate: the certificate itself when
 * self-signed, else its issuer when known (ctx) */
static bool issuer_approved(const struct cl_profile *pr, const struct cl_cert *c,
                            const struct cl_eval_ctx *x)
{
	char fp[2 * CL_SHA256_LEN + 1], spki[2 * CL_SHA256_LEN + 1];
	const char *ifp = x->issuer_fp, *ispki = x->issuer_spki;
	size_t i;

	if (c->self_signed) {
		cl_hex(fp, c->fp, CL_SHA256_LEN);
		cl_hex(spki, c->spki_sha256, CL_SHA256_LEN);
		ifp = fp;
		ispki = spki;
	}
	for (i = 0; i < pr->issuers.n; i++) {
		const char *s = pr->issuers.v[i];
		if (strncmp(s, "fp:", 3) == 0) {
			if (ifp && strcasecmp(s + 3, ifp) == 0)
				return true;
		} else if (strncmp(s, "spki:", 5) == 0) {
			if (ispki && strcasecmp(s + 5, ispki) == 0)
				return true;
		} else if (cl_glob(s, c->issuer)) {
			return true;
		}
	}
	return false;
}

static void eval_time(struct ev *e, const struct cl_cert *c, int64_t now)
{
	const struct cl_profile *pr = e->pr;
	int64_t life = c->not_after - c->not_before + 1, left = c->not_after - now, t;
	char found[64], limit[64];
	int max;

	if (!c->is_ca) {
		/* exact: 90 days and 1 second is not "90 days" against a limit of 90 */
		fmt_life(found, sizeof found, life);
		if (pr->max_validity_days > 0 && life > (int64_t)pr->max_validity_days * DAY) {
			snprintf(limit, sizeof limit, "<= %d days", pr->max_validity_days);
			report(e, CL_R_VALIDITY_MAX, NULL, found, limit, "valid for %s; the profile "
			       "allows at most %d days", found, pr->max_validity_days);
		}
		max = cl_cabf_max_days(c->not_before);
		if (pr->cabf && life > (int64_t)max * DAY) {
			char nb[40];
			snprintf(limit, sizeof limit, "<= %d days", max);
			report(e, CL_R_VALIDITY_CABF, NULL, found, limit, "valid for %s; the CA/Browser "
			       "Forum allows %d days for certificates issued from %.10s", found, max,
			       cl_time_fmt(nb, sizeof nb, c->not_before));
		}
	}
	if (now < c->not_before) {
		char nb[40];
		cl_time_fmt(nb, sizeof nb, c->not_before);
		report(e, CL_R_NOT_YET_VALID, NULL, nb, "notBefore <= now", "not valid before %s", nb);
	}
	if (c->is_ca) {
		/* intermediates: their expiry breaks every chain they are in */
		if (!c->self_signed && left < pr->intermediate_expiry) {
			fmt_left(found, sizeof found, left);
			fmt_left(limit, sizeof limit, pr->intermediate_expiry);
			report(e, CL_R_CHAIN_INTERMEDIATE_EXPIRY, NULL, found, limit, left < 0 ?
			       "intermediate CA %s expired %s ago" : "intermediate CA %s expires in %s",
			       c->subject_cn[0] ? c->subject_cn : c->subject, left < 0 ? found + 1 : found);
		}
		return;
	}
	fmt_left(found, sizeof found, left);
	/* RFC 5280: the validity period includes notAfter */
	if (left < 0) {
		char na[40];
		report(e, CL_R_EXPIRY_EXPIRED, NULL, found, "not expired", "expired on %s",
		       cl_time_fmt(na, sizeof na, c->not_after));
	} else if ((t = threshold(&pr->crit, life)) >= 0 && left < t) {
		fmt_left(limit, sizeof limit, t);
		report(e, CL_R_EXPIRY_CRITICAL, NULL, found, limit, "expires in %s (critical below "
		       "%s)", found, limit);
	} else if ((t = threshold(&pr->warn, life)) >= 0 && left < t) {
		fmt_left(limit, sizeof limit, t);
		report(e, CL_R_EXPIRY_WARNING, NULL, found, limit, "expires in %s (warning below %s)",
		       found, limit);
	}
}

static bool has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p;

	for (p = list; p && (p = strstr(p, w)) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ',' || p[n] == ':'))
			return true;
	return false;
}

static void eval_context(struct ev *e, const struct cl_eval_ctx *x)
{
	char found[64];

	if (x->shared_certs > 0 && x->key_where) {
		snprintf(found, sizeof found, "%ld certificates", x->shared_certs + 1);
		report(e, CL_R_KEY_SHARED, x->key_where, found, "one certificate per key",
		       "this key is used by %ld present certificates", x->shared_certs + 1);
	} else if (x->shared_certs > 0) {
		snprintf(found, sizeof found, "%ld other certificate%s", x->shared_certs,
		         x->shared_certs == 1 ? "" : "s");
		report(e, CL_R_KEY_SHARED, NULL, found, "one certificate per key",
		       "the same key is in %s", found);
	}
	if (e->pr->max_hosts > 0 && x->hosts > e->pr->max_hosts) {
		char limit[40];
		snprintf(found, sizeof found, "%ld hosts", x->hosts);
		snprintf(limit, sizeof limit, "<= %ld hosts", e->pr->max_hosts);
		report(e, CL_R_KEY_SHARED, x->key_where, found, limit, "the same key is served by %ld "
		       "hosts; the profile allows %ld", x->hosts, e->pr->max_hosts);
	}
	if (x->key_mode >= 0 && (x->key_mode & 077)) {
		snprintf(found, sizeof found, "mode %04o", x->key_mode & 07777);
		report(e, CL_R_KEY_READABLE, x->key_location, found, "mode 0600",
		       "the private key file is readable by %s (%s)",
		       (x->key_mode & 07) ? "everyone" : "its group", found);
	}
	if (x->verify && x->endpoint) {
		static const struct { const char *v; enum cl_rule r; } map[] = {
			{ "incomplete-chain", CL_R_CHAIN_INCOMPLETE },
			{ "wrong-order", CL_R_CHAIN_WRONG_ORDER },
			{ "untrusted-root", CL_R_CHAIN_UNTRUSTED_ROOT },
		};
		for (size_t i = 0; i < CL_ARRAY_LEN(map); i++)
			if (has_word(x->verify, map[i].v))
				report(e, map[i].r, x->endpoint, map[i].v, "a complete, ordered, trusted chain",
				       "%s serves %s%s%s", x->endpoint, map[i].v,
				       x->verify_detail ? ": " : "", x->verify_detail ? x->verify_detail : "");
	}
	/* CL_REV_* + 1: good 1, revoked 2, unknown 3, unreachable 4 */
	if (x->revocation == 2)
		report(e, CL_R_REVOKED, NULL, "revoked", "good", "revoked%s%s",
		       x->revocation_detail ? ": " : "", x->revocation_detail ? x->revocation_detail : "");
	else if (x->revocation == 3)
		report(e, CL_R_REVOCATION_UNKNOWN, NULL, "unknown", "good", "revocation status "
		       "unknown%s%s", x->revocation_detail ? ": " : "",
		       x->revocation_detail ? x->revocation_detail : "");
	else if (x->revocation == 4)
		report(e, CL_R_REVOCATION_UNREACHABLE, NULL, "unreachable", "an answer",
		       "no OCSP responder or CRL answered%s%s", x->revocation_detail ? ": " : "",
		       x->revocation_detail ? x->revocation_detail : "");
}

int cl_policy_eval_context(const struct cl_profile *pr, const struct cl_eval_ctx *ctx,
                           cl_violation_cb cb, void *arg)
{
	struct ev e = { .pr = pr, .cb = cb, .arg = arg, .rc = CL_OK };

	eval_context(&e, ctx);
	return e.rc;
}

int cl_policy_eval(const struct cl_profile *pr, const struct cl_cert *c,
                   const struct cl_eval_ctx *ctx, cl_violation_cb cb, void *arg)
{
	struct ev e = { .pr = pr, .cb = cb, .arg = arg, .rc = CL_OK };
	char limit[300];
	size_t i;

	eval_key(&e, c);
	/* only a self-signed CA root is exempt: a trust anchor is trusted for
	 * being in the store, not for its signature; a self-signed leaf is not */
	if (!(c->is_ca && c->self_signed)) {
		for (i = 0; i < pr->sig_forbid.n; i++)
			if (cl_glob(pr->sig_forbid.v[i], c->sig_alg)) {
				report(&e, CL_R_SIG_FORBIDDEN, NULL, c->sig_alg, pr->sig_forbid.v[i],
				       "signed with %s, which the profile forbids", c->sig_alg);
				break;
			}
		if (pr->sig_allow.n && !any_glob(&pr->sig_allow, c->sig_alg))
			report(&e, CL_R_SIG_NOT_ALLOWED, NULL, c->sig_alg,
			       join(limit, sizeof limit, &pr->sig_allow),
			       "signed with %s; the profile allows %s", c->sig_alg, limit);
	}
	if (pr->issuers.n && !issuer_approved(pr, c, ctx))
		report(&e, CL_R_ISSUER_NOT_APPROVED, NULL, c->issuer,
		       join(limit, sizeof limit, &pr->issuers), "issued by %s, not an approved CA",
		       c->issuer);
	eval_time(&e, c, ctx->now);
	if (!c->is_ca)
		eval_names(&e, c);
	if (!pr->self_signed && c->self_signed && !c->is_ca)
		report(&e, CL_R_SELF_SIGNED, NULL, "self-signed", "issued by a CA",
		       "a self-signed certificate (%s)", c->subject);
	if (pr->require_scts && !c->is_ca && c->sct_count == 0)
		report(&e, CL_R_CT_NO_SCTS, NULL, "0 SCTs", ">= 1 SCT",
		       "no embedded Certificate Transparency SCTs");
	eval_context(&e, ctx);
	return e.rc;
}
