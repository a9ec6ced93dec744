/* certledger serve | alerts: the monitoring daemon and its alerts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "alert/eval.h"
#include "alert/notify.h"
#include "cli/cli.h"
#include "core/log.h"
#include "core/util.h"
#include "serve/config.h"
#include "serve/daemon.h"

#define DEFAULT_CONFIG "/etc/certledger/certledger.yaml"

enum { O_CONFIG = 1, O_ONCE, O_SKIP_JOBS, O_LISTEN, O_NOW, O_LOG_FORMAT, O_STATE, O_TYPE,
       O_FP, O_SINCE, O_LIMIT };

static const char *config_path(const char *given)
{
	const char *e = getenv("CERTLEDGER_CONFIG");

	return given ? given : e && *e ? e : DEFAULT_CONFIG;
}

/* --now: a fixed instant for one round; a shifted, moving clock for a daemon. */
static int set_now(const char *cmd, const char *arg, bool once)
{
	int64_t t;

	if (cl_time_parse(arg, &t) != CL_OK)
		return cl_cli_usage(cmd, "--now: '%s' is not an RFC 3339 time (e.g. 2027-03-15 or "
		                    "2027-03-15T00:00:00Z)", arg);
	/* every part of the process, discovery included, reads this clock */
	if (once)
		setenv("CL_NOW", arg, 1);
	else
		cl_now_set_offset(t - (int64_t)time(NULL));
	return CL_EXIT_OK;
}

static const struct option serve_opts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "once", no_argument, NULL, O_ONCE },
	{ "skip-jobs", no_argument, NULL, O_SKIP_JOBS },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "now", required_argument, NULL, O_NOW },
	{ "log-format", required_argument, NULL, O_LOG_FORMAT },
	{ 0 },
};

int cl_cmd_serve(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_serve_opts o = { 0 };
	const char *logfmt = NULL, *now = NULL;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(serve_opts, false), NULL)) != -1) {
		switch (opt) {
		case O_CONFIG: o.config = optarg; break;
		case O_ONCE: o.once = true; break;
		case O_SKIP_JOBS: o.skip_jobs = true; break;
		case O_LISTEN: o.listen = optarg; break;
		case O_NOW: now = optarg; break;
		case O_LOG_FORMAT:
			if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0)
				return cl_cli_usage("serve", "--log-format must be text or json");
			logfmt = optarg;
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("serve")); return CL_EXIT_OK;
		default: return cl_cli_usage("serve", "unknown option");
		}
	}
	if (optind < argc)
		return cl_cli_usage("serve", "unexpected argument '%s'", argv[optind]);
	if (o.skip_jobs && !o.once)
		return cl_cli_usage("serve", "--skip-jobs goes with --once");
	if (now && (rc = set_now("serve", now, o.once)) != CL_EXIT_OK)
		return rc;
	o.config = config_path(o.config);
	if (access(o.config, R_OK) != 0) {
		cl_log(CL_LOG_ERROR, "%s: cannot read the configuration (give --config FILE; "
		       "examples/certledger.yaml documents it)", o.config);
		return CL_EXIT_USAGE;
	}
	/* structured logs: JSON lines unless a person is watching */
	cl_log_set_json(logfmt ? strcmp(logfmt, "json") == 0 : !isatty(STDERR_FILENO));
	if (cl_log_get_level() < CL_LOG_INFO && !cli->quiet)
		cl_log_set_level(CL_LOG_INFO);
	o.db = cli->db;   /* --db wins over the config's store: */
	rc = cl_serve_run(&o);
	cl_log_set_json(false);
	return rc == CL_ERR_USAGE ? CL_EXIT_USAGE : cl_cli_exit_for(rc);
}

/* ---- alerts ------------------------------------------------------------------ */

static const struct option alerts_opts[] = {
	{ "state", required_argument, NULL, O_STATE },
	{ "type", required_argument, NULL, O_TYPE },
	{ "fingerprint", required_argument, NULL, O_FP },
	{ "since", required_argument, NULL, O_SINCE },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "config", required_argument, NULL, O_CONFIG },
	{ 0 },
};

