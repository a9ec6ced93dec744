/*
 * The daemon's configuration file: see config.h.
 *
 * Read with libyaml's document API, like the policy loader, so every
 * message names the line of the problem. Each section is a table of
 * fields (key, kind, where the value goes, bounds, a check), and one
 * reader walks a mapping through its table: the known keys, the
 * suggestion for a mistyped one and the keys each notifier type takes
 * all come from the tables.
 *
 * Every string, list and array of a configuration lives in one pool, so
 * a configuration that failed half way is freed like a finished one;
 * resolved secrets live in a second pool that is wiped before it is
 * freed.
 */
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
#include "alert/alert.h"
#include "core/pool.h"
#include "core/util.h"
#include "core/yamldoc.h"
#include "discover/starttls.h"
#include "discover/targets.h"
#include "serve/config.h"
#include "serve/config_int.h"
#include "store/store.h"

#define MAX_CONFIG_BYTES (1 << 20)
#define MAX_SECRET_BYTES (64 << 10)
#define MAX_ITEMS 1000          /* jobs, routes, notifiers */
#define MAX_ENTRIES 10000       /* entries of one list */
#define MAX_THRESHOLDS 100      /* alerts.expiry.days, alerts.expiry.remaining */
#define MAX_NAME 64             /* job and notifier names */
#define MAX_FIELDS 32           /* keys of one section */
#define MINUTE INT64_C(60)
#define HOUR INT64_C(3600)
#define DAY INT64_C(86400)

/* ---- notifier types ---------------------------------------------------------- */

static const char *const nt_names[CL_NT_COUNT] = {
	[CL_NT_WEBHOOK] = "webhook", [CL_NT_SLACK] = "slack", [CL_NT_TEAMS] = "teams",
	[CL_NT_PAGERDUTY] = "pagerduty", [CL_NT_ALERTMANAGER] = "alertmanager",
	[CL_NT_SERVICENOW] = "servicenow", [CL_NT_JIRA] = "jira", [CL_NT_EMAIL] = "email",
	[CL_NT_SYSLOG] = "syslog", [CL_NT_JSONL] = "jsonl",
};

int cl_notifier_type_parse(const char *s)
{
	int i;

	for (i = 0; s && i < CL_NT_COUNT; i++)
		if (strcmp(s, nt_names[i]) == 0)
			return i;
	return -1;
}

const char *cl_notifier_type_name(enum cl_notifier_type t)
{
	return (unsigned)t < CL_NT_COUNT ? nt_names[t] : "unknown";
}

/* ---- memory ------------------------------------------------------------------ */

struct config_impl {
	struct cl_config pub;
	struct cl_pool pool;        /* every string and array of pub */
	struct cl_pool secrets;     /* resolved secret values */
};

/* ---- parser state and messages --------------------------------------------------- */

struct pstate {
	struct config_impl *ci;
	struct cl_config *c;
	yaml_document_t *doc;
	const char *name;
	unsigned flags;             /* CL_CONFIG_* */
	char *err;
	size_t errlen;
	const yaml_node_t *key;     /* the key whose value is being read */
	char secret[300];           /* "{env: NAME}" when the string last read was a
	                               secret, else "": messages show this instead */
	yaml_node_t *routes;        /* read once the notifiers are known */
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

/* A value as messages show it: quoted, or where it came from when it is a secret. */
static const char *shown(const struct pstate *ps, const char *s, char *buf, size_t len)
{
	if (ps->secret[0])
		snprintf(buf, len, "the value of %s", ps->secret);
	else
		snprintf(buf, len, "'%s'", s);
	return buf;
}

/* Null, "" or []: a list with nothing in it. */
static bool is_empty_list(const yaml_node_t *n)
{
	if (n->type == YAML_SCALAR_NODE)
		return cl_yaml_is_null(n) || !*cl_yaml_scalar(n);
	return n->type == YAML_SEQUENCE_NODE &&
	       n->data.sequence.items.top == n->data.sequence.items.start;
}

/* Characters a and b have in common at their ends. */
static size_t common_suffix(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = 0;

	while (n < la && n < lb && tolower((unsigned char)a[la - 1 - n]) ==
	       tolower((unsigned char)b[lb - 1 - n]))
		n++;
	return n;
}

/* Whether s is likely a typo of cand: at most two edits, and few for its length. */
static bool close_to(const char *s, const char *cand)
{
	size_t d = cl_edit_distance(s, cand), n = strlen(s) > strlen(cand) ? strlen(s) : strlen(cand);

	return d <= 2 && 3 * d <= n;
}

/* Appends "a, b" style entries to buf (truncating quietly). */
static void join_add(char *buf, size_t len, const char *s)
{
	size_t off = strlen(buf);

	if (off < len)
		snprintf(buf + off, len - off, "%s%s", off ? ", " : "", s);
}

/*
 * Resolves {env: NAME} or {file: PATH} (the mapping v) into *out. at is
 * the node whose line the errors name: the key of a field, the entry of a
 * list.
 */
static int get_secret(struct pstate *ps, const yaml_node_t *at, yaml_node_t *v, const char *label,
                      char **out)
{
	yaml_node_pair_t *pair = v->data.mapping.pairs.start;
	yaml_node_t *kn = yaml_document_get_node(ps->doc, pair->key);
	yaml_node_t *vn = yaml_document_get_node(ps->doc, pair->value);
	const char *kind = cl_yaml_scalar(kn), *ref = cl_yaml_scalar(vn), *why = NULL, *e;
	char *val = NULL;
	bool env;
	int rc;

	if (!kind || (strcmp(kind, "env") != 0 && strcmp(kind, "file") != 0))
		return fail_at(ps, kn, "%s: expected a string, {env: NAME} or {file: PATH}", label);
	env = kind[0] == 'e';
	if (!ref || cl_yaml_is_null(vn) || !*ref)
		return fail_at(ps, vn, "%s: {%s: ...} needs %s", label, kind,
		               env ? "the name of an environment variable" : "a path");
	if (env && !cl_env_name_valid(ref))
		return fail_at(ps, vn, "%s: '%s' is not an environment variable name", label, ref);
	if (!env && !cl_text_valid(ref, vn->data.scalar.length))
		return fail_at(ps, vn, "%s: the path holds a control character", label);
	snprintf(ps->secret, sizeof ps->secret, "{%s: %.256s}", kind, ref);
	if (ps->flags & CL_CONFIG_NO_SECRETS) {
		val = strdup(CL_CONFIG_DUMMY_SECRET);
	} else if (env) {
		if (!(e = getenv(ref)))
			return fail_at(ps, at, "%s: environment variable %s is not set", label, ref);
		if (!*e)
			return fail_at(ps, at, "%s: environment variable %s is empty", label, ref);
		if (!cl_text_valid(e, strlen(e)))
			return fail_at(ps, at, "%s: environment variable %s holds a line break or a "
			               "control character", label, ref);
		val = strdup(e);
	} else if ((rc = cl_secret_read_file(ref, MAX_SECRET_BYTES, false, &val, &why)) != CL_OK) {
		if (rc == CL_ERR_NOMEM)
			return rc;
		return fail_at(ps, at, "%s: cannot use secret file %s: %s", label, ref, why);
	}
	if (!(*out = cl_pool_add(&ps->ci->secrets, val)))
		return CL_ERR_NOMEM;
	return CL_OK;
}

/* ---- values ------------------------------------------------------------------- */

/*
 * A string: a scalar, or {env: NAME} / {file: PATH} resolved here. at is
 * the node a secret's errors name. Sets ps->secret for shown().
 */
static int get_str(struct pstate *ps, const yaml_node_t *at, yaml_node_t *v, const char *label,
                   char **out)
{
	const char *s = cl_yaml_scalar(v);

	ps->secret[0] = '\0';
	if (v->type == YAML_MAPPING_NODE &&
	    v->data.mapping.pairs.top - v->data.mapping.pairs.start == 1)
		return get_secret(ps, at, v, label, out);
	if (!s)
		return fail_at(ps, v, "%s: expected a string, {env: NAME} or {file: PATH}", label);
	if (cl_yaml_is_null(v))
		return fail_at(ps, v, "%s: no value given", label);
	if (!cl_text_valid(s, v->data.scalar.length))
		return fail_at(ps, v, "%s: line breaks and control characters are not allowed", label);
	if (!(*out = cl_pool_add(&ps->ci->pool, strdup(s))))
		return CL_ERR_NOMEM;
	return CL_OK;
}

/* The scalar of v for a non-string value; fails on null, lists and mappings. */
static int get_scalar(struct pstate *ps, yaml_node_t *v, const char *label, const char *what,
                      const char **out)
{
	if (!(*out = cl_yaml_scalar(v)))
		return fail_at(ps, v, "%s: expected %s, not a %s", label, what,
		               v->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
	if (cl_yaml_is_null(v))
		return fail_at(ps, v, "%s: no value given (expected %s)", label, what);
	return CL_OK;
}

static bool parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
		*out = false;
	else
		return false;
	return true;
}

static int get_bool(struct pstate *ps, yaml_node_t *v, const char *label, bool *out)
{
	const char *s;
	int rc;

	if ((rc = get_scalar(ps, v, label, "true or false", &s)) != CL_OK)
		return rc;
	if (!parse_bool(s, out))
		return fail_at(ps, v, "%s: expected true or false, got '%s'", label, s);
	return CL_OK;
}

static int get_long(struct pstate *ps, yaml_node_t *v, const char *label, long lo, long hi,
                    long *out)
{
	const char *s;
	char *end;
	long n;
	int rc;

	if ((rc = get_scalar(ps, v, label, "a number", &s)) != CL_OK)
		return rc;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || isspace((unsigned char)*s))
		return fail_at(ps, v, "%s: expected a number, got '%s'", label, s);
	if (n < lo || n > hi)
		return fail_at(ps, v, "%s: %ld is out of range (%ld..%ld)", label, n, lo, hi);
	*out = n;
	return CL_OK;
}

