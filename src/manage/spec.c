/*
 * The managed-certificate spec: see manage.h and docs/managed.md.
 *
 * Read with libyaml's document API, like the daemon's configuration, so
 * every message names the file and the line. Each mapping is checked
 * against the keys it may hold first (unknown keys get a suggestion,
 * duplicates are refused), then read key by key. Strings live in one
 * pool freed with the spec. Secrets are kept as references ({env: NAME},
 * {file: PATH}) and read only when used.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "core/buf.h"
#include "core/pool.h"
#include "core/strmap.h"
#include "core/util.h"
#include "core/yamldoc.h"
#include "manage/manage.h"

#define MAX_NAME 64
#define MAX_TEXT 4096           /* one string value */
#define MAX_SECRET (64 << 10)
#define HOUR INT64_C(3600)
#define DAY INT64_C(86400)

struct spec_impl {
	struct cl_manage_spec pub;
	struct cl_pool pool;
	size_t capcerts, capissuers;
	/* issuerRef of each certificate until resolved */
	const char **ref;
	int *ref_line;
};

struct ps {
	struct spec_impl *si;
	yaml_document_t *doc;
	const char *name;
	char *err;
	size_t errlen;
};

static char *pool_strdup(struct ps *ps, const char *s)
{
	return cl_pool_strdup(&ps->si->pool, s);
}

static int fail_at(struct ps *ps, const yaml_node_t *node, const char *fmt, ...)
	CL_PRINTF(3, 4);
static int fail_at(struct ps *ps, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cl_yaml_vfail(ps->err, ps->errlen, ps->name, node, fmt, ap);
	va_end(ap);
	return rc;
}

static int fail_line(struct ps *ps, int line, const char *fmt, ...) CL_PRINTF(3, 4);
static int fail_line(struct ps *ps, int line, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->name, line, msg);
	return CL_ERR_PARSE;
}

static const char *type_name(const yaml_node_t *n)
{
	return n->type == YAML_SEQUENCE_NODE ? "list" : n->type == YAML_MAPPING_NODE ? "mapping"
	                                                                              : "string";
}

/* ---- keys of a mapping ------------------------------------------------------------ */

/*
 * Checks that map is a mapping (null counts as empty when may_be_null)
 * whose keys are strings among known (NULL-terminated), each given once.
 */
static int check_keys(struct ps *ps, yaml_node_t *map, const char *where,
                      const char *const *known)
{
	yaml_node_pair_t *p, *q;
	char list[400];
	size_t i;

	if (map->type != YAML_MAPPING_NODE)
		return fail_at(ps, map, "%s must be a mapping (key: value), not a %s", where,
		               type_name(map));
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(ps->doc, p->key);
		const char *key = cl_yaml_scalar(k), *best = NULL;
		size_t bestd = SIZE_MAX, d;
		if (!key)
			return fail_at(ps, k, "%s: keys must be strings", where);
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			const char *other = cl_yaml_scalar(yaml_document_get_node(ps->doc, q->key));
			if (other && strcmp(other, key) == 0)
				return fail_at(ps, k, "%s: key '%s' is given twice (lines %d and %d)", where,
				               key, cl_yaml_line(yaml_document_get_node(ps->doc, q->key)),
				               cl_yaml_line(k));
		}
		for (i = 0; known[i] && strcmp(known[i], key) != 0; i++)
			;
		if (known[i])
			continue;
		list[0] = '\0';
		for (i = 0; known[i]; i++) {
			size_t off = strlen(list);
			snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "", known[i]);
			d = cl_edit_distance(key, known[i]);
			if (d <= 2 && 3 * d <= strlen(known[i]) && d < bestd) {
				bestd = d;
				best = known[i];
			}
		}
		if (best)
			return fail_at(ps, k, "unknown key '%s' in %s (did you mean '%s'?)", key, where,
			               best);
		return fail_at(ps, k, "unknown key '%s' in %s (known: %s)", key, where, list);
	}
	return CL_OK;
}

/* The value of key in map (a mapping), or NULL. */
static yaml_node_t *get(struct ps *ps, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = cl_yaml_scalar(yaml_document_get_node(ps->doc, p->key));
		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(ps->doc, p->value);
	}
	return NULL;
}

/* A mapping that may be given as null (all defaults). */
static bool empty_map(const yaml_node_t *n)
{
	return cl_yaml_is_null(n);
}

/* ---- values ----------------------------------------------------------------------- */

/* A non-empty string (scalar) without control characters, copied to the pool. */
static int get_str(struct ps *ps, yaml_node_t *v, const char *label, const char **out)
{
	const char *s = cl_yaml_scalar(v);

	if (!s)
		return fail_at(ps, v, "%s: expected a string, not a %s", label, type_name(v));
	if (cl_yaml_is_null(v) || !*s)
		return fail_at(ps, v, "%s: no value given", label);
	if (v->data.scalar.length > MAX_TEXT)
		return fail_at(ps, v, "%s: longer than %d bytes", label, MAX_TEXT);
	if (!cl_text_valid(s, v->data.scalar.length))
		return fail_at(ps, v, "%s: line breaks and control characters are not allowed", label);
	if (!(*out = pool_strdup(ps, s)))
		return CL_ERR_NOMEM;
	return CL_OK;
}

static int get_abs_path(struct ps *ps, yaml_node_t *v, const char *label, const char **out)
{
	int rc;

	if ((rc = get_str(ps, v, label, out)) != CL_OK)
		return rc;
	if ((*out)[0] != '/')
		return fail_at(ps, v, "%s: '%s' is not an absolute path (the spec is also used "
		               "from other directories: renew, serve)", label, *out);
	return CL_OK;
}

/* {env: NAME} or {file: /PATH}: never a value written into the spec. */
static int get_secret(struct ps *ps, yaml_node_t *v, const char *label,
                      struct cl_manage_secret *out)
{
	static const char *const keys[] = { "env", "file", NULL };
	yaml_node_t *e, *f;
	int rc;

