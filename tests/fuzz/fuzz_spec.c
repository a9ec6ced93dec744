/*
 * libFuzzer target for the managed-certificate spec (src/manage/spec.c):
 * any bytes are either a spec that keeps its documented invariants, or
 * an error naming the file and a line. Secrets are only references, so
 * nothing is read from the environment or the file system.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/cl.h"
#include "manage/manage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_secret(const struct cl_manage_secret *s)
{
	if (s->env && s->file)
		abort();
	if (s->file && s->file[0] != '/')
		abort();
}

static void check(const struct cl_manage_spec *s)
{
	size_t i, k;

	if (!s->source || !s->text || s->len != strlen(s->text) || (!s->ncerts && !s->nissuers))
		abort();
	for (i = 0; i < s->nissuers; i++) {
		const struct cl_manage_issuer *is = &s->issuers[i];
		if (!is->name || is->line < 1)
			abort();
		if (is->acme ? !is->server || strncasecmp(is->server, "https://", 8) != 0 ||
		               !is->nsolvers : !is->ca_dir || is->ca_dir[0] != '/')
			abort();
		check_secret(&is->ca_passphrase);
		check_secret(&is->eab_hmac);
		for (k = 0; k < is->nsolvers; k++)
			if (is->solvers[k].line < 1)
				abort();
	}
	for (i = 0; i < s->ncerts; i++) {
		const struct cl_manage_cert *c = &s->certs[i];
		const struct cl_manage_output *o = &c->out;
		if (!c->name || !c->name[0] || strchr(c->name, '/') || c->line < 1 || !c->issuer ||
		    c->issuer < s->issuers || c->issuer >= s->issuers + s->nissuers)
			abort();
		if (!c->common_name && !c->ndns && !c->nip)
			abort();
		if (cl_manage_spec_find(s, c->name) != c)
			abort();   /* names are unique */
		if (!o->dir || o->dir[0] != '/' || (!o->cert && !o->fullchain && !o->pkcs12))
			abort();
		if ((o->mode & ~0660) || !(o->mode & 0400))
			abort();
		if (c->renew_before && c->renew_pct)
			abort();
		if (strlen(c->issue_hash) != 64 || strlen(c->deploy_hash) != 64)
			abort();
		if (c->nhooks > CL_MANAGE_MAX_HOOKS || c->hook_timeout < 1)
			abort();
		check_secret(&o->pkcs12_password);
		for (k = 0; k < c->ndns; k++)
			if (!c->dns[k][0] || strchr(c->dns[k], ' '))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_manage_spec *s = NULL;
	char err[1024];
	int rc;

	err[0] = '\0';
	rc = cl_manage_spec_parse(&s, (const char *)data, size, "fuzz.yaml", err, sizeof err);
	if (rc != CL_OK) {
		if (s)
			abort();
		if (rc == CL_ERR_PARSE && strncmp(err, "fuzz.yaml:", 10) != 0)
			abort();   /* every error names the file and a line */
		return 0;
	}
	check(s);
	cl_manage_spec_free(s);
	return 0;
}
