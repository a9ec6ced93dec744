/* certledger ca init|issue|revoke|crl|list|show: the internal CA. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "ca/ca.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "x509/load.h"

#define PASS_ENV "CERTLEDGER_CA_PASSPHRASE"
#define MAX_PASS 1024
#define MAX_LIST 64          /* --dns, --ip, --permit-* ... given on the command line */
#define MAX_BATCH (1 << 17)  /* lines of a --batch file */

enum {
	O_PASS_FILE = 1, O_PASS_ENV, O_NO_PASS, O_KEY_TYPE, O_ORG, O_ROOT_CN, O_INT_CN, O_ROOT_DAYS,
	O_INT_DAYS, O_MAX_DAYS, O_DEFAULT_DAYS, O_PERMIT_DNS, O_PERMIT_IP, O_EXCLUDE_DNS,
	O_EXCLUDE_IP, O_CRL_URL, O_ISSUER_URL, O_CSR, O_CN, O_DNS, O_IP, O_OUT, O_DAYS, O_CLIENT,
	O_RECORD, O_BATCH, O_WORKERS, O_CERT, O_REASON, O_NEXT_UPDATE, O_ROOT, O_DER, O_STATE,
	O_SERIAL,
};

#define PASS_OPTS                                                   \
	{ "passphrase-file", required_argument, NULL, O_PASS_FILE }, \
	{ "passphrase-env", required_argument, NULL, O_PASS_ENV }

/* ---- passphrases ------------------------------------------------------------------ */

struct pass_src {
	const char *file, *env;
	bool none;
};

/*
 * The passphrase from --passphrase-file, --passphrase-env or
 * $CERTLEDGER_CA_PASSPHRASE into *out (NULL when none is given; free with
 * cl_secret_free). Returns -1 to go on, else an exit code (message printed).
 */