/*
 * A decimal number without sign or exponent ("200", "0.5"), independent
 * of the locale; at most 15 digits, so that digits / 10^k is one correctly
 * rounded division ("0.67" is the double 0.67).
 */
static bool parse_decimal(const char *s, size_t n, double *out)
{
	double digits = 0, scale = 1;
	bool dot = false;
	size_t i, ndigits = 0;

	for (i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i])) {
			if (++ndigits > 15)
				return false;
			digits = digits * 10 + (s[i] - '0');
			if (dot)
				scale *= 10;
		} else if (s[i] == '.' && !dot) {
			dot = true;
		} else {
			return false;
		}
	}
	*out = digits / scale;
	return ndigits > 0;
}

static int get_double(struct pstate *ps, yaml_node_t *v, const char *label, double lo,
                      double hi, double *out)
{
	const char *s;
	double d;
	int rc;

	if ((rc = get_scalar(ps, v, label, "a number", &s)) != CL_OK)
		return rc;
	if (!parse_decimal(s, strlen(s), &d))
		return fail_at(ps, v, "%s: expected a number, got '%s'", label, s);
	if (d < lo || d > hi)
		return fail_at(ps, v, "%s: %s is out of range (%g..%g)", label, s, lo, hi);
	*out = d;
	return CL_OK;
}

/* A share of something: "67%", "2/3" or "0.67", strictly between 0 and 1. */
static bool parse_share(const char *s, double *out)
{
	size_t len = strlen(s);
	const char *slash = strchr(s, '/');
	double v;

	if (slash) {
		double a, b;
		if (!parse_decimal(s, (size_t)(slash - s), &a) ||
		    !parse_decimal(slash + 1, strlen(slash + 1), &b) || b <= 0)
			return false;
		v = a / b;
	} else if (len > 1 && s[len - 1] == '%') {
		if (!parse_decimal(s, len - 1, &v))
			return false;
		v /= 100;
	} else if (!parse_decimal(s, len, &v)) {
		return false;
	}
	*out = v;
	return v > 0 && v < 1;
}

/* "90s", "30d" for messages: the largest unit that divides s. */
static const char *fmt_dur(char *buf, size_t len, int64_t s)
{
	static const struct { int64_t secs; char unit; } u[] = {
		{ DAY, 'd' }, { HOUR, 'h' }, { MINUTE, 'm' },
	};
	size_t i;

	for (i = 0; i < CL_ARRAY_LEN(u); i++)
		if (s >= u[i].secs && s % u[i].secs == 0) {
			snprintf(buf, len, "%lld%c", (long long)(s / u[i].secs), u[i].unit);
			return buf;
		}
	snprintf(buf, len, "%llds", (long long)s);
	return buf;
}

static const char *fmt_ms(char *buf, size_t len, int64_t ms)
{
	if (ms % 1000 == 0)
		return fmt_dur(buf, len, ms / 1000);
	snprintf(buf, len, "%lldms", (long long)ms);
	return buf;
}

/*
 * A duration with its unit ("90s", "30m", "6h", "30d", "1d12h"): a bare
 * number is refused (seconds? days?). Short and with short digit runs,
 * so the sum cannot overflow.
 */
static int parse_dur(const char *s, int64_t *out)
{
	size_t len = strlen(s), run = 0;
	const char *p;

	if (len == 0 || len > 24 || isdigit((unsigned char)s[len - 1]))
		return CL_ERR_PARSE;
	for (p = s; *p; p++)
		if ((run = isdigit((unsigned char)*p) ? run + 1 : 0) > 9)
			return CL_ERR_PARSE;
	return cl_duration_parse(s, out);
}

static int get_duration(struct pstate *ps, yaml_node_t *v, const char *label, int64_t lo,
                        int64_t hi, int64_t *out)
{
	char a[32], b[32];
	const char *s;
	int64_t d;
	int rc;

	if ((rc = get_scalar(ps, v, label, "a duration (90s, 30m, 6h, 30d)", &s)) != CL_OK)
		return rc;
	if (parse_dur(s, &d) != CL_OK)
		return fail_at(ps, v, "%s: '%s' is not a duration (90s, 30m, 6h, 30d)", label, s);
	if (d < lo)
		return fail_at(ps, v, "%s: %s is too short (at least %s)", label, s,
		               fmt_dur(a, sizeof a, lo));
	if (d > hi)
		return fail_at(ps, v, "%s: %s is too long (at most %s)", label, s,
		               fmt_dur(b, sizeof b, hi));
	*out = d;
	return CL_OK;
}

/* A duration in milliseconds: "500ms" or any duration ("5s"). */
static int get_ms(struct pstate *ps, yaml_node_t *v, const char *label, int64_t lo, int64_t hi,
                  int *out)
{
	char a[32];
	const char *s;
	size_t len;
	int64_t ms, d;
	int rc;

	if ((rc = get_scalar(ps, v, label, "a duration (500ms, 5s, 1m)", &s)) != CL_OK)
		return rc;
	len = strlen(s);
	if (len > 2 && len <= 11 && strcmp(s + len - 2, "ms") == 0 &&
	    strspn(s, "0123456789") == len - 2)
		ms = strtoll(s, NULL, 10);
	else if (parse_dur(s, &d) == CL_OK)
		ms = d > INT64_C(1) << 40 ? INT64_MAX : d * 1000;
	else
		return fail_at(ps, v, "%s: '%s' is not a duration (500ms, 5s, 1m)", label, s);
	if (ms < lo)
		return fail_at(ps, v, "%s: %s is too short (at least %s)", label, s,
		               fmt_ms(a, sizeof a, lo));
	if (ms > hi)
		return fail_at(ps, v, "%s: %s is too long (at most %s)", label, s,
		               fmt_ms(a, sizeof a, hi));
	*out = (int)ms;
	return CL_OK;
}

/* Checks one string value (a field or a list entry); at is its node. */
typedef int (*check_fn)(struct pstate *ps, const yaml_node_t *at, const char *label,
                        const char *s);
/* Reads one entry of a list. */
typedef int (*item_fn)(struct pstate *ps, yaml_node_t *e, const char *label, void *arg);

static size_t list_len(const yaml_node_t *v)
{
	if (is_empty_list(v))
		return 0;
	if (v->type == YAML_SEQUENCE_NODE)
		return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	return 1;
}

/*
 * Calls fn for each entry of a list value, in order: a single value
 * counts as a list of one; null, "" and [] are empty. Entries may be
 * strings or secrets, not lists.
 */
static int each_item(struct pstate *ps, yaml_node_t *v, const char *label, size_t max, item_fn fn,
                     void *arg)
{
	yaml_node_item_t *it;
	int rc;

	if (list_len(v) > max)
		return fail_at(ps, v, "%s: more than %zu entries", label, max);
	if (is_empty_list(v))
		return CL_OK;
	if (v->type != YAML_SEQUENCE_NODE)
		return fn(ps, v, label, arg);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(ps->doc, *it);
		if (e->type == YAML_SEQUENCE_NODE)
			return fail_at(ps, e, "%s: a list inside the list", label);
		if ((rc = fn(ps, e, label, arg)) != CL_OK)
			return rc;
	}
	return CL_OK;
}

/* The node of entry i of a list value (the value itself when it is not a sequence). */
static yaml_node_t *list_node(struct pstate *ps, yaml_node_t *v, size_t i)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return v;
	return yaml_document_get_node(ps->doc, v->data.sequence.items.start[i]);
}

struct list_arg {
	struct cl_strlist *out;
	check_fn check;
};

static int list_entry(struct pstate *ps, yaml_node_t *e, const char *label, void *arg)
{
	struct list_arg *la = arg;
	char **slot = &la->out->v[la->out->n];
	int rc;

	if ((rc = get_str(ps, e, e, label, slot)) != CL_OK)
		return rc;
	if (!**slot)
		return fail_at(ps, e, "%s: empty entry", label);
	la->out->n++;
	return la->check ? la->check(ps, e, label, *slot) : CL_OK;
}

/* A list of strings (replacing *out); check, when given, is called for each entry. */
static int get_list(struct pstate *ps, yaml_node_t *v, const char *label, check_fn check,
                    struct cl_strlist *out)
{
	struct list_arg la = { out, check };
	size_t n = list_len(v);

	out->v = NULL;
	out->n = 0;
	if (n > MAX_ENTRIES)
		return fail_at(ps, v, "%s: more than %d entries", label, MAX_ENTRIES);
	if (n && !(out->v = cl_pool_add(&ps->ci->pool, calloc(n + 1, sizeof *out->v))))
		return CL_ERR_NOMEM;
	return each_item(ps, v, label, MAX_ENTRIES, list_entry, &la);
}

/* ---- checks of string values ---------------------------------------------------- */

static bool is_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= MAX_NAME &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/*
 * A job's or a notifier's name: a plain scalar, never a secret (names are
 * shown in messages, metrics and logs).
 */
static int get_name(struct pstate *ps, yaml_node_t *v, const char *label, const char **out)
{
	int rc;

	if ((rc = get_scalar(ps, v, label, "a name", out)) != CL_OK)
		return rc;
	if (!is_name(*out))
		return fail_at(ps, v, "%s: '%s' is not a name (up to %d letters, digits, '_', '.' "
		               "and '-')", label, *out, MAX_NAME);
	return CL_OK;
}

static bool is_hostname(const char *h, size_t n)
{
	size_t i, label = 0, last = 0;
	bool alpha = false;

	if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-' || h[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (h[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
			last = i + 1;
			continue;
		}
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '_')
			return false;
		if (++label > 63)
			return false;
	}
	for (i = last; i < n; i++)  /* a numeric last label is a malformed address */
		alpha |= !isdigit((unsigned char)h[i]);
	return alpha;
}

