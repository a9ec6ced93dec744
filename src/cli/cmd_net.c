/* certledger discover net TARGET... and certledger endpoints */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "cli/cli.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "discover/net.h"
#include "discover/starttls.h"

#define MAX_ADDRESSES 65536

enum { O_PORTS = 1, O_SNI, O_EXCLUDE, O_YES, O_CONCURRENCY, O_RATE, O_WORKERS, O_CONNECT_TO,
       O_HANDSHAKE_TO, O_STARTTLS_TO, O_STARTTLS, O_CA_BUNDLE, O_OUTPUT, O_PROGRESS,
       O_NO_PROGRESS, O_STATUS, O_LOCATION, O_VERIFY, O_FAILING, O_MAX_HS };

static const struct option net_opts[] = {
	{ "ports", required_argument, NULL, O_PORTS },
	{ "sni", required_argument, NULL, O_SNI },
	{ "exclude", required_argument, NULL, O_EXCLUDE },
	{ "yes", no_argument, NULL, O_YES },
	{ "concurrency", required_argument, NULL, O_CONCURRENCY },
	{ "max-handshakes", required_argument, NULL, O_MAX_HS },
	{ "rate", required_argument, NULL, O_RATE },
	{ "workers", required_argument, NULL, O_WORKERS },
	{ "connect-timeout", required_argument, NULL, O_CONNECT_TO },
	{ "handshake-timeout", required_argument, NULL, O_HANDSHAKE_TO },
	{ "starttls-timeout", required_argument, NULL, O_STARTTLS_TO },
	{ "starttls", required_argument, NULL, O_STARTTLS },
	{ "ca-bundle", required_argument, NULL, O_CA_BUNDLE },
	{ "output", required_argument, NULL, O_OUTPUT },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ 0 },
};

/* "500ms", "2s", "1m" or a bare number of seconds → milliseconds. */
static int parse_ms(const char *s, int *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v <= 0)
		return CL_ERR_PARSE;
	if (strcmp(end, "ms") == 0)
		;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		v *= 1000;
	else if (strcmp(end, "m") == 0)
		v *= 60000;
	else
		return CL_ERR_PARSE;
	if (v < 1 || v > 3600000)
		return CL_ERR_PARSE;
	*out = (int)v;
	return CL_OK;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return CL_ERR_PARSE;
	*out = v;
	return CL_OK;
}

/* --output FILE: rows streamed to a temporary file renamed into place. */
struct outfile {
	const char *path;
	char tmp[PATH_MAX];
	FILE *f;
	struct cl_writer w;
};

static int out_open(struct outfile *of, const char *path, enum cl_format fmt)
{
	int fd;

	of->path = path;
	if (snprintf(of->tmp, sizeof of->tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof of->tmp)
		return CL_ERR_USAGE;
	if ((fd = mkstemp(of->tmp)) < 0) {
		cl_log(CL_LOG_ERROR, "--output %s: %s", path, strerror(errno));
		return CL_ERR_IO;
	}
	fchmod(fd, 0644);
	if (!(of->f = fdopen(fd, "w"))) {
		close(fd);
		unlink(of->tmp);
		return CL_ERR_IO;
	}
	cl_writer_init(&of->w, of->f, fmt, cl_now());
	cl_report_endpoints_begin(&of->w);
	return CL_OK;
}

static int out_close(struct outfile *of, bool keep)
{
	int rc = CL_OK;

	if (!of->f)
		return CL_OK;
	cl_report_endpoints_end(&of->w);
	if (fflush(of->f) != 0 || fsync(fileno(of->f)) != 0)
		rc = CL_ERR_IO;
	if (fclose(of->f) != 0)
		rc = CL_ERR_IO;
	of->f = NULL;
	if (rc == CL_OK && keep && rename(of->tmp, of->path) != 0)
		rc = CL_ERR_IO;
	if (rc != CL_OK || !keep) {
		if (rc != CL_OK)
			cl_log(CL_LOG_ERROR, "--output %s: %s", of->path, strerror(errno));
		unlink(of->tmp);
	}
	return rc;
}

static void print_summary(const struct cl_net_stats *st, enum cl_format fmt, const char *db,
                          const char *output)
{
	if (fmt == CL_FMT_JSON) {
		json_t *j = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:f,s:s?}",
		                      "database", db, "probes", (json_int_t)st->probes,
		                      "tls", (json_int_t)st->tls, "failed", (json_int_t)st->failed,
		                      "closed", (json_int_t)st->closed,
		                      "unresolved", (json_int_t)st->unresolved,
		                      "new", (json_int_t)st->endpoints_new,
		                      "changed", (json_int_t)st->changed,
		                      "unreachable", (json_int_t)st->unreachable,
		                      "back", (json_int_t)st->back,
		                      "certificates", (json_int_t)st->certs,
		                      "certificates_new", (json_int_t)st->certs_new,
		                      "interrupted", st->interrupted, "seconds", st->seconds,
		                      "output", output);
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
		putchar('\n');
		json_decref(j);
		return;
	}
	printf("scanned %llu probes in %.2fs: %ld TLS endpoints, %ld failures recorded, %ld "
	       "closed; %ld new, %ld changed, %ld unreachable, %ld back; %ld certificates "
	       "(%ld new)%s%s\n", (unsigned long long)st->probes, st->seconds, st->tls, st->failed,
	       st->closed, st->endpoints_new, st->changed, st->unreachable, st->back, st->certs,
	       st->certs_new, st->unresolved ? "; some names did not resolve" : "",
	       st->interrupted ? " (interrupted: kept what was found)" : "");
}

