/*
 * libFuzzer target for what the ACME client reads from a CA
 * (src/acme/parse.c): the first byte picks the parser - directory, order,
 * authorization, problem document, Link header, Retry-After, renewalInfo -
 * and the rest is its input. Besides "no crash, no leak" it checks the
 * invariants the client relies on: every URL it would use is https, every
 * token base64url, every string quoted from the CA sanitised (valid UTF-8,
 * no control characters) and within its cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "acme/acme_int.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void clean(const char *s, size_t max)
{
	size_t i, n;

	if (s == NULL)
		return;
	n = strlen(s);
	if (n > max || !cl_utf8_valid(s, n))
		abort();
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
	}
}

static void https(const char *u)
{
	if (u && strncasecmp(u, "https://", 8) != 0)   /* schemes are case-insensitive */
		abort();
}

static void problem(const struct cl_acme_problem *p)
{
	char small[40], big[4096];
	size_t i;

	if (p == NULL)
		return;
	clean(p->type, 200);
	clean(p->detail, CL_ACME_MAX_DETAIL);
	if (p->nsub > CL_ACME_MAX_SUB)
		abort();
	for (i = 0; i < p->nsub; i++) {
		clean(p->sub[i].type, 200);
		clean(p->sub[i].detail, 300);
		clean(p->sub[i].id.value, 255);
	}
	cl_acme_problem_format(p, small, sizeof small);
	cl_acme_problem_format(p, big, sizeof big);
	if (strlen(small) >= sizeof small)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t n = size ? size - 1 : 0, i;

	if (size == 0)
		return 0;
	switch (data[0] % 7) {
	case 0: {
		struct cl_acme_dir d;

		if (cl_acme_dir_parse(in, n, &d) == CL_OK) {
			https(d.new_nonce);
			https(d.new_account);
			https(d.new_order);
			https(d.revoke_cert);
			https(d.key_change);
			https(d.renewal_info);
			clean(d.tos, 1024);
			if (!d.new_nonce || !d.new_account || !d.new_order)
				abort();
			cl_acme_dir_clear(&d);
		}
		break;
	}
	case 1: {
		struct cl_acme_order *o = NULL;

		if (cl_acme_order_parse(in, n, "https://ca/order", &o) == CL_OK) {
			if (o->status == CL_ACME_ST_UNKNOWN || o->nids > CL_ACME_MAX_IDS)
				abort();
			for (i = 0; i < o->nauthz; i++)
				https(o->authz[i]);
			for (i = 0; i < o->nids; i++) {
				if (o->ids[i].type == CL_ACME_ID_DNS &&
				    !cl_acme_dns_name_ok(o->ids[i].value, true, true))
					abort();
			}
			https(o->finalize);
			https(o->certificate);
			problem(o->error);
			cl_acme_order_free(o);
		}
		break;
	}
	case 2: {
		struct cl_acme_authz *z = NULL;

		if (cl_acme_authz_parse(in, n, NULL, &z) == CL_OK) {
			if (z->id.value[0] == '*' || z->nch > CL_ACME_MAX_CHALLS)
				abort();
			for (i = 0; i < z->nch; i++) {
				https(z->ch[i].url);
				if (z->ch[i].token && !cl_acme_is_b64url(z->ch[i].token, 256))
					abort();
				problem(z->ch[i].error);
			}
			cl_acme_authz_free(z);
		}
		break;
	}
	case 3: {
		struct cl_acme_problem *p = cl_acme_problem_parse(in, n, 400);

		problem(p);
		cl_acme_problem_free(p);
		break;
	}
	case 4: {
		char **v = NULL;
		size_t nv = 0;

		if (cl_acme_link_parse(in, n, "alternate", &v, &nv) == CL_OK) {
			if (nv > CL_ACME_MAX_LINKS)
				abort();
			for (i = 0; i < nv; i++) {
				if (v[i] == NULL || v[i][0] == '\0')
					abort();
			}
			cl_acme_strv_free(v, nv);
		}
		break;
	}
	case 5: {
		char *s = malloc(n + 1);

		if (s) {
			memcpy(s, in, n);
			s[n] = '\0';
			if (cl_acme_retry_after_parse(s, 1700000000) < -1)
				abort();
			free(s);
		}
		break;
	}
	default: {
		struct cl_acme_renewal_info ri;

		if (cl_acme_ari_parse(in, n, &ri) == CL_OK) {
			if (ri.end < ri.start)
				abort();
			clean(ri.explanation_url, 1024);
			free(ri.explanation_url);
		}
		break;
	}
	}
	return 0;
}
