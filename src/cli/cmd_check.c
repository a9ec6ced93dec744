/* certledger check [FILTERS]: the policy over the inventory, findings kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cli/cli.h"
#include "core/log.h"
#include "core/util.h"
#include "policy/check.h"
#include "policy/revocation.h"

enum { O_POLICY = 1, O_FAIL_ON, O_EXAMPLES, O_REVOCATION, O_REV_TIMEOUT };

static const struct option check_opts[] = {
	{ "policy", required_argument, NULL, O_POLICY },
	{ "fail-on", required_argument, NULL, O_FAIL_ON },
	{ "examples", required_argument, NULL, O_EXAMPLES },
	{ "revocation", no_argument, NULL, O_REVOCATION },
	{ "revocation-timeout", required_argument, NULL, O_REV_TIMEOUT },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ 0 },
};

/* ---- the report ----------------------------------------------------------------- */

/* Table output: findings grouped by severity, owner and rule, with examples. */
struct group {
	enum cl_sev sev;
	char *owner;
	enum cl_rule rule;
	long n;
	char **ex;
	size_t nex;
};

struct report {
	enum cl_format fmt;
	long examples;
	bool started;           /* evaluation began: the JSON array was opened */
	long rows;              /* JSON objects written */
	struct group *groups;
	size_t ngroups, capgroups;
};

static int group_add(struct report *r, enum cl_sev sev, const char *owner, enum cl_rule rule,
                     const char *line)
{
	struct group *g = NULL;
	size_t i;

	for (i = 0; i < r->ngroups; i++)
		if (r->groups[i].sev == sev && r->groups[i].rule == rule &&
		    strcmp(r->groups[i].owner, owner) == 0) {
			g = &r->groups[i];
			break;
		}
	if (!g) {
		if (CL_GROW(r->groups, r->capgroups, r->ngroups + 1) != CL_OK)
			return CL_ERR_NOMEM;
		g = &r->groups[r->ngroups++];
		memset(g, 0, sizeof *g);
		g->sev = sev;
		g->rule = rule;
		if (!(g->owner = strdup(owner)))
			return CL_ERR_NOMEM;
	}
	g->n++;
	if (r->examples == 0 || (long)g->nex < r->examples) {
		char **ex = realloc(g->ex, (g->nex + 1) * sizeof *ex);
		if (!ex)
			return CL_ERR_NOMEM;
		g->ex = ex;
		if (!(g->ex[g->nex] = strdup(line)))
			return CL_ERR_NOMEM;
		g->nex++;
	}
	return CL_OK;
}

static int on_start(void *arg)
{
	struct report *r = arg;

	r->started = true;
	if (r->fmt == CL_FMT_JSON)
		fputs("[", stdout);
	else if (r->fmt == CL_FMT_CSV)
		fputs("rule,severity,target,fingerprint_sha256,subject,owner,environment,profile,"
		      "found,limit,message,fix\r\n", stdout);
	return CL_OK;
}

static int on_hit(void *arg, const struct cl_check_hit *h)
{
	struct report *r = arg;
	const struct cl_violation *v = h->v;
	const struct cl_policy_row *row = h->row;

	if (r->fmt == CL_FMT_TABLE) {
		const char *owner = row->owner && *row->owner ? row->owner : "(no owner)";
		char line[1200];
		snprintf(line, sizeof line, "%.12s  %s: %s%s%s", h->fp, row->c->subject_cn[0] ?
		         row->c->subject_cn : row->c->subject, v->message, v->where ? " at " : "",
		         v->where ? v->where : "");
		return group_add(r, v->severity, owner, v->rule, line);
	}
	if (r->fmt == CL_FMT_JSON) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:s?,s:s,s:s,s:s,s:s,s:s}",
		                      "rule", h->rule, "severity", cl_sev_name(v->severity),
		                      "target", h->target, "fingerprint_sha256", h->fp,
		                      "subject", row->c->subject, "owner", row->owner,
		                      "environment", row->environment, "profile", h->profile,
		                      "found", v->found ? v->found : "", "limit",
		                      v->limit ? v->limit : "", "message", v->message, "fix", v->fix);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!s)
			return CL_ERR_NOMEM;
		fputs(r->rows++ ? ",\n" : "\n", stdout);
		fputs(s, stdout);
		free(s);
		return CL_OK;
	}
	{
		const char *f[] = { h->rule, cl_sev_name(v->severity), h->target, h->fp,
		                    row->c->subject, row->owner, row->environment, h->profile,
		                    v->found, v->limit, v->message, v->fix };
		for (size_t i = 0; i < CL_ARRAY_LEN(f); i++)
			cl_csv_field(stdout, f[i] ? f[i] : "", i == 0);
		fputs("\r\n", stdout);
	}
	return CL_OK;
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c;

	if (x->sev != y->sev)
		return x->sev > y->sev ? -1 : 1;
	if ((c = strcmp(x->owner, y->owner)) != 0)
		return c;
	return (int)x->rule - (int)y->rule;
}

