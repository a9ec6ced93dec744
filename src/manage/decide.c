/*
 * The renewal decision and the backoff schedule: pure functions of the
 * spec, what is deployed and the time (unit-tested in test_manage.c).
 */
#include <string.h>
#include "manage/manage.h"

int64_t cl_manage_backoff(int n)
{
	int64_t d = CL_MANAGE_BACKOFF_MIN;

	if (n < 1)
		return 0;
	while (--n > 0 && d < CL_MANAGE_BACKOFF_MAX)
		d *= 2;
	return d < CL_MANAGE_BACKOFF_MAX ? d : CL_MANAGE_BACKOFF_MAX;
}

/* A fraction in [0, 1) from the first 8 hex digits of fp (0 without one). */
static double fp_fraction(const char *fp)
{
	uint32_t v = 0;
	int i;

	for (i = 0; fp && i < 8 && fp[i]; i++) {
		char ch = fp[i];
		int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
		        : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : 0;
		v = (v << 4) | (uint32_t)d;
	}
	return (double)v / 4294967296.0;
}

/* The due instant from the spec alone (no ARI), and which rule set it. */
static int64_t spec_due(const struct cl_manage_cert *c, int64_t nb, int64_t na,
                        const char **why)
{
	int64_t life = na - nb;

	if (life <= 0) {
		*why = "due (no validity period)";
		return nb;
	}
	if (c->renew_before > 0 && c->renew_before < life) {
		*why = "due (renewBefore)";
		return na - c->renew_before;
	}
	if (c->renew_pct > 0) {
		*why = "due (renewBeforePercentage)";
		return na - life * c->renew_pct / 100;
	}
	/* cert-manager's default; also when renewBefore exceeds the lifetime */
	*why = "due (2/3 of its lifetime)";
	return nb + life * 2 / 3;
}

/* The point of an ARI window this certificate renews at; 0 when there is none. */
static int64_t ari_point(const struct cl_manage_window *ari, const char *fp)
{
	if (!ari || ari->start <= 0 || ari->end < ari->start)
		return 0;
	return ari->start + (int64_t)((double)(ari->end - ari->start) * fp_fraction(fp));
}

int64_t cl_manage_due_at(const struct cl_manage_cert *c, int64_t not_before,
                         int64_t not_after, const struct cl_manage_window *ari,
                         const char *fp)
{
	const char *why;
	int64_t due = spec_due(c, not_before, not_after, &why), a = ari_point(ari, fp);

	return a > 0 && a < due ? a : due;
}

void cl_manage_decide(const struct cl_manage_cert *c, const struct cl_manage_deployed *d,
                      const struct cl_manage_history *h, const struct cl_manage_window *ari,
                      int64_t now, bool force, struct cl_manage_decision *out)
{
	const char *why = "not due";
	int64_t due, a;

	memset(out, 0, sizeof *out);
	out->action = CL_MANAGE_KEEP_CURRENT;
	out->reason = "not due";
	if (!d || !d->present) {
		out->action = CL_MANAGE_ISSUE;
		out->reason = "no certificate yet";
	} else {
		due = spec_due(c, d->not_before, d->not_after, &why);
		a = ari_point(ari, d->fp);
		if (a > 0 && a < due) {
			due = a;
			why = "due (the CA's renewal window, ARI)";
		}
		out->due_at = due;
		if (strcmp(d->issue_hash, c->issue_hash) != 0) {
			out->action = CL_MANAGE_ISSUE;
			out->reason = "the spec changed (names, key, issuer or duration)";
		} else if (force) {
			out->action = CL_MANAGE_RENEW;
			out->reason = "forced";
		} else if (now >= d->not_after) {
			out->action = CL_MANAGE_RENEW;
			out->reason = "expired";
		} else if (now >= due) {
			out->action = CL_MANAGE_RENEW;
			out->reason = why;
		} else if (strcmp(d->deploy_hash, c->deploy_hash) != 0) {
			out->action = CL_MANAGE_REDEPLOY;
			out->reason = "the output changed";
		}
	}
	if ((out->action == CL_MANAGE_ISSUE || out->action == CL_MANAGE_RENEW) && !force && h &&
	    h->failures > 0 && now < h->next_attempt &&
	    (!h->failed_hash || strcmp(h->failed_hash, c->issue_hash) == 0)) {
		out->action = CL_MANAGE_WAIT;
		out->reason = "backing off after failures";
	}
}

const char *cl_manage_outcome_name(enum cl_manage_outcome o)
{
	static const char *const n[] = {
		[CL_MANAGE_UNCHANGED] = "unchanged", [CL_MANAGE_ISSUED] = "issued",
		[CL_MANAGE_RENEWED] = "renewed", [CL_MANAGE_REDEPLOYED] = "redeployed",
		[CL_MANAGE_ROLLED_BACK] = "rolled-back", [CL_MANAGE_WOULD] = "would",
		[CL_MANAGE_BACKING_OFF] = "backing-off", [CL_MANAGE_FAILED] = "failed",
		[CL_MANAGE_SKIPPED] = "skipped",
	};

	return (unsigned)o < CL_ARRAY_LEN(n) && n[o] ? n[o] : "unknown";
}

const char *cl_manage_action_name(enum cl_manage_action a)
{
	static const char *const n[] = {
		[CL_MANAGE_KEEP_CURRENT] = "keep", [CL_MANAGE_ISSUE] = "issue",
		[CL_MANAGE_RENEW] = "renew", [CL_MANAGE_REDEPLOY] = "redeploy",
		[CL_MANAGE_WAIT] = "wait",
	};

	return (unsigned)a < CL_ARRAY_LEN(n) && n[a] ? n[a] : "unknown";
}
