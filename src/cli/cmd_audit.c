/* certledger events | findings: the audit trail and open problems. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "core/log.h"
#include "core/util.h"

enum { O_SINCE = 1, O_TYPE, O_FP, O_LOCATION, O_LIMIT, O_ALL, O_RULE, O_SEVERITY, O_TARGET };

static const struct option events_opts[] = {
	{ "since", required_argument, NULL, O_SINCE },
	{ "type", required_argument, NULL, O_TYPE },
	{ "fingerprint", required_argument, NULL, O_FP },
	{ "location", required_argument, NULL, O_LOCATION },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ 0 },
};

/* "24h" (ago) or an RFC 3339 time. */
static int parse_since(const char *s, int64_t *out)
{
	int64_t d;

	if (cl_duration_parse(s, &d) == CL_OK) {
		*out = cl_now() - d;
		return CL_OK;
	}
	return cl_time_parse(s, out);
}

int cl_cmd_events(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_event_filter f = { 0 };
	enum cl_format fmt = CL_FMT_TABLE;
	struct cl_store *s = NULL;
	struct cl_writer w;
	char *end;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(events_opts, false), NULL))
	       != -1) {
		switch (opt) {
		case O_SINCE:
			if (parse_since(optarg, &f.since) != CL_OK)
				return cl_cli_usage("events", "--since: '%s' is neither a duration (24h, "
				                    "7d) nor an RFC 3339 time", optarg);
			break;
		case O_TYPE: f.type = optarg; break;
		case O_FP: f.fp_prefix = optarg; break;
		case O_LOCATION: f.location = optarg; break;
		case O_LIMIT:
			f.limit = strtol(optarg, &end, 10);
			if (*end || f.limit < 1)
				return cl_cli_usage("events", "--limit needs a positive number");
			break;
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &fmt) != CL_OK)
				return cl_cli_usage("events", "--format must be table, json or csv");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("events")); return CL_EXIT_OK;
		default: return cl_cli_usage("events", "unknown option");
		}
	}
	if (optind < argc)
		return cl_cli_usage("events", "unexpected argument '%s'", argv[optind]);
	if ((rc = cl_cli_open(cli, CL_STORE_RDONLY, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	cl_writer_init(&w, stdout, fmt, cl_now());
	cl_report_events_begin(&w);
	rc = cl_store_events(s, &f, cl_report_event, &w);
	cl_report_events_end(&w);
	if (rc != CL_OK)
		cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(s));
	cl_store_close(s);
	return cl_cli_exit_for(rc);
}

static const struct option findings_opts[] = {
	{ "all", no_argument, NULL, O_ALL },
	{ "rule", required_argument, NULL, O_RULE },
	{ "severity", required_argument, NULL, O_SEVERITY },
	{ "target", required_argument, NULL, O_TARGET },
	{ "fingerprint", required_argument, NULL, O_FP },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ 0 },
};

int cl_cmd_findings(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_finding_filter f = { 0 };
	enum cl_format fmt = CL_FMT_TABLE;
	struct cl_store *s = NULL;
	struct cl_writer w;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(findings_opts, false), NULL))
	       != -1) {
		switch (opt) {
		case O_ALL: f.include_resolved = true; break;
		case O_RULE: f.rule = optarg; break;
		case O_SEVERITY:
			if (cl_severity_rank(optarg) < 0)
				return cl_cli_usage("findings", "--severity must be info, warning, error "
				                    "or critical");
			f.severity = optarg;
			break;
		case O_TARGET: f.target = optarg; break;
		case O_FP: f.fp_prefix = optarg; break;
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &fmt) != CL_OK)
				return cl_cli_usage("findings", "--format must be table, json or csv");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("findings")); return CL_EXIT_OK;
		default: return cl_cli_usage("findings", "unknown option");
		}
	}
	if (optind < argc)
		return cl_cli_usage("findings", "unexpected argument '%s'", argv[optind]);
	if ((rc = cl_cli_open(cli, CL_STORE_RDONLY, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	cl_writer_init(&w, stdout, fmt, cl_now());
	cl_report_findings_begin(&w);
	rc = cl_store_findings(s, &f, cl_report_finding, &w);
	cl_report_findings_end(&w);
	if (rc != CL_OK)
		cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(s));
	cl_store_close(s);
	return cl_cli_exit_for(rc);
}
