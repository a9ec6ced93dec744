/* certledger lint FILE...; certledger explain RULE; certledger policy show-default|validate */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include "cli/cli.h"
#include "core/log.h"
#include "core/util.h"
#include "policy/policy.h"
#include "report/policy_report.h"
#include "x509/load.h"

#define LINT_MAX_BYTES (64u << 20)

enum { O_POLICY = 1, O_PROFILE, O_ENV, O_TAG, O_OWNER, O_FAIL_ON, O_NOW, O_PASSFILE };

static const struct option lint_opts[] = {
	{ "policy", required_argument, NULL, O_POLICY },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "env", required_argument, NULL, O_ENV },
	{ "tag", required_argument, NULL, O_TAG },
	{ "owner", required_argument, NULL, O_OWNER },
	{ "fail-on", required_argument, NULL, O_FAIL_ON },
	{ "now", required_argument, NULL, O_NOW },
	{ "password-file", required_argument, NULL, O_PASSFILE },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ 0 },
};

enum lint_fmt { LF_TEXT, LF_JSON, LF_SARIF, LF_JUNIT };

struct lint {
	const struct cl_policy *pol;
	const struct cl_profile *forced;
	const char *env, *tag, *owner;
	int64_t now;
	struct cl_lint_cert *certs;
	size_t ncerts, capcerts;
	struct cl_lint_finding *f;
	size_t nf, capf;
	struct cl_cert **parsed;          /* kept for the shared-key pass */
	size_t capparsed;
	size_t cur;                       /* the certificate being evaluated */
	char **files;                     /* owned names */
	size_t nfiles, capfiles;
	int worst;                        /* highest severity found, -1 none */
	int bad_input;
};

static int add_finding(void *arg, const struct cl_violation *v)
{
	struct lint *l = arg;
	struct cl_lint_finding *f;
	const struct cl_lint_cert *c = &l->certs[l->cur];

	if (CL_GROW(l->f, l->capf, l->nf + 1) != CL_OK)
		return CL_ERR_NOMEM;
	f = &l->f[l->nf];
	memset(f, 0, sizeof *f);
	f->cert = l->cur;
	f->file = c->file;
	f->subject = c->subject;
	memcpy(f->fp, c->fp, sizeof f->fp);
	f->rule = v->rule;
	f->severity = v->severity;
	f->found = strdup(v->found ? v->found : "");
	f->limit = strdup(v->limit ? v->limit : "");
	f->message = strdup(v->message);
	f->where = v->where ? strdup(v->where) : NULL;
	f->fix = v->fix;
	if (!f->found || !f->limit || !f->message || (v->where && !f->where)) {
		free(f->found);
		free(f->limit);
		free(f->message);
		free(f->where);
		return CL_ERR_NOMEM;
	}
	l->nf++;
	if ((int)v->severity > l->worst)
		l->worst = v->severity;
	return CL_OK;
}

