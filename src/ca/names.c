/*
 * Names the CA certifies: DNS names and IP addresses, their syntax, and
 * name constraints (RFC 5280 4.2.1.10) checked before anything is signed.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ca/ca_int.h"
#include "core/util.h"

const char *cl_ca_vis(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;

	if (outlen == 0)
		return out;
	for (; *p && o + 5 < outlen; p++) {
		if (o >= 80) {
			out[o++] = '.';
			out[o++] = '.';
			out[o++] = '.';
			break;
		}
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			out[o++] = (char)*p;
		} else {
			snprintf(out + o, outlen - o, "\\x%02x", *p);
			o += 4;
		}
	}
	out[o] = '\0';
	return out;
}

static bool ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int cl_ca_dns_norm(const char *in, bool as_constraint, char *out, size_t outlen, char *err,
                   size_t errlen)
{
	char vis[128];
	const char *why = NULL;
	size_t n = strlen(in), i, label = 0, start = 0;

	if (n == 0 || n > 253 || n + 1 > outlen) {
		why = n == 0 ? "empty" : "longer than 253 characters";
		goto bad;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[n] = '\0';
	if (as_constraint && out[0] == '.')
		start = 1;
	else if (!as_constraint && out[0] == '*') {
		if (out[1] != '.') {
			why = "a wildcard must be a whole label (\"*.example.com\")";
			goto bad;
		}
		start = 2;
	}
	if (start >= n) {
		why = "no domain after the prefix";
		goto bad;
	}
	for (i = start; i <= n; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c == '.' || c == '\0') {
			if (label == 0) {
				why = c == '\0' ? "ends with a dot" : "has an empty label";
				goto bad;
			}
			if (label > 63) {
				why = "has a label longer than 63 characters";
				goto bad;
			}
			if (out[i - 1] == '-' || out[i - label] == '-') {
				why = "has a label starting or ending with '-'";
				goto bad;
			}
			label = 0;
			continue;
		}
		if (c == '*') {
			why = "has a wildcard that is not the whole first label";
			goto bad;
		}
		if (c >= 0x80) {
			why = "is not ASCII (write internationalised names as xn-- A-labels)";
			goto bad;
		}
		if (!ldh(c)) {
			why = "has a character other than letters, digits, '-' and '.'";
			goto bad;
		}
		label++;
	}
	return CL_OK;
bad:
	snprintf(err, errlen, "'%s' is not a valid DNS name%s: %s",
	         cl_ca_vis(in, vis, sizeof vis), as_constraint ? " constraint" : "", why);
	if (outlen)
		out[0] = '\0';
	return CL_ERR_USAGE;
}

int cl_ca_ip_parse(const char *in, unsigned char addr[16], int *len)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, in, addr) == 1) {
		*len = 4;
		return CL_OK;
	}
	if (inet_pton(AF_INET6, in, addr) == 1) {
		*len = 16;
		return CL_OK;
	}
	return CL_ERR_USAGE;
}

int cl_ca_cidr_parse(const char *in, struct cl_ca_ipnet *net, char *err, size_t errlen)
{
	char buf[64], vis[128], fixed[64];
	const char *slash = strchr(in, '/');
	long prefix;
	char *end;
	int i;

	memset(net, 0, sizeof *net);
	if (strlen(in) >= sizeof buf)
		goto bad;
	snprintf(buf, sizeof buf, "%s", in);
	if (slash)
		buf[slash - in] = '\0';
	if (cl_ca_ip_parse(buf, net->addr, &net->len) != CL_OK)
		goto bad;
	prefix = net->len * 8;
	if (slash) {
		prefix = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || prefix < 0 || prefix > net->len * 8)
			goto bad;
	}
	for (i = 0; i < net->len; i++) {
		long bits = prefix - i * 8;
		net->mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
	}
	for (i = 0; i < net->len; i++) {
		if (net->addr[i] & ~net->mask[i]) {
			struct cl_ca_ipnet n2 = *net;
			for (int j = 0; j < n2.len; j++)
				n2.addr[j] &= n2.mask[j];
			snprintf(err, errlen, "'%s' has bits set after the prefix; did you mean %s?",
			         cl_ca_vis(in, vis, sizeof vis), cl_ca_cidr_fmt(&n2, fixed, sizeof fixed));
			return CL_ERR_USAGE;
		}
	}
	return CL_OK;
bad:
	snprintf(err, errlen, "'%s' is not an address block (e.g. 10.0.0.0/8, fd00::/8, "
	         "192.0.2.7)", cl_ca_vis(in, vis, sizeof vis));
	return CL_ERR_USAGE;
}

const char *cl_ca_cidr_fmt(const struct cl_ca_ipnet *net, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN];
	int prefix = 0, i;

	for (i = 0; i < net->len; i++)
		for (unsigned m = net->mask[i]; m & 0x80; m = (m << 1) & 0xff)
			prefix++;
	if (!inet_ntop(net->len == 4 ? AF_INET : AF_INET6, net->addr, a, sizeof a))
		snprintf(a, sizeof a, "?");
	snprintf(out, outlen, "%s/%d", a, prefix);
	return out;
}

bool cl_ca_dns_within(const char *name, const char *c)
{
	size_t n = strlen(name), k = strlen(c);

	if (c[0] == '.')   /* subdomains only */
		return n > k && strcmp(name + n - k, c) == 0;
	if (n == k)
		return strcmp(name, c) == 0;
	return n > k && name[n - k - 1] == '.' && strcmp(name + n - k, c) == 0;
}