	memset(out, 0, sizeof *out);
	if (v->type != YAML_MAPPING_NODE)
		return fail_at(ps, v, "%s: expected {env: NAME} or {file: PATH} (secrets are never "
		               "written into the spec)", label);
	if ((rc = check_keys(ps, v, label, keys)) != CL_OK)
		return rc;
	e = get(ps, v, "env");
	f = get(ps, v, "file");
	if ((e != NULL) == (f != NULL))
		return fail_at(ps, v, "%s: give one of env or file", label);
	if (e) {
		if ((rc = get_str(ps, e, label, &out->env)) != CL_OK)
			return rc;
		if (!cl_env_name_valid(out->env))
			return fail_at(ps, e, "%s: '%s' is not an environment variable name", label,
			               out->env);
		return CL_OK;
	}
	return get_abs_path(ps, f, label, &out->file);
}

static int get_long(struct ps *ps, yaml_node_t *v, const char *label, long lo, long hi,
                    long *out)
{
	const char *s = cl_yaml_scalar(v);
	char *end;
	long n;

	if (!s || cl_yaml_is_null(v))
		return fail_at(ps, v, "%s: expected a number", label);
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || isspace((unsigned char)*s))
		return fail_at(ps, v, "%s: expected a number, got '%s'", label, s);
	if (n < lo || n > hi)
		return fail_at(ps, v, "%s: %ld is out of range (%ld..%ld)", label, n, lo, hi);
	*out = n;
	return CL_OK;
}

/* A duration with its unit ("90d", "2160h", "1h30m"). */
static int get_duration(struct ps *ps, yaml_node_t *v, const char *label, int64_t lo,
                        int64_t hi, int64_t *out)
{
	const char *s = cl_yaml_scalar(v), *p;
	size_t len, run = 0;
	int64_t d;

	if (!s || cl_yaml_is_null(v))
		return fail_at(ps, v, "%s: expected a duration (90d, 2160h, 30m)", label);
	len = strlen(s);
	for (p = s; *p; p++)
		if ((run = isdigit((unsigned char)*p) ? run + 1 : 0) > 9)
			break;
	if (len == 0 || len > 24 || *p || isdigit((unsigned char)s[len - 1]) ||
	    cl_duration_parse(s, &d) != CL_OK)
		return fail_at(ps, v, "%s: '%s' is not a duration (90d, 2160h, 30m; a unit is "
		               "required)", label, s);
	if (d < lo || d > hi)
		return fail_at(ps, v, "%s: %s is out of range (%lldm..%lldd)", label, s,
		               (long long)(lo / 60), (long long)(hi / DAY));
	*out = d;
	return CL_OK;
}

/* A list of strings; a single string counts as a list of one. */
static int get_strs(struct ps *ps, yaml_node_t *v, const char *label, size_t max,
                    const char ***out, size_t *n, yaml_node_t ***nodes)
{
	yaml_node_item_t *it;
	size_t count, i = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (cl_yaml_is_null(v))
		return CL_OK;
	if (v->type == YAML_MAPPING_NODE)
		return fail_at(ps, v, "%s: expected a list of strings, not a mapping", label);
	count = v->type == YAML_SEQUENCE_NODE
	        ? (size_t)(v->data.sequence.items.top - v->data.sequence.items.start) : 1;
	if (count > max)
		return fail_at(ps, v, "%s: more than %zu entries", label, max);
	if (!count)
		return CL_OK;
	if (!(*out = cl_pool_add(&ps->si->pool, calloc(count, sizeof **out))))
		return CL_ERR_NOMEM;
	if (nodes && !(*nodes = cl_pool_add(&ps->si->pool, calloc(count, sizeof **nodes))))
		return CL_ERR_NOMEM;
	if (v->type != YAML_SEQUENCE_NODE) {
		if (nodes)
			(*nodes)[0] = v;
		*n = 1;
		return get_str(ps, v, label, &(*out)[0]);
	}
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++, i++) {
		yaml_node_t *e = yaml_document_get_node(ps->doc, *it);
		if ((rc = get_str(ps, e, label, &(*out)[i])) != CL_OK)
			return rc;
		if (nodes)
			(*nodes)[i] = e;
	}
	*n = count;
	return CL_OK;
}

/* ---- checks of values --------------------------------------------------------------- */

