/* certledger discover files PATH... */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include "cli/cli.h"
#include "core/buf.h"
#include "core/log.h"
#include "discover/files.h"

#define MAX_PASSWORDS 64

enum { O_EXCLUDE = 1, O_MAX_DEPTH, O_MAX_SIZE, O_WORKERS, O_PASSFILE, O_NO_PROGRESS,
       O_PROGRESS };

static const struct option discover_opts[] = {
	{ "exclude", required_argument, NULL, O_EXCLUDE },
	{ "max-depth", required_argument, NULL, O_MAX_DEPTH },
	{ "max-file-size", required_argument, NULL, O_MAX_SIZE },
	{ "workers", required_argument, NULL, O_WORKERS },
	{ "password-file", required_argument, NULL, O_PASSFILE },
	{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ 0 },
};

/* "4M", "512k", "1G", "1000" → bytes */
static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return CL_ERR_PARSE;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: return CL_ERR_PARSE;
	}
	if ((*end == 'i' && end[1] == 'B' && end[2] == '\0') || (*end == 'B' && end[1] == '\0'))
		end += *end == 'i' ? 2 : 1;
	if (*end || v == 0 || v > (1ULL << 31))
		return CL_ERR_PARSE;
	*out = (size_t)v;
	return CL_OK;
}


int cl_cmd_discover(struct cl_cli *cli, int argc, char **argv)
{
	const char *excludes[256], *passwords[MAX_PASSWORDS + 1], *env;
	char *owned[MAX_PASSWORDS] = { 0 };
	const char *pwfiles[16];
	size_t npwfiles = 0;
	struct cl_discover_opts o = { 0 };
	struct cl_discover_stats st;
	struct cl_load_opts lo = { 0 };
	struct cl_store *s = NULL;
	struct cl_buf args;
	enum cl_format fmt = CL_FMT_TABLE;
	int opt, rc, npw = 0, nowned = 0, i, progress = -1;
	long v;
	char *end;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cl_cli_help(cl_cli_find("discover"));
		return argc < 2 ? CL_EXIT_USAGE : CL_EXIT_OK;
	}
	if (strcmp(argv[1], "net") == 0)
		return cl_cmd_discover_net(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "files") != 0)
		return cl_cli_usage("discover", "unknown kind '%s' (supported: files, net)", argv[1]);
	argc--;
	argv++;
	cl_buf_init(&args, 1 << 16);
	o.max_depth = -1;
	o.max_file_size = CL_DEFAULT_MAX_FILE_SIZE;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(discover_opts, false),
	                          NULL)) != -1) {
		switch (opt) {
		case O_EXCLUDE:
			if (o.nexcludes >= CL_ARRAY_LEN(excludes))
				return cl_cli_usage("discover files", "too many --exclude");
			excludes[o.nexcludes++] = optarg;
			break;
		case O_MAX_DEPTH:
			v = strtol(optarg, &end, 10);
			if (*end || v < 0)
				return cl_cli_usage("discover files", "--max-depth needs a number >= 0");
			o.max_depth = (int)v;
			break;
		case O_MAX_SIZE:
			if (parse_size(optarg, &o.max_file_size) != CL_OK)
				return cl_cli_usage("discover files", "--max-file-size: '%s' is not a "
				                    "size (e.g. 4M, 512k)", optarg);
			break;
		case O_WORKERS:
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 64)
				return cl_cli_usage("discover files", "--workers needs 1..64");
			o.workers = (int)v;
			break;
		case O_PASSFILE:
			if (npwfiles >= CL_ARRAY_LEN(pwfiles))
				return cl_cli_usage("discover files", "too many --password-file");
			pwfiles[npwfiles++] = optarg;
			break;
		case O_NO_PROGRESS: progress = 0; break;
		case O_PROGRESS: progress = 1; break;
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &fmt) != CL_OK || fmt == CL_FMT_CSV)
				return cl_cli_usage("discover files", "--format must be table or json");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("discover")); return CL_EXIT_OK;
		default: return cl_cli_usage("discover files", "unknown option");
		}
	}
	if (optind >= argc)
		return cl_cli_usage("discover files", "give at least one PATH to walk");
	/* read only once the options are valid: nothing secret to drop on a usage error */
	for (i = 0; i < (int)npwfiles; i++) {
		if ((rc = cl_cli_read_passwords(pwfiles[i], owned + nowned, MAX_PASSWORDS - nowned)) < 0) {
			rc = CL_ERR_USAGE;
			goto out;
		}
		nowned += rc;
	}
	for (i = 0; i < nowned; i++)
		passwords[npw++] = owned[i];
	if ((env = getenv("CERTLEDGER_P12_PASSWORD")) != NULL && npw < MAX_PASSWORDS)
		passwords[npw++] = env;
	lo.passwords = passwords;
	lo.npasswords = (size_t)npw;
	o.excludes = excludes;
	o.load = &lo;
	o.stop = &cl_interrupted;
	o.quiet = cli->quiet;
	o.progress = progress >= 0 ? progress : (isatty(STDOUT_FILENO) && isatty(STDERR_FILENO));
	for (i = 0; i < argc; i++)
		cl_buf_printf(&args, "%s%s", i ? " " : "", argv[i]);
	o.args = args.data;

	if ((rc = cl_cli_open(cli, 0, &s)) != CL_OK)
		goto out;
	rc = cl_discover_files(s, (const char *const *)argv + optind, (size_t)(argc - optind),
	                       &o, &st);
	if (rc != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(s));
		goto out;
	}
	if (fmt == CL_FMT_JSON) {
		json_t *j = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:f}",
		                      "database", cli->db, "files", (json_int_t)st.files,
		                      "read", (json_int_t)st.read, "certificates", (json_int_t)st.certs,
		                      "new", (json_int_t)st.certs_new, "seen", (json_int_t)st.certs_seen,
		                      "keys", (json_int_t)st.keys, "unreadable", (json_int_t)st.unreadable,
		                      "problems", (json_int_t)st.problems,
		                      "skipped", (json_int_t)st.skipped, "gone", (json_int_t)st.gone,
		                      "interrupted", st.interrupted, "seconds", st.seconds);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		putchar('\n');
		json_decref(j);
	} else {
		printf("discovered %ld files read, %ld certificates (%ld new, %ld seen), %ld keys, "
		       "%ld unreadable, %ld problems, %ld gone in %.2fs%s\n", st.read, st.certs,
		       st.certs_new, st.certs_seen, st.keys, st.unreadable, st.problems, st.gone,
		       st.seconds, st.interrupted ? " (interrupted: kept what was found)" : "");
	}
	if (st.interrupted)
		rc = CL_ERR_INTERRUPTED;
out:
	cl_store_close(s);
	for (i = 0; i < nowned; i++)
		OPENSSL_clear_free(owned[i], strlen(owned[i]));
	cl_buf_free(&args);
	return cl_cli_exit_for(rc);
}
