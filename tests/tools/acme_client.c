/*
 * acme_client: a test driver for the ACME library (built with the tests,
 * never installed). One command per run, against the directory --dir:
 *
 *   acme_client --dir URL [--ca-bundle FILE] [--account-key FILE]
 *               [--account-key-type ec256|ec384|rsa2048] [--timeout-ms MS]
 *               [--bad-nonce-retries N] COMMAND [OPTIONS]
 *
 *   directory                     tos=, eab_required=, ari=
 *   account [--contact C]... [--agree-tos] [--only-existing]
 *           [--eab-kid K --eab-key KEY]          account=URL created=0|1
 *   issue (--name D | --ip A)... SOLVERS [--key-type T | --cert-key FILE]
 *         [--csr FILE] [--preferred-chain CN] [--replaces ID]
 *         [--not-after T] [--timeout S] [--out-cert F] [--out-key F]
 *         SOLVERS, in order of preference: --http-port P [--http-addr A],
 *         --webroot DIR, --dns-hook CMD [--hook-timeout S],
 *         --tlsalpn-port P [--tlsalpn-addr A],
 *         --rfc2136 SERVER:PORT --zone Z [--tsig-name N --tsig-secret S
 *         [--tsig-alg A]]                        order=URL cert_url=URL chain_matched=
 *   revoke --cert FILE [--cert-key FILE] [--reason N]
 *   key-change --new-key FILE     (made when missing)
 *   deactivate
 *   renewal-info --cert FILE      certid= start= end= explanation= retry_after=
 *   cert-id --cert FILE           certid=
 *
 * The account key file is made (0600) when missing. Every command but
 * directory, account, cert-id and renewal-info first finds the key's
 * account. A client that retried badNonce answers prints bad_nonces=N.
 * On failure prints error=TEXT, problem=TYPE (when the CA sent one) and
 * exits 1; usage errors exit 64.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "acme/acme.h"
#include "core/util.h"

#define MAX_LIST 128

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(const char *why)
{
	if (why)
		fprintf(stderr, "acme_client: %s\n", why);
	fputs("usage: acme_client --dir URL [--ca-bundle F] [--account-key F] COMMAND ...\n"
	      "  (see the comment at the top of tests/tools/acme_client.c)\n",
	      stderr);
	exit(64);
}

static int failed(struct cl_acme *a, int rc)
{
	const struct cl_acme_problem *p = a ? cl_acme_get0_problem(a) : NULL;
	size_t i;

	printf("result=FAIL rc=%d (%s)\n", rc, cl_strerror(rc));
	if (a)
		printf("error=%s\n", cl_acme_get0_error(a));
	if (p) {
		printf("problem=%s\n", p->type);
		printf("problem_status=%d\n", p->status);
		for (i = 0; i < p->nsub; i++)
			printf("subproblem=%s %s\n", p->sub[i].id.value ? p->sub[i].id.value : "-",
			       p->sub[i].type);
	}
	return 1;
}

/* Reads a certificate (PEM or DER; the first of a chain) as DER. */
static unsigned char *read_der(const char *path, const char *pem_name, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL, *der = NULL;
	char *name = NULL, *header = NULL;
	long n = 0;
	size_t got;

	*len = 0;
	if (f == NULL) {
		perror(path);
		return NULL;
	}
	if ((buf = malloc(1 << 20)) == NULL) {
		fclose(f);
		return NULL;
	}
	got = fread(buf, 1, 1 << 20, f);
	fclose(f);
	if (got > 10 && memcmp(buf, "-----", 5) == 0) {
		BIO *b = BIO_new_mem_buf(buf, (int)got);

		while (b && PEM_read_bio(b, &name, &header, &der, &n) == 1) {
			if (strcmp(name, pem_name) == 0)
				break;
			OPENSSL_free(name);
			OPENSSL_free(header);
			OPENSSL_free(der);
			name = header = NULL;
			der = NULL;
		}
		BIO_free(b);
		OPENSSL_free(name);
		OPENSSL_free(header);
		free(buf);
		if (der == NULL) {
			fprintf(stderr, "%s: no %s\n", path, pem_name);
			return NULL;
		}
		buf = malloc((size_t)n);
		if (buf)
			memcpy(buf, der, (size_t)n);
		OPENSSL_free(der);
		*len = (size_t)n;
		return buf;
	}
	*len = got;
	return buf;
}

