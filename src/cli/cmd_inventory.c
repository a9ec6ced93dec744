/* certledger ls | show | summary: querying the inventory. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "cli/cli.h"
#include "report/ics.h"
#include "core/log.h"
#include "core/util.h"

static const struct option format_opts[] = {
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ 0 },
};

/*
 * Parses the options of ls and summary. Returns -1 to go on, else an
 * exit code.
 */
static int parse_query_opts(struct cl_cli *cli, const char *cmd, int argc, char **argv,
                            struct cl_filter *f, enum cl_format *fmt, bool *ics)
{
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(format_opts, true), NULL))
	       != -1) {
		switch (opt) {
		case OPT_FORMAT:
			if (ics && strcmp(optarg, "ics") == 0) {
				*ics = true;
				break;
			}
			if (cl_format_parse(optarg, fmt) != CL_OK)
				return cl_cli_usage(cmd, ics ? "--format must be table, json, csv or ics"
				                    : "--format must be table, json or csv");
			break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find(cmd)); return CL_EXIT_OK;
		case '?': return cl_cli_usage(cmd, "unknown option");
		default:
			rc = cl_filter_option(cmd, f, opt, optarg);
			if (rc == CL_ERR_USAGE)
				return CL_EXIT_USAGE;
			if (rc != CL_OK)
				return cl_cli_usage(cmd, "unknown option");
		}
	}
	if (optind < argc)
		return cl_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

int cl_cmd_ls(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_filter f;
	struct cl_writer w;
	struct cl_store *s = NULL;
	enum cl_format fmt = CL_FMT_TABLE;
	bool ics = false;
	long rows;
	int rc;

	cl_filter_init(&f);
	if ((rc = parse_query_opts(cli, "ls", argc, argv, &f, &fmt, &ics)) >= 0)
		return rc;
	if ((rc = cl_cli_open(cli, CL_STORE_RDONLY, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	if (ics) {
		struct cl_ics x;
		cl_ics_begin(&x, stdout, f.now);
		rc = cl_store_query(s, &f, cl_ics_cert, &x);
		cl_ics_end(&x);
		rows = x.rows;
	} else {
		cl_writer_init(&w, stdout, fmt, f.now);
		cl_report_certs_begin(&w);
		/* JSON rows are encoded by the store itself: several times faster */
		rc = fmt == CL_FMT_JSON ? cl_store_query_json(s, &f, cl_report_cert_encoded, &w)
		                        : cl_store_query(s, &f, cl_report_cert, &w);
		cl_report_certs_end(&w);
		rows = w.rows;
	}
	if (rc != CL_OK)
		cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(s));
	cl_store_close(s);
	if (rc != CL_OK)
		return cl_cli_exit_for(rc);
	return rows ? CL_EXIT_OK : CL_EXIT_NOMATCH;
}

/* ---- summary --------------------------------------------------------------- */

static json_t *counts_json(const struct cl_count *c, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s,s:I}", "name", c[i].name, "count",
		                                   (json_int_t)c[i].n));
	return a;
}

static void print_counts(const char *title, const struct cl_count *c, size_t n, size_t top)
{
	size_t i;
	long rest = 0;

	printf("\n%s\n", title);
	for (i = 0; i < n; i++) {
		if (i < top)
			printf("  %8ld  %s\n", c[i].n, c[i].name);
		else
			rest += c[i].n;
	}
	if (rest)
		printf("  %8ld  (%zu others)\n", rest, n - top);
}