static int pass_get(const char *cmd, const struct pass_src *ps, char **out)
{
	const char *v = NULL;

	*out = NULL;
	if ((ps->file != NULL) + (ps->env != NULL) + ps->none > 1)
		return cl_cli_usage(cmd, "give one of --passphrase-file, --passphrase-env%s",
		                    strcmp(cmd, "ca init") == 0 ? " and --no-passphrase" : "");
	if (ps->file) {
		struct stat st;
		const char *why;
		int rc = cl_secret_read_file(ps->file, MAX_PASS, true, out, &why);
		if (rc == CL_ERR_NOMEM)
			return CL_EXIT_RUNTIME;
		if (rc != CL_OK) {
			cl_log(CL_LOG_ERROR, "--passphrase-file %s: %s", ps->file, why);
			return CL_EXIT_USAGE;
		}
		if (stat(ps->file, &st) == 0 && (st.st_mode & 077))
			cl_log(CL_LOG_WARN, "--passphrase-file %s is readable by %s (mode %04o); "
			       "chmod 600 it", ps->file, (st.st_mode & 04) ? "everyone" : "its group",
			       (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (ps->env) {
		if (!(v = getenv(ps->env)) || !*v) {
			cl_log(CL_LOG_ERROR, "--passphrase-env %s: not set, or empty", ps->env);
			return CL_EXIT_USAGE;
		}
	} else if (!ps->none && (v = getenv(PASS_ENV)) && !*v) {
		v = NULL;
	}
	if (v) {
		if (strlen(v) > MAX_PASS) {
			cl_log(CL_LOG_ERROR, "passphrase longer than %d bytes", MAX_PASS);
			return CL_EXIT_USAGE;
		}
		if (!(*out = strdup(v)))
			return CL_EXIT_RUNTIME;
	}
	return -1;
}

static int open_ca(const char *cmd, const char *dir, const struct pass_src *ps, unsigned flags,
                   struct cl_ca **ca)
{
	char err[1024], *pass = NULL;
	int rc;

	if (!(flags & CL_CA_OPEN_NOKEY) && (rc = pass_get(cmd, ps, &pass)) >= 0)
		return rc;
	rc = cl_ca_open(ca, dir, pass, flags, err, sizeof err);
	cl_secret_free(pass);
	if (rc == CL_OK)
		return -1;
	cl_log(CL_LOG_ERROR, "%s", err);
	if (rc == CL_ERR_LOCKED) {
		fprintf(stderr, "certledger %s: give the passphrase with --passphrase-file FILE, "
		        "--passphrase-env VAR or $%s\n", cmd, PASS_ENV);
		return CL_EXIT_USAGE;
	}
	return rc == CL_ERR_NOTFOUND ? CL_EXIT_USAGE : cl_cli_exit_for(rc);
}

/* ---- small parsers ---------------------------------------------------------------- */

static int days_arg(const char *cmd, const char *opt, const char *arg, int64_t *out)
{
	if (cl_duration_parse(arg, out) != CL_OK || *out <= 0)
		return cl_cli_usage(cmd, "%s: '%s' is not a duration (90 = 90 days, 12h, 2w, 1y)", opt,
		                    arg);
	return -1;
}

static int push(const char *cmd, const char *opt, const char **v, size_t *n, const char *s)
{
	if (*n >= MAX_LIST)
		return cl_cli_usage(cmd, "%s: at most %d", opt, MAX_LIST);
	v[(*n)++] = s;
	return -1;
}

static int one_dir(const char *cmd, int argc, char **argv, const char **dir)
{
	if (optind >= argc)
		return cl_cli_usage(cmd, "the CA directory is missing");
	if (optind + 1 < argc)
		return cl_cli_usage(cmd, "unexpected argument '%s'", argv[optind + 1]);
	*dir = argv[optind];
	return -1;
}

static const char *time_str(char *buf, size_t len, int64_t t)
{
	return cl_time_fmt(buf, len, t);
}

/* ---- ca init ---------------------------------------------------------------------- */

static const struct option init_opts[] = {
	PASS_OPTS,
	{ "no-passphrase", no_argument, NULL, O_NO_PASS },
	{ "key-type", required_argument, NULL, O_KEY_TYPE },
	{ "org", required_argument, NULL, O_ORG },
	{ "root-cn", required_argument, NULL, O_ROOT_CN },
	{ "intermediate-cn", required_argument, NULL, O_INT_CN },
	{ "root-days", required_argument, NULL, O_ROOT_DAYS },
	{ "intermediate-days", required_argument, NULL, O_INT_DAYS },
	{ "max-days", required_argument, NULL, O_MAX_DAYS },
	{ "default-days", required_argument, NULL, O_DEFAULT_DAYS },
	{ "permit-dns", required_argument, NULL, O_PERMIT_DNS },
	{ "permit-ip", required_argument, NULL, O_PERMIT_IP },
	{ "exclude-dns", required_argument, NULL, O_EXCLUDE_DNS },
	{ "exclude-ip", required_argument, NULL, O_EXCLUDE_IP },
	{ "crl-url", required_argument, NULL, O_CRL_URL },
	{ "issuer-url", required_argument, NULL, O_ISSUER_URL },
	{ 0 },
};

static void print_cert_line(const char *label, X509 *x)
{
	unsigned char md[32];
	unsigned int len = 0;
	char fp[65] = "", na[40], *subj;
	BIO *b = BIO_new(BIO_s_mem());
	struct tm tm;
	long n;

	if (X509_digest(x, EVP_sha256(), md, &len) == 1)
		cl_hex(fp, md, len);
	if (b)
		X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	n = b ? BIO_get_mem_data(b, &subj) : 0;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		time_str(na, sizeof na, cl_time_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
		                                          (unsigned)tm.tm_mday, (unsigned)tm.tm_hour,
		                                          (unsigned)tm.tm_min, (unsigned)tm.tm_sec));
	else
		snprintf(na, sizeof na, "?");
	printf("%-17s%.*s\n%-17sexpires %s, SHA-256 %s\n", label, (int)n, n ? subj : "", "", na,
	       fp);
	BIO_free(b);
}

static int ca_init(struct cl_cli *cli, int argc, char **argv)
{
	const char *pdns[MAX_LIST], *pip[MAX_LIST], *xdns[MAX_LIST], *xip[MAX_LIST];
	struct cl_ca_init_opts o = { .permit_dns = { pdns, 0 }, .permit_ip = { pip, 0 },
	                             .exclude_dns = { xdns, 0 }, .exclude_ip = { xip, 0 } };
	const char *cmd = "ca init";
	struct pass_src ps = { 0 };
	struct cl_ca *ca = NULL;
	char err[1024], *pass = NULL;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(init_opts, false), NULL)) != -1) {
		rc = -1;
		switch (opt) {
		case O_PASS_FILE: ps.file = optarg; break;
		case O_PASS_ENV: ps.env = optarg; break;
		case O_NO_PASS: ps.none = true; break;
		case O_KEY_TYPE: o.key_type = optarg; break;
		case O_ORG: o.org = optarg; break;
		case O_ROOT_CN: o.root_cn = optarg; break;
		case O_INT_CN: o.intermediate_cn = optarg; break;
		case O_ROOT_DAYS: rc = days_arg(cmd, "--root-days", optarg, &o.root_lifetime); break;
		case O_INT_DAYS:
			rc = days_arg(cmd, "--intermediate-days", optarg, &o.intermediate_lifetime);
			break;
		case O_MAX_DAYS: rc = days_arg(cmd, "--max-days", optarg, &o.max_leaf_lifetime); break;
		case O_DEFAULT_DAYS:
			rc = days_arg(cmd, "--default-days", optarg, &o.default_leaf_lifetime);
			break;
		case O_PERMIT_DNS: rc = push(cmd, "--permit-dns", pdns, &o.permit_dns.n, optarg); break;
		case O_PERMIT_IP: rc = push(cmd, "--permit-ip", pip, &o.permit_ip.n, optarg); break;
		case O_EXCLUDE_DNS:
			rc = push(cmd, "--exclude-dns", xdns, &o.exclude_dns.n, optarg);
			break;
		case O_EXCLUDE_IP: rc = push(cmd, "--exclude-ip", xip, &o.exclude_ip.n, optarg); break;
		case O_CRL_URL: o.crl_url = optarg; break;
		case O_ISSUER_URL: o.issuer_url = optarg; break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("ca")); return CL_EXIT_OK;
		default: return cl_cli_usage(cmd, "unknown option");
		}
		if (rc >= 0)
			return rc;
	}
	if ((rc = one_dir(cmd, argc, argv, &o.dir)) >= 0)
		return rc;
	if ((rc = pass_get(cmd, &ps, &pass)) >= 0)
		return rc;
	if (!pass && !ps.none)
		return cl_cli_usage(cmd, "the keys need a passphrase: --passphrase-file FILE, "
		                    "--passphrase-env VAR or $%s (or --no-passphrase to store them "
		                    "unencrypted)", PASS_ENV);
	o.passphrase = pass;
	rc = cl_ca_init(&o, err, sizeof err);
	if (rc == CL_OK)
		rc = cl_ca_open(&ca, o.dir, NULL, CL_CA_OPEN_NOKEY, err, sizeof err);
	cl_secret_free(pass);
	if (rc != CL_OK) {
		if (rc == CL_ERR_USAGE)
			return cl_cli_usage(cmd, "%s", err);
		cl_log(CL_LOG_ERROR, "%s", err);
		return cl_cli_exit_for(rc);
	}
	if (ps.none)
		cl_log(CL_LOG_WARN, "%s: the CA keys are stored unencrypted (mode 0600); anyone who "
		       "can read them can issue certificates", o.dir);
	if (!cli->quiet) {
		const struct cl_ca_info *in = cl_ca_get0_info(ca);
		printf("created CA in %s (%s, keys %s)\n", o.dir, in->key_type,
		       in->encrypted ? "encrypted" : "NOT encrypted");
		print_cert_line("root", in->root);
		print_cert_line("intermediate", in->intermediate);
		printf("distribute %s/root.pem to the clients that must trust this CA\n", o.dir);
	}
	cl_ca_close(ca);
	return CL_EXIT_OK;
}