/* "host:port", "192.0.2.1:port" or "[v6]:port" with a port 1..65535. */
static bool is_hostport(const char *s)
{
	const char *colon, *port;
	struct cl_addr ad;
	char host[256];
	size_t n;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':' || (n = (size_t)(rb - s - 1)) >= sizeof host)
			return false;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (cl_addr_parse(host, &ad) != CL_OK || ad.family != AF_INET6)
			return false;
		port = rb + 2;
	} else {
		if (!(colon = strchr(s, ':')) || strchr(colon + 1, ':') ||
		    (n = (size_t)(colon - s)) >= sizeof host)
			return false;
		memcpy(host, s, n);
		host[n] = '\0';
		if (!(cl_addr_parse(host, &ad) == CL_OK && ad.family == AF_INET) &&
		    !is_hostname(host, n))
			return false;
		port = colon + 1;
	}
	n = strlen(port);
	return n >= 1 && n <= 5 && strspn(port, "0123456789") == n && port[0] != '0' &&
	       atol(port) <= 65535;
}

/* scheme://host... for one of the schemes (case-insensitive), without spaces. */
static bool is_url(const char *s, const char *const *schemes, size_t nschemes)
{
	const char *host = NULL;
	size_t i, len;

	for (i = 0; i < nschemes && !host; i++) {
		len = strlen(schemes[i]);
		if (strncasecmp(s, schemes[i], len) == 0 && strncmp(s + len, "://", 3) == 0)
			host = s + len + 3;
	}
	if (!host || !*host || strchr("/?#@:", *host))
		return false;
	return !strpbrk(s, " \t");
}

static int check_http_url(struct pstate *ps, const yaml_node_t *at, const char *label,
                          const char *s)
{
	static const char *const schemes[] = { "http", "https" };
	char buf[400];

	if (!is_url(s, schemes, CL_ARRAY_LEN(schemes)))
		return fail_at(ps, at, "%s: %s is not an http:// or https:// URL", label,
		               shown(ps, s, buf, sizeof buf));
	return CL_OK;
}

static int check_smtp_url(struct pstate *ps, const yaml_node_t *at, const char *label,
                          const char *s)
{
	static const char *const schemes[] = { "smtp", "smtps" };
	char buf[400];

	if (!is_url(s, schemes, CL_ARRAY_LEN(schemes)))
		return fail_at(ps, at, "%s: %s is not an smtp:// or smtps:// URL", label,
		               shown(ps, s, buf, sizeof buf));
	return CL_OK;
}

static int check_syslog_address(struct pstate *ps, const yaml_node_t *at, const char *label,
                                const char *s)
{
	char buf[400];

	if ((strncmp(s, "unix:", 5) == 0 && s[5] == '/') ||
	    ((strncmp(s, "tcp:", 4) == 0 || strncmp(s, "tls:", 4) == 0) && is_hostport(s + 4)))
		return CL_OK;
	return fail_at(ps, at, "%s: %s is not unix:/PATH, tcp:HOST:PORT or tls:HOST:PORT", label,
	               shown(ps, s, buf, sizeof buf));
}

/* A bare address (user@example.com): it goes into mail headers. */
static int check_email(struct pstate *ps, const yaml_node_t *at, const char *label,
                       const char *s)
{
	const char *atsign = strchr(s, '@'), *p;
	char buf[400];
	bool ok = atsign && atsign != s && atsign[1] && !strchr(atsign + 1, '@');

	for (p = s; ok && *p; p++)
		ok = !isspace((unsigned char)*p) && !strchr("<>()[],;:\"\\", *p);
	if (!ok)
		return fail_at(ps, at, "%s: %s is not an e-mail address (user@example.com)", label,
		               shown(ps, s, buf, sizeof buf));
	return CL_OK;
}

/* "Name: value" with an HTTP token as the name. Never shows the value. */
static int check_header(struct pstate *ps, const yaml_node_t *at, const char *label,
                        const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                     "!#$%&'*+-.^_`|~");

	if (n == 0 || s[n] != ':')
		return fail_at(ps, at, "%s: expected 'Name: value'", label);
	return CL_OK;
}

/* A ServiceNow table: it goes into the URL path. */
static int check_ident(struct pstate *ps, const yaml_node_t *at, const char *label,
                       const char *s)
{
	char buf[400];
	size_t n = strlen(s);

	if (n > 80 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
	    != n)
		return fail_at(ps, at, "%s: %s is not a table name (letters, digits and '_')", label,
		               shown(ps, s, buf, sizeof buf));
	return CL_OK;
}

/* RFC 5424 APP-NAME: 1 to 48 printable US-ASCII characters. */
static int check_app_name(struct pstate *ps, const yaml_node_t *at, const char *label,
                          const char *s)
{
	char buf[400];
	size_t i, n = strlen(s);
	bool ok = n <= 48;

	for (i = 0; ok && i < n; i++)
		ok = s[i] > 32 && s[i] < 127;
	if (!ok)
		return fail_at(ps, at, "%s: %s is not an app name (1 to 48 printable ASCII "
		               "characters, no spaces)", label, shown(ps, s, buf, sizeof buf));
	return CL_OK;
}

/* A domain glob for watch_domains ("*.example.com"). */
static int check_domain_glob(struct pstate *ps, const yaml_node_t *at, const char *label,
                             const char *s)
{
	char buf[400];
	size_t n = strlen(s);

	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._*?[]!")
	    != n)
		return fail_at(ps, at, "%s: %s is not a domain name or glob (*.example.com)", label,
		               shown(ps, s, buf, sizeof buf));
	return CL_OK;
}

static const char *const alert_types[] = {
	CL_AT_EXPIRING, CL_AT_EXPIRED, CL_AT_RENEWAL_OVERDUE, CL_AT_CHANGED, CL_AT_UNREACHABLE,
	CL_AT_NEW_CERT, CL_AT_NEW_ISSUER, CL_AT_FINDING, CL_AT_RENEWAL_FAILING, CL_AT_HOOK_FAILED,
	CL_AT_TEST,
};

/* A glob on alert types must match one: a typo would silently route nothing. */
static int check_alert_type(struct pstate *ps, const yaml_node_t *at, const char *label,
                            const char *s)
{
	char known[400] = "", buf[400];
	size_t i;

	for (i = 0; i < CL_ARRAY_LEN(alert_types); i++) {
		if (cl_glob(s, alert_types[i]))
			return CL_OK;
		join_add(known, sizeof known, alert_types[i]);
	}
	return fail_at(ps, at, "%s: %s matches no alert type (%s)", label,
	               shown(ps, s, buf, sizeof buf), known);
}

static const char *const severities[] = { "info", "warning", "error", "critical" };

static bool is_severity(const char *s)
{
	size_t i;

	for (i = 0; i < CL_ARRAY_LEN(severities); i++)
		if (strcmp(s, severities[i]) == 0)
			return true;
	return false;
}

/* Targets, exclusions and SNI names as `discover net` takes them; @FILE is
 * read when the job runs, not here. */
static int check_net(struct pstate *ps, const yaml_node_t *at, const char *label, const char *s,
                     char what)
{
	struct cl_targets t;
	char msg[400], buf[400];
	const char *m = msg;
	int rc;

	if (s[0] == '@')
		return s[1] ? CL_OK : fail_at(ps, at, "%s: '@' needs a file name "
		                              "(@/etc/certledger/hosts.txt)", label);
	cl_targets_init(&t);
	if (what == 't')
		rc = cl_targets_add(&t, s, msg, sizeof msg);
	else if (what == 'x')
		rc = cl_targets_exclude(&t, s, msg, sizeof msg);
	else if (what == 'p')
		rc = cl_targets_set_ports(&t, s, msg, sizeof msg);
	else
		rc = cl_targets_add_sni(&t, s, msg, sizeof msg);
	cl_targets_free(&t);
	if (rc == CL_OK || rc == CL_ERR_NOMEM)
		return rc;
	if (ps->secret[0] || what == 's')
		return fail_at(ps, at, "%s: %s is not %s", label, shown(ps, s, buf, sizeof buf),
		               what == 's' ? "a host name" : "valid here");
	if (strncmp(m, "--", 2) == 0 && strstr(m, ": "))
		m = strstr(m, ": ") + 2;  /* the CLI's option name */
	return fail_at(ps, at, "%s: %s", label, m);
}

static int check_target(struct pstate *ps, const yaml_node_t *at, const char *label,
                        const char *s)
{
	return check_net(ps, at, label, s, 't');
}

static int check_excl(struct pstate *ps, const yaml_node_t *at, const char *label,
                      const char *s)
{
	return check_net(ps, at, label, s, 'x');
}

static int check_sni(struct pstate *ps, const yaml_node_t *at, const char *label,
                     const char *s)
{
	return check_net(ps, at, label, s, 's');
}

static int check_ports(struct pstate *ps, const yaml_node_t *at, const char *label,
                       const char *s)
{
	return check_net(ps, at, label, s, 'p');
}

/* ---- sections ------------------------------------------------------------------ */

struct field;
/* Reads the value of a key itself; obj is the section's struct. */
typedef int (*field_fn)(struct pstate *ps, void *obj, const char *label, yaml_node_t *v);

enum fkind { F_STR, F_NAME, F_BOOL, F_INT, F_LONG, F_DOUBLE, F_DUR, F_MS, F_LIST, F_FN };

struct field {
	const char *key;
	enum fkind kind;
	size_t off;                 /* of the member in the section's struct */
	int64_t lo, hi;             /* F_INT, F_LONG, F_DOUBLE; F_DUR seconds; F_MS ms */
	check_fn check;             /* F_STR, F_LIST: checks the value, each entry */
	field_fn fn;                /* F_FN */
	unsigned types;             /* notifiers: bit per type using the key; 0 = all */
};

#define STR(k, T, m, c) { .key = k, .kind = F_STR, .off = offsetof(T, m), .check = c }
#define BOOL(k, T, m) { .key = k, .kind = F_BOOL, .off = offsetof(T, m) }
#define NUM(k, kd, T, m, l, h) { .key = k, .kind = kd, .off = offsetof(T, m), .lo = l, .hi = h }
#define LIST(k, T, m, c) { .key = k, .kind = F_LIST, .off = offsetof(T, m), .check = c }
#define FUNC(k, f) { .key = k, .kind = F_FN, .fn = f }

