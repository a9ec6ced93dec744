/*
 * The issuers of managed certificates behind one table of callbacks: the
 * internal CA (src/ca) and ACME (src/acme). One handle per Issuer of the
 * spec, opened on first use, shared by the reconcile's workers: the CA
 * handle is thread safe; an ACME client belongs to one thread at a time, so
 * each issuance takes one from the handle's pool of idle clients (made when
 * the pool is empty, given back after a success; solvers and the account key
 * are shared). A reused client keeps its connection to the CA, the
 * directory, the account URL and the next nonce: an issuance is the order's
 * own requests, not a TLS handshake and three requests more.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "acme/acme.h"
#include "ca/ca.h"
#include "core/util.h"
#include "manage/manage_int.h"

struct cl_mg_issuer {
	const struct cl_mg_issuer_ops *ops;
	const struct cl_manage_issuer *spec;
	const char *state_dir;
	volatile sig_atomic_t *stop;
	pthread_mutex_t mu;
	bool opened;
	int open_rc;
	char open_err[512];
	/* internal CA */
	struct cl_ca *ca;
	/* ACME */
	EVP_PKEY *account;
	char *eab_hmac;
	struct cl_acme_solver **solvers;
	size_t nsolvers;
	bool ari_known, has_ari;
	/* idle ACME clients, their account looked up; the handle lives for one reconcile */
	pthread_mutex_t pool_mu;
	struct cl_acme **pool;
	size_t npool, pool_cap;
};

/* ---- keys ------------------------------------------------------------------------------ */

static const char *ca_key_type(const struct cl_manage_cert *c)
{
	if (c->key_alg == CL_MANAGE_RSA)
		return c->key_size == 4096 ? "rsa:4096" : c->key_size == 3072 ? "rsa:3072" : "rsa:2048";
	return c->key_size == 384 ? "ec:P-384" : "ec:P-256";
}

static enum cl_acme_keytype acme_key_type(const struct cl_manage_cert *c)
{
	if (c->key_alg == CL_MANAGE_RSA)
		return c->key_size == 4096 ? CL_ACME_KEY_RSA4096 : c->key_size == 3072
		       ? CL_ACME_KEY_RSA3072 : CL_ACME_KEY_RSA2048;
	return c->key_size == 384 ? CL_ACME_KEY_EC384 : CL_ACME_KEY_EC256;
}

static EVP_PKEY *key_from_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	ERR_clear_error();
	return k;
}

/* PKCS#8 PEM of k in memory that is wiped when freed (OPENSSL_clear_free). */
static char *key_to_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *p, *s = NULL;
	long n;

	if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0 && (s = OPENSSL_malloc((size_t)n + 1)) != NULL) {
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}

/* The identifiers to certify: DNS names (the CN too when it is one), addresses. */
static int make_ids(const struct cl_manage_cert *c, struct cl_acme_ident **out, size_t *n)
{
	struct cl_acme_ident *ids;
	size_t i, k = 0;
	bool cn_in = !c->common_name || strchr(c->common_name, ' ') || strchr(c->common_name, ':');

	for (i = 0; !cn_in && i < c->ndns; i++)
		cn_in = strcasecmp(c->dns[i], c->common_name) == 0;
	for (i = 0; !cn_in && i < c->nip; i++)
		cn_in = strcmp(c->ip[i], c->common_name) == 0;
	if (!(ids = calloc(c->ndns + c->nip + 1, sizeof *ids)))
		return CL_ERR_NOMEM;
	if (!cn_in)
		ids[k++] = (struct cl_acme_ident){ CL_ACME_ID_DNS, c->common_name };
	for (i = 0; i < c->ndns; i++)
		ids[k++] = (struct cl_acme_ident){ CL_ACME_ID_DNS, c->dns[i] };
	for (i = 0; i < c->nip; i++)
		ids[k++] = (struct cl_acme_ident){ CL_ACME_ID_IP, c->ip[i] };
	*out = ids;
	*n = k;
	return CL_OK;
}

/* ---- the internal CA --------------------------------------------------------------------- */