bool cl_ca_ip_within(const unsigned char *addr, int len, const struct cl_ca_ipnet *net)
{
	int i;

	if (len != net->len)
		return false;
	for (i = 0; i < len; i++)
		if ((addr[i] & net->mask[i]) != net->addr[i])
			return false;
	return true;
}

/* "a, b, c" (shortened) for messages. */
static const char *join(char *const *v, size_t n, char *out, size_t outlen)
{
	size_t o = 0, i;

	out[0] = '\0';
	for (i = 0; i < n && o + 1 < outlen; i++) {
		int w = snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", v[i]);
		if (w < 0 || (size_t)w >= outlen - o) {
			snprintf(out + (outlen > 5 ? outlen - 5 : 0), outlen > 5 ? 5 : outlen, "...");
			break;
		}
		o += (size_t)w;
	}
	return out;
}

int cl_ca_nc_check(const struct cl_ca_nc *nc, char *const *dns, size_t ndns,
                   const unsigned char (*ip)[16], const int *iplen, size_t nip,
                   char *err, size_t errlen)
{
	char list[256], a[INET6_ADDRSTRLEN];
	size_t i, j;

	for (i = 0; i < ndns; i++) {
		const char *d = dns[i];
		bool ok = nc->npdns == 0;
		for (j = 0; j < nc->npdns && !ok; j++)
			ok = cl_ca_dns_within(d, nc->pdns[j]);
		if (!ok) {
			snprintf(err, errlen, "DNS name %s is outside the names this CA may certify (%s)",
			         d, join(nc->pdns, nc->npdns, list, sizeof list));
			return CL_ERR_USAGE;
		}
		for (j = 0; j < nc->nxdns; j++) {
			const char *x = nc->xdns[j];
			if (cl_ca_dns_within(d, x)) {
				snprintf(err, errlen, "DNS name %s is inside the excluded name %s", d, x);
				return CL_ERR_USAGE;
			}
			/* "*.example.com" covers "secret.example.com": stricter than RFC 5280 */
			if (d[0] == '*' && cl_ca_dns_within(x[0] == '.' ? x + 1 : x, d + 2) &&
			    strcmp(x[0] == '.' ? x + 1 : x, d + 2) != 0) {
				snprintf(err, errlen, "wildcard %s would cover the excluded name %s", d, x);
				return CL_ERR_USAGE;
			}
		}
	}
	for (i = 0; i < nip; i++) {
		bool ok = nc->npip == 0;
		if (!inet_ntop(iplen[i] == 4 ? AF_INET : AF_INET6, ip[i], a, sizeof a))
			snprintf(a, sizeof a, "?");
		for (j = 0; j < nc->npip && !ok; j++)
			ok = cl_ca_ip_within(ip[i], iplen[i], &nc->pip[j]);
		if (!ok) {
			snprintf(err, errlen, "IP address %s is outside the addresses this CA may certify "
			         "(%s)", a, join(nc->pip_txt, nc->npip, list, sizeof list));
			return CL_ERR_USAGE;
		}
		for (j = 0; j < nc->nxip; j++) {
			if (cl_ca_ip_within(ip[i], iplen[i], &nc->xip[j])) {
				snprintf(err, errlen, "IP address %s is inside the excluded range %s", a,
				         nc->xip_txt[j]);
				return CL_ERR_USAGE;
			}
		}
	}
	return CL_OK;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cl_ca_nc_free(struct cl_ca_nc *nc)
{
	strv_free(nc->pdns, nc->npdns);
	strv_free(nc->xdns, nc->nxdns);
	strv_free(nc->pip_txt, nc->npip);
	strv_free(nc->xip_txt, nc->nxip);
	free(nc->pip);
	free(nc->xip);
	memset(nc, 0, sizeof *nc);
}

static int subtrees(const STACK_OF(GENERAL_SUBTREE) *st, char ***dns, size_t *ndns,
                    struct cl_ca_ipnet **ip, char ***iptxt, size_t *nip)
{
	int i, n = sk_GENERAL_SUBTREE_num(st);

	if (n <= 0)
		return CL_OK;
	if (!(*dns = calloc((size_t)n, sizeof **dns)) || !(*ip = calloc((size_t)n, sizeof **ip)) ||
	    !(*iptxt = calloc((size_t)n, sizeof **iptxt)))
		return CL_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_SUBTREE_value(st, i)->base;
		if (g->type == GEN_DNS) {
			const ASN1_IA5STRING *s = g->d.dNSName;
			char *c = malloc((size_t)s->length + 1);
			if (!c)
				return CL_ERR_NOMEM;
			for (int k = 0; k < s->length; k++) {
				unsigned char ch = s->data[k];
				c[k] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
			}
			c[s->length] = '\0';
			if (strlen(c) != (size_t)s->length) {
				free(c);
				return CL_ERR_PARSE;
			}
			(*dns)[(*ndns)++] = c;
		} else if (g->type == GEN_IPADD) {
			const ASN1_OCTET_STRING *o = g->d.iPAddress;
			struct cl_ca_ipnet *net = &(*ip)[*nip];
			char txt[64];
			if (o->length != 8 && o->length != 32)
				return CL_ERR_PARSE;
			net->len = o->length / 2;
			memcpy(net->addr, o->data, (size_t)net->len);
			memcpy(net->mask, o->data + net->len, (size_t)net->len);
			if (!((*iptxt)[*nip] = strdup(cl_ca_cidr_fmt(net, txt, sizeof txt))))
				return CL_ERR_NOMEM;
			(*nip)++;
		}
	}
	return CL_OK;
}