int cl_cmd_summary(struct cl_cli *cli, int argc, char **argv)
{
	struct cl_filter f;
	struct cl_summary sum;
	struct cl_store *s = NULL;
	enum cl_format fmt = CL_FMT_TABLE;
	char now[40];
	int rc;

	cl_filter_init(&f);
	if ((rc = parse_query_opts(cli, "summary", argc, argv, &f, &fmt, NULL)) >= 0)
		return rc;
	if ((rc = cl_cli_open(cli, CL_STORE_RDONLY, &s)) != CL_OK)
		return cl_cli_exit_for(rc);
	if ((rc = cl_store_summary(s, &f, &sum)) != CL_OK) {
		cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(s));
		cl_store_close(s);
		return cl_cli_exit_for(rc);
	}
	cl_time_fmt(now, sizeof now, f.now);
	if (fmt == CL_FMT_JSON) {
		json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I},s:o,s:o,s:o}",
		                      "database", cli->db, "at", now,
		                      "certificates", (json_int_t)sum.certs,
		                      "locations", (json_int_t)sum.locations,
		                      "keys", (json_int_t)sum.keys,
		                      "open_findings", (json_int_t)sum.open_findings,
		                      "expiry", "expired", (json_int_t)sum.expired,
		                      "lt_7d", (json_int_t)sum.lt7, "lt_30d", (json_int_t)sum.lt30,
		                      "lt_90d", (json_int_t)sum.lt90, "later", (json_int_t)sum.later,
		                      "by_issuer", counts_json(sum.by_issuer, sum.nissuer),
		                      "by_key", counts_json(sum.by_key, sum.nkey),
		                      "by_sig_alg", counts_json(sum.by_sig, sum.nsig));
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else if (fmt == CL_FMT_CSV) {
		size_t i;
		printf("dimension,name,count\r\n");
		printf("expiry,expired,%ld\r\nexpiry,lt_7d,%ld\r\nexpiry,lt_30d,%ld\r\n"
		       "expiry,lt_90d,%ld\r\nexpiry,later,%ld\r\n", sum.expired, sum.lt7, sum.lt30,
		       sum.lt90, sum.later);
		for (i = 0; i < sum.nissuer; i++) {
			fputs("issuer", stdout);
			cl_csv_field(stdout, sum.by_issuer[i].name, false);
			printf(",%ld\r\n", sum.by_issuer[i].n);
		}
		for (i = 0; i < sum.nkey; i++)
			printf("key,%s,%ld\r\n", sum.by_key[i].name, sum.by_key[i].n);
		for (i = 0; i < sum.nsig; i++)
			printf("sig_alg,%s,%ld\r\n", sum.by_sig[i].name, sum.by_sig[i].n);
	} else {
		printf("Inventory %s at %s\n", cli->db, now);
		printf("  %ld certificates at %ld locations, %ld private keys, %ld open findings\n",
		       sum.certs, sum.locations, sum.keys, sum.open_findings);
		printf("\nExpiry\n  %8ld  expired\n  %8ld  < 7 days\n  %8ld  < 30 days\n"
		       "  %8ld  < 90 days\n  %8ld  later\n", sum.expired, sum.lt7, sum.lt30,
		       sum.lt90, sum.later);
		print_counts("Issuers", sum.by_issuer, sum.nissuer, 15);
		print_counts("Key types", sum.by_key, sum.nkey, 15);
		print_counts("Signature algorithms", sum.by_sig, sum.nsig, 15);
	}
	cl_summary_free(&sum);
	cl_store_close(s);
	return CL_EXIT_OK;
}

/* ---- show -------------------------------------------------------------------- */

struct show_ctx {
	struct cl_store *s;
	enum cl_format fmt;
	bool pem;
	long shown;
	int64_t now;
	json_t *arr;
};

static int print_event(void *arg, const struct cl_event_row *e)
{
	char ts[40];

	(void)arg;
	printf("  %s  %-16s %s%s%s\n", cl_time_fmt(ts, sizeof ts, e->ts), e->type,
	       e->location ? e->location : "", e->detail ? " " : "", e->detail ? e->detail : "");
	return CL_OK;
}

static int print_key(void *arg, const struct cl_key_row *k)
{
	(*(long *)arg)++;
	printf("  key present at %s, mode %04o%s%s (%s, %s%s)\n", k->where, k->mode,
	       (k->mode & 044) ? " — readable by " : "",
	       (k->mode & 04) ? "everyone" : (k->mode & 040) ? "its group" : "",
	       k->container ? k->container : "?", k->state,
	       k->encrypted ? ", encrypted" : "");
	return CL_OK;
}

struct json_collect { json_t *arr; };

static int collect_event(void *arg, const struct cl_event_row *e)
{
	struct json_collect *jc = arg;
	char ts[40];

	json_array_append_new(jc->arr, json_pack("{s:s,s:s,s:s?,s:s?}", "timestamp",
	                                         cl_time_fmt(ts, sizeof ts, e->ts), "event_type",
	                                         e->type, "location", e->location, "detail",
	                                         e->detail));
	return CL_OK;
}

static int collect_key(void *arg, const struct cl_key_row *k)
{
	struct json_collect *jc = arg;
	char mode[16];

	snprintf(mode, sizeof mode, "%04o", k->mode);
	json_array_append_new(jc->arr, json_pack("{s:s,s:s,s:s,s:b,s:b,s:s?}", "where", k->where,
	                                         "mode", mode, "state", k->state,
	                                         "readable_by_others", (k->mode & 044) != 0,
	                                         "encrypted", k->encrypted,
	                                         "container", k->container));
	return CL_OK;
}

