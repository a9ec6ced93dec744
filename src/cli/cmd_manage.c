/*
 * certledger apply | renew | rollback | managed: managed certificates as
 * code (src/manage, docs/managed.md).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cli.h"
#include "core/log.h"
#include "ca/ca.h"
#include "core/util.h"
#include "manage/manage.h"

enum { O_DRY_RUN = 1, O_FORCE, O_WORKERS };

static const struct option run_opts[] = {
	{ "dry-run", no_argument, NULL, O_DRY_RUN },
	{ "force", no_argument, NULL, O_FORCE },
	{ "workers", required_argument, NULL, O_WORKERS },
	{ 0 },
};

/* Where ACME account keys go by default: beside the inventory. */
static void state_dir(struct cl_cli *cli, char *buf, size_t len)
{
	char tmp[PATH_MAX];

	if (!cli->db)
		cli->db = cl_store_default_path(cli->dbbuf, sizeof cli->dbbuf);
	snprintf(tmp, sizeof tmp, "%s", strncmp(cli->db, "sqlite:", 7) == 0 ? cli->db + 7 : cli->db);
	snprintf(buf, len, "%s", dirname(tmp));
}

static const char *when(char *buf, size_t len, int64_t t)
{
	if (t <= 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	return cl_time_fmt(buf, len, t);
}

/* ---- results ----------------------------------------------------------------------------- */

/* A result kept for the grouped summary (renew), owned. */
struct kept {
	char *name, *reason, *error, *hook_error;
	enum cl_manage_outcome outcome;
	int64_t not_after, due_at, next_attempt;
	int failures, version;
};

struct out {
	const char *cmd;
	bool quiet, group;         /* group: keep for the summary (renew) */
	bool dry_run;
	struct kept *v;
	size_t n, cap;
	long failing, hooks_failed;
};

static void print_line(const struct cl_manage_result *r, bool dry_run)
{
	char a[40], b[40];
	const char *o = cl_manage_outcome_name(r->outcome);

	switch (r->outcome) {
	case CL_MANAGE_ISSUED:
	case CL_MANAGE_RENEWED:
	case CL_MANAGE_REDEPLOYED:
	case CL_MANAGE_ROLLED_BACK:
		printf("%-24s %-12s v%d, expires %s (%s)\n", r->name, o, r->version,
		       when(a, sizeof a, r->not_after), r->reason);
		break;
	case CL_MANAGE_UNCHANGED:
		printf("%-24s %-12s expires %s, renewal due %s\n", r->name, o,
		       when(a, sizeof a, r->not_after), when(b, sizeof b, r->due_at));
		break;
	case CL_MANAGE_WOULD:
		printf("%-24s %-12s %s: %s%s\n", r->name, dry_run ? "would" : o,
		       cl_manage_action_name(r->action), r->reason, dry_run ? " (--dry-run)" : "");
		break;
	case CL_MANAGE_BACKING_OFF:
		printf("%-24s %-12s %d failure%s, next attempt %s (--force tries now)\n", r->name, o,
		       r->failures, r->failures == 1 ? "" : "s", when(a, sizeof a, r->next_attempt));
		break;
	case CL_MANAGE_FAILED:
		printf("%-24s %-12s %s", r->name, o, r->error ? r->error : "?");
		if (!dry_run)
			printf(" (next attempt %s)", when(a, sizeof a, r->next_attempt));
		putchar('\n');
		break;
	default:
		printf("%-24s %-12s %s\n", r->name, o, r->reason);
	}
	if (r->hook_error)
		printf("%-24s %-12s %s (the new files stay)\n", r->name, "hook-failed", r->hook_error);
}

static void on_result(void *arg, const struct cl_manage_result *r)
{
	struct out *o = arg;
	struct kept *k;

	if (r->outcome == CL_MANAGE_FAILED || r->outcome == CL_MANAGE_BACKING_OFF)
		o->failing++;
	if (r->hook_error)
		o->hooks_failed++;
	if (!o->group) {
		if (!o->quiet || r->outcome == CL_MANAGE_FAILED || r->hook_error)
			print_line(r, o->dry_run);
		fflush(stdout);
		return;
	}
	if (CL_GROW(o->v, o->cap, o->n + 1) != CL_OK)
		return;
	k = &o->v[o->n++];
	memset(k, 0, sizeof *k);
	k->name = strdup(r->name);
	k->reason = strdup(r->reason ? r->reason : "");
	k->error = r->error ? strdup(r->error) : NULL;
	k->hook_error = r->hook_error ? strdup(r->hook_error) : NULL;
	k->outcome = r->outcome;
	k->not_after = r->not_after;
	k->due_at = r->due_at;
	k->next_attempt = r->next_attempt;
	k->failures = r->failures;
	k->version = r->version;
}

static void out_free(struct out *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		free(o->v[i].name);
		free(o->v[i].reason);
		free(o->v[i].error);
		free(o->v[i].hook_error);
	}
	free(o->v);
}