/* ---- recording in the inventory ------------------------------------------------------ */

/* Records the files of each deployed prefix as discover files would. */
static int record(struct cl_cli *cli, char **prefixes, size_t n, const char *args)
{
	static const char *const sfx[] = { ".pem", ".chain.pem", ".fullchain.pem", ".key" };
	struct cl_store *s = NULL;
	int64_t run_id = 0, now = cl_now();
	long files = 0;
	size_t i, k, j;
	int rc;

	cl_load_init();
	if ((rc = cl_cli_open(cli, 0, &s)) != CL_OK)
		return rc;
	if ((rc = cl_store_run_begin(s, "ca-issue", args, now, &run_id)) != CL_OK ||
	    (rc = cl_store_begin(s)) != CL_OK)
		goto out;
	for (i = 0; i < n && rc == CL_OK; i++) {
		for (k = 0; k < CL_ARRAY_LEN(sfx) && rc == CL_OK; k++) {
			char path[PATH_MAX + 32], real[PATH_MAX], fp[65];
			struct cl_load_result lr = { 0 };
			struct stat st;
			unsigned char *data;
			size_t len;
			FILE *f;
			snprintf(path, sizeof path, "%s%s", prefixes[i], sfx[k]);
			if (!realpath(path, real) || stat(real, &st) != 0 || !(f = fopen(real, "rb")))
				continue;   /* no key for a CSR */
			data = malloc((size_t)st.st_size + 1);
			len = data ? fread(data, 1, (size_t)st.st_size, f) : 0;
			fclose(f);
			if (!data)
				continue;
			cl_load_buffer(data, len, &(struct cl_load_opts){ 0 }, &lr);
			OPENSSL_cleanse(data, len);
			free(data);
			for (j = 0; j < lr.ncerts && rc == CL_OK; j++)
				rc = cl_store_observe_cert(s, run_id, lr.certs[j].cert, "file", real,
				                           lr.certs[j].detail, now, NULL);
			for (j = 0; j < lr.nkeys && rc == CL_OK; j++) {
				const struct cl_found_key *fk = &lr.keys[j];
				struct cl_key_obs ko = {
					.spki_sha256 = fk->have_spki ? fp : NULL,
					.key_type = fk->key_type[0] ? fk->key_type : NULL,
					.key_bits = fk->key_bits, .encrypted = fk->encrypted,
					.mode = (int)(st.st_mode & 07777), .uid = (long)st.st_uid,
					.container = fk->container,
				};
				if (fk->have_spki)
					cl_hex(fp, fk->spki_sha256, CL_SHA256_LEN);
				rc = cl_store_observe_key(s, run_id, &ko, "file", real, now, NULL);
			}
			if (rc == CL_OK)
				rc = cl_store_location_done(s, run_id, "file", real, now, NULL);
			cl_load_result_free(&lr);
			files++;
		}
	}
	if (rc == CL_OK)
		rc = cl_store_commit(s);
	else
		cl_store_rollback(s);
	{
		char stats[64];
		snprintf(stats, sizeof stats, "{\"files\":%ld}", files);
		int rc2 = cl_store_run_end(s, run_id, rc == CL_OK ? "ok" : "failed", stats, cl_now());
		if (rc == CL_OK)
			rc = rc2;
	}
out:
	if (rc != CL_OK)
		cl_log(CL_LOG_ERROR, "recording in the inventory: %s", cl_store_errmsg(s));
	cl_store_close(s);
	return rc;
}

/* ---- ca issue --------------------------------------------------------------------- */

static const struct option issue_opts[] = {
	PASS_OPTS,
	{ "csr", required_argument, NULL, O_CSR },
	{ "cn", required_argument, NULL, O_CN },
	{ "dns", required_argument, NULL, O_DNS },
	{ "ip", required_argument, NULL, O_IP },
	{ "key-type", required_argument, NULL, O_KEY_TYPE },
	{ "out", required_argument, NULL, O_OUT },
	{ "days", required_argument, NULL, O_DAYS },
	{ "client", no_argument, NULL, O_CLIENT },
	{ "record", no_argument, NULL, O_RECORD },
	{ "batch", required_argument, NULL, O_BATCH },
	{ "workers", required_argument, NULL, O_WORKERS },
	{ 0 },
};

static bool is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* One certificate of a --batch file. */
struct job {
	char *prefix;
	const char **names;    /* the words of the line buffer */
	size_t nnames, cap;
	long line;
	bool attempted;
	int rc;
	char err[512];
};

struct batch {
	struct cl_ca *ca;
	const struct cl_ca_req *tmpl;
	struct job *jobs;
	size_t njobs;
	atomic_size_t next;
};

static void *batch_worker(void *arg)
{
	struct batch *b = arg;
	size_t i;

	while ((i = atomic_fetch_add(&b->next, 1)) < b->njobs && !cl_interrupted) {
		struct job *j = &b->jobs[i];
		const char *dns[CL_CA_MAX_NAMES], *ip[CL_CA_MAX_NAMES];
		struct cl_ca_req r = *b->tmpl;
		struct cl_ca_issued is;
		size_t k;
		r.dns = (struct cl_ca_strs){ dns, 0 };
		r.ip = (struct cl_ca_strs){ ip, 0 };
		r.cn = j->names[0];   /* the first name is the CN */
		for (k = 0; k < j->nnames; k++) {
			if (is_ip(j->names[k]))
				ip[r.ip.n++] = j->names[k];
			else
				dns[r.dns.n++] = j->names[k];
		}
		j->attempted = true;
		j->rc = cl_ca_issue(b->ca, &r, &is, j->err, sizeof j->err);
		if (j->rc == CL_OK) {
			j->rc = cl_ca_deploy(&is, j->prefix, j->err, sizeof j->err);
			cl_ca_issued_free(&is);
		}
	}
	return NULL;
}