int cl_cmd_discover_net(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_net_opts o = { .concurrency = 1000, .max_handshakes = CL_NET_MAX_HANDSHAKES,
	                         .connect_ms = CL_NET_CONNECT_MS,
	                         .handshake_ms = CL_NET_HANDSHAKE_MS,
	                         .starttls_ms = CL_NET_STARTTLS_MS, .starttls = -1 };
	struct outfile of = { 0 };
	struct cl_net_stats st;
	struct cl_targets t;
	struct cl_store *s = NULL;
	enum cl_format fmt = CL_FMT_TABLE, ofmt = CL_FMT_JSON;
	const char *output = NULL, *ext;
	char err[512];
	struct cl_buf args;
	bool yes = false;
	int opt, rc = CL_OK, progress = -1, i;
	uint64_t naddr;
	long v;
	double d;
	char *end;

	cl_targets_init(&t);
	cl_buf_init(&args, 1 << 16);
	if ((rc = cl_targets_set_ports(&t, cl_default_ports, err, sizeof err)) != CL_OK)
		goto out;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(net_opts, false), NULL)) != -1) {
		rc = CL_OK;
		switch (opt) {
		case O_PORTS: rc = cl_targets_set_ports(&t, optarg, err, sizeof err); break;
		case O_SNI: rc = cl_targets_add_sni(&t, optarg, err, sizeof err); break;
		case O_EXCLUDE: rc = cl_targets_exclude(&t, optarg, err, sizeof err); break;
		case O_YES: yes = true; break;
		case O_CONCURRENCY:
			if (parse_long(optarg, 1, 1000000, &v) != CL_OK)
				goto usage_num;
			o.concurrency = (int)v;
			break;
		case O_MAX_HS:
			if (parse_long(optarg, 1, 1000000, &v) != CL_OK)
				goto usage_num;
			o.max_handshakes = (int)v;
			break;
		case O_RATE:
			errno = 0;
			d = strtod(optarg, &end);
			if (errno || *end || end == optarg || d < 0)
				goto usage_num;
			o.rate = d;
			break;
		case O_WORKERS:
			if (parse_long(optarg, 1, 256, &v) != CL_OK)
				goto usage_num;
			o.workers = (int)v;
			break;
		case O_CONNECT_TO:
		case O_HANDSHAKE_TO:
		case O_STARTTLS_TO:
			if (parse_ms(optarg, opt == O_CONNECT_TO ? &o.connect_ms : opt == O_HANDSHAKE_TO
			             ? &o.handshake_ms : &o.starttls_ms) != CL_OK) {
				rc = cl_cli_usage("discover net", "--%s-timeout: '%s' is not a timeout "
				                  "(e.g. 500ms, 3s)", opt == O_CONNECT_TO ? "connect" :
				                  opt == O_HANDSHAKE_TO ? "handshake" : "starttls", optarg);
				goto out_usage;
			}
			break;
		case O_STARTTLS:
			if ((o.starttls = cl_stls_parse(optarg)) < 0) {
				rc = cl_cli_usage("discover net", "--starttls must be one of smtp, imap, "
				                  "pop3, ftp, ldap, postgres, xmpp, none");
				goto out_usage;
			}
			break;
		case O_CA_BUNDLE: o.ca_bundle = optarg; break;
		case O_OUTPUT: output = optarg; break;
		case O_PROGRESS: progress = 1; break;
		case O_NO_PROGRESS: progress = 0; break;
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &fmt) != CL_OK || fmt == CL_FMT_CSV) {
				rc = cl_cli_usage("discover net", "--format must be table or json");
				goto out_usage;
			}
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("discover")); rc = CL_EXIT_OK; goto out_usage;
		default: rc = cl_cli_usage("discover net", "unknown option"); goto out_usage;
		}
		if (rc != CL_OK)
			goto usage_err;
	}
	if (optind >= argc) {
		rc = cl_cli_usage("discover net", "give at least one TARGET (address, CIDR, range, "
		                  "host name, HOST:PORT or @FILE)");
		goto out_usage;
	}
	for (i = optind; i < argc; i++)
		if ((rc = cl_targets_add(&t, argv[i], err, sizeof err)) != CL_OK)
			goto usage_err;
	naddr = cl_targets_count(&t, NULL);
	if (naddr > MAX_ADDRESSES && !yes) {
		rc = cl_cli_usage("discover net", "the targets name %llu addresses (more than %d); "
		                  "check them, then add --yes to scan them all",
		                  (unsigned long long)naddr, MAX_ADDRESSES);
		goto out_usage;
	}
	if (output) {
		ext = strrchr(output, '.');
		if (ext && strcasecmp(ext, ".csv") == 0)
			ofmt = CL_FMT_CSV;
		else if (ext && strcasecmp(ext, ".json") == 0)
			ofmt = CL_FMT_JSON;
		else {
			rc = cl_cli_usage("discover net", "--output %s: name it .csv or .json", output);
			goto out_usage;
		}
	}
	for (i = 0; i < argc; i++)
		cl_buf_printf(&args, "%s%s", i ? " " : "", argv[i]);
	o.targets = &t;
	o.args = args.data;
	o.stop = &cl_interrupted;
	o.quiet = cli->quiet;
	o.progress = progress >= 0 ? progress : (isatty(STDOUT_FILENO) && isatty(STDERR_FILENO));

	if ((rc = cl_cli_open(cli, 0, &s)) != CL_OK)
		goto out;
	if (output) {
		if ((rc = out_open(&of, output, ofmt)) != CL_OK)
			goto out;
		o.on_row = cl_report_endpoint;
		o.row_arg = &of.w;
	}
	rc = cl_discover_net(s, &o, &st);
	if (output) {
		int orc = out_close(&of, rc == CL_OK);
		if (rc == CL_OK)
			rc = orc;
	}
	if (rc != CL_OK) {
		if (rc != CL_ERR_USAGE && rc != CL_ERR_IO)
			cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(s));
		goto out;
	}
	print_summary(&st, fmt, cli->db, output);
	if (st.interrupted)
		rc = CL_ERR_INTERRUPTED;