/* The grouped summary of renew, in the spirit of certbot renew. */
static void print_groups(const struct out *o)
{
	static const struct { enum cl_manage_outcome oc; const char *title; } g[] = {
		{ CL_MANAGE_RENEWED, "Renewed" }, { CL_MANAGE_ISSUED, "Issued (spec changed or none yet)" },
		{ CL_MANAGE_REDEPLOYED, "Redeployed (the output changed)" },
		{ CL_MANAGE_WOULD, "Would renew (--dry-run: nothing was changed)" },
		{ CL_MANAGE_UNCHANGED, "Not due for renewal yet" },
		{ CL_MANAGE_SKIPPED, "Skipped" },
		{ CL_MANAGE_BACKING_OFF, "Backing off after failures (--force tries now)" },
		{ CL_MANAGE_FAILED, "Failed" },
	};
	char a[40], b[40];
	size_t i, k;
	long count[CL_ARRAY_LEN(g)] = { 0 };

	for (i = 0; i < CL_ARRAY_LEN(g); i++) {
		bool head = false;
		for (k = 0; k < o->n; k++) {
			const struct kept *r = &o->v[k];
			if (r->outcome != g[i].oc)
				continue;
			count[i]++;
			if (o->quiet && r->outcome != CL_MANAGE_FAILED)
				continue;
			if (!head) {
				printf("%s:\n", g[i].title);
				head = true;
			}
			switch (r->outcome) {
			case CL_MANAGE_RENEWED:
			case CL_MANAGE_ISSUED:
			case CL_MANAGE_REDEPLOYED:
				printf("  %-24s v%d, expires %s (%s)\n", r->name, r->version,
				       when(a, sizeof a, r->not_after), r->reason);
				break;
			case CL_MANAGE_UNCHANGED:
				printf("  %-24s expires %s, renewal due %s\n", r->name,
				       when(a, sizeof a, r->not_after), when(b, sizeof b, r->due_at));
				break;
			case CL_MANAGE_BACKING_OFF:
				printf("  %-24s %d failure%s, next attempt %s\n", r->name, r->failures,
				       r->failures == 1 ? "" : "s", when(a, sizeof a, r->next_attempt));
				break;
			case CL_MANAGE_FAILED:
				printf("  %-24s %s\n", r->name, r->error ? r->error : "?");
				break;
			default:
				printf("  %-24s %s\n", r->name, r->reason);
			}
		}
	}
	for (k = 0; k < o->n; k++)
		if (o->v[k].hook_error) {
			if (k == 0 || !o->v[k - 1].hook_error)
				printf("Deploy hooks failed (the new files stay):\n");
			printf("  %-24s %s\n", o->v[k].name, o->v[k].hook_error);
		}
	if (o->quiet)
		return;
	printf("%s%ld renewed, %ld issued, %ld not due, %ld failed",
	       o->n ? "\n" : "", count[0], count[1], count[4], count[7] + count[6]);
	if (count[3])
		printf(", %ld would be renewed", count[3]);
	if (o->hooks_failed)
		printf(", %ld deploy hook%s failed", o->hooks_failed, o->hooks_failed == 1 ? "" : "s");
	putchar('\n');
}

/* Exit status of a run: 3 when anything failed (issuance, backoff, hooks). */
static int exit_of(const struct out *o, int rc)
{
	if (rc == CL_ERR_INTERRUPTED)
		return 130;
	if (rc != CL_OK)
		return cl_cli_exit_for(rc) == CL_EXIT_OK ? CL_EXIT_RUNTIME : cl_cli_exit_for(rc);
	return o->failing || o->hooks_failed ? CL_EXIT_RUNTIME : CL_EXIT_OK;
}

/* ---- options ------------------------------------------------------------------------------ */

struct run_args {
	bool dry_run, force;
	int workers;
};

/* Parses the options of apply/renew; returns -1 to go on, else an exit code. */
static int run_options(struct cl_cli *cli, const char *cmd, int argc, char **argv,
                       struct run_args *a, const struct option *opts)
{
	char *end;
	long n;
	int opt;

