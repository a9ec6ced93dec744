/*
 * Revocation of a managed certificate (certledger revoke): replace first,
 * then revoke, so that nothing is left serving a revoked certificate; see
 * cl_manage_revoke in manage.h.
 */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "ca/ca.h"
#include "core/util.h"
#include "manage/manage_int.h"
#include "store/store.h"

static const struct cl_manage_issuer *issuer_named(const struct cl_manage_spec *spec,
                                                   const char *name)
{
	size_t i;

	for (i = 0; name && i < spec->nissuers; i++)
		if (strcmp(spec->issuers[i].name, name) == 0)
			return &spec->issuers[i];
	return NULL;
}

int cl_manage_revoke(struct cl_store *s, const struct cl_manage_spec *spec, const char *name,
                     int reason, bool renew, const struct cl_manage_opts *o,
                     struct cl_manage_stats *st, struct cl_manage_revoked *out, char *err,
                     size_t errlen)
{
	const struct cl_manage_cert *c = cl_manage_spec_find(spec, name);
	const struct cl_manage_issuer *by;
	struct cl_manage_material old = { 0 };
	struct cl_manage_deployed d;
	struct cl_manage_opts ro;
	struct cl_mg_issuer *is = NULL;
	const char *names[1] = { name };
	char *detail = NULL;
	json_t *j;
	int rc;

	memset(out, 0, sizeof *out);
	memset(st, 0, sizeof *st);
	if (!c) {
		snprintf(err, errlen, "'%s' is not a Certificate of %s", name, spec->source);
		return CL_ERR_NOTFOUND;
	}
	if ((rc = cl_manage_deployed_get(c, &d, err, errlen)) != CL_OK)
		return rc;
	if (!d.present) {
		snprintf(err, errlen, "nothing is deployed for '%s'", name);
		return CL_ERR_NOTFOUND;
	}
	if ((rc = cl_manage_deployed_material(c, &old, err, errlen)) != CL_OK)
		return rc;
	/* the Issuer that issued what is deployed (it may have changed since) */
	if (!(by = issuer_named(spec, d.issuer)))
		by = c->issuer;
	snprintf(out->fp, sizeof out->fp, "%s", old.fp);
	snprintf(out->serial, sizeof out->serial, "%s", old.serial);
	snprintf(out->issuer, sizeof out->issuer, "%s", by->name);
	if (renew) {
		if (!c->rotate_key && reason == 1) {
			snprintf(err, errlen, "'%s' keeps its key (rotationPolicy: Never): a replacement "
			         "would certify the compromised key again; set rotationPolicy: Always, "
			         "or revoke without a replacement (--no-renew)", name);
			rc = CL_ERR_USAGE;
			goto out;
		}
		ro = *o;
		ro.force = true;
		ro.dry_run = false;
		ro.names = names;
		ro.nnames = 1;
		if ((rc = cl_manage_reconcile(s, spec, &ro, st, err, errlen)) != CL_OK)
			goto out;
		if (st->renewed + st->issued != 1) {
			snprintf(err, errlen, "no replacement could be deployed for '%s', so its "
			         "certificate was not revoked (revoke it anyway with --no-renew)", name);
			rc = CL_ERR;
			goto out;
		}
		out->replaced = true;
	}
	if ((rc = cl_mg_issuer_new(&is, by, o->state_dir, o->stop)) != CL_OK ||
	    (rc = cl_mg_revoke(is, &old, reason, err, errlen)) != CL_OK)
		goto out;
	out->revoked = true;
	j = json_pack("{s:s,s:s,s:s,s:b}", "serial", old.serial, "issuer", by->name,
	              "reason", cl_ca_reason_name(reason), "replaced", out->replaced);
	detail = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if ((rc = cl_store_managed_event(s, "manage.revoked", name, old.fp, detail,
	                                 o->now ? o->now : cl_now())) != CL_OK)
		snprintf(err, errlen, "the certificate was revoked but not recorded: %s",
		         cl_store_errmsg(s));
out:
	free(detail);
	cl_mg_issuer_free(is);
	cl_manage_material_clear(&old);
	return rc;
}