/*
 * Reads a --batch file: one certificate per line, "PREFIX NAME [NAME...]"
 * (names are DNS names or IP addresses), '#' comments. Returns -1 to go
 * on, else an exit code.
 */
static int batch_read(const char *path, char **text, struct job **jobs, size_t *njobs)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	struct cl_buf all;
	char chunk[65536], *line, *save = NULL;
	size_t n, cap = 0, count = 0;
	struct job *v = NULL;
	long lineno = 0;

	*text = NULL;
	if (!f) {
		cl_log(CL_LOG_ERROR, "--batch %s: %s", path, strerror(errno));
		return CL_EXIT_USAGE;
	}
	cl_buf_init(&all, 256u << 20);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (cl_buf_add(&all, chunk, n) != CL_OK) {
			if (f != stdin)
				fclose(f);
			cl_log(CL_LOG_ERROR, "--batch %s: too large", path);
			return CL_EXIT_USAGE;
		}
	if (f != stdin)
		fclose(f);
	*text = cl_buf_take(&all);
	/* split in place: lines, then words */
	for (line = *text; line && *line; line = save) {
		char *nl = strchr(line, '\n'), *w, *ws = NULL;
		struct job *j;
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		line[strcspn(line, "#\r")] = '\0';
		if (!(w = strtok_r(line, " \t", &ws)))
			continue;
		if (count >= MAX_BATCH || (count == cap && CL_GROW(v, cap, count + 1) != CL_OK)) {
			cl_log(CL_LOG_ERROR, "--batch %s: too many lines", path);
			goto fail;
		}
		j = &v[count++];
		memset(j, 0, sizeof *j);
		j->prefix = w;
		j->line = lineno;
		while ((w = strtok_r(NULL, " \t", &ws))) {
			if (j->nnames >= CL_CA_MAX_NAMES) {
				cl_log(CL_LOG_ERROR, "%s:%ld: more than %d names", path, lineno,
				       CL_CA_MAX_NAMES);
				goto fail;
			}
			if (CL_GROW(j->names, j->cap, j->nnames + 1) != CL_OK)
				goto fail;
			j->names[j->nnames++] = w;
		}
		if (!j->nnames) {
			cl_log(CL_LOG_ERROR, "%s:%ld: '%s' has no names (PREFIX NAME [NAME...])", path,
			       lineno, j->prefix);
			goto fail;
		}
	}
	if (!count) {
		cl_log(CL_LOG_ERROR, "--batch %s: no certificates (PREFIX NAME [NAME...] per line)",
		       path);
		goto fail;
	}
	*jobs = v;
	*njobs = count;
	return -1;
fail:
	for (size_t i = 0; i < count; i++)
		free(v[i].names);
	free(v);
	free(*text);
	*text = NULL;
	return CL_EXIT_USAGE;
}

static double secs_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int issue_batch(struct cl_cli *cli, struct cl_ca *ca, const struct cl_ca_req *tmpl,
                       const char *path, long workers, bool rec)
{
	struct batch b = { .ca = ca, .tmpl = tmpl };
	pthread_t th[64];
	struct timespec t0;
	char *text = NULL, **prefixes = NULL;
	size_t i, nok = 0, nth;
	int rc;

	if ((rc = batch_read(path, &text, &b.jobs, &b.njobs)) >= 0)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_init(&b.next, 0);
	nth = (size_t)workers < b.njobs ? (size_t)workers : b.njobs;
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, batch_worker, &b) != 0)
			break;
	nth = i;
	if (nth == 0)
		batch_worker(&b);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	rc = CL_EXIT_OK;
	if ((prefixes = calloc(b.njobs, sizeof *prefixes)) == NULL)
		rc = CL_EXIT_RUNTIME;
	for (i = 0; i < b.njobs; i++) {
		struct job *j = &b.jobs[i];
		if (!j->attempted)
			continue;
		if (j->rc != CL_OK) {
			fprintf(stderr, "certledger ca issue: %s:%ld: %s: %s\n", path, j->line, j->prefix,
			        j->err);
			rc = CL_EXIT_RUNTIME;
		} else if (prefixes) {
			prefixes[nok++] = j->prefix;
		}
	}
	if (cl_interrupted && nok < b.njobs) {
		fprintf(stderr, "certledger ca issue: interrupted after %zu of %zu\n", nok, b.njobs);
		rc = 130;
	}
	if (!cli->quiet)
		printf("issued %zu of %zu certificates in %.2f s (%zu worker%s)\n", nok, b.njobs,
		       secs_since(&t0), nth ? nth : 1, nth == 1 ? "" : "s");
	if (rec && nok && record(cli, prefixes, nok, "ca issue --batch") != CL_OK &&
	    rc == CL_EXIT_OK)
		rc = CL_EXIT_RUNTIME;
	for (i = 0; i < b.njobs; i++)
		free(b.jobs[i].names);
	free(b.jobs);
	free(prefixes);
	free(text);
	return rc;
}