static void print_groups(struct report *r, const struct cl_check_stats *st)
{
	size_t i, j;
	int sev = -2;
	const char *owner = NULL;

	if (r->ngroups)
		qsort(r->groups, r->ngroups, sizeof *r->groups, group_cmp);
	for (i = 0; i < r->ngroups; i++) {
		const struct group *g = &r->groups[i];
		if ((int)g->sev != sev) {
			char up[16];
			snprintf(up, sizeof up, "%s", cl_sev_name(g->sev));
			for (char *p = up; *p; p++)
				*p = (char)(*p - 32 * (*p >= 'a' && *p <= 'z'));
			printf("%s%s (%ld)\n", i ? "\n" : "", up, st->by_sev[g->sev]);
			sev = g->sev;
			owner = NULL;
		}
		if (!owner || strcmp(owner, g->owner) != 0) {
			printf("  %s\n", g->owner);
			owner = g->owner;
		}
		printf("    policy.%s (%ld): %s\n", cl_rules[g->rule].name, g->n,
		       cl_rules[g->rule].summary);
		for (j = 0; j < g->nex; j++)
			printf("      %s\n", g->ex[j]);
		if ((long)g->nex < g->n)
			printf("      ... and %ld more (certledger findings --rule policy.%s)\n",
			       g->n - (long)g->nex, cl_rules[g->rule].name);
		printf("      fix: %s\n", cl_rules[g->rule].fix);
	}
}

static void report_free(struct report *r)
{
	for (size_t i = 0; i < r->ngroups; i++) {
		for (size_t j = 0; j < r->groups[i].nex; j++)
			free(r->groups[i].ex[j]);
		free(r->groups[i].ex);
		free(r->groups[i].owner);
	}
	free(r->groups);
}

