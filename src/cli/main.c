/*
 * certledger: one binary, git-style subcommands.
 *
 *   certledger [--db PATH] [-q|-v] COMMAND [ARGS...]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "core/log.h"

volatile sig_atomic_t cl_interrupted;

static void on_signal(int sig)
{
	(void)sig;
	if (cl_interrupted) {
		/* second Ctrl-C: leave now; SQLite's journal keeps the store consistent */
		signal(SIGINT, SIG_DFL);
		raise(SIGINT);
	}
	cl_interrupted = 1;
}

static void main_help(void)
{
	const struct cl_cmd *c;

	printf("usage: certledger [--db PATH] [-q|--quiet] [-v|--verbose] COMMAND [ARGS]\n\n"
	       "certledger finds every certificate, keeps one inventory of them and where they\n"
	       "are deployed, and answers what expires, what is weak and who owns it.\n\n"
	       "Commands:\n");
	for (c = cl_cmds; c->name; c++)
		printf("  %-10s %s\n", c->name, c->summary);
	printf("\nGlobal options:\n"
	       "  --db PATH      inventory to use (default: $CERTLEDGER_DB, else\n"
	       "                 $XDG_DATA_HOME/certledger/inventory.db, else\n"
	       "                 ~/.local/share/certledger/inventory.db)\n"
	       "  -q, --quiet    only errors on stderr\n"
	       "  -v, --verbose  more detail on stderr\n"
	       "  --version      print the version\n"
	       "  -h, --help     this text; 'certledger help COMMAND' for a command\n\n"
	       "Exit codes: 0 success, 1 nothing matched (ls, show), 2 usage error,\n"
	       "3 runtime error (store locked/read-only/newer, I/O), 130 interrupted.\n");
}

int main(int argc, char **argv)
{
	struct cl_cli cli = { 0 };
	const struct cl_cmd *cmd;
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--db") == 0 && i + 1 < argc) {
			cli.db = argv[++i];
		} else if (strncmp(a, "--db=", 5) == 0) {
			cli.db = a + 5;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			cli.quiet = true;
			cl_log_set_level(CL_LOG_ERROR);
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			cli.verbose = true;
			cl_log_set_level(CL_LOG_DEBUG);
		} else if (strcmp(a, "--version") == 0) {
			return cl_cmd_version(&cli, 0, NULL);
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			main_help();
			return CL_EXIT_OK;
		} else {
			fprintf(stderr, "certledger: unknown option '%s'\n"
			        "Try 'certledger --help'.\n", a);
			return CL_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		main_help();
		return CL_EXIT_USAGE;
	}
	if ((cmd = cl_cli_find(argv[i])) == NULL) {
		fprintf(stderr, "certledger: '%s' is not a command. See 'certledger --help'.\n",
		        argv[i]);
		return CL_EXIT_USAGE;
	}
	return cmd->run(&cli, argc - i, argv + i);
}