static int load_key(const char *path, enum cl_acme_keytype t, EVP_PKEY **k)
{
	bool created = false;
	int rc = cl_acme_key_load_or_new(k, path, t, &created);

	if (rc != CL_OK)
		fprintf(stderr, "acme_client: key %s: %s\n", path, cl_strerror(rc));
	else if (created)
		printf("key_created=%s\n", path);
	return rc;
}

int main(int argc, char **argv)
{
	enum {
		O_DIR = 1, O_CA, O_AKEY, O_AKEYTYPE, O_TMO, O_BADNONCE, O_CONTACT, O_AGREE, O_EXISTING,
		O_EABKID, O_EABKEY, O_NAME, O_IP, O_HTTPPORT, O_HTTPADDR, O_WEBROOT, O_HOOK,
		O_HOOKTMO, O_TLSPORT, O_TLSADDR, O_RFC2136, O_ZONE, O_TSIGNAME, O_TSIGSECRET,
		O_TSIGALG, O_KEYTYPE, O_CERTKEY, O_CSR, O_PREFERRED, O_REPLACES, O_NOTAFTER,
		O_TIMEOUT, O_OUTCERT, O_OUTKEY, O_CERT, O_REASON, O_NEWKEY,
	};
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, O_DIR },
		{ "ca-bundle", required_argument, NULL, O_CA },
		{ "account-key", required_argument, NULL, O_AKEY },
		{ "account-key-type", required_argument, NULL, O_AKEYTYPE },
		{ "timeout-ms", required_argument, NULL, O_TMO },
		{ "bad-nonce-retries", required_argument, NULL, O_BADNONCE },
		{ "contact", required_argument, NULL, O_CONTACT },
		{ "agree-tos", no_argument, NULL, O_AGREE },
		{ "only-existing", no_argument, NULL, O_EXISTING },
		{ "eab-kid", required_argument, NULL, O_EABKID },
		{ "eab-key", required_argument, NULL, O_EABKEY },
		{ "name", required_argument, NULL, O_NAME },
		{ "ip", required_argument, NULL, O_IP },
		{ "http-port", required_argument, NULL, O_HTTPPORT },
		{ "http-addr", required_argument, NULL, O_HTTPADDR },
		{ "webroot", required_argument, NULL, O_WEBROOT },
		{ "dns-hook", required_argument, NULL, O_HOOK },
		{ "hook-timeout", required_argument, NULL, O_HOOKTMO },
		{ "tlsalpn-port", required_argument, NULL, O_TLSPORT },
		{ "tlsalpn-addr", required_argument, NULL, O_TLSADDR },
		{ "rfc2136", required_argument, NULL, O_RFC2136 },
		{ "zone", required_argument, NULL, O_ZONE },
		{ "tsig-name", required_argument, NULL, O_TSIGNAME },
		{ "tsig-secret", required_argument, NULL, O_TSIGSECRET },
		{ "tsig-alg", required_argument, NULL, O_TSIGALG },
		{ "key-type", required_argument, NULL, O_KEYTYPE },
		{ "cert-key", required_argument, NULL, O_CERTKEY },
		{ "csr", required_argument, NULL, O_CSR },
		{ "preferred-chain", required_argument, NULL, O_PREFERRED },
		{ "replaces", required_argument, NULL, O_REPLACES },
		{ "not-after", required_argument, NULL, O_NOTAFTER },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "out-cert", required_argument, NULL, O_OUTCERT },
		{ "out-key", required_argument, NULL, O_OUTKEY },
		{ "cert", required_argument, NULL, O_CERT },
		{ "reason", required_argument, NULL, O_REASON },
		{ "new-key", required_argument, NULL, O_NEWKEY },
		{ NULL, 0, NULL, 0 },
	};
	/* solver kinds in the order given */
	enum { S_HTTP, S_WEBROOT, S_HOOK, S_TLS, S_RFC2136 };
	int order[8], norder = 0;
	const char *dir = NULL, *account_key = NULL, *contact[MAX_LIST], *cmd;
	const char *http_addr = "127.0.0.1", *tls_addr = "127.0.0.1", *webroot = NULL, *hook = NULL;
	const char *rfc2136 = NULL, *zone = NULL, *tsig_name = NULL, *tsig_secret = NULL;
	const char *tsig_alg = NULL, *cert_key_path = NULL, *csr_path = NULL, *out_cert = NULL;
	const char *out_key = NULL, *cert_path = NULL, *new_key_path = NULL;
	struct cl_acme_opts ao = { 0 };
	struct cl_acme_account_req ar = { 0 };
	struct cl_acme_issue_req ir = { 0 };
	struct cl_acme_ident ids[MAX_LIST];
	struct cl_acme_solver *solvers[8];
	enum cl_acme_keytype akt = CL_ACME_KEY_EC256, ckt = CL_ACME_KEY_EC256;
	unsigned http_port = 0, tls_port = 0;
	int hook_timeout = 0, reason = -1, c, rc = CL_OK, status = 1;
	size_t ncontact = 0, nids = 0, nsolvers = 0, i;
	struct cl_acme *a = NULL;
	EVP_PKEY *akey = NULL, *ckey = NULL, *nkey = NULL;
	unsigned char *der = NULL;
	size_t derlen = 0;
	char err[1024];

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case O_DIR: dir = optarg; break;
		case O_CA: ao.ca_bundle = optarg; break;
		case O_AKEY: account_key = optarg; break;
		case O_AKEYTYPE:
			if (cl_acme_keytype_parse(optarg, &akt) != CL_OK)
				usage("bad --account-key-type");
			break;
		case O_TMO: ao.timeout_ms = atol(optarg); break;
		case O_BADNONCE: ao.bad_nonce_retries = atoi(optarg); break;
		default: usage(NULL);
		}
	}
	if (optind >= argc || dir == NULL)
		usage("--dir and a command are needed");
	cmd = argv[optind];
	optind++;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_CONTACT:
			if (ncontact < MAX_LIST)
				contact[ncontact++] = optarg;
			break;
		case O_AGREE: ar.agree_tos = true; break;
		case O_EXISTING: ar.only_existing = true; break;
		case O_EABKID: ar.eab_kid = optarg; break;
		case O_EABKEY: ar.eab_hmac_key = optarg; break;
		case O_NAME:
		case O_IP:
			if (nids < MAX_LIST) {
				ids[nids].type = c == O_NAME ? CL_ACME_ID_DNS : CL_ACME_ID_IP;
				ids[nids++].value = optarg;
			}
			break;
		case O_HTTPPORT: http_port = (unsigned)atoi(optarg); order[norder++] = S_HTTP; break;
		case O_HTTPADDR: http_addr = optarg; break;
		case O_WEBROOT: webroot = optarg; order[norder++] = S_WEBROOT; break;
		case O_HOOK: hook = optarg; order[norder++] = S_HOOK; break;
		case O_HOOKTMO: hook_timeout = atoi(optarg); break;
		case O_TLSPORT: tls_port = (unsigned)atoi(optarg); order[norder++] = S_TLS; break;
		case O_TLSADDR: tls_addr = optarg; break;
		case O_RFC2136: rfc2136 = optarg; order[norder++] = S_RFC2136; break;
		case O_ZONE: zone = optarg; break;
		case O_TSIGNAME: tsig_name = optarg; break;
		case O_TSIGSECRET: tsig_secret = optarg; break;
		case O_TSIGALG: tsig_alg = optarg; break;
		case O_KEYTYPE:
			if (cl_acme_keytype_parse(optarg, &ckt) != CL_OK)
				usage("bad --key-type");
			break;
		case O_CERTKEY: cert_key_path = optarg; break;
		case O_CSR: csr_path = optarg; break;
		case O_PREFERRED: ir.preferred_chain = optarg; break;
		case O_REPLACES: ir.replaces = optarg; break;
		case O_NOTAFTER:
			if (cl_time_parse(optarg, &ir.not_after) != CL_OK)
				usage("bad --not-after");
			break;
		case O_TIMEOUT: ir.timeout_s = atoi(optarg); break;
		case O_OUTCERT: out_cert = optarg; break;
		case O_OUTKEY: out_key = optarg; break;
		case O_CERT: cert_path = optarg; break;
		case O_REASON: reason = atoi(optarg); break;
		case O_NEWKEY: new_key_path = optarg; break;
		default: usage(NULL);
		}
		if (norder == (int)CL_ARRAY_LEN(order))
			usage("too many solvers");
	}
	if (optind != argc)
		usage("unexpected arguments");
	ao.stop = &stop;

	if (strcmp(cmd, "cert-id") == 0) {
		char *id = NULL;

		if (cert_path == NULL || (der = read_der(cert_path, "CERTIFICATE", &derlen)) == NULL)
			usage("cert-id needs --cert");
		if ((rc = cl_acme_cert_id(der, derlen, &id)) != CL_OK) {
			status = failed(NULL, rc);
			goto out;
		}
		printf("certid=%s\n", id);
		free(id);
		status = 0;
		goto out;
	}
	if ((rc = cl_acme_new(&a, dir, &ao)) != CL_OK)
		usage("bad --dir");
	if (strcmp(cmd, "directory") == 0) {
		if ((rc = cl_acme_directory(a)) != CL_OK) {
			status = failed(a, rc);
			goto out;
		}
		printf("tos=%s\neab_required=%d\nari=%d\n", cl_acme_get0_tos(a) ? cl_acme_get0_tos(a) : "",
		       cl_acme_eab_required(a), cl_acme_has_ari(a));
		status = 0;
		goto out;
	}
	if (strcmp(cmd, "renewal-info") == 0) {
		struct cl_acme_renewal_info ri;
		char *id = NULL, t1[40], t2[40];

		if (cert_path == NULL || (der = read_der(cert_path, "CERTIFICATE", &derlen)) == NULL)
			usage("renewal-info needs --cert");
		if ((rc = cl_acme_renewal_info(a, der, derlen, &ri)) != CL_OK) {
			status = failed(a, rc);
			goto out;
		}
		if (cl_acme_cert_id(der, derlen, &id) == CL_OK)
			printf("certid=%s\n", id);
		free(id);
		printf("start=%s\nend=%s\nexplanation=%s\nretry_after=%lld\n",
		       cl_time_fmt(t1, sizeof t1, ri.start), cl_time_fmt(t2, sizeof t2, ri.end),
		       ri.explanation_url ? ri.explanation_url : "", (long long)ri.retry_after);
		free(ri.explanation_url);
		status = 0;
		goto out;
	}
	if (account_key == NULL)
		usage("--account-key is needed");
	if (load_key(account_key, akt, &akey) != CL_OK)
		goto out;
	if ((rc = cl_acme_set1_account_key(a, akey)) != CL_OK) {
		status = failed(a, rc);
		goto out;
	}
	if (strcmp(cmd, "account") == 0) {
		bool created = false;

		ar.contact = contact;
		ar.ncontact = ncontact;
		if ((rc = cl_acme_account(a, &ar, &created)) != CL_OK) {
			status = failed(a, rc);
			goto out;
		}
		printf("account=%s\ncreated=%d\n", cl_acme_get0_account_url(a), created);
		status = 0;
		goto out;
	}
	{
		struct cl_acme_account_req find = { .only_existing = true };

		if ((rc = cl_acme_account(a, &find, NULL)) != CL_OK) {
			status = failed(a, rc);
			goto out;
		}
		printf("account=%s\n", cl_acme_get0_account_url(a));
	}

	if (strcmp(cmd, "issue") == 0) {
		struct cl_acme_cert cert;

		if (nids == 0)
			usage("issue needs --name or --ip");
		for (i = 0; i < (size_t)norder; i++) {
			struct cl_acme_solver *s = NULL;

			err[0] = '\0';
			switch (order[i]) {
			case S_HTTP:
				rc = cl_acme_solver_http_standalone(&s, http_addr, http_port, err, sizeof err);
				break;
			case S_WEBROOT: rc = cl_acme_solver_http_webroot(&s, webroot); break;
			case S_HOOK: rc = cl_acme_solver_dns_hook(&s, hook, hook_timeout); break;
			case S_TLS:
				rc = cl_acme_solver_tlsalpn_standalone(&s, tls_addr, tls_port, err, sizeof err);
				break;
			default: {
				struct cl_acme_rfc2136 cfg = { 0 };
				char server[128];
				const char *colon = strrchr(rfc2136, ':');

				if (colon == NULL || (size_t)(colon - rfc2136) >= sizeof server)
					usage("--rfc2136 SERVER:PORT");
				memcpy(server, rfc2136, (size_t)(colon - rfc2136));
				server[colon - rfc2136] = '\0';
				cfg.server = server;
				cfg.port = (unsigned)atoi(colon + 1);
				cfg.zone = zone;
				cfg.tsig_name = tsig_name;
				cfg.tsig_secret = tsig_secret;
				cfg.tsig_alg = tsig_alg;
				rc = cl_acme_solver_dns_rfc2136(&s, &cfg, err, sizeof err);
			}
			}
			if (rc != CL_OK) {
				printf("result=FAIL rc=%d\nerror=solver: %s\n", rc, err);
				goto out;
			}
			solvers[nsolvers++] = s;
		}
		if (cert_key_path && load_key(cert_key_path, ckt, &ckey) != CL_OK)
			goto out;
		if (csr_path) {
			if ((der = read_der(csr_path, "CERTIFICATE REQUEST", &derlen)) == NULL)
				goto out;
			ir.csr_der = der;
			ir.csr_len = derlen;
		}
		ir.ids = ids;
		ir.nids = nids;
		ir.key = ckey;
		ir.key_type = ckt;
		ir.solvers = solvers;
		ir.nsolvers = nsolvers;
		if ((rc = cl_acme_issue(a, &ir, &cert)) != CL_OK) {
			status = failed(a, rc);
			goto out;
		}
		printf("order=%s\ncert_url=%s\nchain_matched=%d\n", cert.order_url, cert.cert_url,
		       cert.chain_matched);
		if (out_cert && cl_write_file_atomic(out_cert, cert.pem, cert.pem_len, 0644) != CL_OK) {
			perror(out_cert);
			cl_acme_cert_clear(&cert);
			goto out;
		}
		if (out_key && cert.key && !ckey && cl_acme_key_save(cert.key, out_key) != CL_OK) {
			perror(out_key);
			cl_acme_cert_clear(&cert);
			goto out;
		}
		cl_acme_cert_clear(&cert);
		status = 0;
	} else if (strcmp(cmd, "revoke") == 0) {
		if (cert_path == NULL || (der = read_der(cert_path, "CERTIFICATE", &derlen)) == NULL)
			usage("revoke needs --cert");
		if (cert_key_path && load_key(cert_key_path, ckt, &ckey) != CL_OK)
			goto out;
		if ((rc = cl_acme_revoke(a, der, derlen, reason, ckey)) != CL_OK) {
			status = failed(a, rc);
			goto out;
		}
		printf("revoked=1\n");
		status = 0;
	} else if (strcmp(cmd, "key-change") == 0) {
		if (new_key_path == NULL)
			usage("key-change needs --new-key");
		if (load_key(new_key_path, akt, &nkey) != CL_OK)
			goto out;
		if ((rc = cl_acme_key_change(a, nkey)) != CL_OK) {
			status = failed(a, rc);
			goto out;
		}
		printf("key_changed=1\n");
		status = 0;
	} else if (strcmp(cmd, "deactivate") == 0) {
		if ((rc = cl_acme_deactivate_account(a)) != CL_OK) {
			status = failed(a, rc);
			goto out;
		}
		printf("deactivated=1\n");
		status = 0;
	} else {
		usage("unknown command");
	}
out:
	if (a && cl_acme_bad_nonces(a))
		printf("bad_nonces=%lu\n", cl_acme_bad_nonces(a));
	for (i = 0; i < nsolvers; i++)
		cl_acme_solver_free(solvers[i]);
	free(der);
	EVP_PKEY_free(akey);
	EVP_PKEY_free(ckey);
	EVP_PKEY_free(nkey);
	cl_acme_free(a);
	return status;
}