int cl_cmd_check(struct cl_cli *cli, int argc, char **argv)
{
	struct report r = { .fmt = CL_FMT_TABLE, .examples = 5 };
	struct cl_check_opts o = { .on_start = on_start, .on_hit = on_hit, .arg = &r,
	                           .revocation_timeout_ms = CL_REV_DEFAULT_TIMEOUT_MS };
	struct cl_check_stats st = { .worst = -1 };
	enum cl_sev fail_on = CL_SEV_ERROR;
	struct cl_store *s = NULL;
	struct cl_policy *pol = NULL;
	struct cl_filter f;
	const char *policy = NULL;
	char err[600], *end, cache_dir[4200];
	int opt, rc, frc;

	cl_filter_init(&f);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(check_opts, true), NULL)) != -1) {
		switch (opt) {
		case O_POLICY: policy = optarg; break;
		case O_FAIL_ON:
			if (cl_sev_parse(optarg, &fail_on) != CL_OK || fail_on == CL_SEV_OFF)
				return cl_cli_usage("check", "--fail-on must be info, warning, error or "
				                    "critical");
			break;
		case O_EXAMPLES:
			r.examples = strtol(optarg, &end, 10);
			if (*end || r.examples < 0)
				return cl_cli_usage("check", "--examples needs a number >= 0 (0: all)");
			break;
		case O_REVOCATION: o.revocation = true; break;
		case O_REV_TIMEOUT: {
			int64_t secs;
			char *ms = strstr(optarg, "ms");
			if (ms && ms[2] == '\0') {
				o.revocation_timeout_ms = (int)strtol(optarg, &end, 10);
				if (end != ms || o.revocation_timeout_ms <= 0)
					return cl_cli_usage("check", "--revocation-timeout: '%s' is not a "
					                    "timeout (500ms, 5s)", optarg);
			} else if (cl_duration_parse(optarg, &secs) == CL_OK && secs > 0 &&
			           secs < 3600) {
				o.revocation_timeout_ms = (int)secs * 1000;
			} else {
				return cl_cli_usage("check", "--revocation-timeout: '%s' is not a timeout "
				                    "(500ms, 5s)", optarg);
			}
			break;
		}
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &r.fmt) != CL_OK)
				return cl_cli_usage("check", "--format must be table, json or csv");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("check")); return CL_EXIT_OK;
		default:
			frc = cl_filter_option("check", &f, opt, optarg);
			if (frc == CL_ERR_USAGE)
				return CL_EXIT_USAGE;
			if (frc != CL_OK)
				return cl_cli_usage("check", "unknown option");
		}
	}
	if (optind < argc)
		return cl_cli_usage("check", "unexpected argument '%s'", argv[optind]);
	if ((rc = cl_policy_load(&pol, policy, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", err);
		return rc == CL_ERR_IO ? CL_EXIT_RUNTIME : CL_EXIT_USAGE;
	}
	o.policy = pol;
	o.filter = &f;
	o.args = policy ? policy : "built-in default";
	o.stop = &cl_interrupted;
	if ((rc = cl_cli_open(cli, 0, &s)) != CL_OK)
		goto out;
	if (o.revocation) {
		/* downloaded CRLs are kept beside the inventory until nextUpdate */
		const char *db = strncmp(cli->db, "sqlite:", 7) == 0 ? cli->db + 7 : cli->db;
		const char *slash = strrchr(db, '/');
		snprintf(cache_dir, sizeof cache_dir, "%.*s%scrl-cache",
		         slash ? (int)(slash - db) : 0, db, slash ? "/" : "");
		o.crl_cache_dir = cache_dir;
	}
	rc = cl_policy_check(s, &o, &st);
	if (r.started && r.fmt == CL_FMT_JSON)
		fputs(r.rows ? "\n]\n" : "]\n", stdout);
	if (rc != CL_OK) {
		const char *why = rc == CL_ERR_INTERRUPTED || rc == CL_ERR_NOMEM ?
		                  cl_strerror(rc) : cl_store_errmsg(s);
		if (*why)
			cl_log(CL_LOG_ERROR, "%s", why);
		goto out;
	}
	if (r.fmt == CL_FMT_TABLE) {
		print_groups(&r, &st);
		printf("%schecked %ld certificate%s against %s: %ld critical, %ld error, %ld warning, "
		       "%ld info; %ld finding%s opened, %ld resolved\n", r.ngroups ? "\n" : "",
		       st.certs, st.certs == 1 ? "" : "s", pol->source, st.by_sev[CL_SEV_CRITICAL],
		       st.by_sev[CL_SEV_ERROR], st.by_sev[CL_SEV_WARNING], st.by_sev[CL_SEV_INFO],
		       st.opened, st.opened == 1 ? "" : "s", st.resolved);
		if (o.revocation)
			printf("revocation: %ld good, %ld revoked, %ld unknown, %ld unreachable; %ld "
			       "without OCSP or CRL, %ld whose issuer is not in the inventory\n",
			       st.rev[CL_REV_GOOD], st.rev[CL_REV_REVOKED], st.rev[CL_REV_UNKNOWN],
			       st.rev[CL_REV_UNREACHABLE], st.rev[CL_REV_NONE], st.rev_noissuer);
	}
	fflush(stdout);
out:
	cl_store_close(s);
	report_free(&r);
	cl_policy_free(pol);
	if (rc != CL_OK)
		return cl_cli_exit_for(rc);
	return st.worst >= (int)fail_on ? CL_EXIT_NOMATCH : CL_EXIT_OK;
}