struct section {
	const char *path;           /* prefix of its keys in messages ("alerts.expiry") */
	const char *where;          /* what it is in messages ("alerts.expiry", "a job") */
	const struct field *f;
	size_t n;
	int type;                   /* notifiers: their type, else -1 */
};

static bool applies(const struct section *sec, const struct field *f)
{
	return sec->type < 0 || !f->types || (f->types & (1u << sec->type));
}

static int unknown_key(struct pstate *ps, const yaml_node_t *k, const struct section *sec,
                       const char *key)
{
	char known[500] = "", in[80] = "";
	const char *best = NULL;
	size_t i, d, bestd = SIZE_MAX;

	for (i = 0; i < sec->n; i++) {
		if (!applies(sec, &sec->f[i]))
			continue;
		join_add(known, sizeof known, sec->f[i].key);
		d = cl_edit_distance(key, sec->f[i].key);
		if (!close_to(key, sec->f[i].key))
			continue;
		/* on a tie, the one that ends alike ("expird": expired, not expiry) */
		if (d < bestd || (d == bestd && common_suffix(key, sec->f[i].key) >
		                                common_suffix(key, best))) {
			bestd = d;
			best = sec->f[i].key;
		}
	}
	if (*sec->where)
		snprintf(in, sizeof in, " in %s", sec->where);
	if (best)
		return fail_at(ps, k, "unknown key '%s'%s (did you mean '%s'?)", key, in, best);
	return fail_at(ps, k, "unknown key '%s'%s (known: %s)", key, in, known);
}

/* A key of another notifier type. */
static int wrong_type(struct pstate *ps, const yaml_node_t *k, const struct field *f, int type)
{
	char users[300] = "";
	int t;

	for (t = 0; t < CL_NT_COUNT; t++)
		if (f->types & (1u << t))
			join_add(users, sizeof users, nt_names[t]);
	return fail_at(ps, k, "key '%s' does not apply to %s notifiers (only to: %s)", f->key,
	               nt_names[type], users);
}

/*
 * Fails when the key of pair was already given in map (an earlier pair):
 * "the last one wins" would hide a mistake.
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

static int set_field(struct pstate *ps, void *obj, const struct field *f, const char *label,
                     yaml_node_t *v)
{
	void *p = (char *)obj + f->off;
	char **sp = p;
	const char *s;
	long n;
	int rc;

	switch (f->kind) {
	case F_STR:
		if ((rc = get_str(ps, ps->key, v, label, sp)) != CL_OK)
			return rc;
		if (!**sp)
			return fail_at(ps, v, "%s: must not be empty", label);
		return f->check ? f->check(ps, v, label, *sp) : CL_OK;
	case F_NAME:
		if ((rc = get_name(ps, v, label, &s)) == CL_OK && !(*sp = cl_pool_add(&ps->ci->pool,
		                                                                 strdup(s))))
			rc = CL_ERR_NOMEM;
		return rc;
	case F_BOOL:
		return get_bool(ps, v, label, p);
	case F_INT:
		if ((rc = get_long(ps, v, label, (long)f->lo, (long)f->hi, &n)) == CL_OK)
			*(int *)p = (int)n;
		return rc;
	case F_LONG:
		return get_long(ps, v, label, (long)f->lo, (long)f->hi, p);
	case F_DOUBLE:
		return get_double(ps, v, label, (double)f->lo, (double)f->hi, p);
	case F_DUR:
		return get_duration(ps, v, label, f->lo, f->hi, p);
	case F_MS:
		return get_ms(ps, v, label, f->lo, f->hi, p);
	case F_LIST:
		return get_list(ps, v, label, f->check, p);
	case F_FN:
		return f->fn(ps, obj, label, v);
	}
	return CL_ERR_PARSE;
}

/*
 * Reads the mapping map into obj through the table of sec, key by key; a
 * null value is an empty mapping. seen[i] receives the key node of field
 * i when it was given (MAX_FIELDS entries).
 */
static int each_pair(struct pstate *ps, yaml_node_t *map, const struct section *sec, void *obj,
                     const yaml_node_t **seen)
{
	yaml_node_pair_t *pair;
	char label[128];
	size_t i;
	int rc;

	memset(seen, 0, MAX_FIELDS * sizeof *seen);
	if (cl_yaml_is_null(map))
		return CL_OK;
	if (map->type != YAML_MAPPING_NODE)
		return fail_at(ps, map, "%s must be a mapping (key: value)", sec->where);
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(ps->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(ps->doc, pair->value);
		const char *key = cl_yaml_scalar(k);
		if (!key)
			return fail_at(ps, k, "keys must be strings");
		if ((rc = dup_key(ps, map, pair, sec->path)) != CL_OK)
			return rc;
		for (i = 0; i < sec->n && strcmp(sec->f[i].key, key) != 0; i++)
			;
		if (i == sec->n)
			return unknown_key(ps, k, sec, key);
		if (!applies(sec, &sec->f[i]))
			return wrong_type(ps, k, &sec->f[i], sec->type);
		seen[i] = k;
		snprintf(label, sizeof label, "%s%s%s", sec->path, *sec->path ? "." : "", key);
		ps->key = k;
		if ((rc = set_field(ps, obj, &sec->f[i], label, v)) != CL_OK)
			return rc;
	}
	return CL_OK;
}

static size_t field_index(const struct section *sec, const char *key)
{
	size_t i;

	for (i = 0; i < sec->n && strcmp(sec->f[i].key, key) != 0; i++)
		;
	return i;
}

/* ---- jobs --------------------------------------------------------------------- */

static int get_window(struct pstate *ps, const char *label, yaml_node_t *v, struct cl_window *w);

static int f_quiet(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_job *j = obj;

	return get_window(ps, label, v, &j->quiet);
}

/* "HH:MM-HH:MM" into *w. */
static int get_window(struct pstate *ps, const char *label, yaml_node_t *v, struct cl_window *w)
{
	int m[2], i;
	const char *s, *p;
	int rc;

	if ((rc = get_scalar(ps, v, label, "a window HH:MM-HH:MM", &s)) != CL_OK)
		return rc;
	for (p = s, i = 0; i < 2; i++) {
		/* H:MM or HH:MM */
		size_t h = strspn(p, "0123456789");
		if ((h != 1 && h != 2) || p[h] != ':' || !isdigit((unsigned char)p[h + 1]) ||
		    !isdigit((unsigned char)p[h + 2]))
			break;
		m[i] = atoi(p) * 60 + (p[h + 1] - '0') * 10 + (p[h + 2] - '0');
		if (atoi(p) > 23 || p[h + 1] > '5')
			break;
		p += h + 3;
		if (i == 0 && *p++ != '-')
			break;
	}
	if (i < 2 || *p)
		return fail_at(ps, v, "%s: '%s' is not a daily window HH:MM-HH:MM (e.g. 08:00-18:00)",
		               label, s);
	if (m[0] == m[1])
		return fail_at(ps, v, "%s: '%s' starts and ends at the same time", label, s);
	w->start_min = m[0];
	w->end_min = m[1];
	return CL_OK;
}

static int ports_entry(struct pstate *ps, yaml_node_t *e, const char *label, void *arg)
{
	char **joined = arg, *s, *n;
	int rc;

	if ((rc = get_str(ps, e, e, label, &s)) != CL_OK)
		return rc;
	if ((rc = check_ports(ps, e, label, s)) != CL_OK)
		return rc;
	if (asprintf(&n, "%s%s%s", *joined ? *joined : "", *joined ? "," : "", s) < 0)
		return CL_ERR_NOMEM;
	free(*joined);
	*joined = n;
	return CL_OK;
}

/* "443,8443", 443 or [443, 8443, "9000-9010"]: kept as "443,8443,9000-9010". */
static int f_ports(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_job *j = obj;
	char *joined = NULL;
	int rc;

	if (is_empty_list(v))
		return fail_at(ps, v, "%s: no port given (leave ports out for the default set)", label);
	if ((rc = each_item(ps, v, label, 1000, ports_entry, &joined)) != CL_OK) {
		free(joined);
		return rc;
	}
	if (!(j->ports = cl_pool_add(&ps->ci->pool, joined)))
		return CL_ERR_NOMEM;
	return CL_OK;
}

static int f_starttls(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_job *j = obj;
	const char *s, *name;
	int rc, proto;

	if ((rc = get_scalar(ps, v, label, "a protocol", &s)) != CL_OK)
		return rc;
	if ((proto = cl_stls_parse(s)) < 0)
		return fail_at(ps, v, "%s: '%s' is not one of smtp, imap, pop3, ftp, ldap, postgres, "
		               "xmpp or none", label, s);
	name = proto == CL_STLS_NONE ? "none" : cl_stls_name(proto);
	if (!(j->starttls = cl_pool_add(&ps->ci->pool, strdup(name))))
		return CL_ERR_NOMEM;
	return CL_OK;
}

enum { NF_TARGETS };
static const struct field net_fields[] = {
	[NF_TARGETS] = LIST("targets", struct cl_job, targets, check_target),
	FUNC("ports", f_ports),
	LIST("sni", struct cl_job, sni, check_sni),
	LIST("exclude", struct cl_job, exclude, check_excl),
	NUM("concurrency", F_INT, struct cl_job, concurrency, 1, 100000),
	NUM("rate", F_DOUBLE, struct cl_job, rate, 0, 10000000),
	NUM("timeout", F_MS, struct cl_job, timeout_ms, 1, 10 * 60 * 1000),
	STR("ca_bundle", struct cl_job, ca_bundle, NULL),
	FUNC("starttls", f_starttls),
};