static int ca_open(struct cl_mg_issuer *is, char *err, size_t errlen)
{
	char *pass = NULL, why[400];
	int rc;

	if ((rc = cl_manage_secret_get(&is->spec->ca_passphrase, &pass, why, sizeof why)) != CL_OK) {
		snprintf(err, errlen, "Issuer '%s': passphrase %s", is->spec->name, why);
		return rc;
	}
	rc = cl_ca_open(&is->ca, is->spec->ca_dir, pass, 0, why, sizeof why);
	cl_manage_secret_free(pass);
	if (rc != CL_OK)
		snprintf(err, errlen, "Issuer '%s': %s%s", is->spec->name, why,
		         rc == CL_ERR_LOCKED ? " (give spec.ca.passphrase)" : "");
	return rc;
}

static int ca_issue(struct cl_mg_issuer *is, const struct cl_manage_cert *c, const char *key_pem,
                    const unsigned char *replaces, size_t replaces_len,
                    struct cl_manage_material *out, char *err, size_t errlen)
{
	struct cl_ca_req req = {
		.key_type = ca_key_type(c), .cn = c->common_name,
		.dns = { c->dns, c->ndns }, .ip = { c->ip, c->nip }, .lifetime = c->duration,
	};
	struct cl_ca_issued issued = { 0 };
	struct cl_acme_ident *ids = NULL;
	unsigned char *csr = NULL;
	EVP_PKEY *key = NULL;
	size_t nids = 0;
	char why[600];
	int rc;

	(void)replaces;
	(void)replaces_len;
	if (key_pem) {
		/* the key is kept (rotationPolicy Never): the CA signs a CSR of it */
		if (!(key = key_from_pem(key_pem))) {
			snprintf(err, errlen, "the deployed key does not parse");
			return CL_ERR_PARSE;
		}
		if ((rc = make_ids(c, &ids, &nids)) != CL_OK ||
		    (rc = cl_acme_csr_new(key, ids, nids, &csr, &req.csr_len)) != CL_OK) {
			snprintf(err, errlen, "cannot make a CSR for the kept key");
			goto out;
		}
		req.csr = csr;
	}
	if ((rc = cl_ca_issue(is->ca, &req, &issued, why, sizeof why)) != CL_OK) {
		snprintf(err, errlen, "Issuer '%s': %s", is->spec->name, why);
		goto out;
	}
	rc = cl_manage_material_set(out, issued.cert_pem, issued.chain_pem,
	                            key_pem ? key_pem : issued.key_pem, err, errlen);
out:
	cl_ca_issued_free(&issued);
	OPENSSL_free(csr);
	free(ids);
	EVP_PKEY_free(key);
	return rc;
}

static void ca_close(struct cl_mg_issuer *is)
{
	cl_ca_close(is->ca);
	is->ca = NULL;
}

static int ca_revoke(struct cl_mg_issuer *is, const struct cl_manage_material *m, int reason,
                     char *err, size_t errlen)
{
	char serial[64], why[400];
	bool already = false;
	int rc;

	if (!is->ca && (rc = ca_open(is, err, errlen)) != CL_OK)
		return rc;
	if ((rc = cl_ca_serial_of(is->ca, m->der, m->der_len, serial, sizeof serial, why,
	                          sizeof why)) != CL_OK ||
	    (rc = cl_ca_revoke(is->ca, serial, reason, 0, &already, why, sizeof why)) != CL_OK)
		snprintf(err, errlen, "Issuer '%s': %s", is->spec->name, why);
	return rc;
}

static const struct cl_mg_issuer_ops ca_ops = {
	.kind = "ca", .open = ca_open, .issue = ca_issue, .revoke = ca_revoke, .close = ca_close,
};

/* ---- ACME ------------------------------------------------------------------------------ */

/* An idle client of the pool, or NULL. */
static struct cl_acme *pool_take(struct cl_mg_issuer *is)
{
	struct cl_acme *a = NULL;

	pthread_mutex_lock(&is->pool_mu);
	if (is->npool > 0)
		a = is->pool[--is->npool];
	pthread_mutex_unlock(&is->pool_mu);
	return a;
}