/* Reads a file (or stdin for "-") up to LINT_MAX_BYTES. */
static unsigned char *slurp(const char *path, size_t *len, int *mode, char *err, size_t errlen)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;
	struct stat st;
	ssize_t k;

	*mode = -1;
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == 0 && fd != STDIN_FILENO) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "is a directory (use discover files for trees)");
			close(fd);
			return NULL;
		}
		*mode = (int)(st.st_mode & 07777);
	}
	for (;;) {
		if (n == cap) {
			unsigned char *nb;
			if (cap >= LINT_MAX_BYTES) {
				snprintf(err, errlen, "larger than %u MiB", LINT_MAX_BYTES >> 20);
				OPENSSL_clear_free(buf, cap);
				buf = NULL;
				break;
			}
			cap = cap ? cap * 2 : 65536;
			if (!(nb = OPENSSL_clear_realloc(buf, n, cap))) {
				snprintf(err, errlen, "out of memory");
				OPENSSL_clear_free(buf, n);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			OPENSSL_clear_free(buf, cap);
			buf = NULL;
			break;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	*len = n;
	return buf;
}

/*
 * Presented order: each certificate is followed by its issuer. The file is
 * out of order when a certificate's issuer is in the file (before or after
 * it) but is not the next certificate: [leaf], [leaf, int] and [leaf, int,
 * root] are in order; [leaf, root, int] and [int, leaf] are not. A
 * self-signed certificate is its own issuer and needs nothing after it.
 */
static bool bundle_out_of_order(const struct cl_load_result *r)
{
	size_t i, k;

	for (i = 0; i < r->ncerts; i++) {
		const struct cl_cert *c = r->certs[i].cert;
		if (strcmp(c->subject, c->issuer) == 0)
			continue;
		if (i + 1 < r->ncerts && strcmp(r->certs[i + 1].cert->subject, c->issuer) == 0)
			continue;
		for (k = 0; k < r->ncerts; k++)
			if (k != i && strcmp(r->certs[k].cert->subject, c->issuer) == 0)
				return true;
	}
	return false;
}

static int lint_file(struct lint *l, const char *path, const struct cl_load_opts *lo,
                     bool quiet)
{
	struct cl_load_result r;
	unsigned char *buf;
	char err[256], *name;
	size_t len = 0, i, k;
	int mode, rc = CL_OK;
	bool out_of_order;

	if (!(buf = slurp(path, &len, &mode, err, sizeof err))) {
		cl_log(CL_LOG_ERROR, "%s: %s", path, err);
		l->bad_input++;
		return CL_OK;
	}
	cl_load_buffer(buf, len, lo, &r);
	OPENSSL_clear_free(buf, len);
	if (r.ncerts == 0 && r.nkeys == 0) {
		cl_log(CL_LOG_ERROR, "%s: %s", path, r.problem[0] ? r.problem :
		       "no certificate or key found");
		l->bad_input++;
		cl_load_result_free(&r);
		return CL_OK;
	}
	if (r.status != CL_OK && !quiet)
		cl_log(CL_LOG_WARN, "%s: %s", path, r.problem);
	if (CL_GROW(l->files, l->capfiles, l->nfiles + 1) != CL_OK ||
	    !(name = strdup(strcmp(path, "-") == 0 ? "(stdin)" : path))) {
		cl_load_result_free(&r);
		return CL_ERR_NOMEM;
	}
	l->files[l->nfiles++] = name;
	out_of_order = r.ncerts > 1 && bundle_out_of_order(&r);
	for (i = 0; i < r.ncerts && rc == CL_OK; i++) {
		struct cl_cert *c = r.certs[i].cert;
		struct cl_eval_ctx ctx = { .now = l->now, .key_mode = -1 };
		const struct cl_profile *pr = l->forced;
		char ifp[2 * CL_SHA256_LEN + 1], ispki[2 * CL_SHA256_LEN + 1];
		struct cl_lint_cert *lc;
		char tags[300];

		if (CL_GROW(l->certs, l->capcerts, l->ncerts + 1) != CL_OK ||
		    CL_GROW(l->parsed, l->capparsed, l->ncerts + 1) != CL_OK) {
			rc = CL_ERR_NOMEM;
			break;
		}
		if (!pr) {
			snprintf(tags, sizeof tags, ",%s,", l->tag ? l->tag : "");
			const char *loc[1];
			char locbuf[4200];
			snprintf(locbuf, sizeof locbuf, "file:%s", name);
			loc[0] = locbuf;
			pr = cl_policy_select(l->pol, l->env, l->owner, l->tag ? tags : NULL, loc, 1);
		}
		lc = &l->certs[l->ncerts];
		lc->file = name;
		lc->subject = c->subject;
		lc->profile = pr->name;
		cl_hex(lc->fp, c->fp, CL_SHA256_LEN);
		l->parsed[l->ncerts] = c;
		r.certs[i].cert = NULL;  /* kept until the end */
		l->cur = l->ncerts++;
		/* a key in the same file: its permissions matter */
		for (k = 0; k < r.nkeys; k++)
			if (r.keys[k].have_spki &&
			    memcmp(r.keys[k].spki_sha256, c->spki_sha256, CL_SHA256_LEN) == 0) {
				ctx.key_mode = mode;
				ctx.key_location = name;
			}
		/* the issuer, when the same file holds it (a full chain) */
		for (k = 0; k < r.ncerts; k++) {
			const struct cl_cert *o = k < i ? l->parsed[l->ncerts - 1 - (i - k)] :
			                          r.certs[k].cert;
			if (k != i && o && o->is_ca && strcmp(o->subject, c->issuer) == 0) {
				cl_hex(ifp, o->fp, CL_SHA256_LEN);
				cl_hex(ispki, o->spki_sha256, CL_SHA256_LEN);
				ctx.issuer_fp = ifp;
				ctx.issuer_spki = ispki;
				break;
			}
		}
		if (i == 0 && out_of_order) {
			ctx.verify = "wrong-order";
			ctx.endpoint = name;
			ctx.verify_detail = "the file's certificates are not each followed by their issuer";
		}
		rc = cl_policy_eval(pr, c, &ctx, add_finding, l);
	}
	cl_load_result_free(&r);
	return rc;
}

/* Orders certificate indexes by key, then fingerprint. */
static const struct lint *sort_lint;

static int by_key(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = memcmp(sort_lint->parsed[x]->spki_sha256, sort_lint->parsed[y]->spki_sha256,
	               CL_SHA256_LEN);

	return c ? c : strcmp(sort_lint->certs[x].fp, sort_lint->certs[y].fp);
}

/*
 * Keys shared between different certificates of the files (a copy of the
 * same certificate in two files does not count): sorted by key, so
 * n log n for large CI trees.
 */
static int shared_keys(struct lint *l)
{
	size_t *ix, g, e, i, k;
	int rc = CL_OK;

	if (l->ncerts < 2)
		return CL_OK;
	if (!(ix = malloc(l->ncerts * sizeof *ix)))
		return CL_ERR_NOMEM;
	for (i = 0; i < l->ncerts; i++)
		ix[i] = i;
	sort_lint = l;
	qsort(ix, l->ncerts, sizeof *ix, by_key);
	for (g = 0; g < l->ncerts && rc == CL_OK; g = e) {
		for (e = g + 1; e < l->ncerts && memcmp(l->parsed[ix[e]]->spki_sha256,
		                                        l->parsed[ix[g]]->spki_sha256,
		                                        CL_SHA256_LEN) == 0; e++)
			;
		for (i = g; i < e && rc == CL_OK && e - g > 1; i++) {
			size_t same = 0;
			for (k = g; k < e; k++)
				same += strcmp(l->certs[ix[k]].fp, l->certs[ix[i]].fp) == 0;
			if (e - g - same > 0) {
				struct cl_eval_ctx ctx = { .now = l->now, .key_mode = -1,
				                           .shared_certs = (long)(e - g - same) };
				const struct cl_profile *pr = l->forced ? l->forced :
				                              cl_policy_profile(l->pol, l->certs[ix[i]].profile);
				l->cur = ix[i];
				rc = cl_policy_eval_context(pr, &ctx, add_finding, l);
			}
		}
	}
	free(ix);
	return rc;
}

static void print_text(const struct lint *l, enum cl_sev fail_on)
{
	size_t i, k, counts[4] = { 0 };

	for (k = 0; k < l->ncerts; k++) {
		bool header = false;
		for (i = 0; i < l->nf; i++) {
			const struct cl_lint_finding *f = &l->f[i];
			if (f->cert != k)
				continue;
			if (!header) {
				printf("%s: %s (%.12s, profile %s)\n", l->certs[k].file, l->certs[k].subject,
				       l->certs[k].fp, l->certs[k].profile);
				header = true;
			}
			printf("  %-8s  %-26s %s\n  %-8s  %-26s fix: %s\n", cl_sev_name(f->severity),
			       cl_rules[f->rule].name, f->message, "", "", f->fix);
			counts[f->severity]++;
		}
	}
	printf("%zu certificate%s in %zu file%s: %zu critical, %zu error, %zu warning, %zu info"
	       " (failing at %s)\n", l->ncerts, l->ncerts == 1 ? "" : "s", l->nfiles,
	       l->nfiles == 1 ? "" : "s", counts[CL_SEV_CRITICAL], counts[CL_SEV_ERROR],
	       counts[CL_SEV_WARNING], counts[CL_SEV_INFO], cl_sev_name(fail_on));
}

static int print_json(const struct lint *l, enum cl_sev fail_on)
{
	json_t *arr = json_array(), *certs = json_array(), *root;
	size_t i;
	int rc;

	for (i = 0; i < l->ncerts; i++)
		json_array_append_new(certs, json_pack("{s:s,s:s,s:s,s:s}", "file", l->certs[i].file,
		                                       "fingerprint_sha256", l->certs[i].fp, "subject",
		                                       l->certs[i].subject, "profile",
		                                       l->certs[i].profile));
	for (i = 0; i < l->nf; i++) {
		const struct cl_lint_finding *f = &l->f[i];
		char rule[64];
		snprintf(rule, sizeof rule, "policy.%s", cl_rules[f->rule].name);
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s?}",
		                                     "file", f->file, "fingerprint_sha256", f->fp,
		                                     "subject", f->subject, "rule", rule,
		                                     "severity", cl_sev_name(f->severity),
		                                     "found", f->found, "limit", f->limit,
		                                     "message", f->message, "fix", f->fix,
		                                     "where", f->where));
	}
	root = json_pack("{s:s,s:s,s:o,s:o,s:b}", "policy", l->pol->source, "fail_on",
	                 cl_sev_name(fail_on), "certificates", certs, "findings", arr,
	                 "passed", l->worst < (int)fail_on);
	rc = root && json_dumpf(root, stdout, JSON_INDENT(2)) == 0 ? CL_OK : CL_ERR_NOMEM;
	putchar('\n');
	json_decref(root);
	return rc;
}

