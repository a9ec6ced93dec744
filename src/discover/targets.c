/* Scan target parsing and iteration: see targets.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/cl.h"
#include "core/util.h"
#include "discover/targets.h"

const char cl_default_ports[] =
	"25,110,143,389,443,465,587,636,853,993,995,3269,5222,5432,6443,8443,9443";

#define MAX_LINE 1024

void cl_targets_init(struct cl_targets *t)
{
	memset(t, 0, sizeof *t);
}

void cl_targets_free(struct cl_targets *t)
{
	size_t i;

	for (i = 0; i < t->nspecs; i++)
		free(t->specs[i].host);
	for (i = 0; i < t->nsnis; i++)
		free(t->snis[i]);
	for (i = 0; i < t->norigins; i++)
		free(t->origins[i]);
	free(t->specs);
	free(t->excl);
	free(t->ports);
	free(t->snis);
	free(t->origins);
	memset(t, 0, sizeof *t);
}

const char *cl_addr_str(const struct cl_addr *ad, char *out, size_t len)
{
	if (!inet_ntop(ad->family, ad->a, out, (socklen_t)len))
		snprintf(out, len, "?");
	return out;
}

int cl_addr_parse(const char *s, struct cl_addr *out)
{
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AF_INET;
		return CL_OK;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AF_INET6;
		return CL_OK;
	}
	return CL_ERR_PARSE;
}

socklen_t cl_addr_sockaddr(const struct cl_addr *ad, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (ad->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, ad->a, 4);
		return sizeof *in;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	memcpy(&in6->sin6_addr, ad->a, 16);
	return sizeof *in6;
}

static size_t addr_len(const struct cl_addr *ad)
{
	return ad->family == AF_INET ? 4 : 16;
}

int cl_addr_cmp(const struct cl_addr *a, const struct cl_addr *b)
{
	return memcmp(a->a, b->a, addr_len(a));
}

bool cl_addr_next(struct cl_addr *cur, const struct cl_addr *hi)
{
	size_t i = addr_len(cur);

	if (cl_addr_cmp(cur, hi) >= 0)
		return false;
	while (i-- > 0)
		if (++cur->a[i] != 0)
			break;
	return true;
}

/* "ADDR/BITS" → [lo, hi]; host bits are ignored (the whole block). */
static int parse_cidr(const char *s, struct cl_spec *sp)
{
	char buf[64], *slash, *end;
	long bits;
	size_t i, n;

	if (strlen(s) >= sizeof buf)
		return CL_ERR_PARSE;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	*slash = '\0';
	errno = 0;
	bits = strtol(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || cl_addr_parse(buf, &sp->lo) != CL_OK)
		return CL_ERR_PARSE;
	n = addr_len(&sp->lo);
	if (bits < 0 || bits > (long)(8 * n))
		return CL_ERR_PARSE;
	sp->hi = sp->lo;
	for (i = 0; i < n; i++) {
		long keep = bits - 8 * (long)i;  /* network bits in this byte */
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		sp->lo.a[i] &= mask;
		sp->hi.a[i] = sp->lo.a[i] | (uint8_t)~mask;
	}
	return CL_OK;
}

/* "A-B" with B a full address, or for IPv4 a last octet ("10.0.0.5-20"). */
static int parse_range(const char *s, struct cl_spec *sp)
{
	char buf[128], *dash, *end;
	long last;

	if (strlen(s) >= sizeof buf)
		return CL_ERR_PARSE;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	*dash = '\0';
	if (cl_addr_parse(buf, &sp->lo) != CL_OK)
		return CL_ERR_PARSE;
	if (cl_addr_parse(dash + 1, &sp->hi) != CL_OK) {
		if (sp->lo.family != AF_INET)
			return CL_ERR_PARSE;
		errno = 0;
		last = strtol(dash + 1, &end, 10);
		if (errno || end == dash + 1 || *end || last < 0 || last > 255)
			return CL_ERR_PARSE;
		sp->hi = sp->lo;
		sp->hi.a[3] = (uint8_t)last;
	}
	if (sp->hi.family != sp->lo.family || cl_addr_cmp(&sp->lo, &sp->hi) > 0)
		return CL_ERR_PARSE;
	return CL_OK;
}