/* Gives A back to the pool (freed when the pool cannot grow). */
static void pool_put(struct cl_mg_issuer *is, struct cl_acme *a)
{
	pthread_mutex_lock(&is->pool_mu);
	if (is->npool == is->pool_cap) {
		size_t cap = is->pool_cap ? is->pool_cap * 2 : 16;
		struct cl_acme **p = realloc(is->pool, cap * sizeof *p);

		if (p) {
			is->pool = p;
			is->pool_cap = cap;
		}
	}
	if (is->npool < is->pool_cap) {
		is->pool[is->npool++] = a;
		a = NULL;
	}
	pthread_mutex_unlock(&is->pool_mu);
	cl_acme_free(a);
}

static int acme_client(struct cl_mg_issuer *is, struct cl_acme **out, bool find_account,
                       char *err, size_t errlen)
{
	const struct cl_manage_issuer *sp = is->spec;
	struct cl_acme_opts o = { .ca_bundle = sp->ca_bundle, .stop = is->stop };
	char contact[400];
	const char *contacts[1] = { contact };
	struct cl_acme_account_req ar = {
		.agree_tos = true, .only_existing = find_account,
		.eab_kid = sp->eab_kid, .eab_hmac_key = is->eab_hmac,
	};
	struct cl_acme *a = NULL;
	int rc;

	*out = NULL;
	if (sp->email && !find_account) {
		snprintf(contact, sizeof contact, "mailto:%s", sp->email);
		ar.contact = contacts;
		ar.ncontact = 1;
	}
	if ((rc = cl_acme_new(&a, sp->server, &o)) != CL_OK) {
		snprintf(err, errlen, "Issuer '%s': cannot make an ACME client for %s", sp->name,
		         sp->server);
		return rc;
	}
	if ((rc = cl_acme_set1_account_key(a, is->account)) != CL_OK ||
	    (rc = cl_acme_account(a, &ar, NULL)) != CL_OK) {
		snprintf(err, errlen, "Issuer '%s': %s", sp->name, cl_acme_get0_error(a));
		cl_acme_free(a);
		return rc;
	}
	*out = a;
	return CL_OK;
}

static int make_solver(struct cl_mg_issuer *is, const struct cl_manage_solver *sv,
                       struct cl_acme_solver **out, char *err, size_t errlen)
{
	char why[400] = "";
	int rc;

	switch (sv->kind) {
	case CL_MANAGE_HTTP01_STANDALONE:
		rc = cl_acme_solver_http_standalone(out, sv->addr, sv->port, why, sizeof why);
		break;
	case CL_MANAGE_HTTP01_WEBROOT:
		rc = cl_acme_solver_http_webroot(out, sv->webroot);
		break;
	case CL_MANAGE_DNS01_HOOK:
		rc = cl_acme_solver_dns_hook(out, sv->hook, 0);
		break;
	case CL_MANAGE_TLSALPN01:
		rc = cl_acme_solver_tlsalpn_standalone(out, sv->addr, sv->port, why, sizeof why);
		break;
	default:
		rc = CL_ERR_USAGE;
	}
	if (rc != CL_OK)
		snprintf(err, errlen, "Issuer '%s': solver (line %d): %s", is->spec->name, sv->line,
		         why[0] ? why : cl_strerror(rc));
	return rc;
}

/* The account key's file: spec.acme.accountKey, else STATE_DIR/acme/NAME.key. */
static int account_path(const struct cl_mg_issuer *is, char *path, size_t len, char *err,
                        size_t errlen)
{
	const struct cl_manage_issuer *sp = is->spec;

	if (sp->account_key)
		snprintf(path, len, "%s", sp->account_key);
	else if (snprintf(path, len, "%s/acme/%s.key", is->state_dir ? is->state_dir : ".",
	                  sp->name) >= (int)len) {
		snprintf(err, errlen, "Issuer '%s': the account key's path is too long", sp->name);
		return CL_ERR_USAGE;
	}
	return CL_OK;
}

