/*
 * libFuzzer target for the policy loader: any bytes are either a policy
 * or an error that names the file and a line; a loaded policy's profiles
 * select and evaluate without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/cl.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *arg, const struct cl_violation *v)
{
	if (!v->message || v->rule >= CL_R_COUNT || v->severity < CL_SEV_INFO)
		abort();
	(*(int *)arg)++;
	return CL_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cl_cert c;
	static char *san[] = { "DNS:*.example.com", "IP:10.0.0.1" };
	struct cl_policy *p = NULL;
	struct cl_eval_ctx ctx = { .now = 1800000000, .key_mode = 0644, .shared_certs = 2,
	                           .verify = "incomplete-chain,wrong-order", .endpoint = "tls:x:1",
	                           .revocation = 2 };
	const char *locs[] = { "file:/etc/ssl/a.pem", "tls:10.0.0.1:443" };
	char err[512];
	int rc, n = 0;

	err[0] = '\0';
	rc = cl_policy_parse(&p, (const char *)data, size, "fuzz.yaml", err, sizeof err);
	if (rc != CL_OK) {
		if (rc == CL_ERR_PARSE && strncmp(err, "fuzz.yaml", 9) != 0)
			abort();  /* every error names the file */
		return 0;
	}
	c.subject = "CN=www.example.com";
	c.issuer = "CN=Example CA";
	c.subject_cn = "www.example.com";
	c.key_type = "RSA";
	c.key_bits = 1024;
	c.sig_alg = "sha1WithRSAEncryption";
	c.not_before = 1700000000;
	c.not_after = 1800100000;
	c.sans.v = san;
	c.sans.n = 2;
	c.rsa_e = 3;
	for (size_t i = 0; i <= p->nprofiles; i++) {
		const struct cl_profile *pr = i < p->nprofiles ? &p->profiles[i] : &p->base;
		cl_policy_eval(pr, &c, &ctx, count, &n);
	}
	(void)cl_policy_select(p, "prod", "team-web", ",pci,", locs, 2);
	cl_policy_free(p);
	return 0;
}