static bool valid_hostname(const char *h)
{
	size_t n = strlen(h), label = 0;
	const char *p;

	if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-')
		return false;
	for (p = h; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return CL_ERR_PARSE;
	*out = (uint16_t)v;
	return CL_OK;
}

/* "A-B" where A is an address (host names may contain '-' too). */
static bool is_range(const char *s)
{
	const char *dash = strchr(s, '-');
	char lo[64];
	struct cl_addr ad;

	if (!dash || (size_t)(dash - s) >= sizeof lo)
		return false;
	memcpy(lo, s, (size_t)(dash - s));
	lo[dash - s] = '\0';
	return cl_addr_parse(lo, &ad) == CL_OK;
}

/* Parses one target or exclusion (no @FILE) into sp. */
static int parse_spec(const char *s, bool allow_host, struct cl_spec *sp, char *err,
                      size_t errlen)
{
	char buf[300], *colon;
	const char *what = "an address, CIDR, range, hostname or HOST:PORT";

	memset(sp, 0, sizeof *sp);
	if (!allow_host)
		what = "an address, CIDR or range";
	if (strlen(s) >= sizeof buf)
		goto bad;
	strcpy(buf, s);
	if (buf[0] == '[') {  /* [v6]:port */
		char *rb = strchr(buf, ']');
		if (!allow_host || !rb || rb[1] != ':')
			goto bad;
		*rb = '\0';
		if (cl_addr_parse(buf + 1, &sp->lo) != CL_OK || sp->lo.family != AF_INET6 ||
		    parse_port(rb + 2, &sp->port) != CL_OK)
			goto bad;
		sp->hi = sp->lo;
		return CL_OK;
	}
	if (strchr(buf, '/'))
		return parse_cidr(buf, sp) == CL_OK ? CL_OK : (snprintf(err, errlen,
		       "'%s' is not a valid CIDR block (e.g. 10.0.0.0/24, fd00::/120)", s),
		       CL_ERR_USAGE);
	if (cl_addr_parse(buf, &sp->lo) == CL_OK) {
		sp->hi = sp->lo;
		return CL_OK;
	}
	if (is_range(buf)) {
		if (parse_range(buf, sp) == CL_OK)
			return CL_OK;
		snprintf(err, errlen, "'%s' is not a valid range (e.g. 192.0.2.10-192.0.2.50 or "
		         "192.0.2.10-50, low end first)", s);
		return CL_ERR_USAGE;
	}
	if (!allow_host)
		goto bad;
	colon = strchr(buf, ':');
	if (colon) {
		if (strchr(colon + 1, ':'))
			goto bad;  /* a malformed IPv6 literal */
		*colon = '\0';
		if (parse_port(colon + 1, &sp->port) != CL_OK) {
			snprintf(err, errlen, "'%s': port must be 1..65535", s);
			return CL_ERR_USAGE;
		}
		if (cl_addr_parse(buf, &sp->lo) == CL_OK) {
			sp->hi = sp->lo;
			return CL_OK;
		}
	}
	if (!valid_hostname(buf))
		goto bad;
	sp->kind = CL_SPEC_HOST;
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!(sp->host = strdup(buf))) {
		snprintf(err, errlen, "out of memory");
		return CL_ERR_NOMEM;
	}
	return CL_OK;
bad:
	snprintf(err, errlen, "'%s' is not %s", s, what);
	return CL_ERR_USAGE;
}

/* Calls fn for each entry of @FILE (comments and blank lines skipped). */
static int each_line(struct cl_targets *t, const char *path,
                     int (*fn)(struct cl_targets *, const char *, const char *, char *, size_t),
                     char *err, size_t errlen)
{
	char line[MAX_LINE], *p, *e, *origin;
	FILE *f = fopen(path, "r");
	int rc = CL_OK;
	long lineno = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return CL_ERR_IO;
	}
	while (rc == CL_OK && fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			;
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]); e--)
			;
		*e = '\0';
		if (!*p)
			continue;
		if (*p == '@') {
			snprintf(err, errlen, "%s:%ld: @FILE cannot be nested", path, lineno);
			rc = CL_ERR_USAGE;
			break;
		}
		if (CL_GROW(t->origins, t->caporigins, t->norigins + 1) != CL_OK ||
		    asprintf(&origin, "%s:%ld", path, lineno) < 0) {
			rc = CL_ERR_NOMEM;
			break;
		}
		t->origins[t->norigins++] = origin;
		if ((rc = fn(t, p, origin, err, errlen)) != CL_OK) {
			/* name the line: the message already names the entry */
			char msg[512];
			snprintf(msg, sizeof msg, "%s: %s", origin, err);
			snprintf(err, errlen, "%s", msg);
		}
	}
	if (rc == CL_OK && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = CL_ERR_IO;
	}
	fclose(f);
	return rc;
}

static int add_one(struct cl_targets *t, const char *s, const char *origin, char *err,
                   size_t errlen)
{
	struct cl_spec sp;
	int rc;

	if ((rc = parse_spec(s, true, &sp, err, errlen)) != CL_OK)
		return rc;
	if (CL_GROW(t->specs, t->capspecs, t->nspecs + 1) != CL_OK) {
		free(sp.host);
		snprintf(err, errlen, "out of memory");
		return CL_ERR_NOMEM;
	}
	sp.origin = origin;
	t->specs[t->nspecs++] = sp;
	return CL_OK;
}

static int excl_one(struct cl_targets *t, const char *s, const char *origin, char *err,
                    size_t errlen)
{
	struct cl_spec sp;
	int rc;

	if ((rc = parse_spec(s, false, &sp, err, errlen)) != CL_OK)
		return rc;
	if (CL_GROW(t->excl, t->capexcl, t->nexcl + 1) != CL_OK) {
		snprintf(err, errlen, "out of memory");
		return CL_ERR_NOMEM;
	}
	sp.origin = origin;
	t->excl[t->nexcl++] = sp;
	return CL_OK;
}