static int acme_open(struct cl_mg_issuer *is, char *err, size_t errlen)
{
	const struct cl_manage_issuer *sp = is->spec;
	struct cl_acme *a = NULL;
	char path[PATH_MAX], why[400], *slash;
	size_t i;
	int rc;

	if ((rc = account_path(is, path, sizeof path, err, errlen)) != CL_OK)
		return rc;
	if ((slash = strrchr(path, '/')) != NULL && slash != path) {
		*slash = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "Issuer '%s': %s: %s", sp->name, path, strerror(errno));
			return CL_ERR_IO;
		}
		*slash = '/';
	}
	if ((rc = cl_acme_key_load_or_new(&is->account, path, CL_ACME_KEY_EC256, NULL)) != CL_OK) {
		snprintf(err, errlen, "Issuer '%s': account key %s: %s", sp->name, path,
		         rc == CL_ERR_IO ? strerror(errno) : cl_strerror(rc));
		return rc;
	}
	if (sp->eab_kid &&
	    (rc = cl_manage_secret_get(&sp->eab_hmac, &is->eab_hmac, why, sizeof why)) != CL_OK) {
		snprintf(err, errlen, "Issuer '%s': eab.hmacKey %s", sp->name, why);
		return rc;
	}
	/* registers the account (or finds the one this key has) */
	if ((rc = acme_client(is, &a, false, err, errlen)) != CL_OK)
		return rc;
	pool_put(is, a);
	if (!(is->solvers = calloc(sp->nsolvers, sizeof *is->solvers)))
		return CL_ERR_NOMEM;
	for (i = 0; i < sp->nsolvers; i++) {
		if ((rc = make_solver(is, &sp->solvers[i], &is->solvers[i], err, errlen)) != CL_OK)
			return rc;
		is->nsolvers++;
	}
	return CL_OK;
}

static int acme_issue(struct cl_mg_issuer *is, const struct cl_manage_cert *c,
                      const char *key_pem, const unsigned char *replaces, size_t replaces_len,
                      struct cl_manage_material *out, char *err, size_t errlen)
{
	struct cl_acme_issue_req req = { 0 };
	struct cl_acme_cert cert = { 0 };
	struct cl_acme_ident *ids = NULL;
	struct cl_acme *a = NULL;
	EVP_PKEY *key = NULL;
	char *cert_id = NULL, *pem = NULL;
	size_t nids = 0;
	int rc;