static void print_list(const char *label, const struct cl_strv *v)
{
	size_t i;

	if (v->n == 0)
		return;
	printf("  %-18s", label);
	for (i = 0; i < v->n; i++)
		printf("%s%s", i ? "\n                    " : "", v->v[i]);
	putchar('\n');
}

static int show_one(void *arg, const struct cl_inv_row *row)
{
	struct show_ctx *x = arg;
	const struct cl_cert *c = row->c;
	char fp[65], spki[65], nb[40], na[40], fs[40], ls[40];
	struct cl_event_filter ef = { 0 };
	long nkeys;
	size_t i;

	cl_hex(fp, c->fp, CL_SHA256_LEN);
	cl_hex(spki, c->spki_sha256, CL_SHA256_LEN);
	ef.fp_prefix = fp;
	if (x->pem) {
		unsigned char *der = NULL;
		size_t len = 0;
		const unsigned char *p;
		X509 *xc;
		if (cl_store_get_der(x->s, fp, &der, &len) != CL_OK)
			return CL_ERR;
		p = der;
		if ((xc = d2i_X509(NULL, &p, (long)len)) != NULL) {
			PEM_write_X509(stdout, xc);
			X509_free(xc);
		}
		free(der);
		x->shown++;
		return CL_OK;
	}
	if (x->fmt == CL_FMT_JSON) {
		json_t *o = cl_report_cert_json(row, x->now);
		struct json_collect ev = { json_array() }, keys = { json_array() };
		cl_store_events(x->s, &ef, collect_event, &ev);
		cl_store_keys(x->s, spki, collect_key, &keys);
		json_object_set_new(o, "events", ev.arr);
		json_object_set_new(o, "keys", keys.arr);
		json_array_append_new(x->arr, o);
		x->shown++;
		return CL_OK;
	}
	if (x->shown++)
		putchar('\n');
	printf("Certificate %s\n", fp);
	printf("  %-18s%s\n", "Subject", c->subject);
	printf("  %-18s%s\n", "Issuer", c->issuer);
	printf("  %-18s%s\n", "Serial", c->serial);
	printf("  %-18s%s\n", "Not before", cl_time_fmt(nb, sizeof nb, c->not_before));
	printf("  %-18s%s (%lld days left%s)\n", "Not after", cl_time_fmt(na, sizeof na, c->not_after),
	       (long long)cl_cert_days_left(c, x->now),
	       cl_cert_days_left(c, x->now) < 0 ? ": EXPIRED" : "");
	printf("  %-18s%lld days\n", "Validity",
	       (long long)cl_cert_validity_days(c->not_before, c->not_after));
	printf("  %-18s%s", "Key", c->key_type);
	if (c->curve)
		printf(" %s", c->curve);
	if (c->key_bits > 0)
		printf(" (%d bits)", c->key_bits);
	if (strcmp(c->key_type, c->key_oid) != 0 && c->key_oid[0] >= '0' && c->key_oid[0] <= '9')
		printf(" [%s]", c->key_oid);
	printf("\n  %-18s%s\n", "Key SHA-256", spki);
	printf("  %-18s%s\n", "Signature", c->sig_alg);
	printf("  %-18s%s\n", "CA", c->is_ca ? "yes" : "no");
	if (c->is_ca && c->path_len >= 0)
		printf("  %-18s%d\n", "Path length", c->path_len);
	printf("  %-18s%s\n", "Self-signed", c->self_signed ? "yes (signature verified)" : "no");
	print_list("SANs", &c->sans);
	if (c->key_usage)
		printf("  %-18s%s\n", "Key usage", c->key_usage);
	if (c->eku)
		printf("  %-18s%s\n", "Extended usage", c->eku);
	if (c->ski)
		printf("  %-18s%s\n", "Subject key ID", c->ski);
	if (c->aki)
		printf("  %-18s%s\n", "Authority key ID", c->aki);
	print_list("OCSP", &c->ocsp);
	print_list("CA issuers", &c->ca_issuers);
	print_list("CRL", &c->crl);
	printf("  %-18s%d\n", "Embedded SCTs", c->sct_count);
	printf("  %-18s%s\n", "Owner", row->owner ? row->owner : "-");
	printf("  %-18s%s\n", "Environment", row->environment ? row->environment : "-");
	printf("  %-18s", "Tags");
	for (i = 0; i < row->tags->n; i++)
		printf("%s%s", i ? ", " : "", row->tags->v[i]);
	printf("%s\n\nLocations\n", row->tags->n ? "" : "-");
	for (i = 0; i < row->nlocs; i++) {
		const struct cl_loc_row *l = &row->locs[i];
		printf("  %-7s %s:%s%s%s%s\n          first seen %s, last seen %s\n", l->state, l->kind,
		       l->where, l->detail ? " (" : "", l->detail ? l->detail : "",
		       l->detail ? ")" : "", cl_time_fmt(fs, sizeof fs, l->first_seen),
		       cl_time_fmt(ls, sizeof ls, l->last_seen));
	}
	printf("\nPrivate keys\n");
	nkeys = 0;
	cl_store_keys(x->s, spki, print_key, &nkeys);
	if (nkeys == 0)
		printf("  none found\n");
	printf("\nEvents\n");
	return cl_store_events(x->s, &ef, print_event, NULL);
}