int cl_ca_nc_from_ext(struct cl_ca_nc *nc, const NAME_CONSTRAINTS *ext)
{
	int rc;

	memset(nc, 0, sizeof *nc);
	if (!ext)
		return CL_OK;
	if ((rc = subtrees(ext->permittedSubtrees, &nc->pdns, &nc->npdns, &nc->pip, &nc->pip_txt,
	                   &nc->npip)) != CL_OK ||
	    (rc = subtrees(ext->excludedSubtrees, &nc->xdns, &nc->nxdns, &nc->xip, &nc->xip_txt,
	                   &nc->nxip)) != CL_OK)
		cl_ca_nc_free(nc);
	return rc;
}

/* Appends one subtree (dns or CIDR text) to *st. */
static int add_subtree(STACK_OF(GENERAL_SUBTREE) **st, const char *s, bool ip, char *err,
                       size_t errlen)
{
	GENERAL_SUBTREE *sub = NULL;
	GENERAL_NAME *g = NULL;
	char norm[256];
	struct cl_ca_ipnet net;
	int rc = CL_ERR_NOMEM;

	if (ip) {
		unsigned char both[32];
		ASN1_OCTET_STRING *o;
		if ((rc = cl_ca_cidr_parse(s, &net, err, errlen)) != CL_OK)
			return rc;
		rc = CL_ERR_NOMEM;
		memcpy(both, net.addr, (size_t)net.len);
		memcpy(both + net.len, net.mask, (size_t)net.len);
		if (!(g = GENERAL_NAME_new()) || !(o = ASN1_OCTET_STRING_new()))
			goto out;
		g->type = GEN_IPADD;
		g->d.iPAddress = o;
		if (ASN1_OCTET_STRING_set(o, both, net.len * 2) != 1)
			goto out;
	} else {
		ASN1_IA5STRING *a;
		if ((rc = cl_ca_dns_norm(s, true, norm, sizeof norm, err, errlen)) != CL_OK)
			return rc;
		rc = CL_ERR_NOMEM;
		if (!(g = GENERAL_NAME_new()) || !(a = ASN1_IA5STRING_new()))
			goto out;
		g->type = GEN_DNS;
		g->d.dNSName = a;
		if (ASN1_STRING_set(a, norm, (int)strlen(norm)) != 1)
			goto out;
	}
	if (!*st && !(*st = sk_GENERAL_SUBTREE_new_null()))
		goto out;
	if (!(sub = GENERAL_SUBTREE_new()))
		goto out;
	GENERAL_NAME_free(sub->base);
	sub->base = g;
	g = NULL;
	if (!sk_GENERAL_SUBTREE_push(*st, sub))
		goto out;
	sub = NULL;
	rc = CL_OK;
out:
	if (rc == CL_ERR_NOMEM)
		snprintf(err, errlen, "out of memory");
	GENERAL_SUBTREE_free(sub);
	GENERAL_NAME_free(g);
	return rc;
}

int cl_ca_nc_build(const struct cl_ca_init_opts *o, NAME_CONSTRAINTS **out, char *err,
                   size_t errlen)
{
	const struct cl_ca_strs *lists[4] = { &o->permit_dns, &o->permit_ip, &o->exclude_dns,
	                                      &o->exclude_ip };
	NAME_CONSTRAINTS *nc = NULL;
	int rc = CL_OK, l;
	size_t i;

	*out = NULL;
	if (!o->permit_dns.n && !o->permit_ip.n && !o->exclude_dns.n && !o->exclude_ip.n)
		return CL_OK;
	if (!(nc = NAME_CONSTRAINTS_new())) {
		snprintf(err, errlen, "out of memory");
		return CL_ERR_NOMEM;
	}
	for (l = 0; l < 4 && rc == CL_OK; l++)
		for (i = 0; i < lists[l]->n && rc == CL_OK; i++)
			rc = add_subtree(l < 2 ? &nc->permittedSubtrees : &nc->excludedSubtrees,
			                 lists[l]->v[i], l & 1, err, errlen);
	if (rc != CL_OK)
		NAME_CONSTRAINTS_free(nc);
	else
		*out = nc;
	return rc;
}
