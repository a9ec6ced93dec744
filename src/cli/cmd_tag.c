/* certledger tag FP|--location L --owner X --env Y --tag T --untag T */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "core/log.h"
#include "core/util.h"

enum { O_OWNER = 1, O_ENV, O_TAG, O_UNTAG, O_LOCATION, O_CLEAR_OWNER, O_CLEAR_ENV };

static const struct option tag_opts[] = {
	{ "owner", required_argument, NULL, O_OWNER },
	{ "env", required_argument, NULL, O_ENV },
	{ "tag", required_argument, NULL, O_TAG },
	{ "untag", required_argument, NULL, O_UNTAG },
	{ "location", required_argument, NULL, O_LOCATION },
	{ "clear-owner", no_argument, NULL, O_CLEAR_OWNER },
	{ "clear-env", no_argument, NULL, O_CLEAR_ENV },
	{ 0 },
};

static bool valid_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("_.:/@-", *s)))
			return false;
	return true;
}

int cl_cmd_tag(struct cl_cli *cli, int argc, char **argv)
{
	const char *add[64], *rm[64], *location = NULL, *fp = NULL;
	struct cl_tag_edit e = { 0 };
	struct cl_store *s = NULL;
	long n = 0;
	int opt, rc;

	e.add = add;
	e.remove = rm;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(tag_opts, false), NULL)) != -1) {
		switch (opt) {
		case O_OWNER:
		case O_ENV:
			if (!valid_label(optarg))
				return cl_cli_usage("tag", "'%s': use letters, digits and _.:/@- (max 128)",
				                    optarg);
			if (opt == O_OWNER)
				e.owner = optarg;
			else
				e.environment = optarg;
			break;
		case O_CLEAR_OWNER: e.owner = ""; break;
		case O_CLEAR_ENV: e.environment = ""; break;
		case O_TAG:
		case O_UNTAG:
			if (!valid_label(optarg))
				return cl_cli_usage("tag", "tag '%s': use letters, digits and _.:/@- (max 128)",
				                    optarg);
			if ((opt == O_TAG ? e.nadd : e.nremove) >= 64)
				return cl_cli_usage("tag", "too many tags");
			if (opt == O_TAG)
				add[e.nadd++] = optarg;
			else
				rm[e.nremove++] = optarg;
			break;
		case O_LOCATION: location = optarg; break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("tag")); return CL_EXIT_OK;
		default: return cl_cli_usage("tag", "unknown option");
		}
	}
	if (optind < argc)
		fp = argv[optind++];
	if (optind < argc)
		return cl_cli_usage("tag", "unexpected argument '%s'", argv[optind]);
	if (!fp == !location)
		return cl_cli_usage("tag", "give either a fingerprint (prefix) or --location");
	if (fp && strspn(fp, "0123456789abcdefABCDEF:") != strlen(fp))
		return cl_cli_usage("tag", "'%s' is not a fingerprint", fp);
	if (!e.owner && !e.environment && !e.nadd && !e.nremove)
		return cl_cli_usage("tag", "nothing to change: give --owner, --env, --tag or --untag");
	if ((rc = cl_cli_open(cli, 0, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	rc = cl_store_tag(s, fp, location, &e, NULL, cl_now(), &n);
	if (rc != CL_OK)
		cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(s));
	else
		printf("tagged %ld certificate%s%s\n", n, n == 1 ? "" : "s",
		       location ? " (and the location, for certificates found there later)" : "");
	cl_store_close(s);
	return cl_cli_exit_for(rc);
}