static const struct option show_opts[] = {
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "pem", no_argument, NULL, 'p' },
	{ 0 },
};

int cl_cmd_show(struct cl_cli *cli, int argc, char **argv)
{
	struct show_ctx x = { 0 };
	struct cl_filter f;
	char real[PATH_MAX], pat[PATH_MAX + 8], *esc = NULL;
	const char *arg;
	struct stat sb;
	int opt, rc;

	x.fmt = CL_FMT_TABLE;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", cl_cli_longopts(show_opts, false), NULL)) != -1) {
		switch (opt) {
		case OPT_FORMAT:
			if (cl_format_parse(optarg, &x.fmt) != CL_OK || x.fmt == CL_FMT_CSV)
				return cl_cli_usage("show", "--format must be table or json");
			break;
		case 'p': x.pem = true; break;
		case OPT_DB: cli->db = optarg; break;
		case OPT_HELP: cl_cli_help(cl_cli_find("show")); return CL_EXIT_OK;
		default: return cl_cli_usage("show", "unknown option");
		}
	}
	if (optind != argc - 1)
		return cl_cli_usage("show", "give one fingerprint (prefix) or file path");
	arg = argv[optind];
	cl_filter_init(&f);
	f.state = CL_STATE_ALL;
	if (strchr(arg, '/') || stat(arg, &sb) == 0) {
		if (!realpath(arg, real))
			snprintf(real, sizeof real, "%s", arg);
		if (!(esc = cl_escape_bytes(real, strlen(real))))
			return CL_EXIT_RUNTIME;
		/* escape glob characters so the path matches literally */
		{
			size_t i, n = 0;
			n += (size_t)snprintf(pat, sizeof pat, "file:");
			for (i = 0; esc[i] && n + 3 < sizeof pat; i++) {
				if (strchr("*?[\\", esc[i])) {
					pat[n++] = '\\';
					pat[n++] = esc[i];
				} else {
					pat[n++] = esc[i];
				}
			}
			pat[n] = '\0';
		}
		f.location = pat;
	} else {
		size_t i;
		for (i = 0; arg[i]; i++)
			if (!strchr("0123456789abcdefABCDEF:", arg[i]))
				return cl_cli_usage("show", "'%s' is neither a file nor a fingerprint", arg);
		if (strlen(arg) < 4)
			return cl_cli_usage("show", "give at least 4 hex digits of the fingerprint");
		f.fp_prefix = arg;
	}
	if ((rc = cl_cli_open(cli, CL_STORE_RDONLY, &x.s)) != CL_OK) {
		free(esc);
		return cl_cli_exit_for(rc);
	}
	x.now = f.now;
	if (x.fmt == CL_FMT_JSON)
		x.arr = json_array();
	rc = cl_store_query(x.s, &f, show_one, &x);
	if (rc != CL_OK)
		cl_log(CL_LOG_ERROR, "%s", cl_store_errmsg(x.s));
	else if (x.fmt == CL_FMT_JSON && !x.pem) {
		json_dumpf(x.arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(x.arr);
	cl_store_close(x.s);
	free(esc);
	if (rc != CL_OK)
		return cl_cli_exit_for(rc);
	if (x.shown == 0) {
		fprintf(stderr, "certledger show: no certificate matches %s\n", arg);
		return CL_EXIT_NOMATCH;
	}
	return CL_EXIT_OK;
}