static int f_net(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	static const struct section sec = { "net", "net", net_fields, CL_ARRAY_LEN(net_fields), -1 };
	const yaml_node_t *seen[MAX_FIELDS], *k = ps->key;
	struct cl_job *j = obj;
	int rc;

	(void)label;
	if ((rc = each_pair(ps, v, &sec, j, seen)) != CL_OK)
		return rc;
	if (j->targets.n == 0)
		return fail_at(ps, seen[NF_TARGETS] ? seen[NF_TARGETS] : k,
		               "net.targets: give at least one target to scan");
	return CL_OK;
}

enum { JF_NAME, JF_FILES, JF_EXCLUDE, JF_MAX_DEPTH, JF_EVERY, JF_QUIET, JF_NET };
static const struct field job_fields[] = {
	[JF_NAME] = { .key = "name", .kind = F_NAME, .off = offsetof(struct cl_job, name) },
	[JF_FILES] = LIST("files", struct cl_job, paths, NULL),
	[JF_EXCLUDE] = LIST("exclude", struct cl_job, exclude, NULL),
	[JF_MAX_DEPTH] = NUM("max_depth", F_INT, struct cl_job, max_depth, -1, 1000),
	[JF_EVERY] = NUM("every", F_DUR, struct cl_job, every, MINUTE, 365 * DAY),
	[JF_QUIET] = FUNC("quiet_hours", f_quiet),
	[JF_NET] = FUNC("net", f_net),
};

static int parse_job(struct pstate *ps, yaml_node_t *node, struct cl_job *j, size_t idx)
{
	static const struct section sec = { "", "a job", job_fields, CL_ARRAY_LEN(job_fields), -1 };
	const yaml_node_t *seen[MAX_FIELDS];
	size_t i;
	int rc;

	j->line = (int)node->start_mark.line + 1;
	j->max_depth = -1;
	if (node->type != YAML_MAPPING_NODE)
		return fail_at(ps, node, "a job must be a mapping (name, every, files or net)");
	if ((rc = each_pair(ps, node, &sec, j, seen)) != CL_OK)
		return rc;
	if (!j->name)
		return fail_at(ps, node, "a job needs a name");
	for (i = 0; i < idx; i++)
		if (strcmp(ps->c->jobs[i].name, j->name) == 0)
			return fail_at(ps, node, "job '%s' is defined twice (lines %d and %d)", j->name,
			               ps->c->jobs[i].line, j->line);
	if (seen[JF_FILES] && seen[JF_NET])
		return fail_at(ps, node, "job '%s': give files or net, not both (make two jobs)",
		               j->name);
	if (!seen[JF_FILES] && !seen[JF_NET])
		return fail_at(ps, node, "job '%s': give files (paths to search) or net (targets to "
		               "scan)", j->name);
	if (seen[JF_FILES] && j->paths.n == 0)
		return fail_at(ps, seen[JF_FILES], "job '%s': files is empty", j->name);
	if (seen[JF_NET] && seen[JF_EXCLUDE])
		return fail_at(ps, seen[JF_EXCLUDE], "exclude: only for files jobs (a net job's "
		               "exclusions go under net: exclude)");
	if (seen[JF_NET] && seen[JF_MAX_DEPTH])
		return fail_at(ps, seen[JF_MAX_DEPTH], "max_depth: only for files jobs");
	if (!seen[JF_EVERY])
		return fail_at(ps, node, "job '%s': every is required (e.g. every: 6h)", j->name);
	j->kind = seen[JF_NET] ? CL_JOB_NET : CL_JOB_FILES;
	return CL_OK;
}

static int f_jobs(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_config *c = obj;
	yaml_node_item_t *it;
	size_t n;
	int rc;

	if (is_empty_list(v))
		return CL_OK;
	if (v->type != YAML_SEQUENCE_NODE)
		return fail_at(ps, v, "%s: expected a list of jobs", label);
	if ((n = list_len(v)) > MAX_ITEMS)
		return fail_at(ps, v, "%s: more than %d jobs", label, MAX_ITEMS);
	if (!(c->jobs = cl_pool_add(&ps->ci->pool, calloc(n, sizeof *c->jobs))))
		return CL_ERR_NOMEM;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		c->njobs++;
		if ((rc = parse_job(ps, yaml_document_get_node(ps->doc, *it), &c->jobs[c->njobs - 1],
		                    c->njobs - 1)) != CL_OK)
			return rc;
	}
	return CL_OK;
}

/* ---- alerts ------------------------------------------------------------------- */

static int cmp_int_desc(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x < y) - (x > y);
}

static int cmp_double_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x < y) - (x > y);
}

static int day_entry(struct pstate *ps, yaml_node_t *e, const char *label, void *arg)
{
	struct cl_alert_rules *r = arg;
	size_t i;
	long d;
	int rc;

	if ((rc = get_long(ps, e, label, 1, 3650, &d)) != CL_OK)
		return rc;
	for (i = 0; i < r->ndays; i++)
		if (r->days[i] == d)
			return fail_at(ps, e, "%s: %ld is given twice", label, d);
	r->days[r->ndays++] = (int)d;
	return CL_OK;
}

/* Days before expiry: [30, 14, 7], kept in descending order. */
static int f_days(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_alert_rules *r = obj;
	size_t n = list_len(v);
	int rc;

	r->days = NULL;
	r->ndays = 0;
	if (n && n <= MAX_THRESHOLDS && !(r->days = cl_pool_add(&ps->ci->pool, calloc(n, sizeof(int)))))
		return CL_ERR_NOMEM;
	if ((rc = each_item(ps, v, label, MAX_THRESHOLDS, day_entry, r)) != CL_OK)
		return rc;
	if (r->ndays)
		qsort(r->days, r->ndays, sizeof *r->days, cmp_int_desc);
	return CL_OK;
}

static int share_entry(struct pstate *ps, yaml_node_t *e, const char *label, void *arg)
{
	struct cl_alert_rules *r = arg;
	const char *s;
	double x;
	size_t i;
	int rc;

	if ((rc = get_scalar(ps, e, label, "a share such as 33%", &s)) != CL_OK)
		return rc;
	if (!parse_share(s, &x) || s[strlen(s) - 1] != '%')
		return fail_at(ps, e, "%s: '%s' is not a share of the lifetime between 0%% and 100%% "
		               "(e.g. 33%%)", label, s);
	for (i = 0; i < r->nremaining; i++)
		if (r->remaining[i] == x)
			return fail_at(ps, e, "%s: %s is given twice", label, s);
	r->remaining[r->nremaining++] = x;
	return CL_OK;
}

/* Shares of the lifetime left: ["33%", "10%"], kept in descending order. */
static int f_remaining(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_alert_rules *r = obj;
	size_t n = list_len(v);
	int rc;

	r->remaining = NULL;
	r->nremaining = 0;
	if (n && n <= MAX_THRESHOLDS &&
	    !(r->remaining = cl_pool_add(&ps->ci->pool, calloc(n, sizeof(double)))))
		return CL_ERR_NOMEM;
	if ((rc = each_item(ps, v, label, MAX_THRESHOLDS, share_entry, r)) != CL_OK)
		return rc;
	if (r->nremaining)
		qsort(r->remaining, r->nremaining, sizeof *r->remaining, cmp_double_desc);
	return CL_OK;
}

static const struct field expiry_fields[] = {
	FUNC("days", f_days),
	NUM("short_lived", F_DUR, struct cl_alert_rules, short_lived, 0, 3650 * DAY),
	FUNC("remaining", f_remaining),
};

static int f_expiry(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	static const struct section sec = { "alerts.expiry", "alerts.expiry", expiry_fields,
	                                    CL_ARRAY_LEN(expiry_fields), -1 };
	const yaml_node_t *seen[MAX_FIELDS];

	(void)label;
	return each_pair(ps, v, &sec, obj, seen);
}

/* "67%", "2/3", 0.67, true (2/3) or false (0: off). */
static int f_renewal(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_alert_rules *r = obj;
	const char *s;
	bool b;
	int rc;

	if ((rc = get_scalar(ps, v, label, "a share of the lifetime or false", &s)) != CL_OK)
		return rc;
	if (parse_bool(s, &b))
		r->renewal_at = b ? 2.0 / 3.0 : 0;
	else if (!parse_share(s, &r->renewal_at))
		return fail_at(ps, v, "%s: '%s' is not a share of the lifetime (67%%, 2/3 or 0.67) or "
		               "false", label, s);
	return CL_OK;
}

static const struct field unreachable_fields[] = {
	BOOL("enabled", struct cl_alert_rules, unreachable),
	NUM("after", F_DUR, struct cl_alert_rules, unreachable_after, 0, 30 * DAY),
};

/* true, false or {enabled: true, after: 30m}. */
static int f_unreachable(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	static const struct section sec = { "alerts.unreachable", "alerts.unreachable",
	                                    unreachable_fields, CL_ARRAY_LEN(unreachable_fields),
	                                    -1 };
	const yaml_node_t *seen[MAX_FIELDS];
	struct cl_alert_rules *r = obj;

	if (v->type == YAML_MAPPING_NODE)
		return each_pair(ps, v, &sec, obj, seen);
	return get_bool(ps, v, label, &r->unreachable);
}

static int min_severity(struct pstate *ps, const char *label, yaml_node_t *v, bool allow_bool,
                        char **out)
{
	const char *s;
	bool b;
	int rc;

	if ((rc = get_scalar(ps, v, label, "a severity", &s)) != CL_OK)
		return rc;
	if (allow_bool && parse_bool(s, &b))
		s = b ? "error" : NULL;
	else if (!is_severity(s))
		return fail_at(ps, v, "%s: '%s' is not a severity (info, warning, error, critical)%s",
		               label, s, allow_bool ? " or false" : "");
	*out = NULL;
	if (s && !(*out = cl_pool_add(&ps->ci->pool, strdup(s))))
		return CL_ERR_NOMEM;
	return CL_OK;
}

static int f_findings(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_alert_rules *r = obj;

	return min_severity(ps, label, v, true, &r->finding_min_severity);
}