static int ca_issue(struct cl_cli *cli, int argc, char **argv)
{
	const char *dns[MAX_LIST], *ip[MAX_LIST], *cmd = "ca issue", *dir = NULL, *csr = NULL,
	           *out = NULL, *batch = NULL;
	struct cl_ca_req r = { .dns = { dns, 0 }, .ip = { ip, 0 } };
	struct pass_src ps = { 0 };
	struct cl_ca_issued is = { 0 };
	struct cl_ca *ca = NULL;
	unsigned char *csrdata = NULL;
	long workers = sysconf(_SC_NPROCESSORS_ONLN);
	bool rec = false, workers_set = false;
	char err[1024], *end, na[40];
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(issue_opts, false), NULL)) != -1) {
		rc = -1;
		switch (opt) {
		case O_PASS_FILE: ps.file = optarg; break;
		case O_PASS_ENV: ps.env = optarg; break;
		case O_CSR: csr = optarg; break;
		case O_CN: r.cn = optarg; break;
		case O_DNS: rc = push(cmd, "--dns", dns, &r.dns.n, optarg); break;
		case O_IP: rc = push(cmd, "--ip", ip, &r.ip.n, optarg); break;
		case O_KEY_TYPE: r.key_type = optarg; break;
		case O_OUT: out = optarg; break;
		case O_DAYS: rc = days_arg(cmd, "--days", optarg, &r.lifetime); break;
		case O_CLIENT: r.client_auth = true; break;
		case O_RECORD: rec = true; break;
		case O_BATCH: batch = optarg; break;
		case O_WORKERS:
			workers = strtol(optarg, &end, 10);
			if (*end || workers < 1 || workers > 64)
				return cl_cli_usage(cmd, "--workers takes 1 to 64");
			workers_set = true;
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("ca")); return CL_EXIT_OK;
		default: return cl_cli_usage(cmd, "unknown option");
		}
		if (rc >= 0)
			return rc;
	}
	if ((rc = one_dir(cmd, argc, argv, &dir)) >= 0)
		return rc;
	/* issuing is fsync-bound: concurrent fsyncs share the file system's journal
	 * commits, so more workers than CPUs help (docs/ca.md has figures) */
	if (!workers_set)
		workers = workers * 2 < 8 ? 8 : workers * 2 > 64 ? 64 : workers * 2;
	if (batch) {
		if (csr || out || r.cn || r.dns.n || r.ip.n)
			return cl_cli_usage(cmd, "--batch takes the names from its file: no --csr, --out, "
			                    "--cn, --dns or --ip");
	} else {
		if (!out)
			return cl_cli_usage(cmd, "--out PREFIX is missing (writes PREFIX.pem, "
			                    "PREFIX.chain.pem, PREFIX.fullchain.pem, PREFIX.key)");
		if (!csr && !r.cn && !r.dns.n && !r.ip.n)
			return cl_cli_usage(cmd, "give --csr FILE, or the names: --cn, --dns, --ip");
		if (csr && r.key_type)
			return cl_cli_usage(cmd, "--key-type is for generated keys, not with --csr");
	}
	if (csr) {
		FILE *f = strcmp(csr, "-") == 0 ? stdin : fopen(csr, "rb");
		size_t n;
		if (!f) {
			cl_log(CL_LOG_ERROR, "--csr %s: %s", csr, strerror(errno));
			return CL_EXIT_USAGE;
		}
		if (!(csrdata = malloc(CL_CA_MAX_CSR + 1))) {
			if (f != stdin)
				fclose(f);
			return CL_EXIT_RUNTIME;
		}
		n = fread(csrdata, 1, CL_CA_MAX_CSR + 1, f);
		if (f != stdin)
			fclose(f);
		r.csr = csrdata;
		r.csr_len = n;
	}
	if ((rc = open_ca(cmd, dir, &ps, 0, &ca)) >= 0)
		goto done;
	if (batch) {
		rc = issue_batch(cli, ca, &r, batch, workers, rec);
		goto done;
	}
	if ((rc = cl_ca_issue(ca, &r, &is, err, sizeof err)) != CL_OK) {
		fprintf(stderr, "certledger %s: %s%s\n", cmd, csr && rc == CL_ERR_PARSE ? "--csr: " : "",
		        err);
		rc = rc == CL_ERR_USAGE ? CL_EXIT_USAGE : cl_cli_exit_for(rc);
		goto done;
	}
	if ((rc = cl_ca_deploy(&is, out, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s (the certificate %s is issued and in the index)", err,
		       is.serial);
		rc = CL_EXIT_RUNTIME;
		goto done;
	}
	if (!cli->quiet) {
		printf("issued serial %s, valid until %s\n", is.serial,
		       time_str(na, sizeof na, is.not_after));
		printf("wrote %s.pem, %s.chain.pem, %s.fullchain.pem%s%s%s\n", out, out, out,
		       is.key_pem ? ", " : "", is.key_pem ? out : "", is.key_pem ? ".key (0600)" : "");
	}
	rc = CL_EXIT_OK;
	if (rec) {
		char *p[1] = { (char *)out };
		if (record(cli, p, 1, "ca issue") != CL_OK)
			rc = CL_EXIT_RUNTIME;
	}
done:
	cl_ca_issued_free(&is);
	cl_ca_close(ca);
	free(csrdata);
	return rc;
}

/* ---- ca revoke ---------------------------------------------------------------------- */

static const struct option revoke_opts[] = {
	PASS_OPTS,
	{ "cert", required_argument, NULL, O_CERT },
	{ "reason", required_argument, NULL, O_REASON },
	{ 0 },
};