/* certledger alerts test NOTIFIER: one test message, sent now, not queued. */
static int alerts_test(const char *cfgpath, const char *name)
{
	struct cl_config *cfg = NULL;
	const struct cl_notifier *nt;
	struct cl_alert_msg m = { 0 };
	const struct cl_alert_msg *msgs[1] = { &m };
	const char *locs[1] = { "file:/etc/certledger/test.pem" };
	char err[1024], id[33], host[256], summary[512];
	enum cl_send_rc res;
	size_t nsent = 0;
	int rc;

	if ((rc = cl_config_load(&cfg, cfgpath, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", err);
		return CL_EXIT_USAGE;
	}
	if (!(nt = cl_config_notifier(cfg, name))) {
		fprintf(stderr, "certledger alerts test: no notifier '%s' in %s; configured:", name,
		        cfgpath);
		for (size_t i = 0; i < cfg->nnotifiers; i++)
			fprintf(stderr, " %s", cfg->notifiers[i].name);
		fputc('\n', stderr);
		cl_config_free(cfg);
		return CL_EXIT_USAGE;
	}
	if (cl_alert_new_id(id) != CL_OK || gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	snprintf(summary, sizeof summary, "certledger test alert from %s via notifier %s", host,
	         name);
	m.id = id;
	m.alert_key = "test";
	m.event_type = CL_AT_TEST;
	m.action = "firing";
	m.severity = "info";
	m.summary = summary;
	m.timestamp = cl_now();
	m.certificate_subject = "CN=certledger test";
	m.subject_cn = "certledger test";
	m.certificate_serial = "01";
	m.issuer = "CN=certledger test";
	m.issuer_cn = "certledger test";
	m.fingerprint_sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
	m.not_before = m.timestamp - 86400;
	m.expiration_date = m.timestamp + 30 * 86400;
	m.days_left = 30;
	m.locations = locs;
	m.nlocations = 1;
	m.detail = "sent by `certledger alerts test`; no certificate is affected";
	m.dashboard_url = cfg->dashboard_url;
	err[0] = '\0';
	res = cl_notify_send(nt, msgs, 1, &nsent, err, sizeof err);
	if (res == CL_SEND_OK)
		printf("test alert sent through %s (%s), id %s\n", name,
		       cl_notifier_type_name(nt->type), id);
	else
		fprintf(stderr, "certledger alerts test: %s: %s (%s)\n", name, err[0] ? err : "failed",
		        res == CL_SEND_RETRY ? "temporary: would be retried" : "permanent");
	cl_config_free(cfg);
	return res == CL_SEND_OK ? CL_EXIT_OK : CL_EXIT_RUNTIME;
}

int cl_cmd_alerts(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_alert_filter f = { 0 };
	enum cl_format fmt = CL_FMT_TABLE;
	const char *cfgpath = NULL;
	struct cl_store *s = NULL;
	struct cl_writer w;
	int64_t d;
	char *end;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(alerts_opts, false), NULL))
	       != -1) {
		switch (opt) {
		case O_STATE:
			if (strcmp(optarg, "all") == 0)
				f.state = NULL;
			else if (strcmp(optarg, "firing") == 0 || strcmp(optarg, "resolved") == 0 ||
			         strcmp(optarg, "once") == 0)
				f.state = optarg;
			else
				return cl_cli_usage("alerts", "--state must be firing, resolved, once or all");
			break;
		case O_TYPE: f.type = optarg; break;
		case O_FP: f.fp_prefix = optarg; break;
		case O_SINCE:
			if (cl_duration_parse(optarg, &d) == CL_OK)
				f.since = cl_now() - d;
			else if (cl_time_parse(optarg, &f.since) != CL_OK)
				return cl_cli_usage("alerts", "--since: '%s' is neither a duration (24h, 7d)"
				                    " nor an RFC 3339 time", optarg);
			break;
		case O_LIMIT:
			f.limit = strtol(optarg, &end, 10);
			if (*end || f.limit < 1)
				return cl_cli_usage("alerts", "--limit needs a positive number");
			break;
		case O_CONFIG: cfgpath = optarg; break;
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &fmt) != CL_OK)
				return cl_cli_usage("alerts", "--format must be table, json or csv");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("alerts")); return CL_EXIT_OK;
		default: return cl_cli_usage("alerts", "unknown option");
		}
	}
	if (optind < argc && strcmp(argv[optind], "test") == 0) {
		if (optind + 2 != argc)
			return cl_cli_usage("alerts", "alerts test takes one NOTIFIER name");
		return alerts_test(config_path(cfgpath), argv[optind + 1]);
	}
	if (optind < argc)
		return cl_cli_usage("alerts", "unexpected argument '%s'", argv[optind]);
	if ((rc = cl_cli_open(cli, CL_STORE_RDONLY, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	cl_writer_init(&w, stdout, fmt, cl_now());
	cl_report_alerts_begin(&w);
	rc = cl_store_alerts(s, &f, cl_report_alert, &w);
	cl_report_alerts_end(&w);
	if (rc != CL_OK)
		cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(s));
	cl_store_close(s);
	if (rc != CL_OK)
		return cl_cli_exit_for(rc);
	return w.rows ? CL_EXIT_OK : CL_EXIT_NOMATCH;
}