static const struct field alert_fields[] = {
	NUM("evaluate_every", F_DUR, struct cl_alert_rules, evaluate_every, MINUTE, 7 * DAY),
	FUNC("expiry", f_expiry),
	BOOL("expired", struct cl_alert_rules, expired),
	FUNC("renewal_overdue", f_renewal),
	BOOL("changed", struct cl_alert_rules, changed),
	FUNC("unreachable", f_unreachable),
	FUNC("findings", f_findings),
	LIST("watch_domains", struct cl_alert_rules, watch_domains, check_domain_glob),
	BOOL("include_ca", struct cl_alert_rules, include_ca),
	BOOL("renewal_failing", struct cl_alert_rules, renewal_failing),
	BOOL("hook_failed", struct cl_alert_rules, hook_failed),
};

static int f_alerts(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	static const struct section sec = { "alerts", "alerts", alert_fields,
	                                    CL_ARRAY_LEN(alert_fields), -1 };
	const yaml_node_t *seen[MAX_FIELDS];
	struct cl_config *c = obj;

	(void)label;
	return each_pair(ps, v, &sec, &c->alerts, seen);
}

/* ---- managed certificates --------------------------------------------------------- */

static int f_manage_quiet(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_manage_cfg *m = obj;

	return get_window(ps, label, v, &m->quiet);
}

/* One entry of manage.specs: "inventory" or the absolute path of a spec file. */
static int spec_entry(struct pstate *ps, yaml_node_t *e, const char *label, void *arg)
{
	struct cl_manage_cfg *m = arg;
	char *s = NULL;
	size_t i;
	int rc;

	if ((rc = get_str(ps, e, e, label, &s)) != CL_OK)
		return rc;
	if (strcmp(s, "inventory") == 0) {
		if (m->inventory)
			return fail_at(ps, e, "%s: 'inventory' is given twice", label);
		m->inventory = true;
		return CL_OK;
	}
	if (s[0] != '/')
		return fail_at(ps, e, "%s: '%s' is neither 'inventory' (the specs applied with "
		               "certledger apply) nor an absolute path of a spec file", label, s);
	for (i = 0; i < m->files.n; i++)
		if (strcmp(m->files.v[i], s) == 0)
			return fail_at(ps, e, "%s: '%s' is given twice", label, s);
	m->files.v[m->files.n++] = s;
	return CL_OK;
}

/* inventory (the default), a spec file, or a list of both. */
static int f_specs(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_manage_cfg *m = obj;
	size_t n = list_len(v);

	m->inventory = false;
	m->files.n = 0;
	if (n == 0)
		return fail_at(ps, v, "%s: give 'inventory' and/or spec files (absolute paths)", label);
	if (n > MAX_ITEMS)
		return fail_at(ps, v, "%s: more than %d entries", label, MAX_ITEMS);
	if (!(m->files.v = cl_pool_add(&ps->ci->pool, calloc(n + 1, sizeof *m->files.v))))
		return CL_ERR_NOMEM;
	return each_item(ps, v, label, MAX_ITEMS, spec_entry, m);
}

enum { MF_EVERY, MF_INTERVAL };
static const struct field manage_fields[] = {
	[MF_EVERY] = NUM("every", F_DUR, struct cl_manage_cfg, every, MINUTE, 7 * DAY),
	[MF_INTERVAL] = NUM("interval", F_DUR, struct cl_manage_cfg, every, MINUTE, 7 * DAY),
	NUM("workers", F_INT, struct cl_manage_cfg, workers, 1, 256),
	FUNC("specs", f_specs),
	FUNC("quiet_hours", f_manage_quiet),
};

/* {every: 1h, workers: 16, specs: inventory, quiet_hours: ...}; true = the defaults. */
static int f_manage(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	static const struct section sec = { "manage", "manage", manage_fields,
	                                    CL_ARRAY_LEN(manage_fields), -1 };
	const yaml_node_t *seen[MAX_FIELDS], *k = ps->key;
	struct cl_config *c = obj;
	struct cl_manage_cfg *m = &c->manage;
	bool on;
	int rc;

	m->line = (int)k->start_mark.line + 1;
	m->every = HOUR;
	m->inventory = true;
	if (v->type == YAML_SCALAR_NODE && !cl_yaml_is_null(v)) {
		if (!parse_bool(cl_yaml_scalar(v), &on))
			return fail_at(ps, v, "%s: expected a mapping (every, workers, specs, "
			               "quiet_hours) or true/false, got '%s'", label, cl_yaml_scalar(v));
		m->enabled = on;
		return CL_OK;
	}
	if ((rc = each_pair(ps, v, &sec, m, seen)) != CL_OK)
		return rc;
	if (seen[MF_EVERY] && seen[MF_INTERVAL])
		return fail_at(ps, seen[MF_INTERVAL], "manage: give every or interval, not both (the "
		               "same setting)");
	m->enabled = true;
	return CL_OK;
}

/* ---- notifiers ------------------------------------------------------------------ */

/* The type was read before the other keys (it decides which apply). */
static int f_type(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	(void)ps;
	(void)obj;
	(void)label;
	(void)v;
	return CL_OK;
}

/* 0..23 or a name (user, daemon, local0...). */
static int f_facility(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	static const struct { const char *name; int code; } fac[] = {
		{ "kern", 0 }, { "user", 1 }, { "mail", 2 }, { "daemon", 3 }, { "auth", 4 },
		{ "syslog", 5 }, { "lpr", 6 }, { "news", 7 }, { "uucp", 8 }, { "cron", 9 },
		{ "authpriv", 10 }, { "ftp", 11 }, { "local0", 16 }, { "local1", 17 },
		{ "local2", 18 }, { "local3", 19 }, { "local4", 20 }, { "local5", 21 },
		{ "local6", 22 }, { "local7", 23 },
	};
	struct cl_notifier *n = obj;
	const char *s;
	size_t i;
	long code;
	int rc;

	if ((rc = get_scalar(ps, v, label, "a facility", &s)) != CL_OK)
		return rc;
	for (i = 0; i < CL_ARRAY_LEN(fac); i++)
		if (strcmp(s, fac[i].name) == 0) {
			n->facility = fac[i].code;
			return CL_OK;
		}
	if (!isdigit((unsigned char)s[0]))
		return fail_at(ps, v, "%s: '%s' is not a facility (0..23, user, daemon, local0.."
		               "local7...)", label, s);
	if ((rc = get_long(ps, v, label, 0, 23, &code)) == CL_OK)
		n->facility = (int)code;
	return rc;
}

#define NT(x) (1u << CL_NT_##x)
#define HTTP_TYPES (NT(WEBHOOK) | NT(SLACK) | NT(TEAMS) | NT(PAGERDUTY) | NT(ALERTMANAGER) | \
                    NT(SERVICENOW) | NT(JIRA))
#define TLS_TYPES (HTTP_TYPES | NT(EMAIL) | NT(SYSLOG))
#define NSTR(k, m, c, t) { .key = k, .kind = F_STR, .off = offsetof(struct cl_notifier, m), \
                           .check = c, .types = t }
#define NBOOL(k, m, t) { .key = k, .kind = F_BOOL, .off = offsetof(struct cl_notifier, m), \
                         .types = t }

static const struct field notifier_fields[] = {
	{ .key = "name", .kind = F_NAME, .off = offsetof(struct cl_notifier, name) },
	FUNC("type", f_type),
	NBOOL("send_resolved", send_resolved, 0),
	NUM("timeout", F_MS, struct cl_notifier, timeout_ms, 1, 10 * 60 * 1000),
	NSTR("ca_bundle", ca_bundle, NULL, TLS_TYPES),
	NSTR("url", url, check_http_url, HTTP_TYPES),
	{ .key = "headers", .kind = F_LIST, .off = offsetof(struct cl_notifier, headers),
	  .check = check_header, .types = HTTP_TYPES },
	NSTR("secret", secret, NULL, NT(WEBHOOK)),
	NSTR("token", token, NULL, NT(WEBHOOK) | NT(JIRA)),
	NSTR("routing_key", routing_key, NULL, NT(PAGERDUTY)),
	NSTR("username", username, NULL, NT(SERVICENOW) | NT(JIRA) | NT(EMAIL)),
	NSTR("password", password, NULL, NT(SERVICENOW) | NT(EMAIL)),
	NSTR("table", table, check_ident, NT(SERVICENOW)),
	NSTR("project", project, NULL, NT(JIRA)),
	NSTR("issue_type", issue_type, NULL, NT(JIRA)),
	NSTR("smtp_url", smtp_url, check_smtp_url, NT(EMAIL)),
	NBOOL("starttls", starttls, NT(EMAIL)),
	NSTR("from", from, check_email, NT(EMAIL)),
	{ .key = "to", .kind = F_LIST, .off = offsetof(struct cl_notifier, to),
	  .check = check_email, .types = NT(EMAIL) },
	NBOOL("to_owner", to_owner, NT(EMAIL)),
	NSTR("address", address, check_syslog_address, NT(SYSLOG)),
	NSTR("app_name", app_name, check_app_name, NT(SYSLOG)),
	{ .key = "facility", .kind = F_FN, .fn = f_facility, .types = NT(SYSLOG) },
	NSTR("path", path, NULL, NT(JSONL)),
};

/* The keys each type cannot do without. */
static const char *const required[CL_NT_COUNT][4] = {
	[CL_NT_WEBHOOK] = { "url" },
	[CL_NT_SLACK] = { "url" },
	[CL_NT_TEAMS] = { "url" },
	[CL_NT_PAGERDUTY] = { "routing_key" },
	[CL_NT_ALERTMANAGER] = { "url" },
	[CL_NT_SERVICENOW] = { "url", "username", "password" },
	[CL_NT_JIRA] = { "url", "username", "token", "project" },
	[CL_NT_EMAIL] = { "smtp_url", "from" },
	[CL_NT_SYSLOG] = { NULL },
	[CL_NT_JSONL] = { "path" },
};