	if ((rc = make_ids(c, &ids, &nids)) != CL_OK)
		goto out;
	if (key_pem) {
		if (!(key = key_from_pem(key_pem))) {
			snprintf(err, errlen, "the deployed key does not parse");
			rc = CL_ERR_PARSE;
			goto out;
		}
	} else if ((rc = cl_acme_key_new(&key, acme_key_type(c))) != CL_OK) {
		snprintf(err, errlen, "cannot make a key");
		goto out;
	}
	if (!(a = pool_take(is)) && (rc = acme_client(is, &a, true, err, errlen)) != CL_OK)
		goto out;
	if (replaces && cl_acme_has_ari(a) && cl_acme_cert_id(replaces, replaces_len, &cert_id) != CL_OK)
		cert_id = NULL;
	req.ids = ids;
	req.nids = nids;
	req.key = key;
	req.solvers = is->solvers;
	req.nsolvers = is->nsolvers;
	req.preferred_chain = is->spec->preferred_chain;
	req.replaces = cert_id;
	if ((rc = cl_acme_issue(a, &req, &cert)) != CL_OK) {
		snprintf(err, errlen, "Issuer '%s': %s", is->spec->name, cl_acme_get0_error(a));
		goto out;
	}
	if (!(pem = key_to_pem(key))) {
		rc = CL_ERR_NOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = cl_manage_material_set(out, cert.pem, NULL, pem, err, errlen);
	if (rc == CL_OK) {
		pool_put(is, a);   /* a failed client is not reused: its state is unknown */
		a = NULL;
	}
out:
	if (pem)
		OPENSSL_clear_free(pem, strlen(pem) + 1);
	cl_acme_cert_clear(&cert);
	cl_acme_free(a);
	EVP_PKEY_free(key);
	free(cert_id);
	free(ids);
	return rc;
}

static int acme_window(struct cl_mg_issuer *is, const unsigned char *der, size_t len,
                       struct cl_manage_window *w, int64_t *retry_after, char *err,
                       size_t errlen)
{
	struct cl_acme_renewal_info ri = { 0 };
	struct cl_acme_opts o = { .ca_bundle = is->spec->ca_bundle, .stop = is->stop };
	struct cl_acme *a = NULL;
	int rc;

	*retry_after = 0;
	if (is->ari_known && !is->has_ari)
		return CL_ERR_UNSUPPORTED;
	if ((rc = cl_acme_new(&a, is->spec->server, &o)) != CL_OK)
		return rc;
	if ((rc = cl_acme_directory(a)) != CL_OK) {
		snprintf(err, errlen, "Issuer '%s': %s", is->spec->name, cl_acme_get0_error(a));
		goto out;
	}
	is->has_ari = cl_acme_has_ari(a);
	is->ari_known = true;
	if (!is->has_ari) {
		rc = CL_ERR_UNSUPPORTED;
		goto out;
	}
	if ((rc = cl_acme_renewal_info(a, der, len, &ri)) != CL_OK) {
		snprintf(err, errlen, "Issuer '%s': %s", is->spec->name, cl_acme_get0_error(a));
		goto out;
	}
	w->start = ri.start;
	w->end = ri.end;
	*retry_after = ri.retry_after;
out:
	free(ri.explanation_url);
	cl_acme_free(a);
	return rc;
}

/*
 * RFC 8555 7.6: signed by the account key when the account is found, else
 * by the certificate's own key (an account key that was lost or rolled
 * over elsewhere). No solver is started.
 */
static int acme_revoke(struct cl_mg_issuer *is, const struct cl_manage_material *m, int reason,
                       char *err, size_t errlen)
{
	struct cl_acme_opts o = { .ca_bundle = is->spec->ca_bundle, .stop = is->stop };
	char path[PATH_MAX], why[600] = "";
	struct cl_acme *a = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	if (!is->account) {
		if ((rc = account_path(is, path, sizeof path, err, errlen)) != CL_OK)
			return rc;
		if (cl_acme_key_load(&is->account, path) != CL_OK)
			is->account = NULL;   /* no account key: the certificate's key signs */
	}
	if (is->account && (rc = acme_client(is, &a, true, why, sizeof why)) == CL_OK) {
		if ((rc = cl_acme_revoke(a, m->der, m->der_len, reason, NULL)) == CL_OK)
			goto out;
		snprintf(why, sizeof why, "%s", cl_acme_get0_error(a));
		cl_acme_free(a);
		a = NULL;
	}
	if (!m->key_pem || !(key = key_from_pem(m->key_pem))) {
		snprintf(err, errlen, "Issuer '%s': %s", is->spec->name,
		         why[0] ? why : "no account key, and no certificate key to sign with");
		rc = CL_ERR;
		goto out;
	}
	if ((rc = cl_acme_new(&a, is->spec->server, &o)) != CL_OK ||
	    (rc = cl_acme_revoke(a, m->der, m->der_len, reason, key)) != CL_OK)
		snprintf(err, errlen, "Issuer '%s': %s%s%s", is->spec->name,
		         a ? cl_acme_get0_error(a) : "cannot make an ACME client",
		         why[0] ? " (with the account key: " : "", why[0] ? why : "");
	if (rc != CL_OK && why[0] && strlen(err) + 2 < errlen)
		strcat(err, ")");
out:
	EVP_PKEY_free(key);
	cl_acme_free(a);
	return rc;
}

static void acme_close(struct cl_mg_issuer *is)
{
	size_t i;

	for (i = 0; i < is->npool; i++)
		cl_acme_free(is->pool[i]);
	free(is->pool);
	is->pool = NULL;
	is->npool = is->pool_cap = 0;
	for (i = 0; i < is->nsolvers; i++)
		cl_acme_solver_free(is->solvers[i]);
	free(is->solvers);
	is->solvers = NULL;
	is->nsolvers = 0;
	EVP_PKEY_free(is->account);
	is->account = NULL;
	cl_manage_secret_free(is->eab_hmac);
	is->eab_hmac = NULL;
}

static const struct cl_mg_issuer_ops acme_ops = {
	.kind = "acme", .open = acme_open, .issue = acme_issue, .window = acme_window,
	.revoke = acme_revoke, .close = acme_close,
};

/* ---- the ACME account (certledger account) --------------------------------------------- */

static enum cl_acme_keytype keytype_of(EVP_PKEY *k)
{
	int bits = EVP_PKEY_get_bits(k);

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		return bits >= 4096 ? CL_ACME_KEY_RSA4096 : bits >= 3072 ? CL_ACME_KEY_RSA3072
		       : CL_ACME_KEY_RSA2048;
	return bits >= 384 ? CL_ACME_KEY_EC384 : CL_ACME_KEY_EC256;
}

static void key_desc(EVP_PKEY *k, char *buf, size_t len)
{
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		snprintf(buf, len, "RSA %d", EVP_PKEY_get_bits(k));
	else
		snprintf(buf, len, "ECDSA P-%d", EVP_PKEY_get_bits(k));
}

int cl_manage_account(const struct cl_manage_issuer *sp, const char *state_dir,
                      enum cl_manage_account_op op, volatile sig_atomic_t *stop,
                      struct cl_manage_account *out, char *err, size_t errlen)
{
	struct cl_mg_issuer is = { .spec = sp, .state_dir = state_dir, .stop = stop };
	char aside[PATH_MAX + 16];
	EVP_PKEY *key = NULL, *nk = NULL;
	struct cl_acme *a = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if (!sp->acme) {
		snprintf(err, errlen, "Issuer '%s' is an internal CA, not an ACME account", sp->name);
		return CL_ERR_USAGE;
	}
	snprintf(out->server, sizeof out->server, "%s", sp->server);
	if ((rc = account_path(&is, out->key_path, sizeof out->key_path, err, errlen)) != CL_OK)
		return rc;
	if ((rc = cl_acme_key_load(&key, out->key_path)) != CL_OK) {
		if (rc == CL_ERR_IO && errno == ENOENT && op == CL_MANAGE_ACCOUNT_SHOW)
			return CL_OK;   /* no key yet: the first apply registers one */
		snprintf(err, errlen, "Issuer '%s': account key %s: %s", sp->name, out->key_path,
		         rc == CL_ERR_IO ? strerror(errno) : cl_strerror(rc));
		return rc == CL_ERR_IO && errno == ENOENT ? CL_ERR_NOTFOUND : rc;
	}
	out->key_present = true;
	key_desc(key, out->key_type, sizeof out->key_type);
	is.account = key;
	rc = acme_client(&is, &a, true, err, errlen);
	is.account = NULL;
	if (rc == CL_ERR_NOTFOUND && op == CL_MANAGE_ACCOUNT_SHOW) {
		rc = CL_OK;   /* the CA knows no account for this key */
		goto out;
	}
	if (rc != CL_OK)
		goto out;
	out->exists = true;
	snprintf(out->url, sizeof out->url, "%s", cl_acme_get0_account_url(a));
	switch (op) {
	case CL_MANAGE_ACCOUNT_SHOW:
		break;
	case CL_MANAGE_ACCOUNT_ROLLOVER:
		/* the new key is on disk (0600) before the CA hears of it: a crash
		 * after the change leaves it in KEY.new, never lost */
		snprintf(aside, sizeof aside, "%s.new", out->key_path);
		if ((rc = cl_acme_key_new(&nk, keytype_of(key))) != CL_OK ||
		    (rc = cl_acme_key_save(nk, aside)) != CL_OK) {
			snprintf(err, errlen, "Issuer '%s': cannot write the new key %s: %s", sp->name,
			         aside, rc == CL_ERR_IO ? strerror(errno) : cl_strerror(rc));
			goto out;
		}
		if ((rc = cl_acme_key_change(a, nk)) != CL_OK) {
			snprintf(err, errlen, "Issuer '%s': %s", sp->name, cl_acme_get0_error(a));
			unlink(aside);
			goto out;
		}
		if (rename(aside, out->key_path) != 0) {
			snprintf(err, errlen, "Issuer '%s': the CA has the new key, but it could not be "
			         "moved into place (%s): rename %s to %s", sp->name, strerror(errno), aside,
			         out->key_path);
			rc = CL_ERR_IO;
			goto out;
		}
		snprintf(aside, sizeof aside, "%s", out->key_path);
		(void)cl_fsync_dir(dirname(aside));
		key_desc(nk, out->key_type, sizeof out->key_type);
		break;
	case CL_MANAGE_ACCOUNT_DEACTIVATE:
		if ((rc = cl_acme_deactivate_account(a)) != CL_OK) {
			snprintf(err, errlen, "Issuer '%s': %s", sp->name, cl_acme_get0_error(a));
			goto out;
		}
		/* the key is useless now; the next apply registers a new account */
		snprintf(aside, sizeof aside, "%s.deactivated", out->key_path);
		if (rename(out->key_path, aside) != 0) {
			snprintf(err, errlen, "Issuer '%s': deactivated, but the key could not be set "
			         "aside: rename %s: %s", sp->name, out->key_path, strerror(errno));
			rc = CL_ERR_IO;
			goto out;
		}
		out->exists = false;
		break;
	}
out:
	cl_acme_free(a);
	EVP_PKEY_free(key);
	EVP_PKEY_free(nk);
	return rc;
}

/* ---- the handle --------------------------------------------------------------------------- */

int cl_mg_issuer_new(struct cl_mg_issuer **out, const struct cl_manage_issuer *spec,
                     const char *state_dir, volatile sig_atomic_t *stop)
{
	struct cl_mg_issuer *is;

	if (!(*out = is = calloc(1, sizeof *is)))
		return CL_ERR_NOMEM;
	is->ops = spec->acme ? &acme_ops : &ca_ops;
	is->spec = spec;
	is->state_dir = state_dir;
	is->stop = stop;
	pthread_mutex_init(&is->mu, NULL);
	pthread_mutex_init(&is->pool_mu, NULL);
	return CL_OK;
}

int cl_mg_issuer_open(struct cl_mg_issuer *is, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&is->mu);
	if (!is->opened) {
		is->open_rc = is->ops->open(is, is->open_err, sizeof is->open_err);
		is->opened = true;
	}
	rc = is->open_rc;
	if (rc != CL_OK)
		snprintf(err, errlen, "%s", is->open_err);
	pthread_mutex_unlock(&is->mu);
	return rc;
}