	memset(a, 0, sizeof *a);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(opts, false), NULL)) != -1) {
		switch (opt) {
		case O_DRY_RUN: a->dry_run = true; break;
		case O_FORCE: a->force = true; break;
		case O_WORKERS:
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || n < 1 || n > 256)
				return cl_cli_usage(cmd, "--workers needs a number from 1 to 256");
			a->workers = (int)n;
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find(cmd)); return CL_EXIT_OK;
		default: return cl_cli_usage(cmd, "unknown option");
		}
	}
	return -1;
}

/* ---- apply -------------------------------------------------------------------------------- */

int cl_cmd_apply(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_manage_spec *spec = NULL, *abs = NULL;
	struct cl_manage_stats st;
	struct cl_store *s = NULL;
	struct run_args a;
	struct out o = { .cmd = "apply", .quiet = cli->quiet };
	struct cl_manage_opts mo = { 0 };
	char err[2048], dir[PATH_MAX], real[PATH_MAX];
	int rc;

	if ((rc = run_options(cli, "apply", argc, argv, &a, run_opts)) >= 0)
		return rc;
	if (optind >= argc)
		return cl_cli_usage("apply", "the spec file is missing");
	if (optind + 1 < argc)
		return cl_cli_usage("apply", "unexpected argument '%s' (one spec file; it may hold "
		                    "many documents)", argv[optind + 1]);
	if ((rc = cl_manage_spec_load(&spec, argv[optind], err, sizeof err)) != CL_OK) {
		fprintf(stderr, "certledger apply: %s\n", err);
		return rc == CL_ERR_PARSE || rc == CL_ERR_TOOBIG ? CL_EXIT_USAGE : CL_EXIT_RUNTIME;
	}
	/* the spec is known by its absolute path: renew finds it from anywhere */
	if (realpath(argv[optind], real) && strcmp(real, spec->source) != 0) {
		if ((rc = cl_manage_spec_parse(&abs, spec->text, spec->len, real, err, sizeof err))
		    != CL_OK) {
			fprintf(stderr, "certledger apply: %s\n", err);
			cl_manage_spec_free(spec);
			return CL_EXIT_RUNTIME;
		}
		cl_manage_spec_free(spec);
		spec = abs;
	}
	if ((rc = cl_cli_open(cli, 0, &s)) != CL_OK) {
		cl_manage_spec_free(spec);
		return cl_cli_exit_for(rc);
	}
	state_dir(cli, dir, sizeof dir);
	o.dry_run = a.dry_run;
	mo.dry_run = a.dry_run;
	mo.force = a.force;
	mo.workers = a.workers;
	mo.record_spec = true;
	mo.state_dir = dir;
	mo.stop = &cl_interrupted;
	mo.report = on_result;
	mo.report_arg = &o;
	rc = cl_manage_reconcile(s, spec, &mo, &st, err, sizeof err);
	if (rc != CL_OK && rc != CL_ERR_INTERRUPTED)
		cl_log(CL_LOG_ERROR, "%s", err);
	if (!cli->quiet && a.dry_run)
		printf("--dry-run: %ld would change, %ld unchanged, %ld failing; nothing was "
		       "changed\n", st.would, st.unchanged, st.failed + st.backing_off);
	else if (!cli->quiet)
		printf("%ld issued, %ld renewed, %ld redeployed, %ld unchanged, %ld failed (%.2f s)\n",
		       st.issued, st.renewed, st.redeployed, st.unchanged, st.failed + st.backing_off,
		       st.seconds);
	cl_store_close(s);
	cl_manage_spec_free(spec);
	return exit_of(&o, rc);
}

/* ---- renew ------------------------------------------------------------------------------- */

struct spec_text {
	char *source, *text;
};

struct specs {
	struct spec_text *v;
	size_t n, cap;
};

static int add_spec(void *arg, const char *source, const char *text, int64_t applied_at)
{
	struct specs *l = arg;
	struct spec_text *t;

	(void)applied_at;
	if (CL_GROW(l->v, l->cap, l->n + 1) != CL_OK)
		return CL_ERR_NOMEM;
	t = &l->v[l->n];
	if (!(t->source = strdup(source)) || !(t->text = strdup(text))) {
		free(t->source);
		return CL_ERR_NOMEM;
	}
	l->n++;
	return CL_OK;
}

static void specs_free(struct specs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].source);
		free(l->v[i].text);
	}
	free(l->v);
}