/* Defaults that depend on the type, once the keys were read. */
static int notifier_defaults(struct pstate *ps, struct cl_notifier *n)
{
	static const struct { enum cl_notifier_type t; size_t off; const char *value; } d[] = {
		{ CL_NT_PAGERDUTY, offsetof(struct cl_notifier, url),
		  "https://events.pagerduty.com/v2/enqueue" },
		{ CL_NT_SERVICENOW, offsetof(struct cl_notifier, table), "incident" },
		{ CL_NT_JIRA, offsetof(struct cl_notifier, issue_type), "Task" },
		{ CL_NT_SYSLOG, offsetof(struct cl_notifier, address), "unix:/dev/log" },
		{ CL_NT_SYSLOG, offsetof(struct cl_notifier, app_name), "certledger" },
	};
	size_t i;

	for (i = 0; i < CL_ARRAY_LEN(d); i++) {
		char **p = (char **)(void *)((char *)n + d[i].off);
		if (d[i].t == n->type && !*p && !(*p = cl_pool_add(&ps->ci->pool, strdup(d[i].value))))
			return CL_ERR_NOMEM;
	}
	return CL_OK;
}

/* The type of a notifier mapping, read first: it says which keys apply. */
static int notifier_type(struct pstate *ps, yaml_node_t *node, int *type)
{
	const yaml_node_t *tn = NULL;
	const char *name = NULL, *s;
	char known[300] = "";
	yaml_node_pair_t *p;
	int t;

	for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
		const char *k = cl_yaml_scalar(yaml_document_get_node(ps->doc, p->key));
		if (k && strcmp(k, "type") == 0 && !tn)
			tn = yaml_document_get_node(ps->doc, p->value);
		if (k && strcmp(k, "name") == 0 && !name)
			name = cl_yaml_scalar(yaml_document_get_node(ps->doc, p->value));
	}
	for (t = 0; t < CL_NT_COUNT; t++)
		join_add(known, sizeof known, nt_names[t]);
	if (!tn)
		return fail_at(ps, node, "notifier%s%s%s needs a type (%s)", name ? " '" : "",
		               name ? name : "", name ? "'" : "", known);
	if (!(s = cl_yaml_scalar(tn)) || cl_yaml_is_null(tn))
		return fail_at(ps, tn, "type: expected one of %s", known);
	if ((*type = cl_notifier_type_parse(s)) >= 0)
		return CL_OK;
	for (t = 0; t < CL_NT_COUNT; t++)
		if (close_to(s, nt_names[t]))
			return fail_at(ps, tn, "type: unknown notifier type '%s' (did you mean '%s'?)", s,
			               nt_names[t]);
	return fail_at(ps, tn, "type: unknown notifier type '%s' (known: %s)", s, known);
}

static int parse_notifier(struct pstate *ps, yaml_node_t *node, struct cl_notifier *n,
                          size_t idx)
{
	struct section sec = { "", "a notifier", notifier_fields, CL_ARRAY_LEN(notifier_fields), -1 };
	const yaml_node_t *seen[MAX_FIELDS];
	const char *const *need;
	size_t i;
	int rc, type;

	n->line = (int)node->start_mark.line + 1;
	if (node->type != YAML_MAPPING_NODE)
		return fail_at(ps, node, "a notifier must be a mapping (name, type and its settings)");
	if ((rc = notifier_type(ps, node, &type)) != CL_OK)
		return rc;
	n->type = (enum cl_notifier_type)type;
	sec.type = type;
	n->send_resolved = true;
	n->timeout_ms = 10000;
	n->starttls = true;
	n->facility = 1;
	if ((rc = each_pair(ps, node, &sec, n, seen)) != CL_OK)
		return rc;
	if (!n->name)
		return fail_at(ps, node, "a notifier needs a name");
	for (i = 0; i < idx; i++)
		if (strcmp(ps->c->notifiers[i].name, n->name) == 0)
			return fail_at(ps, node, "notifier '%s' is defined twice (lines %d and %d)",
			               n->name, ps->c->notifiers[i].line, n->line);
	for (need = required[type]; need < required[type] + 4 && *need; need++)
		if (!seen[field_index(&sec, *need)])
			return fail_at(ps, node, "notifier '%s' (%s): %s is required", n->name,
			               nt_names[type], *need);
	if (n->type == CL_NT_EMAIL && n->to.n == 0 && !n->to_owner)
		return fail_at(ps, node, "notifier '%s' (email): give to (recipients) or to_owner: "
		               "true", n->name);
	if (n->type == CL_NT_EMAIL && !n->username != !n->password)
		return fail_at(ps, node, "notifier '%s' (email): username and password go together",
		               n->name);
	return notifier_defaults(ps, n);
}

static int f_notifiers(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_config *c = obj;
	yaml_node_item_t *it;
	size_t n;
	int rc;

	if (is_empty_list(v))
		return CL_OK;
	if (v->type != YAML_SEQUENCE_NODE)
		return fail_at(ps, v, "%s: expected a list of notifiers", label);
	if ((n = list_len(v)) > MAX_ITEMS)
		return fail_at(ps, v, "%s: more than %d notifiers", label, MAX_ITEMS);
	if (!(c->notifiers = cl_pool_add(&ps->ci->pool, calloc(n, sizeof *c->notifiers))))
		return CL_ERR_NOMEM;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		c->nnotifiers++;
		if ((rc = parse_notifier(ps, yaml_document_get_node(ps->doc, *it),
		                         &c->notifiers[c->nnotifiers - 1], c->nnotifiers - 1)) != CL_OK)
			return rc;
	}
	return CL_OK;
}

/* ---- routes ------------------------------------------------------------------- */

static int f_match_severity(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_route *r = obj;

	return min_severity(ps, label, v, false, &r->min_severity);
}

static const struct field match_fields[] = {
	LIST("owner", struct cl_route, owner, NULL),
	LIST("environment", struct cl_route, environment, NULL),
	LIST("tag", struct cl_route, tag, NULL),
	LIST("type", struct cl_route, type, check_alert_type),
	FUNC("min_severity", f_match_severity),
};

static int f_match(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	static const struct section sec = { "match", "match", match_fields,
	                                    CL_ARRAY_LEN(match_fields), -1 };
	const yaml_node_t *seen[MAX_FIELDS];

	(void)label;
	return each_pair(ps, v, &sec, obj, seen);
}

struct names {
	const char **v;             /* borrowed from the document: compared, never kept */
	size_t n;
};

static int name_entry(struct pstate *ps, yaml_node_t *e, const char *label, void *arg)
{
	struct names *l = arg;

	return get_name(ps, e, label, &l->v[l->n++]);
}

/* The notifiers of a route, by name: every name must be defined. */
static int f_notify(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	const struct cl_config *c = ps->c;
	struct cl_route *r = obj;
	struct names l = { NULL, 0 };
	const yaml_node_t *first = NULL;
	char unknown[400] = "", defined[400] = "", q[MAX_NAME + 8];
	size_t i, k, nunknown = 0, n = list_len(v);
	int rc;

	if (n > MAX_ITEMS)
		return fail_at(ps, v, "%s: more than %d notifiers", label, MAX_ITEMS);
	if (n == 0)
		return fail_at(ps, v, "%s: name at least one notifier", label);
	if (!(l.v = cl_pool_add(&ps->ci->pool, calloc(n, sizeof *l.v))) ||
	    !(r->notify = cl_pool_add(&ps->ci->pool, calloc(n, sizeof *r->notify))))
		return CL_ERR_NOMEM;
	if ((rc = each_item(ps, v, label, MAX_ITEMS, name_entry, &l)) != CL_OK)
		return rc;
	for (i = 0; i < l.n; i++) {
		for (k = 0; k < i; k++)
			if (strcmp(l.v[k], l.v[i]) == 0)
				return fail_at(ps, list_node(ps, v, i), "%s: '%s' is named twice", label,
				               l.v[i]);
		for (k = 0; k < c->nnotifiers && strcmp(c->notifiers[k].name, l.v[i]) != 0; k++)
			;
		if (k == c->nnotifiers) {
			snprintf(q, sizeof q, "'%s'", l.v[i]);
			join_add(unknown, sizeof unknown, q);
			nunknown++;
			first = first ? first : list_node(ps, v, i);
		}
		r->notify[r->nnotify++] = k;
	}
	if (!nunknown)
		return CL_OK;
	for (k = 0; k < c->nnotifiers; k++)
		join_add(defined, sizeof defined, c->notifiers[k].name);
	return fail_at(ps, first, "%s: unknown notifier%s %s (%s%s)", label, nunknown > 1 ? "s" : "",
	               unknown, c->nnotifiers ? "defined: " : "no notifiers are defined",
	               defined);
}

enum { RF_MATCH, RF_NOTIFY, RF_STOP };
static const struct field route_fields[] = {
	[RF_MATCH] = FUNC("match", f_match),
	[RF_NOTIFY] = FUNC("notify", f_notify),
	[RF_STOP] = BOOL("stop", struct cl_route, stop),
};

static int parse_routes(struct pstate *ps, yaml_node_t *v)
{
	static const struct section sec = { "", "a route", route_fields,
	                                    CL_ARRAY_LEN(route_fields), -1 };
	const yaml_node_t *seen[MAX_FIELDS];
	struct cl_config *c = ps->c;
	yaml_node_item_t *it;
	size_t n;
	int rc;

	if (is_empty_list(v))
		return CL_OK;
	if (v->type != YAML_SEQUENCE_NODE)
		return fail_at(ps, v, "routes: expected a list of routes");
	if ((n = list_len(v)) > MAX_ITEMS)
		return fail_at(ps, v, "routes: more than %d routes", MAX_ITEMS);
	if (!(c->routes = cl_pool_add(&ps->ci->pool, calloc(n, sizeof *c->routes))))
		return CL_ERR_NOMEM;
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *node = yaml_document_get_node(ps->doc, *it);
		struct cl_route *r = &c->routes[c->nroutes++];
		r->line = (int)node->start_mark.line + 1;
		if (node->type != YAML_MAPPING_NODE)
			return fail_at(ps, node, "a route must be a mapping (match, notify, stop)");
		if ((rc = each_pair(ps, node, &sec, r, seen)) != CL_OK)
			return rc;
		if (!seen[RF_NOTIFY])
			return fail_at(ps, node, "a route needs notify (the notifiers to send to)");
	}
	return CL_OK;
}