int cl_cmd_lint(struct cl_cli *cli, int argc, char **argv)
{
	struct lint l = { .worst = -1 };
	struct cl_policy *pol = NULL;
	struct cl_load_opts lo = { 0 };
	const char *policy = NULL, *profile = NULL, *pwfile = NULL, *passwords[17], *env;
	char *owned[16] = { 0 }, err[600];
	enum lint_fmt fmt = LF_TEXT;
	enum cl_sev fail_on = CL_SEV_ERROR;
	int opt, rc = CL_OK, i, npw = 0, nowned = 0;

	l.now = cl_now();
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(lint_opts, false), NULL)) != -1) {
		switch (opt) {
		case O_POLICY: policy = optarg; break;
		case O_PROFILE: profile = optarg; break;
		case O_ENV: l.env = optarg; break;
		case O_TAG: l.tag = optarg; break;
		case O_OWNER: l.owner = optarg; break;
		case O_PASSFILE: pwfile = optarg; break;
		case O_FAIL_ON:
			if (cl_sev_parse(optarg, &fail_on) != CL_OK || fail_on == CL_SEV_OFF)
				return cl_cli_usage("lint", "--fail-on must be info, warning, error or "
				                    "critical");
			break;
		case O_NOW:
			if (cl_time_parse(optarg, &l.now) != CL_OK)
				return cl_cli_usage("lint", "--now: '%s' is not an RFC 3339 time", optarg);
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0 || strcmp(optarg, "table") == 0)
				fmt = LF_TEXT;
			else if (strcmp(optarg, "json") == 0)
				fmt = LF_JSON;
			else if (strcmp(optarg, "sarif") == 0)
				fmt = LF_SARIF;
			else if (strcmp(optarg, "junit") == 0)
				fmt = LF_JUNIT;
			else
				return cl_cli_usage("lint", "--format must be text, json, sarif or junit");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("lint")); return CL_EXIT_OK;
		default: return cl_cli_usage("lint", "unknown option");
		}
	}
	if (optind >= argc)
		return cl_cli_usage("lint", "give at least one FILE (or - for standard input)");
	if ((rc = cl_policy_load(&pol, policy, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", err);
		return rc == CL_ERR_IO ? CL_EXIT_RUNTIME : CL_EXIT_USAGE;
	}
	l.pol = pol;
	if (profile && !(l.forced = cl_policy_profile(pol, profile))) {
		rc = cl_cli_usage("lint", "--profile: '%s' is not a profile of %s", profile,
		                  pol->source);
		cl_policy_free(pol);
		return rc;
	}
	if (pwfile && (nowned = cl_cli_read_passwords(pwfile, owned, 16)) < 0) {
		cl_policy_free(pol);
		return CL_EXIT_USAGE;
	}
	for (i = 0; i < nowned; i++)
		passwords[npw++] = owned[i];
	if ((env = getenv("CERTLEDGER_P12_PASSWORD")) != NULL)
		passwords[npw++] = env;
	lo.passwords = passwords;
	lo.npasswords = (size_t)npw;
	cl_load_init();
	for (i = optind; i < argc && rc == CL_OK; i++)
		rc = lint_file(&l, argv[i], &lo, cli->quiet);
	if (rc == CL_OK)
		rc = shared_keys(&l);
	if (rc == CL_OK) {
		switch (fmt) {
		case LF_TEXT: print_text(&l, fail_on); break;
		case LF_JSON: rc = print_json(&l, fail_on); break;
		case LF_SARIF: rc = cl_report_sarif(stdout, l.f, l.nf, CL_VERSION); break;
		case LF_JUNIT: rc = cl_report_junit(stdout, l.f, l.nf, l.certs, l.ncerts, fail_on); break;
		}
	}
	fflush(stdout);
	for (size_t k = 0; k < l.nf; k++) {
		free(l.f[k].found);
		free(l.f[k].limit);
		free(l.f[k].message);
		free(l.f[k].where);
	}
	for (size_t k = 0; k < l.ncerts; k++)
		cl_cert_free(l.parsed[k]);
	for (size_t k = 0; k < l.nfiles; k++)
		free(l.files[k]);
	free(l.f);
	free(l.certs);
	free(l.parsed);
	free(l.files);
	for (i = 0; i < nowned; i++)
		OPENSSL_clear_free(owned[i], strlen(owned[i]));
	cl_policy_free(pol);
	if (rc != CL_OK) {
		cl_log(CL_LOG_ERROR, "lint: %s", cl_strerror(rc));
		return CL_EXIT_RUNTIME;
	}
	if (l.worst >= (int)fail_on)
		return CL_EXIT_NOMATCH;  /* 1: findings at or above --fail-on */
	return l.bad_input ? CL_EXIT_RUNTIME : CL_EXIT_OK;
}

int cl_cmd_explain(struct cl_cli *cli, int argc, char **argv)
{
	int i, r;

	(void)cli;
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		cl_cli_help(cl_cli_find("explain"));
		return CL_EXIT_OK;
	}
	if (argc < 2) {
		printf("Rules (certledger explain RULE for details; findings are policy.RULE):\n");
		for (r = 0; r < CL_R_COUNT; r++)
			printf("  %-26s %-8s  %s\n", cl_rules[r].name, cl_sev_name(cl_rules[r].severity),
			       cl_rules[r].summary);
		return CL_EXIT_OK;
	}
	for (i = 1; i < argc; i++) {
		if ((r = cl_rule_find(argv[i])) < 0)
			return cl_cli_usage("explain", "'%s' is not a rule; certledger explain lists them",
			                    argv[i]);
		printf("%spolicy.%s (default severity %s)\n  %s.\n\n", i > 1 ? "\n" : "",
		       cl_rules[r].name, cl_sev_name(cl_rules[r].severity), cl_rules[r].summary);
		for (const char *p = cl_rules[r].explain; *p;) {
			size_t n = strcspn(p, "\n");
			printf("  %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
		printf("\n  Fix: %s.\n", cl_rules[r].fix);
	}
	return CL_EXIT_OK;
}

int cl_cmd_policy(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_policy *pol = NULL;
	char err[600];
	size_t i;
	int rc;

	(void)cli;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cl_cli_help(cl_cli_find("policy"));
		return argc < 2 ? CL_EXIT_USAGE : CL_EXIT_OK;
	}
	if (strcmp(argv[1], "show-default") == 0 && argc == 2) {
		fputs(cl_policy_default_yaml, stdout);
		return CL_EXIT_OK;
	}
	if (strcmp(argv[1], "validate") == 0 && argc == 3) {
		if ((rc = cl_policy_load(&pol, argv[2], err, sizeof err)) != CL_OK) {
			cl_log(CL_LOG_ERROR, "%s", err);
			return rc == CL_ERR_IO ? CL_EXIT_RUNTIME : CL_EXIT_USAGE;
		}
		printf("%s: valid; profiles:", argv[2]);
		for (i = 0; i < pol->nprofiles; i++)
			printf(" %s", pol->profiles[i].name);
		printf(" default\n");
		cl_policy_free(pol);
		return CL_EXIT_OK;
	}
	return cl_cli_usage("policy", "expected show-default or validate FILE");
}