static int ca_revoke(struct cl_cli *cli, int argc, char **argv)
{
	const char *cmd = "ca revoke", *dir = NULL, *certfile = NULL, *serial = NULL;
	struct pass_src ps = { 0 };
	struct cl_ca *ca = NULL;
	char err[1024], ser[41];
	int opt, rc, reason = CL_CA_UNSPECIFIED;
	bool already = false;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(revoke_opts, false), NULL))
	       != -1) {
		switch (opt) {
		case O_PASS_FILE: ps.file = optarg; break;
		case O_PASS_ENV: ps.env = optarg; break;
		case O_CERT: certfile = optarg; break;
		case O_REASON:
			if (cl_ca_reason_parse(optarg, &reason) != CL_OK)
				return cl_cli_usage(cmd, "--reason: unspecified, keyCompromise, cACompromise, "
				                    "affiliationChanged, superseded, cessationOfOperation or "
				                    "privilegeWithdrawn");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("ca")); return CL_EXIT_OK;
		default: return cl_cli_usage(cmd, "unknown option");
		}
	}
	if (optind >= argc)
		return cl_cli_usage(cmd, "the CA directory is missing");
	dir = argv[optind++];
	if (optind < argc)
		serial = argv[optind++];
	if (optind < argc)
		return cl_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	if (!serial == !certfile)
		return cl_cli_usage(cmd, "give the SERIAL or --cert FILE");
	if (serial && cl_ca_serial_norm(serial, ser, sizeof ser) != CL_OK)
		return cl_cli_usage(cmd, "'%s' is not a serial number (hex digits)", serial);
	if ((rc = open_ca(cmd, dir, &ps, 0, &ca)) >= 0)
		return rc;
	if (certfile) {
		FILE *f = fopen(certfile, "rb");
		unsigned char buf[65536];
		size_t n;
		if (!f) {
			cl_log(CL_LOG_ERROR, "--cert %s: %s", certfile, strerror(errno));
			rc = CL_EXIT_USAGE;
			goto out;
		}
		n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		if ((rc = cl_ca_serial_of(ca, buf, n, ser, sizeof ser, err, sizeof err)) != CL_OK) {
			cl_log(CL_LOG_ERROR, "--cert %s: %s", certfile, err);
			rc = rc == CL_ERR_NOTFOUND ? CL_EXIT_NOMATCH : CL_EXIT_RUNTIME;
			goto out;
		}
	}
	if ((rc = cl_ca_revoke(ca, ser, reason, 0, &already, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", err);
		rc = cl_cli_exit_for(rc);
		goto out;
	}
	if (!cli->quiet) {
		if (already)
			printf("serial %s was already revoked; nothing changed\n", ser);
		else
			printf("revoked serial %s (%s); publish a new CRL: certledger ca crl %s --out "
			       "FILE\n", ser, cl_ca_reason_name(reason), dir);
	}
	rc = CL_EXIT_OK;
out:
	cl_ca_close(ca);
	return rc;
}

/* ---- ca crl ------------------------------------------------------------------------- */

static const struct option crl_opts[] = {
	PASS_OPTS,
	{ "out", required_argument, NULL, O_OUT },
	{ "next-update", required_argument, NULL, O_NEXT_UPDATE },
	{ "root", no_argument, NULL, O_ROOT },
	{ "der", no_argument, NULL, O_DER },
	{ 0 },
};

static int ca_crl(struct cl_cli *cli, int argc, char **argv)
{
	const char *cmd = "ca crl", *dir = NULL, *out = NULL;
	struct pass_src ps = { 0 };
	struct cl_ca *ca = NULL;
	int64_t next = 7 * 86400;
	unsigned char *der = NULL;
	char err[1024], *pem = NULL;
	size_t len = 0;
	bool root = false, asder = false;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(crl_opts, false), NULL)) != -1) {
		rc = -1;
		switch (opt) {
		case O_PASS_FILE: ps.file = optarg; break;
		case O_PASS_ENV: ps.env = optarg; break;
		case O_OUT: out = optarg; break;
		case O_NEXT_UPDATE: rc = days_arg(cmd, "--next-update", optarg, &next); break;
		case O_ROOT: root = true; break;
		case O_DER: asder = true; break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("ca")); return CL_EXIT_OK;
		default: return cl_cli_usage(cmd, "unknown option");
		}
		if (rc >= 0)
			return rc;
	}
	if ((rc = one_dir(cmd, argc, argv, &dir)) >= 0)
		return rc;
	if (!out)
		return cl_cli_usage(cmd, "--out FILE is missing");
	if ((rc = open_ca(cmd, dir, &ps, root ? CL_CA_OPEN_ROOT : 0, &ca)) >= 0)
		return rc;
	if ((rc = cl_ca_crl(ca, root, next, 0, &der, &len, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", err);
		rc = cl_cli_exit_for(rc);
		goto out;
	}
	if (!asder) {
		const unsigned char *p = der;
		X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
		BIO *b = BIO_new(BIO_s_mem());
		char *data;
		long n;
		if (crl && b && PEM_write_bio_X509_CRL(b, crl) == 1 &&
		    (n = BIO_get_mem_data(b, &data)) > 0 && (pem = malloc((size_t)n)))
			memcpy(pem, data, (size_t)(len = (size_t)n));
		X509_CRL_free(crl);
		BIO_free(b);
		if (!pem) {
			cl_log(CL_LOG_ERROR, "could not encode the CRL as PEM");
			rc = CL_EXIT_RUNTIME;
			goto out;
		}
	}
	if (cl_write_file_atomic(out, pem ? (void *)pem : (void *)der, len, 0644) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s: %s", out, strerror(errno));
		rc = CL_EXIT_RUNTIME;
		goto out;
	}
	if (!cli->quiet) {
		struct cl_ca_counts c;
		char na[40];
		if (cl_ca_counts(ca, 0, &c, err, sizeof err) == CL_OK)
			printf("wrote %s: %s CRL number %ld, next update %s\n", out,
			       root ? "root" : "intermediate", root ? c.root_crl_number : c.crl_number,
			       time_str(na, sizeof na, cl_now() + next));
	}
	rc = CL_EXIT_OK;
out:
	free(der);
	free(pem);
	cl_ca_close(ca);
	return rc;
}

/* ---- ca list ------------------------------------------------------------------------ */

static const struct option list_opts[] = {
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "state", required_argument, NULL, O_STATE },
	{ "serial", required_argument, NULL, O_SERIAL },
	{ 0 },
};

static const char *entry_state(const struct cl_ca_entry *e, int64_t now)
{
	return e->revoked_at ? "revoked" : e->not_after < now ? "expired" : "valid";
}