int cl_mg_issue(struct cl_mg_issuer *is, const struct cl_manage_cert *c, const char *key_pem,
                const unsigned char *replaces, size_t replaces_len,
                struct cl_manage_material *out, char *err, size_t errlen)
{
	int rc;

	if ((rc = cl_mg_issuer_open(is, err, errlen)) != CL_OK)
		return rc;
	return is->ops->issue(is, c, key_pem, replaces, replaces_len, out, err, errlen);
}

bool cl_mg_has_window(const struct cl_mg_issuer *is)
{
	return is->ops->window != NULL;
}

int cl_mg_window(struct cl_mg_issuer *is, const unsigned char *der, size_t len,
                 struct cl_manage_window *w, int64_t *retry_after, char *err, size_t errlen)
{
	int rc;

	*retry_after = 0;
	if (!is->ops->window)
		return CL_ERR_UNSUPPORTED;
	pthread_mutex_lock(&is->mu);   /* has_ari is learnt once */
	rc = is->ops->window(is, der, len, w, retry_after, err, errlen);
	pthread_mutex_unlock(&is->mu);
	return rc;
}

int cl_mg_revoke(struct cl_mg_issuer *is, const struct cl_manage_material *m, int reason,
                 char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&is->mu);
	rc = is->ops->revoke(is, m, reason, err, errlen);
	pthread_mutex_unlock(&is->mu);
	return rc;
}

void cl_mg_issuer_free(struct cl_mg_issuer *is)
{
	if (!is)
		return;
	if (is->opened)
		is->ops->close(is);
	EVP_PKEY_free(is->account);   /* opened for a revocation only */
	cl_ca_close(is->ca);
	pthread_mutex_destroy(&is->mu);
	pthread_mutex_destroy(&is->pool_mu);
	free(is);
}