static bool is_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= MAX_NAME && s[0] != '.' && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* A DNS name (LDH labels, a leading "*." label allowed), lowercased in place. */
static bool dns_norm(char *s)
{
	size_t n = strlen(s), i, label = 0;
	char *p = s;

	if (n > 2 && s[0] == '*' && s[1] == '.')
		p += 2;
	if (!*p || strlen(p) > 253 || *p == '.' || p[strlen(p) - 1] == '.')
		return false;
	for (i = 0; p[i]; i++) {
		p[i] = (char)tolower((unsigned char)p[i]);
		if (p[i] == '.') {
			if (label == 0 || p[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)p[i]) && !(p[i] == '-' && label > 0) && p[i] != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return p[i - 1] != '-';
}

/* A plain file name for output: no directories, not hidden. */
static bool is_file_name(const char *s)
{
	return s[0] && s[0] != '.' && !strchr(s, '/') && strlen(s) <= 255;
}

/* "ADDR:PORT", ":PORT", "[V6]:PORT" */
static int get_listen(struct ps *ps, yaml_node_t *v, const char *label, const char **addr,
                      unsigned *port)
{
	const char *s = NULL, *colon, *pp;
	unsigned char buf[16];
	char host[64];
	size_t hn;
	int rc;

	if ((rc = get_str(ps, v, label, &s)) != CL_OK)
		return rc;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			goto bad;
		hn = (size_t)(rb - s - 1);
		if (hn >= sizeof host)
			goto bad;
		memcpy(host, s + 1, hn);
		host[hn] = '\0';
		if (inet_pton(AF_INET6, host, buf) != 1)
			goto bad;
		pp = rb + 2;
	} else {
		if (!(colon = strrchr(s, ':')) || (hn = (size_t)(colon - s)) >= sizeof host)
			goto bad;
		memcpy(host, s, hn);
		host[hn] = '\0';
		if (hn && inet_pton(AF_INET, host, buf) != 1 && strcmp(host, "localhost") != 0)
			goto bad;
		pp = colon + 1;
	}
	hn = strlen(pp);
	if (hn < 1 || hn > 5 || strspn(pp, "0123456789") != hn || atol(pp) < 1 || atol(pp) > 65535)
		goto bad;
	*port = (unsigned)atol(pp);
	*addr = NULL;
	if (host[0] && !(*addr = pool_strdup(ps, host)))
		return CL_ERR_NOMEM;
	return CL_OK;
bad:
	return fail_at(ps, v, "%s: '%s' is not ADDRESS:PORT (\":80\", \"127.0.0.1:5002\", "
	               "\"[::1]:443\")", label, s);
}

/* ---- Issuer ------------------------------------------------------------------------- */

static int parse_solver(struct ps *ps, yaml_node_t *v, struct cl_manage_solver *sv)
{
	static const char *const kinds[] = { "http01", "dns01", "tlsalpn01", NULL };
	static const char *const http_keys[] = { "standalone", "webroot", NULL };
	static const char *const sa_keys[] = { "listen", NULL };
	static const char *const dns_keys[] = { "hook", NULL };
	yaml_node_t *h, *d, *t, *x;
	int rc;

	memset(sv, 0, sizeof *sv);
	sv->line = cl_yaml_line(v);
	if ((rc = check_keys(ps, v, "a solver", kinds)) != CL_OK)
		return rc;
	h = get(ps, v, "http01");
	d = get(ps, v, "dns01");
	t = get(ps, v, "tlsalpn01");
	if ((h != NULL) + (d != NULL) + (t != NULL) != 1)
		return fail_at(ps, v, "a solver is one of http01, dns01 or tlsalpn01");
	if (h) {
		if ((rc = check_keys(ps, h, "http01", http_keys)) != CL_OK)
			return rc;
		if ((get(ps, h, "standalone") != NULL) == (get(ps, h, "webroot") != NULL))
			return fail_at(ps, h, "http01: give one of standalone or webroot");
		if ((x = get(ps, h, "webroot"))) {
			sv->kind = CL_MANAGE_HTTP01_WEBROOT;
			return get_abs_path(ps, x, "http01.webroot", &sv->webroot);
		}
		x = get(ps, h, "standalone");
		sv->kind = CL_MANAGE_HTTP01_STANDALONE;
		sv->port = 80;
		if (empty_map(x))
			return CL_OK;
		if ((rc = check_keys(ps, x, "http01.standalone", sa_keys)) != CL_OK)
			return rc;
		if ((x = get(ps, x, "listen")))
			return get_listen(ps, x, "http01.standalone.listen", &sv->addr, &sv->port);
		return CL_OK;
	}
	if (d) {
		sv->kind = CL_MANAGE_DNS01_HOOK;
		if ((rc = check_keys(ps, d, "dns01", dns_keys)) != CL_OK)
			return rc;
		if (!(x = get(ps, d, "hook")))
			return fail_at(ps, d, "dns01 needs hook (the path of a program: HOOK "
			               "present|cleanup DOMAIN TOKEN VALUE)");
		return get_abs_path(ps, x, "dns01.hook", &sv->hook);
	}
	sv->kind = CL_MANAGE_TLSALPN01;
	sv->port = 443;
	if (empty_map(t))
		return CL_OK;
	if ((rc = check_keys(ps, t, "tlsalpn01", sa_keys)) != CL_OK)
		return rc;
	if ((x = get(ps, t, "listen")))
		return get_listen(ps, x, "tlsalpn01.listen", &sv->addr, &sv->port);
	return CL_OK;
}

static int parse_acme(struct ps *ps, yaml_node_t *v, struct cl_manage_issuer *is)
{
	static const char *const keys[] = { "server", "email", "eab", "solvers", "preferredChain",
	                                    "caBundle", "accountKey", NULL };
	static const char *const eab_keys[] = { "kid", "hmacKey", NULL };
	yaml_node_t *x, *e;
	yaml_node_item_t *it;
	size_t n, i = 0;
	int rc;

	is->acme = true;
	if ((rc = check_keys(ps, v, "spec.acme", keys)) != CL_OK)
		return rc;
	if (!(x = get(ps, v, "server")))
		return fail_at(ps, v, "spec.acme needs server (the directory URL)");
	if ((rc = get_str(ps, x, "spec.acme.server", &is->server)) != CL_OK)
		return rc;
	if (strncasecmp(is->server, "https://", 8) != 0 || !is->server[8] ||
	    strpbrk(is->server, " \t"))
		return fail_at(ps, x, "spec.acme.server: '%s' is not an https:// URL", is->server);
	if ((x = get(ps, v, "email"))) {
		if ((rc = get_str(ps, x, "spec.acme.email", &is->email)) != CL_OK)
			return rc;
		if (!strchr(is->email, '@') || strpbrk(is->email, " <>,;:\"\\"))
			return fail_at(ps, x, "spec.acme.email: '%s' is not an e-mail address",
			               is->email);
	}
	if ((e = get(ps, v, "eab"))) {
		if ((rc = check_keys(ps, e, "spec.acme.eab", eab_keys)) != CL_OK)
			return rc;
		if (!(x = get(ps, e, "kid")) || !get(ps, e, "hmacKey"))
			return fail_at(ps, e, "spec.acme.eab needs kid and hmacKey");
		if ((rc = get_str(ps, x, "spec.acme.eab.kid", &is->eab_kid)) != CL_OK ||
		    (rc = get_secret(ps, get(ps, e, "hmacKey"), "spec.acme.eab.hmacKey",
		                     &is->eab_hmac)) != CL_OK)
			return rc;
	}
	if ((x = get(ps, v, "preferredChain")) &&
	    (rc = get_str(ps, x, "spec.acme.preferredChain", &is->preferred_chain)) != CL_OK)
		return rc;
	if ((x = get(ps, v, "caBundle")) &&
	    (rc = get_abs_path(ps, x, "spec.acme.caBundle", &is->ca_bundle)) != CL_OK)
		return rc;
	if ((x = get(ps, v, "accountKey")) &&
	    (rc = get_abs_path(ps, x, "spec.acme.accountKey", &is->account_key)) != CL_OK)
		return rc;
	if (!(x = get(ps, v, "solvers")) || x->type != YAML_SEQUENCE_NODE ||
	    !(n = (size_t)(x->data.sequence.items.top - x->data.sequence.items.start)))
		return fail_at(ps, x ? x : v, "spec.acme.solvers: a list of at least one solver "
		               "(http01, dns01, tlsalpn01) is needed");
	if (n > 16)
		return fail_at(ps, x, "spec.acme.solvers: more than 16");
	if (!(is->solvers = cl_pool_add(&ps->si->pool, calloc(n, sizeof *is->solvers))))
		return CL_ERR_NOMEM;
	for (it = x->data.sequence.items.start; it < x->data.sequence.items.top; it++, i++)
		if ((rc = parse_solver(ps, yaml_document_get_node(ps->doc, *it), &is->solvers[i]))
		    != CL_OK)
			return rc;
	is->nsolvers = n;
	return CL_OK;
}

static int parse_ca(struct ps *ps, yaml_node_t *v, struct cl_manage_issuer *is)
{
	static const char *const keys[] = { "dir", "passphrase", NULL };
	yaml_node_t *x;
	int rc;

	if ((rc = check_keys(ps, v, "spec.ca", keys)) != CL_OK)
		return rc;
	if (!(x = get(ps, v, "dir")))
		return fail_at(ps, v, "spec.ca needs dir (the CA made by 'certledger ca init')");
	if ((rc = get_abs_path(ps, x, "spec.ca.dir", &is->ca_dir)) != CL_OK)
		return rc;
	if ((x = get(ps, v, "passphrase")) &&
	    (rc = get_secret(ps, x, "spec.ca.passphrase", &is->ca_passphrase)) != CL_OK)
		return rc;
	return CL_OK;
}

static int parse_issuer(struct ps *ps, const char *name, int line, yaml_node_t *spec)
{
	static const char *const keys[] = { "acme", "ca", NULL };
	struct spec_impl *si = ps->si;
	struct cl_manage_issuer *is;
	yaml_node_t *a, *c;
	size_t i;
	int rc;

	for (i = 0; i < si->pub.nissuers; i++)
		if (strcmp(si->pub.issuers[i].name, name) == 0)
			return fail_line(ps, line, "Issuer '%s' is defined twice (lines %d and %d)", name,
			                 si->pub.issuers[i].line, line);
	if (si->pub.nissuers >= 1000)
		return fail_line(ps, line, "more than 1000 Issuers");
	if (CL_GROW(si->pub.issuers, si->capissuers, si->pub.nissuers + 1) != CL_OK)
		return CL_ERR_NOMEM;
	is = &si->pub.issuers[si->pub.nissuers++];
	memset(is, 0, sizeof *is);
	is->name = name;
	is->line = line;
	if ((rc = check_keys(ps, spec, "an Issuer's spec", keys)) != CL_OK)
		return rc;
	a = get(ps, spec, "acme");
	c = get(ps, spec, "ca");
	if ((a != NULL) == (c != NULL))
		return fail_at(ps, spec, "an Issuer's spec holds one of acme or ca");
	return a ? parse_acme(ps, a, is) : parse_ca(ps, c, is);
}

/* ---- Certificate ---------------------------------------------------------------------- */

static int parse_key(struct ps *ps, yaml_node_t *v, struct cl_manage_cert *c)
{
	static const char *const keys[] = { "algorithm", "size", "rotationPolicy", "encoding",
	                                    NULL };
	const char *s;
	yaml_node_t *x;
	long n;
	int rc;

	if (empty_map(v))
		return CL_OK;
	if ((rc = check_keys(ps, v, "spec.privateKey", keys)) != CL_OK)
		return rc;
	if ((x = get(ps, v, "algorithm"))) {
		if ((rc = get_str(ps, x, "spec.privateKey.algorithm", &s)) != CL_OK)
			return rc;
		if (strcasecmp(s, "ECDSA") == 0) {
			c->key_alg = CL_MANAGE_ECDSA;
			c->key_size = 256;
		} else if (strcasecmp(s, "RSA") == 0) {
			c->key_alg = CL_MANAGE_RSA;
			c->key_size = 2048;
		} else {
			return fail_at(ps, x, "spec.privateKey.algorithm: '%s' is not ECDSA or RSA%s", s,
			               strcasecmp(s, "Ed25519") == 0 ? " (Ed25519 is not supported by "
			               "the issuers)" : "");
		}
	}
	if ((x = get(ps, v, "size"))) {
		if ((rc = get_long(ps, x, "spec.privateKey.size", 1, 16384, &n)) != CL_OK)
			return rc;
		if (c->key_alg == CL_MANAGE_ECDSA && n != 256 && n != 384)
			return fail_at(ps, x, "spec.privateKey.size: ECDSA keys are 256 or 384 bits");
		if (c->key_alg == CL_MANAGE_RSA && n != 2048 && n != 3072 && n != 4096)
			return fail_at(ps, x, "spec.privateKey.size: RSA keys are 2048, 3072 or 4096 "
			               "bits");
		c->key_size = (int)n;
	}
	if ((x = get(ps, v, "rotationPolicy"))) {
		if ((rc = get_str(ps, x, "spec.privateKey.rotationPolicy", &s)) != CL_OK)
			return rc;
		if (strcmp(s, "Always") == 0)
			c->rotate_key = true;
		else if (strcmp(s, "Never") == 0)
			c->rotate_key = false;
		else
			return fail_at(ps, x, "spec.privateKey.rotationPolicy: '%s' is not Always or "
			               "Never", s);
	}
	if ((x = get(ps, v, "encoding"))) {
		if ((rc = get_str(ps, x, "spec.privateKey.encoding", &s)) != CL_OK)
			return rc;
		if (strcmp(s, "PKCS8") != 0)
			return fail_at(ps, x, "spec.privateKey.encoding: only PKCS8 is written");
	}
	return CL_OK;
}

/* "0600", "600", "0o640" */
static int get_mode(struct ps *ps, yaml_node_t *v, const char *label, int *out)
{
	const char *s = cl_yaml_scalar(v), *p;
	char *end;
	long m;

	if (!s || cl_yaml_is_null(v))
		return fail_at(ps, v, "%s: expected an octal mode such as \"0600\"", label);
	p = strncmp(s, "0o", 2) == 0 ? s + 2 : s;
	errno = 0;
	m = strtol(p, &end, 8);
	if (errno || end == p || *end || strlen(p) > 4 || m < 0 || m > 07777)
		return fail_at(ps, v, "%s: '%s' is not an octal mode such as \"0600\" (quote it: "
		               "YAML reads 0600 as a number)", label, s);
	if ((m & ~0660) || !(m & 0400))
		return fail_at(ps, v, "%s: %04lo: a private key is readable by its owner and at most "
		               "its group, never executable or readable by others", label, m);
	*out = (int)m;
	return CL_OK;
}

static int get_ident(struct ps *ps, yaml_node_t *v, const char *label, const char **out)
{
	int rc;

	if ((rc = get_str(ps, v, label, out)) != CL_OK)
		return rc;
	if (strlen(*out) > 32 || strpbrk(*out, ":/ ") || (*out)[0] == '-')
		return fail_at(ps, v, "%s: '%s' is not a user or group name or id", label, *out);
	return CL_OK;
}

static int parse_output(struct ps *ps, yaml_node_t *v, struct cl_manage_cert *c)
{
	static const char *const keys[] = { "dir", "cert", "chain", "fullchain", "key", "pkcs12",
	                                    "owner", "group", "mode", NULL };
	static const char *const p12_keys[] = { "file", "password", NULL };
	static const char *const files[] = { "cert", "chain", "fullchain", "key" };
	struct cl_manage_output *o = &c->out;
	const char **slot[] = { &o->cert, &o->chain, &o->fullchain, &o->key };
	char label[64], buf[300];
	yaml_node_t *x, *p;
	size_t i;
	int rc;

	if ((rc = check_keys(ps, v, "spec.output", keys)) != CL_OK)
		return rc;
	if (!(x = get(ps, v, "dir")))
		return fail_at(ps, v, "spec.output needs dir (where the files go)");
	if ((rc = get_abs_path(ps, x, "spec.output.dir", &o->dir)) != CL_OK)
		return rc;
	for (i = strlen(o->dir); i > 1 && o->dir[i - 1] == '/'; i--)
		((char *)o->dir)[i - 1] = '\0';   /* pool memory: "/etc/tls/" is "/etc/tls" */
	for (i = 0; i < CL_ARRAY_LEN(files); i++) {
		if (!(x = get(ps, v, files[i])))
			continue;
		snprintf(label, sizeof label, "spec.output.%s", files[i]);
		if ((rc = get_str(ps, x, label, slot[i])) != CL_OK)
			return rc;
		if (!is_file_name(*slot[i]))
			return fail_at(ps, x, "%s: '%s' is not a plain file name in spec.output.dir",
			               label, *slot[i]);
	}
	if ((p = get(ps, v, "pkcs12"))) {
		if ((rc = check_keys(ps, p, "spec.output.pkcs12", p12_keys)) != CL_OK)
			return rc;
		if (!(x = get(ps, p, "file")) || !get(ps, p, "password"))
			return fail_at(ps, p, "spec.output.pkcs12 needs file and password");
		if ((rc = get_str(ps, x, "spec.output.pkcs12.file", &o->pkcs12)) != CL_OK)
			return rc;
		if (!is_file_name(o->pkcs12))
			return fail_at(ps, x, "spec.output.pkcs12.file: '%s' is not a plain file name",
			               o->pkcs12);
		if ((rc = get_secret(ps, get(ps, p, "password"), "spec.output.pkcs12.password",
		                     &o->pkcs12_password)) != CL_OK)
			return rc;
	}
	if ((x = get(ps, v, "owner")) && (rc = get_ident(ps, x, "spec.output.owner", &o->owner)))
		return rc;
	if ((x = get(ps, v, "group")) && (rc = get_ident(ps, x, "spec.output.group", &o->group)))
		return rc;
	if ((x = get(ps, v, "mode")) && (rc = get_mode(ps, x, "spec.output.mode", &o->mode)))
		return rc;
	if (!o->cert && !o->chain && !o->fullchain && !o->key && !o->pkcs12) {
		/* nothing named: the four usual files */
		const char *sfx[] = { ".pem", ".chain.pem", ".fullchain.pem", ".key" };
		for (i = 0; i < CL_ARRAY_LEN(files); i++) {
			snprintf(buf, sizeof buf, "%s%s", c->name, sfx[i]);
			if (!(*slot[i] = pool_strdup(ps, buf)))
				return CL_ERR_NOMEM;
		}
	}
	if (!o->cert && !o->fullchain && !o->pkcs12)
		return fail_at(ps, v, "spec.output writes no certificate: name cert, fullchain or "
		               "pkcs12");
	return CL_OK;
}

static int parse_hooks(struct ps *ps, yaml_node_t *v, struct cl_manage_cert *c)
{
	static const char *const keys[] = { "deploy", "timeout", NULL };
	yaml_node_t *x;
	int rc;

	if (empty_map(v))
		return CL_OK;
	if ((rc = check_keys(ps, v, "spec.hooks", keys)) != CL_OK)
		return rc;
	if ((x = get(ps, v, "deploy")) &&
	    (rc = get_strs(ps, x, "spec.hooks.deploy", CL_MANAGE_MAX_HOOKS, &c->hooks, &c->nhooks,
	                   NULL)) != CL_OK)
		return rc;
	if ((x = get(ps, v, "timeout")) &&
	    (rc = get_duration(ps, x, "spec.hooks.timeout", 1, HOUR, &c->hook_timeout)) != CL_OK)
		return rc;
	return CL_OK;
}

static int parse_names(struct ps *ps, yaml_node_t *spec, struct cl_manage_cert *c)
{
	yaml_node_t *x, **nodes = NULL;
	unsigned char addr[16];
	char buf[INET6_ADDRSTRLEN];
	size_t i;
	int rc;

	if ((x = get(ps, spec, "commonName"))) {
		if ((rc = get_str(ps, x, "spec.commonName", &c->common_name)) != CL_OK)
			return rc;
		if (strlen(c->common_name) > 64)
			return fail_at(ps, x, "spec.commonName: longer than 64 characters");
	}
	if ((x = get(ps, spec, "dnsNames"))) {
		if ((rc = get_strs(ps, x, "spec.dnsNames", CL_MANAGE_MAX_NAMES, &c->dns, &c->ndns,
		                   &nodes)) != CL_OK)
			return rc;
		for (i = 0; i < c->ndns; i++) {
			if (!dns_norm((char *)c->dns[i]))
				return fail_at(ps, nodes[i], "spec.dnsNames: '%s' is not a DNS name",
				               c->dns[i]);
			for (size_t k = 0; k < i; k++)
				if (strcmp(c->dns[k], c->dns[i]) == 0)
					return fail_at(ps, nodes[i], "spec.dnsNames: '%s' is given twice",
					               c->dns[i]);
		}
	}
	if ((x = get(ps, spec, "ipAddresses"))) {
		if ((rc = get_strs(ps, x, "spec.ipAddresses", CL_MANAGE_MAX_NAMES, &c->ip, &c->nip,
		                   &nodes)) != CL_OK)
			return rc;
		for (i = 0; i < c->nip; i++) {
			int af = strchr(c->ip[i], ':') ? AF_INET6 : AF_INET;
			if (inet_pton(af, c->ip[i], addr) != 1 || !inet_ntop(af, addr, buf, sizeof buf))
				return fail_at(ps, nodes[i], "spec.ipAddresses: '%s' is not an IP address",
				               c->ip[i]);
			if (!(c->ip[i] = pool_strdup(ps, buf)))
				return CL_ERR_NOMEM;
			for (size_t k = 0; k < i; k++)
				if (strcmp(c->ip[k], c->ip[i]) == 0)
					return fail_at(ps, nodes[i], "spec.ipAddresses: '%s' is given twice",
					               c->ip[i]);
		}
	}
	if (!c->common_name && !c->ndns && !c->nip)
		return fail_at(ps, spec, "a Certificate needs commonName, dnsNames or ipAddresses");
	if (c->ndns + c->nip > CL_MANAGE_MAX_NAMES)
		return fail_at(ps, spec, "more than %d names", CL_MANAGE_MAX_NAMES);
	return CL_OK;
}

static int parse_cert(struct ps *ps, const char *name, int line, yaml_node_t *spec)
{
	static const char *const keys[] = { "commonName", "dnsNames", "ipAddresses", "issuerRef",
	                                    "privateKey", "duration", "renewBefore",
	                                    "renewBeforePercentage", "output", "hooks", NULL };
	static const char *const ref_keys[] = { "name", "kind", "group", NULL };
	struct spec_impl *si = ps->si;
	struct cl_manage_cert *c;
	yaml_node_t *x, *r, *rb, *rp;
	const char *s;
	size_t idx;
	long n;
	int rc;

	if (si->pub.ncerts >= CL_MANAGE_MAX_CERTS)
		return fail_line(ps, line, "more than %d Certificates", CL_MANAGE_MAX_CERTS);
	idx = si->pub.ncerts;
	if (CL_GROW(si->pub.certs, si->capcerts, idx + 1) != CL_OK)
		return CL_ERR_NOMEM;
	/* the issuerRef arrays follow the certificates' capacity */
	if (!(si->ref = realloc(si->ref, si->capcerts * sizeof *si->ref)) ||
	    !(si->ref_line = realloc(si->ref_line, si->capcerts * sizeof *si->ref_line)))
		return CL_ERR_NOMEM;
	c = &si->pub.certs[idx];
	memset(c, 0, sizeof *c);
	si->pub.ncerts++;
	si->ref[idx] = NULL;
	si->ref_line[idx] = line;
	c->name = name;
	c->line = line;
	c->key_alg = CL_MANAGE_ECDSA;
	c->key_size = 256;
	c->rotate_key = true;
	c->hook_timeout = 60;
	c->out.mode = 0600;
	if ((rc = check_keys(ps, spec, "a Certificate's spec", keys)) != CL_OK)
		return rc;
	if ((rc = parse_names(ps, spec, c)) != CL_OK)
		return rc;
	if (!(r = get(ps, spec, "issuerRef")))
		return fail_at(ps, spec, "a Certificate needs issuerRef (name: an Issuer of the "
		               "spec)");
	if ((rc = check_keys(ps, r, "spec.issuerRef", ref_keys)) != CL_OK)
		return rc;
	if (!(x = get(ps, r, "name")))
		return fail_at(ps, r, "spec.issuerRef needs name");
	if ((rc = get_str(ps, x, "spec.issuerRef.name", &si->ref[idx])) != CL_OK)
		return rc;
	si->ref_line[idx] = cl_yaml_line(x);
	if ((x = get(ps, r, "kind"))) {
		if ((rc = get_str(ps, x, "spec.issuerRef.kind", &s)) != CL_OK)
			return rc;
		if (strcmp(s, "Issuer") != 0 && strcmp(s, "ClusterIssuer") != 0)
			return fail_at(ps, x, "spec.issuerRef.kind: '%s' is not Issuer or ClusterIssuer",
			               s);
	}
	if ((x = get(ps, r, "group")) && (rc = get_str(ps, x, "spec.issuerRef.group", &s)))
		return rc;
	if ((x = get(ps, spec, "privateKey")) && (rc = parse_key(ps, x, c)) != CL_OK)
		return rc;
	if ((x = get(ps, spec, "duration")) &&
	    (rc = get_duration(ps, x, "spec.duration", HOUR, 3650 * DAY, &c->duration)) != CL_OK)
		return rc;
	rb = get(ps, spec, "renewBefore");
	rp = get(ps, spec, "renewBeforePercentage");
	if (rb && rp)
		return fail_at(ps, rp, "give renewBefore or renewBeforePercentage, not both");
	if (rb && (rc = get_duration(ps, rb, "spec.renewBefore", 60, 3650 * DAY, &c->renew_before)))
		return rc;
	if (rb && c->duration && c->renew_before >= c->duration)
		return fail_at(ps, rb, "spec.renewBefore is not shorter than spec.duration: the "
		               "certificate would be due as soon as it is issued");
	if (rp) {
		if ((rc = get_long(ps, rp, "spec.renewBeforePercentage", 1, 99, &n)) != CL_OK)
			return rc;
		c->renew_pct = (int)n;
	}
	if (!(x = get(ps, spec, "output")))
		return fail_at(ps, spec, "a Certificate needs output (dir and the files to write)");
	if ((rc = parse_output(ps, x, c)) != CL_OK)
		return rc;
	if ((x = get(ps, spec, "hooks")) && (rc = parse_hooks(ps, x, c)) != CL_OK)
		return rc;
	return CL_OK;
}

/* ---- documents ------------------------------------------------------------------------ */

static int parse_doc(struct ps *ps, yaml_node_t *root)
{
	static const char *const keys[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	static const char *const meta_keys[] = { "name", "namespace", "labels", "annotations",
	                                         NULL };
	yaml_node_t *k, *m, *s, *x;
	const char *kind, *name, *api;
	int rc;

	if ((rc = check_keys(ps, root, "a document", keys)) != CL_OK)
		return rc;
	if ((x = get(ps, root, "apiVersion"))) {
		if ((rc = get_str(ps, x, "apiVersion", &api)) != CL_OK)
			return rc;
		if (strcmp(api, "certledger.io/v1") != 0 && strcmp(api, "cert-manager.io/v1") != 0)
			return fail_at(ps, x, "apiVersion: '%s' is not certledger.io/v1 (or "
			               "cert-manager.io/v1)", api);
	}
	if (!(k = get(ps, root, "kind")))
		return fail_at(ps, root, "a document needs kind (Issuer or Certificate)");
	if ((rc = get_str(ps, k, "kind", &kind)) != CL_OK)
		return rc;
	if (strcmp(kind, "Issuer") != 0 && strcmp(kind, "ClusterIssuer") != 0 &&
	    strcmp(kind, "Certificate") != 0)
		return fail_at(ps, k, "kind: '%s' is not Issuer, ClusterIssuer or Certificate", kind);
	if (!(m = get(ps, root, "metadata")))
		return fail_at(ps, root, "a %s needs metadata.name", kind);
	if ((rc = check_keys(ps, m, "metadata", meta_keys)) != CL_OK)
		return rc;
	if (!(x = get(ps, m, "name")))
		return fail_at(ps, m, "a %s needs metadata.name", kind);
	if ((rc = get_str(ps, x, "metadata.name", &name)) != CL_OK)
		return rc;
	if (!is_name(name))
		return fail_at(ps, x, "metadata.name: '%s' is not a name (up to %d letters, digits, "
		               "'.', '_' and '-'; not starting with '.' or '-')", name, MAX_NAME);
	if (!(s = get(ps, root, "spec")) || cl_yaml_is_null(s))
		return fail_at(ps, s ? s : root, "the %s '%s' has no spec", kind, name);
	if (kind[0] == 'C' && kind[1] == 'e')
		return parse_cert(ps, name, cl_yaml_line(root), s);
	return parse_issuer(ps, name, cl_yaml_line(root), s);
}

/* ---- after parsing: references, conflicts, hashes -------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends the entries of v, sorted, separated by commas. */
static int add_sorted(struct cl_buf *b, const char *label, const char **v, size_t n)
{
	const char **copy;
	size_t i;
	int rc;

	if ((rc = cl_buf_printf(b, "%s=", label)) != CL_OK)
		return rc;
	if (n) {
		if (!(copy = malloc(n * sizeof *copy)))
			return CL_ERR_NOMEM;
		memcpy(copy, v, n * sizeof *copy);
		qsort(copy, n, sizeof *copy, cmp_str);
		for (i = 0; i < n && rc == CL_OK; i++)
			rc = cl_buf_printf(b, "%s%s", i ? "," : "", copy[i]);
		free(copy);
	}
	return rc == CL_OK ? cl_buf_addc(b, '\n') : rc;
}

static int sha256_hex(const struct cl_buf *b, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(b->data ? b->data : "", b->len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return CL_ERR;
	cl_hex(out, md, sizeof md);
	return CL_OK;
}

static const char *secret_str(const struct cl_manage_secret *s, char *buf, size_t len)
{
	if (s->env)
		snprintf(buf, len, "env:%s", s->env);
	else if (s->file)
		snprintf(buf, len, "file:%s", s->file);
	else
		snprintf(buf, len, "-");
	return buf;
}

/*
 * The hashes a deployed version is compared with: what the certificate
 * holds (names, key, issuer, lifetime) and how it is deployed.
 */
static int cert_hashes(struct cl_manage_cert *c)
{
	const struct cl_manage_issuer *is = c->issuer;
	const struct cl_manage_output *o = &c->out;
	const char *cn = c->common_name ? c->common_name : c->ndns ? c->dns[0] : c->ip[0];
	struct cl_buf b;
	char sec[600];
	int rc;

	cl_buf_init(&b, 1 << 20);
	rc = cl_buf_printf(&b, "issuer=%s\nkind=%s\nat=%s\ncn=%s\n", is->name,
	                   is->acme ? "acme" : "ca", is->acme ? is->server : is->ca_dir, cn);
	if (rc == CL_OK)
		rc = add_sorted(&b, "dns", c->dns, c->ndns);
	if (rc == CL_OK)
		rc = add_sorted(&b, "ip", c->ip, c->nip);
	if (rc == CL_OK)
		rc = cl_buf_printf(&b, "key=%s/%d\nduration=%lld\n",
		                   c->key_alg == CL_MANAGE_RSA ? "RSA" : "ECDSA", c->key_size,
		                   (long long)c->duration);
	if (rc == CL_OK)
		rc = sha256_hex(&b, c->issue_hash);
	cl_buf_reset(&b);
	if (rc == CL_OK)
		rc = cl_buf_printf(&b, "dir=%s\ncert=%s\nchain=%s\nfullchain=%s\nkey=%s\npkcs12=%s\n"
		                   "password=%s\nowner=%s\ngroup=%s\nmode=%o\n", o->dir,
		                   o->cert ? o->cert : "", o->chain ? o->chain : "",
		                   o->fullchain ? o->fullchain : "", o->key ? o->key : "",
		                   o->pkcs12 ? o->pkcs12 : "",
		                   secret_str(&o->pkcs12_password, sec, sizeof sec),
		                   o->owner ? o->owner : "", o->group ? o->group : "", o->mode);
	if (rc == CL_OK)
		rc = sha256_hex(&b, c->deploy_hash);
	cl_buf_free(&b);
	return rc;
}

static int finish(struct ps *ps)
{
	struct spec_impl *si = ps->si;
	struct cl_manage_spec *sp = &si->pub;
	struct cl_strmap names = { 0 }, files = { 0 };
	char path[4400];
	size_t i, j, k;
	long *v;
	int rc = CL_OK;

	if (!sp->ncerts && !sp->nissuers)
		return fail_line(ps, 1, "no Issuer or Certificate in the spec");
	for (i = 0; i < sp->ncerts && rc == CL_OK; i++) {
		struct cl_manage_cert *c = &sp->certs[i];
		const char *f[] = { c->out.cert, c->out.chain, c->out.fullchain, c->out.key,
		                    c->out.pkcs12 };
		size_t dl = strlen(c->out.dir);
		if ((v = cl_strmap_get(&names, c->name))) {
			rc = fail_line(ps, c->line, "Certificate '%s' is defined twice (lines %ld and %d)",
			               c->name, *v, c->line);
			break;
		}
		if ((rc = cl_strmap_put(&names, c->name, c->line)) != CL_OK)
			break;
		for (j = 0; j < sp->nissuers; j++)
			if (strcmp(sp->issuers[j].name, si->ref[i]) == 0)
				c->issuer = &sp->issuers[j];
		if (!c->issuer) {
			rc = fail_line(ps, si->ref_line[i], "spec.issuerRef.name: no Issuer '%s' in this "
			               "spec", si->ref[i]);
			break;
		}
		while (dl > 1 && c->out.dir[dl - 1] == '/')
			dl--;
		for (k = 0; k < CL_ARRAY_LEN(f) && rc == CL_OK; k++) {
			if (!f[k])
				continue;
			snprintf(path, sizeof path, "%.*s/%s", (int)dl, c->out.dir, f[k]);
			if ((v = cl_strmap_get(&files, path))) {
				rc = fail_line(ps, c->line, "Certificate '%s' writes %s, which Certificate "
				               "'%s' writes too", c->name, path, sp->certs[*v].name);
				break;
			}
			rc = cl_strmap_put(&files, path, (long)i);
		}
		if (rc == CL_OK)
			rc = cert_hashes(c);
	}
	cl_strmap_free(&names);
	cl_strmap_free(&files);
	return rc;
}

/* ---- public ------------------------------------------------------------------------- */

void cl_manage_spec_free(struct cl_manage_spec *s)
{
	struct spec_impl *si = (struct spec_impl *)s;

	if (!s)
		return;
	cl_pool_free(&si->pool);
	free(si->pub.issuers);
	free(si->pub.certs);
	free(si->ref);
	free(si->ref_line);
	free(si);
}

int cl_manage_spec_parse(struct cl_manage_spec **out, const char *text, size_t len,
                         const char *name, char *err, size_t errlen)
{
	struct spec_impl *si;
	struct ps ps = { .name = name ? name : "spec", .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;
	char *copy;
	int rc = CL_OK;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (len > CL_MANAGE_MAX_SPEC) {
		snprintf(err, errlen, "%s: larger than %u MiB", ps.name, CL_MANAGE_MAX_SPEC >> 20);
		return CL_ERR_TOOBIG;
	}
	if (!(si = calloc(1, sizeof *si)))
		return CL_ERR_NOMEM;
	ps.si = si;
	if (!(copy = cl_pool_add(&si->pool, malloc(len + 1))) ||
	    !(si->pub.source = pool_strdup(&ps, ps.name))) {
		cl_manage_spec_free(&si->pub);
		return CL_ERR_NOMEM;
	}
	memcpy(copy, text ? text : "", len);
	copy[len] = '\0';
	si->pub.text = copy;
	si->pub.len = len;
	if (!yaml_parser_initialize(&parser)) {
		cl_manage_spec_free(&si->pub);
		return CL_ERR_NOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)copy, len);
	for (;;) {
		yaml_node_t *root;
		if (!yaml_parser_load(&parser, &doc)) {
			rc = cl_yaml_error(ps.err, ps.errlen, ps.name, &parser);
			break;
		}
		if (!(root = yaml_document_get_root_node(&doc))) {
			yaml_document_delete(&doc);   /* the end of the stream */
			break;
		}
		ps.doc = &doc;
		if (!cl_yaml_is_null(root))             /* an empty document between --- */
			rc = parse_doc(&ps, root);
		yaml_document_delete(&doc);
		if (rc != CL_OK)
			break;
	}
	yaml_parser_delete(&parser);
	if (rc == CL_OK)
		rc = finish(&ps);
	if (rc != CL_OK) {
		if (rc == CL_ERR_NOMEM)
			snprintf(err, errlen, "%s: out of memory", ps.name);
		cl_manage_spec_free(&si->pub);
		return rc;
	}
	*out = &si->pub;
	return CL_OK;
}

int cl_manage_spec_load(struct cl_manage_spec **out, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, rc = CL_ERR_IO;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return CL_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", path, errno ? strerror(errno) : "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > CL_MANAGE_MAX_SPEC) {
		snprintf(err, errlen, "%s: larger than %u MiB", path, CL_MANAGE_MAX_SPEC >> 20);
		rc = CL_ERR_TOOBIG;
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	while (n < (size_t)st.st_size && (r = read(fd, buf + n, (size_t)st.st_size - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		n += (size_t)r;
	}
	rc = cl_manage_spec_parse(out, buf, n, path, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

const struct cl_manage_cert *cl_manage_spec_find(const struct cl_manage_spec *s,
                                                 const char *name)
{
	size_t i;

	for (i = 0; s && name && i < s->ncerts; i++)
		if (strcmp(s->certs[i].name, name) == 0)
			return &s->certs[i];
	return NULL;
}

/* ---- secrets ---------------------------------------------------------------------------- */

void cl_manage_secret_free(char *s)
{
	cl_secret_free(s);
}

int cl_manage_secret_get(const struct cl_manage_secret *sec, char **out, char *err,
                         size_t errlen)
{
	const char *e, *why;
	int rc;

	*out = NULL;
	if (sec->env) {
		if (!(e = getenv(sec->env)) || !*e) {
			snprintf(err, errlen, "{env: %s}: the variable is not set, or empty", sec->env);
			return CL_ERR_NOTFOUND;
		}
		return (*out = strdup(e)) ? CL_OK : CL_ERR_NOMEM;
	}
	if (!sec->file)
		return CL_OK;
	if ((rc = cl_secret_read_file(sec->file, MAX_SECRET, true, out, &why)) == CL_ERR_NOMEM)
		return rc;
	if (rc != CL_OK) {
		snprintf(err, errlen, "{file: %s}: %s", sec->file, why);
		return CL_ERR_NOTFOUND;
	}
	return CL_OK;
}