struct lister {
	enum cl_format fmt;
	int64_t now;
	long rows;
	json_t *arr;
};

static int list_row(void *arg, const struct cl_ca_entry *e)
{
	struct lister *l = arg;
	char nb[40], na[40], ia[40], ra[40] = "";

	time_str(nb, sizeof nb, e->not_before);
	time_str(na, sizeof na, e->not_after);
	time_str(ia, sizeof ia, e->issued_at);
	if (e->revoked_at)
		time_str(ra, sizeof ra, e->revoked_at);
	if (l->fmt == CL_FMT_JSON) {
		json_t *sans = json_array(), *o;
		char *dup = strdup(e->sans), *w, *save = NULL;
		for (w = dup ? strtok_r(dup, ",", &save) : NULL; w; w = strtok_r(NULL, ",", &save))
			json_array_append_new(sans, json_string(w));
		free(dup);
		o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?}",
		              "serial", e->serial, "fingerprint_sha256", e->fingerprint, "cn", e->cn,
		              "sans", sans, "key_type", e->key_type, "not_before", nb, "not_after", na,
		              "issued_at", ia, "state", entry_state(e, l->now),
		              "revoked_at", e->revoked_at ? ra : NULL,
		              "reason", e->revoked_at ? cl_ca_reason_name(e->reason) : NULL);
		if (!o || json_array_append_new(l->arr, o) != 0)
			return CL_ERR_NOMEM;
	} else if (l->fmt == CL_FMT_CSV) {
		if (l->rows == 0)
			fputs("serial,fingerprint_sha256,cn,sans,key_type,not_before,not_after,issued_at,"
			      "state,revoked_at,reason\n", stdout);
		cl_csv_field(stdout, e->serial, true);
		cl_csv_field(stdout, e->fingerprint, false);
		cl_csv_field(stdout, e->cn, false);
		cl_csv_field(stdout, e->sans, false);
		cl_csv_field(stdout, e->key_type, false);
		cl_csv_field(stdout, nb, false);
		cl_csv_field(stdout, na, false);
		cl_csv_field(stdout, ia, false);
		cl_csv_field(stdout, entry_state(e, l->now), false);
		cl_csv_field(stdout, ra, false);
		cl_csv_field(stdout, e->revoked_at ? cl_ca_reason_name(e->reason) : "", false);
		fputc('\n', stdout);
	} else {
		if (l->rows == 0)
			printf("%-32s  %-7s  %-20s  %-30s  %s\n", "SERIAL", "STATE", "NOT AFTER", "CN",
			       "NAMES");
		printf("%-32s  %-7s  %-20s  %-30s  %s\n", e->serial, entry_state(e, l->now), na,
		       e->cn, e->sans);
	}
	l->rows++;
	return 0;
}

static int ca_list(struct cl_cli *cli, int argc, char **argv)
{
	const char *cmd = "ca list", *dir = NULL, *serial = NULL;
	struct lister l = { .fmt = CL_FMT_TABLE, .now = cl_now() };
	enum cl_ca_state state = CL_CA_ALL;
	struct cl_ca *ca = NULL;
	char err[1024];
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(list_opts, false), NULL)) != -1) {
		switch (opt) {
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &l.fmt) != CL_OK)
				return cl_cli_usage(cmd, "--format must be table, json or csv");
			break;
		case O_STATE:
			if (strcmp(optarg, "valid") == 0)
				state = CL_CA_VALID;
			else if (strcmp(optarg, "expired") == 0)
				state = CL_CA_EXPIRED;
			else if (strcmp(optarg, "revoked") == 0)
				state = CL_CA_REVOKED;
			else if (strcmp(optarg, "all") == 0)
				state = CL_CA_ALL;
			else
				return cl_cli_usage(cmd, "--state must be valid, expired, revoked or all");
			break;
		case O_SERIAL: serial = optarg; break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("ca")); return CL_EXIT_OK;
		default: return cl_cli_usage(cmd, "unknown option");
		}
	}
	if ((rc = one_dir(cmd, argc, argv, &dir)) >= 0)
		return rc;
	if ((rc = open_ca(cmd, dir, NULL, CL_CA_OPEN_NOKEY, &ca)) >= 0)
		return rc;
	if (l.fmt == CL_FMT_JSON && !(l.arr = json_array())) {
		rc = CL_EXIT_RUNTIME;
		goto out;
	}
	rc = cl_ca_list(ca, state, serial, l.now, list_row, &l, err, sizeof err);
	if (rc != CL_OK && rc != CL_ERR_NOTFOUND) {
		cl_log(CL_LOG_ERROR, "%s", err);
		rc = rc == CL_ERR_USAGE ? CL_EXIT_USAGE : cl_cli_exit_for(rc);
		goto out;
	}
	if (l.arr) {
		json_dumpf(l.arr, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	rc = l.rows ? CL_EXIT_OK : CL_EXIT_NOMATCH;
out:
	json_decref(l.arr);
	cl_ca_close(ca);
	return rc;
}

/* ---- ca show ------------------------------------------------------------------------ */

static const struct option show_opts[] = {
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ 0 },
};

static json_t *strs_json(const struct cl_ca_strs *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->n; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}

static json_t *cert_json(X509 *x)
{
	unsigned char md[32];
	unsigned int len = 0;
	char fp[65] = "", na[40] = "", *subj = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	struct tm tm;
	long n = 0;
	json_t *o;

	if (X509_digest(x, EVP_sha256(), md, &len) == 1)
		cl_hex(fp, md, len);
	if (b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0)
		n = BIO_get_mem_data(b, &subj);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		time_str(na, sizeof na, cl_time_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
		                                          (unsigned)tm.tm_mday, (unsigned)tm.tm_hour,
		                                          (unsigned)tm.tm_min, (unsigned)tm.tm_sec));
	o = json_pack("{s:s%, s:s, s:s}", "subject", n > 0 ? subj : "", (size_t)(n > 0 ? n : 0),
	              "not_after", na, "fingerprint_sha256", fp);
	BIO_free(b);
	return o;
}