static int f_routes(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	(void)obj;
	(void)label;
	ps->routes = v;  /* read after the notifiers, wherever they are */
	return CL_OK;
}

/* ---- the top level -------------------------------------------------------------- */

static int f_listen(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	struct cl_config *c = obj;
	char buf[400];
	int rc;

	if ((rc = get_str(ps, ps->key, v, label, &c->listen)) != CL_OK)
		return rc;
	if (*c->listen && !is_hostport(c->listen))
		return fail_at(ps, v, "%s: %s is not HOST:PORT (127.0.0.1:9477, [::1]:9477; \"\" turns "
		               "the HTTP server off)", label, shown(ps, c->listen, buf, sizeof buf));
	return CL_OK;
}

static const struct field metrics_fields[] = {
	NUM("max_series", F_LONG, struct cl_config, metrics_max_series, 1, 100000000),
};

static int f_metrics(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	static const struct section sec = { "metrics", "metrics", metrics_fields,
	                                    CL_ARRAY_LEN(metrics_fields), -1 };
	const yaml_node_t *seen[MAX_FIELDS];

	(void)label;
	return each_pair(ps, v, &sec, obj, seen);
}

static const struct field delivery_fields[] = {
	NUM("backoff_min", F_DUR, struct cl_config, backoff_min, 1, DAY),
	NUM("backoff_max", F_DUR, struct cl_config, backoff_max, 1, 7 * DAY),
	NUM("give_up", F_DUR, struct cl_config, give_up, MINUTE, 90 * DAY),
};

static int f_delivery(struct pstate *ps, void *obj, const char *label, yaml_node_t *v)
{
	static const struct section sec = { "delivery", "delivery", delivery_fields,
	                                    CL_ARRAY_LEN(delivery_fields), -1 };
	const yaml_node_t *seen[MAX_FIELDS], *k = ps->key;
	struct cl_config *c = obj;
	char a[32], b[32];
	int rc;

	(void)label;
	if ((rc = each_pair(ps, v, &sec, obj, seen)) != CL_OK)
		return rc;
	if (c->backoff_min > c->backoff_max)
		return fail_at(ps, seen[0] ? seen[0] : k, "delivery: backoff_min (%s) is longer than "
		               "backoff_max (%s)", fmt_dur(a, sizeof a, c->backoff_min),
		               fmt_dur(b, sizeof b, c->backoff_max));
	return CL_OK;
}

static const struct field top_fields[] = {
	STR("store", struct cl_config, store, NULL),
	FUNC("listen", f_listen),
	STR("policy", struct cl_config, policy, NULL),
	STR("dashboard_url", struct cl_config, dashboard_url, check_http_url),
	NUM("health_grace", F_DUR, struct cl_config, grace, 0, 7 * DAY),
	FUNC("metrics", f_metrics),
	FUNC("delivery", f_delivery),
	FUNC("jobs", f_jobs),
	FUNC("alerts", f_alerts),
	FUNC("manage", f_manage),
	FUNC("routes", f_routes),
	FUNC("notifiers", f_notifiers),
};

static int parse_doc(struct pstate *ps, yaml_node_t *root)
{
	static const struct section sec = { "", "", top_fields, CL_ARRAY_LEN(top_fields), -1 };
	const yaml_node_t *seen[MAX_FIELDS];
	char buf[4096];
	int rc;

	if (!root || cl_yaml_is_null(root) || (root->type == YAML_MAPPING_NODE &&
	                               root->data.mapping.pairs.top == root->data.mapping.pairs.start))
		return fail_at(ps, NULL, "no jobs and no alerts configured");
	if (root->type != YAML_MAPPING_NODE)
		return fail_at(ps, root, "the configuration must be a mapping (store, jobs, alerts, "
		               "routes, notifiers...)");
	if ((rc = each_pair(ps, root, &sec, ps->c, seen)) != CL_OK)
		return rc;
	if (ps->routes && (rc = parse_routes(ps, ps->routes)) != CL_OK)
		return rc;
	if (ps->c->manage.enabled) {
		size_t i;
		for (i = 0; i < ps->c->njobs; i++)
			if (strcmp(ps->c->jobs[i].name, "manage") == 0) {
				snprintf(ps->err, ps->errlen, "%s:%d: a job called 'manage' clashes with "
				         "the manage section (line %d) in /healthz and /metrics: rename "
				         "the job", ps->name, ps->c->jobs[i].line, ps->c->manage.line);
				return CL_ERR_PARSE;
			}
	}
	if (!ps->c->store &&
	    !(ps->c->store = cl_pool_add(&ps->ci->pool,
	                              strdup(cl_store_default_path(buf, sizeof buf)))))
		return CL_ERR_NOMEM;
	return CL_OK;
}

static int parse_text(struct pstate *ps, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc, next;
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
	rc = parse_doc(ps, yaml_document_get_root_node(&doc));
	if (rc == CL_OK) {
		/* a second document would be ignored: refuse it */
		if (!yaml_parser_load(&parser, &next)) {
			rc = cl_yaml_error(ps->err, ps->errlen, ps->name, &parser);
		} else {
			if (yaml_document_get_root_node(&next))
				rc = fail_at(ps, yaml_document_get_root_node(&next), "a second YAML document "
				             "('---'): the configuration is one document");
			yaml_document_delete(&next);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

/* Defaults that a file only overrides (documented in config.h). */
static int set_defaults(struct config_impl *ci)
{
	static const int days[] = { 30, 14, 7, 3, 1 };
	static const double remaining[] = { 0.33, 0.10 };
	struct cl_config *c = &ci->pub;
	struct cl_alert_rules *r = &c->alerts;

	c->grace = 10 * MINUTE;
	c->metrics_max_series = 200000;
	c->backoff_min = 30;
	c->backoff_max = HOUR;
	c->give_up = 48 * HOUR;
	r->evaluate_every = HOUR;
	r->short_lived = 30 * DAY;
	r->expired = true;
	r->renewal_at = 2.0 / 3.0;
	r->changed = true;
	r->unreachable = true;
	r->include_ca = true;
	r->renewal_failing = true;
	r->hook_failed = true;
	if (!(c->listen = cl_pool_add(&ci->pool, strdup("127.0.0.1:9477"))) ||
	    !(r->finding_min_severity = cl_pool_add(&ci->pool, strdup("error"))) ||
	    !(r->days = cl_pool_add(&ci->pool, malloc(sizeof days))) ||
	    !(r->remaining = cl_pool_add(&ci->pool, malloc(sizeof remaining))))
		return CL_ERR_NOMEM;
	memcpy(r->days, days, sizeof days);
	r->ndays = CL_ARRAY_LEN(days);
	memcpy(r->remaining, remaining, sizeof remaining);
	r->nremaining = CL_ARRAY_LEN(remaining);
	return CL_OK;
}

void cl_config_free(struct cl_config *c)
{
	struct config_impl *ci = (struct config_impl *)c;

	if (!c)
		return;
	cl_pool_free(&ci->pool);
	cl_pool_free(&ci->secrets);
	free(ci);
}

int cl_config_parse_flags(struct cl_config **out, const char *text, size_t len,
                          const char *name, unsigned flags, char *err, size_t errlen)
{
	struct config_impl *ci;
	struct pstate ps = { .name = name ? name : "config", .flags = flags, .err = err,
	                     .errlen = errlen };
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!(ci = calloc(1, sizeof *ci)))
		return CL_ERR_NOMEM;
	ci->secrets.wipe = true;
	ps.ci = ci;
	ps.c = &ci->pub;
	if ((rc = set_defaults(ci)) == CL_OK)
		rc = parse_text(&ps, text ? text : "", text ? len : 0);
	if (rc == CL_OK && !(ci->pub.path = cl_pool_add(&ci->pool, strdup(ps.name))))
		rc = CL_ERR_NOMEM;
	if (rc != CL_OK) {
		if (rc == CL_ERR_NOMEM)
			snprintf(err, errlen, "%s: out of memory", ps.name);
		cl_config_free(&ci->pub);
		return rc;
	}
	*out = &ci->pub;
	return CL_OK;
}

int cl_config_parse(struct cl_config **out, const char *text, size_t len, const char *name,
                    char *err, size_t errlen)
{
	return cl_config_parse_flags(out, text, len, name, 0, err, errlen);
}

int cl_config_load(struct cl_config **out, const char *path, char *err, size_t errlen)
{
	FILE *f;
	char *buf = NULL;
	size_t n;
	int rc = CL_ERR_IO;

	*out = NULL;
	if (!(f = fopen(path, "r"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return CL_ERR_IO;
	}
	if (!(buf = malloc(MAX_CONFIG_BYTES + 1))) {
		rc = CL_ERR_NOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, MAX_CONFIG_BYTES + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (n > MAX_CONFIG_BYTES) {
		rc = CL_ERR_PARSE;
		snprintf(err, errlen, "%s: larger than 1 MiB: not a configuration file", path);
		goto out;
	}
	rc = cl_config_parse(out, buf, n, path, err, errlen);
out:
	fclose(f);
	free(buf);
	return rc;
}

const struct cl_notifier *cl_config_notifier(const struct cl_config *c, const char *name)
{
	size_t i;

	for (i = 0; c && name && i < c->nnotifiers; i++)
		if (strcmp(c->notifiers[i].name, name) == 0)
			return &c->notifiers[i];
	return NULL;
}

bool cl_window_contains(const struct cl_window *w, int m)
{
	if (!w || w->start_min == w->end_min || m < 0 || m >= 24 * 60)
		return false;
	if (w->start_min < w->end_min)
		return m >= w->start_min && m < w->end_min;
	return m >= w->start_min || m < w->end_min;  /* wraps midnight */
}