struct names_check {
	char **names;
	int n;
	bool *found;
	char **source;         /* of each name, for rollback */
};

static int check_name(void *arg, const struct cl_managed_row *r)
{
	struct names_check *c = arg;

	for (int i = 0; i < c->n; i++)
		if (strcmp(c->names[i], r->name) == 0 && r->source && *r->source) {
			c->found[i] = true;
			if (c->source && !c->source[i] && !(c->source[i] = strdup(r->source)))
				return CL_ERR_NOMEM;
		}
	return CL_OK;
}

int cl_cmd_renew(struct cl_cli *cli, int argc, char **argv)
{
	struct specs l = { 0 };
	struct cl_store *s = NULL;
	struct run_args a;
	struct out o = { .cmd = "renew", .quiet = cli->quiet, .group = true };
	struct cl_manage_opts mo = { 0 };
	struct names_check nc = { 0 };
	char err[2048], dir[PATH_MAX];
	int rc, i, missing = 0, worst = CL_OK;
	size_t k;

	if ((rc = run_options(cli, "renew", argc, argv, &a, run_opts)) >= 0)
		return rc;
	if ((rc = cl_cli_open(cli, a.dry_run ? CL_STORE_RDONLY : 0, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	nc.names = argv + optind;
	nc.n = argc - optind;
	if (nc.n > 0 && !(nc.found = calloc((size_t)nc.n, sizeof *nc.found))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	if ((rc = cl_store_managed_rows(s, NULL, check_name, &nc)) != CL_OK ||
	    (rc = cl_store_managed_specs(s, add_spec, &l)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", rc == CL_ERR_NOMEM ? "out of memory" : cl_store_errmsg(s));
		goto out;
	}
	for (i = 0; i < nc.n; i++)
		if (!nc.found[i]) {
			fprintf(stderr, "certledger renew: '%s' is not a managed certificate (see "
			        "'certledger managed')\n", nc.names[i]);
			missing++;
		}
	if (missing) {
		rc = CL_ERR_NOTFOUND;
		goto out;
	}
	if (!l.n && !cli->quiet)
		printf("No managed certificates: 'certledger apply SPEC' first.\n");
	state_dir(cli, dir, sizeof dir);
	o.dry_run = a.dry_run;
	mo.dry_run = a.dry_run;
	mo.force = a.force;
	mo.workers = a.workers;
	mo.state_dir = dir;
	mo.stop = &cl_interrupted;
	mo.names = nc.n ? (const char *const *)nc.names : NULL;
	mo.nnames = (size_t)nc.n;
	mo.report = on_result;
	mo.report_arg = &o;
	for (k = 0; k < l.n && !cl_interrupted; k++) {
		struct cl_manage_spec *spec = NULL;
		struct cl_manage_stats st;
		if ((rc = cl_manage_spec_parse(&spec, l.v[k].text, strlen(l.v[k].text), l.v[k].source,
		                               err, sizeof err)) != CL_OK) {
			fprintf(stderr, "certledger renew: the spec as applied: %s\n", err);
			worst = CL_ERR;
			continue;
		}
		rc = cl_manage_reconcile(s, spec, &mo, &st, err, sizeof err);
		cl_manage_spec_free(spec);
		if (rc != CL_OK && rc != CL_ERR_INTERRUPTED)
			cl_log(CL_LOG_ERROR, "%s", err);
		if (rc != CL_OK)
			worst = rc;
	}
	rc = worst;
	print_groups(&o);
out:
	rc = exit_of(&o, rc);
	free(nc.found);
	specs_free(&l);
	out_free(&o);
	cl_store_close(s);
	return rc;
}

/* ---- one managed certificate: rollback, revoke ------------------------------------------- */

/*
 * The spec (as applied, kept in the inventory) that manages name, parsed
 * into *spec. Prints what is wrong; returns CL_OK, CL_ERR_NOTFOUND or an
 * error.
 */
static int spec_of(struct cl_store *s, const char *cmd, const char *name,
                   struct cl_manage_spec **spec)
{
	struct specs l = { 0 };
	struct names_check nc = { 0 };
	char err[2048], *source = NULL, *names[1] = { (char *)(uintptr_t)name };
	bool found = false;
	size_t k;
	int rc;

	*spec = NULL;
	nc.names = names;
	nc.n = 1;
	nc.found = &found;
	nc.source = &source;
	if ((rc = cl_store_managed_rows(s, name, check_name, &nc)) != CL_OK ||
	    (rc = cl_store_managed_specs(s, add_spec, &l)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", rc == CL_ERR_NOMEM ? "out of memory" : cl_store_errmsg(s));
		goto out;
	}
	if (!found) {
		fprintf(stderr, "certledger %s: '%s' is not a managed certificate (see "
		        "'certledger managed')\n", cmd, name);
		rc = CL_ERR_NOTFOUND;
		goto out;
	}
	for (k = 0; k < l.n && strcmp(l.v[k].source, source) != 0; k++)
		;
	if (k == l.n) {
		fprintf(stderr, "certledger %s: the spec of '%s' (%s) is not kept\n", cmd, name,
		        source);
		rc = CL_ERR_NOTFOUND;
		goto out;
	}
	if ((rc = cl_manage_spec_parse(spec, l.v[k].text, strlen(l.v[k].text), source, err,
	                               sizeof err)) != CL_OK) {
		fprintf(stderr, "certledger %s: the spec as applied: %s\n", cmd, err);
		rc = CL_ERR;
	}
out:
	free(source);
	specs_free(&l);
	return rc;
}

static const struct option rollback_opts[] = { { 0 } };

int cl_cmd_rollback(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_manage_spec *spec = NULL;
	struct cl_manage_stats st;
	struct cl_store *s = NULL;
	struct run_args a;
	struct out o = { .cmd = "rollback", .quiet = cli->quiet };
	struct cl_manage_opts mo = { 0 };
	char err[2048], dir[PATH_MAX];
	int rc;

	if ((rc = run_options(cli, "rollback", argc, argv, &a, rollback_opts)) >= 0)
		return rc;
	if (optind >= argc)
		return cl_cli_usage("rollback", "the certificate's name is missing");
	if (optind + 1 < argc)
		return cl_cli_usage("rollback", "unexpected argument '%s'", argv[optind + 1]);
	if ((rc = cl_cli_open(cli, 0, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	if ((rc = spec_of(s, "rollback", argv[optind], &spec)) != CL_OK)
		goto out;
	state_dir(cli, dir, sizeof dir);
	mo.state_dir = dir;
	mo.report = on_result;
	mo.report_arg = &o;
	if ((rc = cl_manage_rollback(s, spec, argv[optind], &mo, &st, err, sizeof err)) != CL_OK)
		fprintf(stderr, "certledger rollback: %s\n", err);
out:
	rc = rc == CL_ERR_NOTFOUND ? CL_EXIT_NOMATCH : exit_of(&o, rc);
	cl_manage_spec_free(spec);
	cl_store_close(s);
	return rc;
}

enum { O_REASON = 100, O_NO_RENEW, O_SPEC };

static const struct option revoke_opts[] = {
	{ "reason", required_argument, NULL, O_REASON },
	{ "no-renew", no_argument, NULL, O_NO_RENEW },
	{ 0 },
};

int cl_cmd_revoke(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_manage_spec *spec = NULL;
	struct cl_manage_revoked rv;
	struct cl_manage_stats st;
	struct cl_store *s = NULL;
	struct out o = { .cmd = "revoke", .quiet = cli->quiet };
	struct cl_manage_opts mo = { 0 };
	char err[2048], dir[PATH_MAX];
	bool renew = true;
	int rc, opt, reason = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(revoke_opts, false), NULL)) != -1) {
		switch (opt) {
		case O_REASON:
			if (cl_ca_reason_parse(optarg, &reason) != CL_OK)
				return cl_cli_usage("revoke", "--reason '%s': give unspecified, keyCompromise, "
				                    "affiliationChanged, superseded, cessationOfOperation or "
				                    "privilegeWithdrawn", optarg);
			break;
		case O_NO_RENEW: renew = false; break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("revoke")); return CL_EXIT_OK;
		default: return cl_cli_usage("revoke", "unknown option");
		}
	}
	if (optind >= argc)
		return cl_cli_usage("revoke", "the certificate's name is missing");
	if (optind + 1 < argc)
		return cl_cli_usage("revoke", "unexpected argument '%s'", argv[optind + 1]);
	if ((rc = cl_cli_open(cli, 0, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	if ((rc = spec_of(s, "revoke", argv[optind], &spec)) != CL_OK)
		goto out;
	state_dir(cli, dir, sizeof dir);
	mo.state_dir = dir;
	mo.report = on_result;
	mo.report_arg = &o;
	rc = cl_manage_revoke(s, spec, argv[optind], reason, renew, &mo, &st, &rv, err, sizeof err);
	if (rc != CL_OK) {
		fprintf(stderr, "certledger revoke: %s\n", err);
	} else if (!cli->quiet) {
		printf("%-24s %-12s serial %s (%s) by Issuer '%s'%s\n", argv[optind], "revoked",
		       rv.serial, cl_ca_reason_name(reason), rv.issuer,
		       rv.replaced ? "; the replacement above is deployed" :
		       "; it is still deployed: renew it (certledger renew --force NAME)");
	}
out:
	rc = rc == CL_ERR_NOTFOUND ? CL_EXIT_NOMATCH : exit_of(&o, rc);
	cl_manage_spec_free(spec);
	cl_store_close(s);
	return rc;
}

/* ---- managed ------------------------------------------------------------------------------- */

static const struct option managed_opts[] = {
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ 0 },
};

struct list {
	enum cl_format fmt;
	int64_t now;
	long rows;
	json_t *arr;
};

static const char *status_of(const struct cl_managed_row *r, int64_t now)
{
	if (!r->source || !*r->source)
		return "released";
	if (r->failures > 0)
		return "failing";
	if (r->hook_pending)
		return "hook-failed";
	if (!r->fp)
		return "pending";
	if (now >= r->not_after)
		return "expired";
	if (r->due_at && now >= r->due_at)
		return "due";
	return "ok";
}

static int list_row(void *arg, const struct cl_managed_row *r)
{
	struct list *l = arg;
	char na[40], due[40], nx[40], la[40], ls[40];
	const char *st = status_of(r, l->now);

	l->rows++;
	when(na, sizeof na, r->fp ? r->not_after : 0);
	when(due, sizeof due, r->fp ? r->due_at : 0);
	when(nx, sizeof nx, r->failures ? r->next_attempt : 0);
	when(la, sizeof la, r->last_attempt);
	when(ls, sizeof ls, r->last_success);
	switch (l->fmt) {
	case CL_FMT_TABLE:
		if (l->rows == 1)
			printf("%-24s %-11s %-20s %-20s %-4s %-20s %-12s %s\n", "NAME", "STATUS",
			       "NOT AFTER", "RENEWAL DUE", "FAIL", "NEXT ATTEMPT", "ISSUER", "LAST ERROR");
		printf("%-24s %-11s %-20s %-20s %-4d %-20s %-12s %.80s\n", r->name, st, na, due,
		       r->failures, nx, r->issuer ? r->issuer : "", r->last_error ? r->last_error : "");
		break;
	case CL_FMT_CSV:
		if (l->rows == 1)
			printf("name,status,fingerprint_sha256,not_after,renewal_due,version,failures,"
			       "next_attempt,last_attempt,last_success,issuer,source,output_dir,"
			       "hook_pending,last_error\n");
		{
			char ver[16], fail[16];
			snprintf(ver, sizeof ver, "%d", r->version);
			snprintf(fail, sizeof fail, "%d", r->failures);
			cl_csv_field(stdout, r->name, true);
			cl_csv_field(stdout, st, false);
			cl_csv_field(stdout, r->fp ? r->fp : "", false);
			cl_csv_field(stdout, r->fp ? na : "", false);
			cl_csv_field(stdout, r->fp ? due : "", false);
			cl_csv_field(stdout, ver, false);
			cl_csv_field(stdout, fail, false);
			cl_csv_field(stdout, r->failures ? nx : "", false);
			cl_csv_field(stdout, r->last_attempt ? la : "", false);
			cl_csv_field(stdout, r->last_success ? ls : "", false);
			cl_csv_field(stdout, r->issuer ? r->issuer : "", false);
			cl_csv_field(stdout, r->source ? r->source : "", false);
			cl_csv_field(stdout, r->out_dir ? r->out_dir : "", false);
			cl_csv_field(stdout, r->hook_pending ? "true" : "false", false);
			cl_csv_field(stdout, r->last_error ? r->last_error : "", false);
			putchar('\n');
		}
		break;
	case CL_FMT_JSON: {
		json_t *o = json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:i,s:i,s:s?,s:s?,s:s?,s:s,s:s,s:s,"
		                      "s:b,s:s?}",
		                      "name", r->name, "status", st, "fingerprint_sha256", r->fp,
		                      "not_after", r->fp ? na : NULL, "renewal_due", r->fp ? due : NULL,
		                      "version", r->version, "failures", r->failures,
		                      "next_attempt", r->failures ? nx : NULL,
		                      "last_attempt", r->last_attempt ? la : NULL,
		                      "last_success", r->last_success ? ls : NULL,
		                      "issuer", r->issuer ? r->issuer : "",
		                      "source", r->source ? r->source : "",
		                      "output_dir", r->out_dir ? r->out_dir : "",
		                      "hook_pending", r->hook_pending, "last_error", r->last_error);
		if (!o || json_array_append_new(l->arr, o) != 0)
			return CL_ERR_NOMEM;
		break;
	}
	}
	return CL_OK;
}

int cl_cmd_managed(struct cl_cli *cli, int argc, char **argv)
{
	struct list l = { .fmt = CL_FMT_TABLE, .now = cl_now() };
	struct cl_store *s = NULL;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(managed_opts, false), NULL))
	       != -1) {
		switch (opt) {
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &l.fmt) != CL_OK)
				return cl_cli_usage("managed", "--format must be table, json or csv");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("managed")); return CL_EXIT_OK;
		default: return cl_cli_usage("managed", "unknown option");
		}
	}
	if (optind + 1 < argc)
		return cl_cli_usage("managed", "unexpected argument '%s'", argv[optind + 1]);
	if ((rc = cl_cli_open(cli, CL_STORE_RDONLY, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	if (l.fmt == CL_FMT_JSON && !(l.arr = json_array())) {
		cl_store_close(s);
		return CL_EXIT_RUNTIME;
	}
	rc = cl_store_managed_rows(s, optind < argc ? argv[optind] : NULL, list_row, &l);
	if (rc != CL_OK)
		cl_log(CL_LOG_ERROR, "%s", rc == CL_ERR_NOMEM ? "out of memory" : cl_store_errmsg(s));
	else if (l.fmt == CL_FMT_JSON) {
		json_dumpf(l.arr, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (l.rows == 0 && l.fmt == CL_FMT_TABLE && !cli->quiet) {
		printf("No managed certificates%s.\n", optind < argc ? " of that name" : "");
	}
	json_decref(l.arr);
	cl_store_close(s);
	if (rc != CL_OK)
		return cl_cli_exit_for(rc);
	return l.rows ? CL_EXIT_OK : CL_EXIT_NOMATCH;
}

/* ---- account ------------------------------------------------------------------------------- */

static const struct option account_opts[] = {
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "spec", required_argument, NULL, O_SPEC },
	{ 0 },
};

/*
 * The Issuer named name: in the spec file given, else in the specs kept in
 * the inventory (one of them must hold it, or all that do must agree on
 * the server and the account key). *spec owns *out.
 */
static int find_issuer(struct cl_store *s, const char *file, const char *name,
                       struct cl_manage_spec **spec, const struct cl_manage_issuer **out)
{
	struct specs l = { 0 };
	struct cl_manage_spec *sp = NULL;
	char err[2048], first[PATH_MAX] = "";
	size_t k, i;
	int rc = CL_OK, found = 0;

	*spec = NULL;
	*out = NULL;
	if (file) {
		if ((rc = cl_manage_spec_load(spec, file, err, sizeof err)) != CL_OK) {
			fprintf(stderr, "certledger account: %s\n", err);
			return rc;
		}
		for (i = 0; i < (*spec)->nissuers; i++)
			if (strcmp((*spec)->issuers[i].name, name) == 0)
				*out = &(*spec)->issuers[i];
		if (!*out) {
			fprintf(stderr, "certledger account: %s has no Issuer '%s'\n", file, name);
			return CL_ERR_NOTFOUND;
		}
		return CL_OK;
	}
	if ((rc = cl_store_managed_specs(s, add_spec, &l)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", rc == CL_ERR_NOMEM ? "out of memory" : cl_store_errmsg(s));
		goto out;
	}
	for (k = 0; k < l.n && rc == CL_OK; k++) {
		if (cl_manage_spec_parse(&sp, l.v[k].text, strlen(l.v[k].text), l.v[k].source, err,
		                         sizeof err) != CL_OK)
			continue;
		for (i = 0; i < sp->nissuers; i++) {
			const struct cl_manage_issuer *is = &sp->issuers[i];
			if (strcmp(is->name, name) != 0)
				continue;
			if (found++ == 0) {
				*spec = sp;
				*out = is;
				snprintf(first, sizeof first, "%s", l.v[k].source);
				sp = NULL;
			} else if (is->acme != (*out)->acme ||
			           (is->acme && (strcmp(is->server, (*out)->server) != 0 ||
			                         (is->account_key == NULL) != ((*out)->account_key == NULL) ||
			                         (is->account_key &&
			                          strcmp(is->account_key, (*out)->account_key) != 0)))) {
				fprintf(stderr, "certledger account: Issuer '%s' differs between %s and %s: "
				        "name the spec with --spec FILE\n", name, first, l.v[k].source);
				rc = CL_ERR_USAGE;
			}
			break;
		}
		cl_manage_spec_free(sp);
		sp = NULL;
	}
	if (rc == CL_OK && !found) {
		fprintf(stderr, "certledger account: no applied spec has an Issuer '%s' (give the spec "
		        "with --spec FILE)\n", name);
		rc = CL_ERR_NOTFOUND;
	}
out:
	if (rc != CL_OK) {
		cl_manage_spec_free(*spec);
		*spec = NULL;
		*out = NULL;
	}
	specs_free(&l);
	return rc;
}

int cl_cmd_account(struct cl_cli *cli, int argc, char **argv)
{
	static const char *const ops[] = { "show", "rollover", "deactivate" };
	enum cl_format fmt = CL_FMT_TABLE;
	const struct cl_manage_issuer *is;
	struct cl_manage_spec *spec = NULL;
	struct cl_manage_account ac;
	struct cl_store *s = NULL;
	const char *file = NULL, *name;
	char err[2048], dir[PATH_MAX];
	int opt, rc, op = -1;
	size_t i;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(account_opts, false), NULL))
	       != -1) {
		switch (opt) {
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &fmt) != CL_OK || fmt == CL_FMT_CSV)
				return cl_cli_usage("account", "--format must be table or json");
			break;
		case O_SPEC: file = optarg; break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("account")); return CL_EXIT_OK;
		default: return cl_cli_usage("account", "unknown option");
		}
	}
	if (argc - optind != 2)
		return cl_cli_usage("account", "give an operation (show, rollover, deactivate) and "
		                    "the Issuer's name");
	for (i = 0; i < CL_ARRAY_LEN(ops); i++)
		if (strcmp(argv[optind], ops[i]) == 0)
			op = (int)i;
	if (op < 0)
		return cl_cli_usage("account", "unknown operation '%s' (show, rollover, deactivate)",
		                    argv[optind]);
	name = argv[optind + 1];
	if ((rc = cl_cli_open(cli, 0, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	if ((rc = find_issuer(s, file, name, &spec, &is)) != CL_OK)
		goto out;
	state_dir(cli, dir, sizeof dir);
	if ((rc = cl_manage_account(is, dir, (enum cl_manage_account_op)op, NULL, &ac, err,
	                            sizeof err)) != CL_OK) {
		fprintf(stderr, "certledger account: %s\n", err);
		goto out;
	}
	if (op != CL_MANAGE_ACCOUNT_SHOW) {
		json_t *j = json_pack("{s:s,s:s,s:s}", "issuer", name, "server", ac.server,
		                      "account", ac.url);
		char *detail = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (cl_store_managed_event(s, op == CL_MANAGE_ACCOUNT_ROLLOVER
		                              ? "manage.account_rolled_over" : "manage.account_deactivated",
		                           name, NULL, detail, cl_now()) != CL_OK)
			cl_log(CL_LOG_WARN, "recording the event: %s", cl_store_errmsg(s));
		free(detail);
		json_decref(j);
	}
	if (fmt == CL_FMT_JSON) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:s?,s:b,s:s?}", "issuer", name,
		                      "server", ac.server, "key_file", ac.key_path,
		                      "key_present", ac.key_present,
		                      "key_type", ac.key_present ? ac.key_type : NULL,
		                      "account_exists", ac.exists, "account_url",
		                      ac.exists ? ac.url : NULL);
		if (o) {
			json_dumpf(o, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(o);
		}
	} else if (!cli->quiet) {
		if (op == CL_MANAGE_ACCOUNT_ROLLOVER)
			printf("account of Issuer '%s' rolled over to a new %s key\n", name, ac.key_type);
		else if (op == CL_MANAGE_ACCOUNT_DEACTIVATE)
			printf("account of Issuer '%s' deactivated; its key is now %s.deactivated and the "
			       "next apply registers a new account\n", name, ac.key_path);
		printf("  server       %s\n  account key  %s (%s)\n  account      %s\n", ac.server,
		       ac.key_path, ac.key_present ? ac.key_type : "not created yet",
		       ac.exists ? ac.url : "none for this key");
	}
out:
	cl_manage_spec_free(spec);
	cl_store_close(s);
	if (rc == CL_ERR_NOTFOUND)
		return CL_EXIT_NOMATCH;
	return cl_cli_exit_for(rc);
}
