/* Shared command-line helpers: store opening, filters, option tables. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "cli/cli.h"
#include "core/log.h"
#include "core/util.h"

const struct cl_cmd *cl_cli_find(const char *name)
{
	const struct cl_cmd *c;

	for (c = cl_cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void cl_cli_help(const struct cl_cmd *cmd)
{
	fputs(cmd->help, stdout);
}

int cl_cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "certledger %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'certledger help %s'.\n", cmd);
	return CL_EXIT_USAGE;
}

int cl_cli_exit_for(int rc)
{
	switch (rc) {
	case CL_OK: return CL_EXIT_OK;
	case CL_ERR_USAGE: return CL_EXIT_USAGE;
	case CL_ERR_NOTFOUND: return CL_EXIT_NOMATCH;
	case CL_ERR_INTERRUPTED: return 130;
	default: return CL_EXIT_RUNTIME;
	}
}

int cl_cli_open(struct cl_cli *cli, unsigned flags, struct cl_store **out)
{
	char err[1024];
	int rc;

	if (!cli->db)
		cli->db = cl_store_default_path(cli->dbbuf, sizeof cli->dbbuf);
	if ((rc = cl_store_open(out, cli->db, flags, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", err);
		return rc == CL_ERR_NOTFOUND ? CL_ERR_IO : rc;
	}
	return CL_OK;
}

enum {
	F_EXPIRING = CL_FILTER_OPTS_BASE, F_EXPIRED, F_ISSUER, F_SUBJECT, F_SAN, F_KEY_TYPE,
	F_MIN_BITS, F_MAX_BITS, F_SIG_ALG, F_SELF_SIGNED, F_CA, F_LEAF, F_OWNER, F_ENV, F_TAG,
	F_LOCATION, F_STATE, F_SORT, F_LIMIT, F_NOW, F_FP, F_SPKI, F_SERIAL, F_REVERSE,
};

const struct option cl_filter_longopts[] = {
	{ "expiring", required_argument, NULL, F_EXPIRING },
	{ "expired", no_argument, NULL, F_EXPIRED },
	{ "issuer", required_argument, NULL, F_ISSUER },
	{ "subject", required_argument, NULL, F_SUBJECT },
	{ "san", required_argument, NULL, F_SAN },
	{ "key-type", required_argument, NULL, F_KEY_TYPE },
	{ "min-key-bits", required_argument, NULL, F_MIN_BITS },
	{ "max-key-bits", required_argument, NULL, F_MAX_BITS },
	{ "sig-alg", required_argument, NULL, F_SIG_ALG },
	{ "self-signed", no_argument, NULL, F_SELF_SIGNED },
	{ "ca", no_argument, NULL, F_CA },
	{ "leaf", no_argument, NULL, F_LEAF },
	{ "owner", required_argument, NULL, F_OWNER },
	{ "env", required_argument, NULL, F_ENV },
	{ "tag", required_argument, NULL, F_TAG },
	{ "location", required_argument, NULL, F_LOCATION },
	{ "state", required_argument, NULL, F_STATE },
	{ "sort", required_argument, NULL, F_SORT },
	{ "reverse", no_argument, NULL, F_REVERSE },
	{ "limit", required_argument, NULL, F_LIMIT },
	{ "now", required_argument, NULL, F_NOW },
	{ "fingerprint", required_argument, NULL, F_FP },
	{ "spki", required_argument, NULL, F_SPKI },
	{ "serial", required_argument, NULL, F_SERIAL },
};
const size_t cl_filter_nlongopts = CL_ARRAY_LEN(cl_filter_longopts);

static int parse_bits(const char *cmd, const char *arg, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v < 1 || v > 1000000)
		return cl_cli_usage(cmd, "'%s' is not a key size in bits", arg), CL_ERR_USAGE;
	*out = (int)v;
	return CL_OK;
}

static bool is_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdefABCDEF:", *s))
			return false;
	return true;
}

int cl_filter_option(const char *cmd, struct cl_filter *f, int opt, const char *arg)
{
	int64_t v;
	char *end;
	size_t i;

	switch (opt) {
	case F_EXPIRING:
		if (cl_duration_parse(arg, &v) != CL_OK)
			return cl_cli_usage(cmd, "--expiring: '%s' is not a duration (e.g. 30d, 12h, "
			                    "2w)", arg), CL_ERR_USAGE;
		f->expiring = v;
		break;
	case F_EXPIRED: f->expired = true; break;
	case F_ISSUER: f->issuer = arg; break;
	case F_SUBJECT: f->subject = arg; break;
	case F_SAN: f->san = arg; break;
	case F_KEY_TYPE: f->key_type = arg; break;
	case F_MIN_BITS: return parse_bits(cmd, arg, &f->min_bits);
	case F_MAX_BITS: return parse_bits(cmd, arg, &f->max_bits);
	case F_SIG_ALG: f->sig_alg = arg; break;
	case F_SELF_SIGNED: f->self_signed = CL_YES; break;
	case F_CA: f->ca = CL_YES; break;
	case F_LEAF: f->ca = CL_NO; break;
	case F_OWNER: f->owner = arg; break;
	case F_ENV: f->environment = arg; break;
	case F_TAG: f->tag = arg; break;
	case F_LOCATION: f->location = arg; break;
	case F_STATE:
		if (strcmp(arg, "present") == 0)
			f->state = CL_STATE_PRESENT;
		else if (strcmp(arg, "gone") == 0)
			f->state = CL_STATE_GONE;
		else if (strcmp(arg, "all") == 0)
			f->state = CL_STATE_ALL;
		else
			return cl_cli_usage(cmd, "--state must be present, gone or all"), CL_ERR_USAGE;
		break;
	case F_SORT:
		for (i = 0; cl_store_sort_fields[i]; i++)
			if (strcmp(arg, cl_store_sort_fields[i]) == 0)
				break;
		if (!cl_store_sort_fields[i]) {
			fprintf(stderr, "certledger %s: cannot sort by '%s'; fields:", cmd, arg);
			for (i = 0; cl_store_sort_fields[i]; i++)
				fprintf(stderr, " %s", cl_store_sort_fields[i]);
			fputc('\n', stderr);
			return CL_ERR_USAGE;
		}
		f->sort = arg;
		break;
	case F_REVERSE: f->desc = true; break;
	case F_LIMIT:
		errno = 0;
		f->limit = strtol(arg, &end, 10);
		if (errno || *end || f->limit < 1)
			return cl_cli_usage(cmd, "--limit needs a positive number"), CL_ERR_USAGE;
		break;
	case F_NOW:
		if (cl_time_parse(arg, &f->now) != CL_OK)
			return cl_cli_usage(cmd, "--now: '%s' is not an RFC 3339 time (e.g. "
			                    "2027-03-15 or 2027-03-15T00:00:00Z)", arg), CL_ERR_USAGE;
		break;
	case F_FP:
		if (!is_hex(arg))
			return cl_cli_usage(cmd, "--fingerprint needs hex digits"), CL_ERR_USAGE;
		f->fp_prefix = arg;
		break;
	case F_SPKI:
		if (!is_hex(arg) || strlen(arg) != 64)
			return cl_cli_usage(cmd, "--spki needs 64 hex digits"), CL_ERR_USAGE;
		f->spki = arg;
		break;
	case F_SERIAL:
		if (!is_hex(arg))
			return cl_cli_usage(cmd, "--serial needs hex digits"), CL_ERR_USAGE;
		f->serial = arg;
		break;
	default:
		return CL_ERR_NOTFOUND;
	}
	return CL_OK;
}

const struct option *cl_cli_longopts(const struct option *own, bool with_filters)
{
	static struct option all[96];
	size_t n = 0, i;

	for (i = 0; own && own[i].name && n < CL_ARRAY_LEN(all) - 4; i++)
		all[n++] = own[i];
	for (i = 0; with_filters && i < cl_filter_nlongopts && n < CL_ARRAY_LEN(all) - 4; i++)
		all[n++] = cl_filter_longopts[i];
	all[n++] = (struct option){ "db", required_argument, NULL, OPT_DB };
	all[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	all[n] = (struct option){ 0 };
	return all;
}

int cl_cli_read_passwords(const char *path, char **pw, int max)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n = 0;

	if (!f) {
		cl_log(CL_LOG_ERROR, "--password-file %s: %s", path, strerror(errno));
		return -1;
	}
	while (n < max && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if ((pw[n] = OPENSSL_strdup(line)) == NULL)
			break;
		n++;
	}
	OPENSSL_cleanse(line, sizeof line);
	fclose(f);
	return n;
}
