/* Shared pieces of the command-line tool. */
#ifndef CL_CLI_H
#define CL_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include "core/cl.h"
#include "report/report.h"
#include "store/store.h"

struct cl_cli {
	const char *db;        /* --db / CERTLEDGER_DB / default */
	bool quiet, verbose;
	char dbbuf[4096];
};

struct cl_cmd {
	const char *name;
	int (*run)(struct cl_cli *cli, int argc, char **argv);
	const char *summary;   /* one line for `certledger --help` */
	const char *help;      /* full text for `certledger help NAME` and NAME --help */
};

extern const struct cl_cmd cl_cmds[];
extern volatile sig_atomic_t cl_interrupted;

/* Prints the command's full help to stdout. */
void cl_cli_help(const struct cl_cmd *cmd);
const struct cl_cmd *cl_cli_find(const char *name);

/* Prints "certledger CMD: msg" and a hint, returns CL_EXIT_USAGE. */
int cl_cli_usage(const char *cmd, const char *fmt, ...) CL_PRINTF(2, 3);

/*
 * Opens the store selected by --db (or the default). Reports errors on
 * stderr. Returns CL_OK or the error code (see cl_cli_exit_for).
 */
int cl_cli_open(struct cl_cli *cli, unsigned flags, struct cl_store **out);

/*
 * Reads candidate passwords from path, one per line, appending copies to
 * pw (at most max; freed by the caller with OPENSSL_clear_free). Returns
 * the count, or -1 after printing why the file could not be read.
 */
int cl_cli_read_passwords(const char *path, char **pw, int max);

/* Maps a CL_ERR_* code to an exit code (usage 2, runtime 3). */
int cl_cli_exit_for(int rc);

/* Options shared by ls, summary and show: the inventory filters. */
#define CL_FILTER_OPTS_BASE 1000
extern const struct option cl_filter_longopts[];
extern const size_t cl_filter_nlongopts;
/* Applies one filter option; returns CL_OK, CL_ERR_USAGE (message printed)
 * or CL_ERR_NOTFOUND when opt is not a filter option. */
int cl_filter_option(const char *cmd, struct cl_filter *f, int opt, const char *arg);

/* Builds a getopt_long table: the command's own options followed by the
 * filter options (when with_filters) and the common ones (--db, --help).
 * Returns a static buffer. */
const struct option *cl_cli_longopts(const struct option *own, bool with_filters);

/* Handles --db/--help/--format common options; returns true when consumed.
 * *exit_now is set when help was printed. */
#define OPT_DB 900
#define OPT_HELP 'h'
#define OPT_FORMAT 901

int cl_cmd_discover(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_discover_net(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_endpoints(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_lint(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_explain(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_policy(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_check(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_ls(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_show(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_summary(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_tag(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_serve(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_alerts(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_ca(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_apply(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_renew(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_rollback(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_revoke(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_account(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_managed(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_events(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_findings(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_help(struct cl_cli *cli, int argc, char **argv);
int cl_cmd_version(struct cl_cli *cli, int argc, char **argv);

#endif