out:
	cl_store_close(s);
	cl_targets_free(&t);
	cl_buf_free(&args);
	return cl_cli_exit_for(rc);
usage_num:
	rc = cl_cli_usage("discover net", "--%s: '%s' is not valid (%s)",
	                  opt == O_CONCURRENCY ? "concurrency" : opt == O_WORKERS ? "workers" :
	                  opt == O_MAX_HS ? "max-handshakes" : "rate", optarg,
	                  opt == O_CONCURRENCY || opt == O_MAX_HS ? "1..1000000" :
	                  opt == O_WORKERS ? "1..256" : "connections per second, 0 for no limit");
	goto out_usage;
usage_err:
	if (rc == CL_ERR_IO || rc == CL_ERR_USAGE)
		rc = cl_cli_usage("discover net", "%s", err);
	else
		rc = CL_EXIT_RUNTIME;
out_usage:
	cl_targets_free(&t);
	cl_buf_free(&args);
	return rc;
}

static const struct option endpoints_opts[] = {
	{ "status", required_argument, NULL, O_STATUS },
	{ "location", required_argument, NULL, O_LOCATION },
	{ "verify", required_argument, NULL, O_VERIFY },
	{ "failing", no_argument, NULL, O_FAILING },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ 0 },
};

int cl_cmd_endpoints(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_endpoint_filter f = { 0 };
	enum cl_format fmt = CL_FMT_TABLE;
	struct cl_store *s = NULL;
	struct cl_writer w;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(endpoints_opts, false), NULL))
	       != -1) {
		switch (opt) {
		case O_STATUS: f.status = optarg; break;
		case O_LOCATION: f.location = optarg; break;
		case O_VERIFY: f.verify = optarg; break;
		case O_FAILING: f.failing = true; break;
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &fmt) != CL_OK)
				return cl_cli_usage("endpoints", "--format must be table, json or csv");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("endpoints")); return CL_EXIT_OK;
		default: return cl_cli_usage("endpoints", "unknown option");
		}
	}
	if (optind < argc)
		return cl_cli_usage("endpoints", "unexpected argument '%s'", argv[optind]);
	if ((rc = cl_cli_open(cli, CL_STORE_RDONLY, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	cl_writer_init(&w, stdout, fmt, cl_now());
	cl_report_endpoints_begin(&w);
	rc = cl_store_endpoints(s, &f, cl_report_endpoint, &w);
	cl_report_endpoints_end(&w);
	if (rc != CL_OK)
		cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(s));
	cl_store_close(s);
	return cl_cli_exit_for(rc);
}