static int sni_one(struct cl_targets *t, const char *s, const char *origin, char *err,
                   size_t errlen)
{
	char *copy;

	(void)origin;
	if (!valid_hostname(s) && !(s[0] == '*' && s[1] == '.' && valid_hostname(s + 2))) {
		snprintf(err, errlen, "--sni '%s' is not a host name", s);
		return CL_ERR_USAGE;
	}
	if (CL_GROW(t->snis, t->capsnis, t->nsnis + 1) != CL_OK || !(copy = strdup(s))) {
		snprintf(err, errlen, "out of memory");
		return CL_ERR_NOMEM;
	}
	t->snis[t->nsnis++] = copy;
	return CL_OK;
}

int cl_targets_add(struct cl_targets *t, const char *spec, char *err, size_t errlen)
{
	if (spec[0] == '@')
		return each_line(t, spec + 1, add_one, err, errlen);
	return add_one(t, spec, NULL, err, errlen);
}

int cl_targets_exclude(struct cl_targets *t, const char *spec, char *err, size_t errlen)
{
	int rc;

	if (spec[0] == '@')
		return each_line(t, spec + 1, excl_one, err, errlen);
	if ((rc = excl_one(t, spec, NULL, err, errlen)) != CL_OK && rc != CL_ERR_NOMEM) {
		char msg[400];
		snprintf(msg, sizeof msg, "--exclude: %s", err);
		snprintf(err, errlen, "%s", msg);
	}
	return rc;
}

int cl_targets_add_sni(struct cl_targets *t, const char *name, char *err, size_t errlen)
{
	if (name[0] == '@')
		return each_line(t, name + 1, sni_one, err, errlen);
	return sni_one(t, name, NULL, err, errlen);
}

int cl_targets_set_ports(struct cl_targets *t, const char *list, char *err, size_t errlen)
{
	uint8_t seen[65536 / 8];
	char *copy, *tok, *save = NULL, *dash;
	uint16_t lo, hi;
	size_t n = 0;
	int rc = CL_OK;

	memset(seen, 0, sizeof seen);
	free(t->ports);
	t->ports = NULL;
	t->nports = 0;
	if (!(copy = strdup(list)))
		return CL_ERR_NOMEM;
	/* two passes: count, then fill (a range can hold 65535 ports) */
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		if ((dash = strchr(tok, '-')) != NULL)
			*dash = '\0';
		if (parse_port(tok, &lo) != CL_OK ||
		    (dash ? parse_port(dash + 1, &hi) != CL_OK : (hi = lo, false)) || hi < lo) {
			if (dash)
				*dash = '-';
			snprintf(err, errlen, "--ports: '%s' is not a port or range (1..65535, low "
			         "end first)", tok);
			rc = CL_ERR_USAGE;
			goto out;
		}
		for (uint32_t p = lo; p <= hi; p++) {
			if (!(seen[p / 8] & (1u << (p % 8)))) {
				seen[p / 8] |= (uint8_t)(1u << (p % 8));
				n++;
			}
		}
	}
	if (n == 0) {
		snprintf(err, errlen, "--ports: no port given");
		rc = CL_ERR_USAGE;
		goto out;
	}
	if (!(t->ports = malloc(n * sizeof *t->ports))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	/* ports in ascending order, each once */
	for (uint32_t p = 1; p <= 65535; p++)
		if (seen[p / 8] & (1u << (p % 8)))
			t->ports[t->nports++] = (uint16_t)p;
out:
	free(copy);
	return rc;
}

/* Number of addresses in [lo, hi], saturating. */
static uint64_t range_size(const struct cl_addr *lo, const struct cl_addr *hi)
{
	size_t n = addr_len(lo), i;
	unsigned __int128 a = 0, b = 0, d;

	for (i = 0; i < n; i++) {
		a = (a << 8) | lo->a[i];
		b = (b << 8) | hi->a[i];
	}
	d = b - a;
	if (d >= UINT64_MAX)
		return UINT64_MAX;
	return (uint64_t)d + 1;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

uint64_t cl_targets_count(const struct cl_targets *t, uint64_t *probes)
{
	uint64_t addrs = 0, pr = 0, n;
	size_t i, names = t->nsnis ? t->nsnis : 1;

	for (i = 0; i < t->nspecs; i++) {
		const struct cl_spec *sp = &t->specs[i];
		n = sp->kind == CL_SPEC_HOST ? 1 : range_size(&sp->lo, &sp->hi);
		addrs = sat_add(addrs, n);
		n = sat_mul(n, sp->port ? 1 : t->nports);
		if (sp->kind != CL_SPEC_HOST)
			n = sat_mul(n, names);
		pr = sat_add(pr, n);
	}
	if (probes)
		*probes = pr;
	return addrs;
}

bool cl_targets_excluded(const struct cl_targets *t, const struct cl_addr *ad)
{
	size_t i;

	for (i = 0; i < t->nexcl; i++) {
		const struct cl_spec *x = &t->excl[i];
		if (x->lo.family == ad->family && cl_addr_cmp(&x->lo, ad) <= 0 &&
		    cl_addr_cmp(ad, &x->hi) <= 0)
			return true;
	}
	return false;
}