static void print_list(const char *label, const struct cl_ca_strs *s)
{
	if (!s->n)
		return;
	printf("  %-15s", label);
	for (size_t i = 0; i < s->n; i++)
		printf("%s%s", i ? ", " : "", s->v[i]);
	putchar('\n');
}

static int ca_show(struct cl_cli *cli, int argc, char **argv)
{
	const char *cmd = "ca show", *dir = NULL;
	enum cl_format fmt = CL_FMT_TABLE;
	const struct cl_ca_info *in;
	struct cl_ca_counts c;
	struct cl_ca *ca = NULL;
	char err[1024], a[32], b[32];
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(show_opts, false), NULL)) != -1) {
		switch (opt) {
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &fmt) != CL_OK || fmt == CL_FMT_CSV)
				return cl_cli_usage(cmd, "--format must be table or json");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("ca")); return CL_EXIT_OK;
		default: return cl_cli_usage(cmd, "unknown option");
		}
	}
	if ((rc = one_dir(cmd, argc, argv, &dir)) >= 0)
		return rc;
	if ((rc = open_ca(cmd, dir, NULL, CL_CA_OPEN_NOKEY, &ca)) >= 0)
		return rc;
	if ((rc = cl_ca_counts(ca, cl_now(), &c, err, sizeof err)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", err);
		rc = cl_cli_exit_for(rc);
		goto out;
	}
	in = cl_ca_get0_info(ca);
	snprintf(a, sizeof a, "%lldd", (long long)(in->default_leaf_lifetime / 86400));
	snprintf(b, sizeof b, "%lldd", (long long)(in->max_leaf_lifetime / 86400));
	if (in->default_leaf_lifetime % 86400)
		snprintf(a, sizeof a, "%llds", (long long)in->default_leaf_lifetime);
	if (in->max_leaf_lifetime % 86400)
		snprintf(b, sizeof b, "%llds", (long long)in->max_leaf_lifetime);
	if (fmt == CL_FMT_JSON) {
		json_t *o = json_pack("{s:s, s:s, s:b, s:o, s:o, s:{s:o, s:o, s:o, s:o}, s:s, s:s,"
		                      " s:s?, s:s?, s:{s:i, s:i, s:i, s:i}, s:i, s:i}",
		                      "dir", in->dir, "key_type", in->key_type, "encrypted", in->encrypted,
		                      "root", cert_json(in->root), "intermediate",
		                      cert_json(in->intermediate), "name_constraints",
		                      "permitted_dns", strs_json(&in->permit_dns),
		                      "permitted_ip", strs_json(&in->permit_ip),
		                      "excluded_dns", strs_json(&in->exclude_dns),
		                      "excluded_ip", strs_json(&in->exclude_ip),
		                      "default_leaf_lifetime", a, "max_leaf_lifetime", b,
		                      "crl_url", in->crl_url, "issuer_url", in->issuer_url,
		                      "certificates", "issued", (json_int_t)c.issued,
		                      "valid", (json_int_t)c.valid, "expired", (json_int_t)c.expired,
		                      "revoked", (json_int_t)c.revoked,
		                      "crl_number", (json_int_t)c.crl_number,
		                      "root_crl_number", (json_int_t)c.root_crl_number);
		if (!o) {
			rc = CL_EXIT_RUNTIME;
			goto out;
		}
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else {
		printf("%-17s%s\n", "CA directory", in->dir);
		printf("%-17s%s, keys %s\n", "key type", in->key_type,
		       in->encrypted ? "encrypted" : "NOT encrypted");
		print_cert_line("root", in->root);
		print_cert_line("intermediate", in->intermediate);
		if (!in->permit_dns.n && !in->permit_ip.n && !in->exclude_dns.n && !in->exclude_ip.n) {
			printf("%-17snone\n", "name constraints");
		} else {
			printf("name constraints (in the intermediate, critical)\n");
			print_list("permitted DNS", &in->permit_dns);
			print_list("permitted IP", &in->permit_ip);
			print_list("excluded DNS", &in->exclude_dns);
			print_list("excluded IP", &in->exclude_ip);
		}
		printf("%-17sdefault %s, maximum %s\n", "leaf lifetime", a, b);
		printf("%-17s%s\n", "CRL URL", in->crl_url ? in->crl_url : "-");
		printf("%-17s%s\n", "issuer URL", in->issuer_url ? in->issuer_url : "-");
		printf("%-17s%ld issued: %ld valid, %ld expired, %ld revoked\n", "certificates",
		       c.issued, c.valid, c.expired, c.revoked);
		printf("%-17s%ld (root: %ld)\n", "last CRL number", c.crl_number, c.root_crl_number);
	}
	rc = CL_EXIT_OK;
out:
	cl_ca_close(ca);
	return rc;
}

/* ---- dispatch ----------------------------------------------------------------------- */

int cl_cmd_ca(struct cl_cli *cli, int argc, char **argv)
{
	static const struct { const char *name; int (*run)(struct cl_cli *, int, char **); } subs[] = {
		{ "init", ca_init }, { "issue", ca_issue }, { "revoke", ca_revoke },
		{ "crl", ca_crl }, { "list", ca_list }, { "show", ca_show },
	};

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cl_cli_help(cl_cli_find("ca"));
		return argc < 2 ? CL_EXIT_USAGE : CL_EXIT_OK;
	}
	for (size_t i = 0; i < CL_ARRAY_LEN(subs); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(cli, argc - 1, argv + 1);
	return cl_cli_usage("ca", "'%s' is not a ca command (init, issue, revoke, crl, list, show)",
	                    argv[1]);
}
