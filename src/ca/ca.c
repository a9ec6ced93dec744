/*
 * The CA's life cycle: cl_ca_init makes the directory (keys, certificates,
 * policy, index), cl_ca_open reads it back and checks it, cl_ca_close
 * wipes the keys.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include "ca/ca_int.h"
#include "core/util.h"

/* ---- small helpers ---------------------------------------------------------- */

static bool url_ok(const char *u)
{
	size_t n = strlen(u), i;

	if (n > 512 || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];
		/* printable ASCII; no space, comma (the extension syntax), quotes */
		if (c <= 0x20 || c >= 0x7f || c == ',' || c == '"' || c == '\\' || c == '<' ||
		    c == '>')
			return false;
	}
	return n > 8;
}

static bool label_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || !cl_utf8_valid(s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static void lifetime_fmt(char *out, size_t len, int64_t s)
{
	if (s % 86400 == 0)
		snprintf(out, len, "%lldd", (long long)(s / 86400));
	else
		snprintf(out, len, "%llds", (long long)s);
}

static int path_join(char *out, size_t len, const char *dir, const char *name)
{
	if (snprintf(out, len, "%s/%s", dir, name) >= (int)len)
		return CL_ERR_IO;
	return CL_OK;
}

/* Reads a whole small file into a new NUL terminated buffer. */
static int read_small(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;
	int rc = CL_ERR_IO;

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? CL_ERR_NOTFOUND : CL_ERR_IO;
	}
	if (!(buf = malloc(CA_MAX_FILE + 1))) {
		snprintf(err, errlen, "out of memory");
		rc = CL_ERR_NOMEM;
		goto out;
	}
	n = fread(buf, 1, CA_MAX_FILE + 1, f);
	if (ferror(f) || n > CA_MAX_FILE) {
		snprintf(err, errlen, "%s: %s", path, ferror(f) ? strerror(errno) : "too large");
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = CL_OK;
out:
	free(buf);
	fclose(f);
	return rc;
}

static X509 *read_cert(const char *dir, const char *name, char **pem, char *err, size_t errlen,
                       int *rc)
{
	char path[4096], r[256];
	size_t len;
	X509 *x = NULL;
	BIO *b;

	*pem = NULL;
	if (path_join(path, sizeof path, dir, name) != CL_OK ||
	    (*rc = read_small(path, pem, &len, err, errlen)) != CL_OK)
		return NULL;
	if ((b = BIO_new_mem_buf(*pem, (int)len)))
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!x) {
		snprintf(err, errlen, "%s: not a PEM certificate%s", path, cl_ca_ossl(r, sizeof r));
		*rc = CL_ERR_PARSE;
		free(*pem);
		*pem = NULL;
	}
	return x;
}

/* ---- certificates of the CA --------------------------------------------------- */

static X509_NAME *ca_name(const char *org, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (!n || (org && X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	                                              (const unsigned char *)org, -1, -1, 0) != 1) ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
	                               0) != 1) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1) == 1;

	X509_EXTENSION_free(e);
	return ok ? CL_OK : CL_ERR;
}

/*
 * A CA certificate for key: self-signed when issuer is NULL (the root),
 * else signed by issuer/issuer_key with pathlen 0 and nc.
 */
static X509 *ca_cert(EVP_PKEY *key, const X509_NAME *subj, X509 *issuer, EVP_PKEY *issuer_key,
                     int64_t nb, int64_t na, NAME_CONSTRAINTS *nc)
{
	ASN1_INTEGER *serial = NULL;
	X509V3_CTX ctx;
	X509 *x = X509_new();
	bool ok = false;

	if (!x || X509_set_version(x, X509_VERSION_3) != 1 || cl_ca_serial_rand(&serial) != CL_OK ||
	    X509_set_serialNumber(x, serial) != 1 || X509_set_subject_name(x, subj) != 1 ||
	    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subj) != 1 ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) || X509_set_pubkey(x, key) != 1)
		goto out;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if (add_ext(x, &ctx, NID_basic_constraints, issuer ? "critical,CA:TRUE,pathlen:0" :
	            "critical,CA:TRUE") != CL_OK ||
	    add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") != CL_OK ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash") != CL_OK)
		goto out;
	if (issuer && add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") != CL_OK)
		goto out;
	if (nc && X509_add1_ext_i2d(x, NID_name_constraints, nc, 1, X509V3_ADD_DEFAULT) != 1)
		goto out;
	if (X509_sign(x, issuer_key ? issuer_key : key, cl_ca_key_md(issuer_key ? issuer_key : key))
	    <= 0)
		goto out;
	ok = true;
out:
	ASN1_INTEGER_free(serial);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* ---- the policy file (ca.json) ------------------------------------------------ */

struct policy {
	char key_type[16];
	int64_t max_leaf, default_leaf;
	char *crl_url, *issuer_url;
};

static int policy_write(const char *path, const struct policy *p, int64_t now, char *err,
                        size_t errlen)
{
	char maxs[32], defs[32], created[40];
	json_t *o;
	char *s = NULL;
	int rc = CL_ERR_NOMEM;

	lifetime_fmt(maxs, sizeof maxs, p->max_leaf);
	lifetime_fmt(defs, sizeof defs, p->default_leaf);
	o = json_pack("{s:i, s:s, s:s, s:s, s:s?, s:s?, s:s}", "version", 1, "key_type",
	              p->key_type, "max_leaf_lifetime", maxs, "default_leaf_lifetime", defs,
	              "crl_url", p->crl_url, "issuer_url", p->issuer_url, "created",
	              cl_time_fmt(created, sizeof created, now));
	if (o && (s = json_dumps(o, JSON_INDENT(2))) != NULL) {
		size_t n = strlen(s);
		char *t = realloc(s, n + 2);
		if (t) {
			s = t;
			s[n] = '\n';
			s[n + 1] = '\0';
			rc = cl_write_file_atomic(path, s, n + 1, 0644);
			if (rc != CL_OK)
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
		}
	}
	if (rc == CL_ERR_NOMEM)
		snprintf(err, errlen, "out of memory");
	free(s);
	json_decref(o);
	return rc;
}

static int policy_read(const char *dir, struct policy *p, char *err, size_t errlen)
{
	char path[4096], *text = NULL;
	struct cl_ca_keyspec ks;
	json_error_t je;
	json_t *o = NULL, *v;
	const char *k;
	size_t len;
	int rc;

	memset(p, 0, sizeof *p);
	if (path_join(path, sizeof path, dir, CA_POLICY) != CL_OK) {
		snprintf(err, errlen, "%s: path too long", dir);
		return CL_ERR_IO;
	}
	if ((rc = read_small(path, &text, &len, err, errlen)) != CL_OK) {
		if (rc == CL_ERR_NOTFOUND)
			snprintf(err, errlen, "%s is not a certledger CA (no %s); make one with "
			         "'certledger ca init %s'", dir, CA_POLICY, dir);
		return rc;
	}
	rc = CL_ERR_PARSE;
	if (!(o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) || !json_is_object(o)) {
		snprintf(err, errlen, "%s:%d: %s", path, o ? 1 : je.line,
		         o ? "not a JSON object" : je.text);
		goto out;
	}
	json_object_foreach(o, k, v) {
		int64_t d;
		if (strcmp(k, "version") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) != 1) {
				snprintf(err, errlen, "%s: version must be 1", path);
				goto out;
			}
		} else if (strcmp(k, "key_type") == 0) {
			if (!json_is_string(v) ||
			    cl_ca_keyspec_parse(json_string_value(v), &ks, err, errlen) != CL_OK) {
				snprintf(err, errlen, "%s: key_type must be ec:P-256, ec:P-384 or rsa:BITS",
				         path);
				goto out;
			}
			snprintf(p->key_type, sizeof p->key_type, "%s", ks.name);
		} else if (strcmp(k, "max_leaf_lifetime") == 0 ||
		           strcmp(k, "default_leaf_lifetime") == 0) {
			if (!json_is_string(v) || cl_duration_parse(json_string_value(v), &d) != CL_OK ||
			    d <= 0) {
				snprintf(err, errlen, "%s: %s must be a duration such as \"90d\"", path, k);
				goto out;
			}
			*(k[0] == 'm' ? &p->max_leaf : &p->default_leaf) = d;
		} else if (strcmp(k, "crl_url") == 0 || strcmp(k, "issuer_url") == 0) {
			char **dst = k[0] == 'c' ? &p->crl_url : &p->issuer_url;
			if (json_is_null(v))
				continue;
			if (!json_is_string(v) || !url_ok(json_string_value(v))) {
				snprintf(err, errlen, "%s: %s must be an http(s) URL without spaces or commas",
				         path, k);
				goto out;
			}
			if (!(*dst = strdup(json_string_value(v)))) {
				snprintf(err, errlen, "out of memory");
				rc = CL_ERR_NOMEM;
				goto out;
			}
		} else if (strcmp(k, "created") != 0) {
			snprintf(err, errlen, "%s: unknown key \"%s\"", path, k);
			goto out;
		}
	}
	if (!p->key_type[0] || !p->max_leaf || !p->default_leaf) {
		snprintf(err, errlen, "%s: key_type, max_leaf_lifetime and default_leaf_lifetime are "
		         "required", path);
		goto out;
	}
	if (p->default_leaf > p->max_leaf) {
		snprintf(err, errlen, "%s: default_leaf_lifetime is above max_leaf_lifetime", path);
		goto out;
	}
	rc = CL_OK;
out:
	if (rc != CL_OK) {
		free(p->crl_url);
		free(p->issuer_url);
		p->crl_url = p->issuer_url = NULL;
	}
	json_decref(o);
	free(text);
	return rc;
}

/* ---- init ------------------------------------------------------------------------ */

static const char *const ca_files[] = { CA_ROOT_PEM, CA_ROOT_KEY, CA_INT_PEM, CA_INT_KEY,
                                        CA_POLICY, CA_DB, CA_DB "-wal", CA_DB "-shm",
                                        CA_DB "-journal" };

static void remove_tmpdir(const char *tmp)
{
	char p[4096];

	for (size_t i = 0; i < CL_ARRAY_LEN(ca_files); i++)
		if (path_join(p, sizeof p, tmp, ca_files[i]) == CL_OK)
			unlink(p);
	rmdir(tmp);
}

/* 0: missing; 1: an empty directory; -1 (err set): anything else */
static int dir_state(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (lstat(dir, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || !(d = opendir(dir))) {
		snprintf(err, errlen, "%s exists and is not a directory", dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	if (n) {
		snprintf(err, errlen, "%s is not empty: a CA is made in a new or empty directory", dir);
		return -1;
	}
	return 1;
}

static int write_key(const char *dir, const char *name, EVP_PKEY *k, const char *pass,
                     char *err, size_t errlen)
{
	char path[4096], *pem = NULL;
	size_t len = 0;
	int rc;

	if ((rc = cl_ca_key_pem(k, pass, &pem, &len)) != CL_OK) {
		snprintf(err, errlen, "could not encode %s", name);
		return rc;
	}
	if (path_join(path, sizeof path, dir, name) != CL_OK ||
	    (rc = cl_write_file_atomic(path, pem, len, 0600)) != CL_OK) {
		snprintf(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
		rc = CL_ERR_IO;
	}
	cl_ca_secret_free(pem, len);
	return rc;
}

static int write_cert(const char *dir, const char *name, X509 *x, char *err, size_t errlen)
{
	char path[4096], *pem = cl_ca_cert_pem(x);
	int rc = CL_ERR_NOMEM;

	if (pem) {
		rc = CL_ERR_IO;
		if (path_join(path, sizeof path, dir, name) == CL_OK)
			rc = cl_write_file_atomic(path, pem, strlen(pem), 0644);
	}
	if (rc != CL_OK)
		snprintf(err, errlen, "%s/%s: %s", dir, name, rc == CL_ERR_NOMEM ? "out of memory" :
		         strerror(errno));
	free(pem);
	return rc;
}

int cl_ca_init(const struct cl_ca_init_opts *o, char *err, size_t errlen)
{
	char tmp[4096], dbpath[4200], policypath[4200], rootcn[128], intcn[128], r[256];
	char *dirdup = NULL, *parent;
	struct cl_ca_keyspec ks;
	struct policy pol = { 0 };
	NAME_CONSTRAINTS *nc = NULL;
	EVP_PKEY *rkey = NULL, *ikey = NULL;
	X509_NAME *rname = NULL, *iname = NULL;
	X509 *root = NULL, *inter = NULL;
	int64_t now = o->now ? o->now : cl_now(), rlife, ilife;
	const char *base = o->org ? o->org : "certledger";
	size_t dl;
	int rc = CL_ERR_USAGE, state;
	bool made = false;

	tmp[0] = '\0';
	if (!o->dir || !*o->dir) {
		snprintf(err, errlen, "no directory given");
		return CL_ERR_USAGE;
	}
	if ((rc = cl_ca_keyspec_parse(o->key_type, &ks, err, errlen)) != CL_OK)
		return rc;
	rc = CL_ERR_USAGE;
	rlife = o->root_lifetime ? o->root_lifetime : CL_CA_ROOT_LIFETIME;
	ilife = o->intermediate_lifetime ? o->intermediate_lifetime : CL_CA_INT_LIFETIME;
	pol.max_leaf = o->max_leaf_lifetime ? o->max_leaf_lifetime : CL_CA_MAX_LEAF_LIFETIME;
	pol.default_leaf = o->default_leaf_lifetime ? o->default_leaf_lifetime :
	                   pol.max_leaf < CL_CA_DEFAULT_LEAF_LIFETIME ? pol.max_leaf :
	                   CL_CA_DEFAULT_LEAF_LIFETIME;
	if (rlife < 86400 || ilife < 3600 || pol.max_leaf < 60 || pol.default_leaf < 60) {
		snprintf(err, errlen, "lifetimes too short (root at least 1 day, intermediate 1 hour, "
		         "leaves 1 minute)");
		return rc;
	}
	if (ilife > rlife) {
		snprintf(err, errlen, "the intermediate cannot outlive the root");
		return rc;
	}
	if (pol.max_leaf > ilife || pol.default_leaf > pol.max_leaf) {
		snprintf(err, errlen, pol.max_leaf > ilife ?
		         "the maximum leaf lifetime is above the intermediate's lifetime" :
		         "the default leaf lifetime is above the maximum");
		return rc;
	}
	snprintf(rootcn, sizeof rootcn, "%s Root CA", base);
	snprintf(intcn, sizeof intcn, "%s Intermediate CA", base);
	if ((o->org && !label_ok(o->org)) || (o->root_cn && !label_ok(o->root_cn)) ||
	    (o->intermediate_cn && !label_ok(o->intermediate_cn)) || !label_ok(rootcn) ||
	    !label_ok(intcn)) {
		snprintf(err, errlen, "CA names must be 1 to 64 characters of UTF-8 text (with the "
		         "default CNs, the organisation at most 48)");
		return rc;
	}
	if ((o->crl_url && !url_ok(o->crl_url)) || (o->issuer_url && !url_ok(o->issuer_url))) {
		snprintf(err, errlen, "URLs must be http:// or https:// without spaces or commas");
		return rc;
	}
	if (o->passphrase && !*o->passphrase) {
		snprintf(err, errlen, "empty passphrase");
		return rc;
	}
	if ((rc = cl_ca_nc_build(o, &nc, err, errlen)) != CL_OK)
		return rc;
	snprintf(pol.key_type, sizeof pol.key_type, "%s", ks.name);
	pol.crl_url = (char *)o->crl_url;
	pol.issuer_url = (char *)o->issuer_url;

	/* the directory: made beside its final place, renamed in one step */
	rc = CL_ERR_USAGE;
	if ((state = dir_state(o->dir, err, errlen)) < 0)
		goto out;
	dl = strlen(o->dir);
	while (dl > 1 && o->dir[dl - 1] == '/')
		dl--;
	if (snprintf(tmp, sizeof tmp, "%.*s.init-XXXXXX", (int)dl, o->dir) >= (int)sizeof tmp) {
		snprintf(err, errlen, "%s: path too long", o->dir);
		tmp[0] = '\0';
		goto out;
	}
	rc = CL_ERR_IO;
	if (!mkdtemp(tmp)) {   /* 0700 */
		snprintf(err, errlen, "cannot create a directory beside %s: %s", o->dir,
		         strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	made = true;
	snprintf(policypath, sizeof policypath, "%s/%s", tmp, CA_POLICY);
	snprintf(dbpath, sizeof dbpath, "%s/%s", tmp, CA_DB);

	if ((rc = cl_ca_key_gen(&ks, &rkey, err, errlen)) != CL_OK ||
	    (rc = cl_ca_key_gen(&ks, &ikey, err, errlen)) != CL_OK)
		goto out;
	rc = CL_ERR;
	if (!(rname = ca_name(o->org, o->root_cn ? o->root_cn : rootcn)) ||
	    !(iname = ca_name(o->org, o->intermediate_cn ? o->intermediate_cn : intcn))) {
		snprintf(err, errlen, "could not build the CA names%s", cl_ca_ossl(r, sizeof r));
		goto out;
	}
	if (X509_NAME_cmp(rname, iname) == 0) {
		snprintf(err, errlen, "the root and the intermediate need different names");
		rc = CL_ERR_USAGE;
		goto out;
	}
	if (!(root = ca_cert(rkey, rname, NULL, NULL, now - CA_BACKDATE, now + rlife, NULL)) ||
	    !(inter = ca_cert(ikey, iname, root, rkey, now - CA_BACKDATE, now + ilife, nc))) {
		snprintf(err, errlen, "could not make the CA certificates%s", cl_ca_ossl(r, sizeof r));
		goto out;
	}
	/* certificate before key, as everywhere (nothing is visible before the rename) */
	if ((rc = write_cert(tmp, CA_ROOT_PEM, root, err, errlen)) != CL_OK ||
	    (rc = write_key(tmp, CA_ROOT_KEY, rkey, o->passphrase, err, errlen)) != CL_OK ||
	    (rc = write_cert(tmp, CA_INT_PEM, inter, err, errlen)) != CL_OK ||
	    (rc = write_key(tmp, CA_INT_KEY, ikey, o->passphrase, err, errlen)) != CL_OK ||
	    (rc = policy_write(policypath, &pol, now, err, errlen)) != CL_OK ||
	    (rc = cl_ca_db_create(dbpath, err, errlen)) != CL_OK)
		goto out;
	rc = CL_ERR_IO;
	if (cl_fsync_dir(tmp) != CL_OK) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, o->dir) != 0) {
		snprintf(err, errlen, "%s: %s", o->dir, errno == ENOTEMPTY || errno == EEXIST ?
		         "is not empty (something was created there meanwhile)" : strerror(errno));
		goto out;
	}
	made = false;
	if ((dirdup = strdup(o->dir)) && (parent = dirname(dirdup)))
		(void)cl_fsync_dir(parent);
	rc = CL_OK;
out:
	if (made)
		remove_tmpdir(tmp);
	free(dirdup);
	X509_free(root);
	X509_free(inter);
	X509_NAME_free(rname);
	X509_NAME_free(iname);
	EVP_PKEY_free(rkey);
	EVP_PKEY_free(ikey);
	NAME_CONSTRAINTS_free(nc);
	return rc;
}

/* ---- open / close ------------------------------------------------------------- */

static X509_EXTENSION *conf_ext(int nid, const char *value)
{
	return X509V3_EXT_nconf_nid(NULL, NULL, nid, value);
}

/* Builds the extensions every leaf shares. */
static int leaf_exts(struct cl_ca *ca)
{
	AUTHORITY_KEYID *akid = NULL;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca->inter);
	char v[600];
	int rc = CL_ERR;

	if (!(ca->x_bc = conf_ext(NID_basic_constraints, "critical,CA:FALSE")) ||
	    !(ca->x_ku_sig = conf_ext(NID_key_usage, "critical,digitalSignature")) ||
	    !(ca->x_ku_rsa = conf_ext(NID_key_usage, "critical,digitalSignature,keyEncipherment")) ||
	    !(ca->x_eku = conf_ext(NID_ext_key_usage, "serverAuth")) ||
	    !(ca->x_eku_client = conf_ext(NID_ext_key_usage, "serverAuth,clientAuth")))
		goto out;
	if (ski) {
		if (!(akid = AUTHORITY_KEYID_new()) || !(akid->keyid = ASN1_OCTET_STRING_dup(ski)) ||
		    !(ca->x_aki = X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid)))
			goto out;
	}
	if (ca->crl_url) {
		snprintf(v, sizeof v, "URI:%s", ca->crl_url);
		if (!(ca->x_cdp = conf_ext(NID_crl_distribution_points, v)))
			goto out;
	}
	if (ca->issuer_url) {
		snprintf(v, sizeof v, "caIssuers;URI:%s", ca->issuer_url);
		if (!(ca->x_aia = conf_ext(NID_info_access, v)))
			goto out;
	}
	rc = CL_OK;
out:
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static bool key_file_encrypted(const char *dir)
{
	char path[4096], head[64] = "";
	FILE *f;

	if (path_join(path, sizeof path, dir, CA_INT_KEY) != CL_OK || !(f = fopen(path, "rb")))
		return false;
	if (!fgets(head, sizeof head, f))
		head[0] = '\0';
	fclose(f);
	return strstr(head, "ENCRYPTED") != NULL;
}

int cl_ca_open(struct cl_ca **out, const char *dir, const char *passphrase, unsigned flags,
               char *err, size_t errlen)
{
	struct cl_ca *ca;
	struct policy pol;
	char path[4200], r[256];
	bool enc = false, enc2 = false;
	int rc, crit = -1;

	*out = NULL;
	if (!(ca = calloc(1, sizeof *ca))) {
		snprintf(err, errlen, "out of memory");
		return CL_ERR_NOMEM;
	}
	pthread_mutex_init(&ca->lock, NULL);
	pthread_mutex_init(&ca->gc_lock, NULL);
	pthread_cond_init(&ca->gc_cond, NULL);
	ca->gc_tail = &ca->gc_head;
	if ((rc = policy_read(dir, &pol, err, errlen)) != CL_OK)
		goto fail;
	ca->crl_url = pol.crl_url;
	ca->issuer_url = pol.issuer_url;
	rc = CL_ERR_NOMEM;
	if (!(ca->dir = strdup(dir)) || !(ca->key_type = strdup(pol.key_type))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (!(ca->root = read_cert(dir, CA_ROOT_PEM, &ca->root_pem, err, errlen, &rc)) ||
	    !(ca->inter = read_cert(dir, CA_INT_PEM, &ca->int_pem, err, errlen, &rc)))
		goto fail;
	rc = CL_ERR_PARSE;
	if (X509_verify(ca->root, X509_get0_pubkey(ca->root)) != 1 ||
	    X509_verify(ca->inter, X509_get0_pubkey(ca->root)) != 1 ||
	    X509_NAME_cmp(X509_get_issuer_name(ca->inter), X509_get_subject_name(ca->root)) != 0) {
		snprintf(err, errlen, "%s: %s is not signed by %s%s", dir, CA_INT_PEM, CA_ROOT_PEM,
		         cl_ca_ossl(r, sizeof r));
		goto fail;
	}
	ca->md = cl_ca_key_md(X509_get0_pubkey(ca->inter));
	if (!(flags & CL_CA_OPEN_NOKEY)) {
		if ((rc = cl_ca_key_load(dir, CA_INT_KEY, passphrase, &ca->int_key, &enc, err,
		                         errlen)) != CL_OK)
			goto fail;
		if (X509_check_private_key(ca->inter, ca->int_key) != 1) {
			ERR_clear_error();
			snprintf(err, errlen, "%s/%s does not match %s", dir, CA_INT_KEY, CA_INT_PEM);
			rc = CL_ERR_PARSE;
			goto fail;
		}
	} else {
		enc = key_file_encrypted(dir);
	}
	if (flags & CL_CA_OPEN_ROOT) {
		if ((rc = cl_ca_key_load(dir, CA_ROOT_KEY, passphrase, &ca->root_key, &enc2, err,
		                         errlen)) != CL_OK)
			goto fail;
		if (X509_check_private_key(ca->root, ca->root_key) != 1) {
			ERR_clear_error();
			snprintf(err, errlen, "%s/%s does not match %s", dir, CA_ROOT_KEY, CA_ROOT_PEM);
			rc = CL_ERR_PARSE;
			goto fail;
		}
	}
	ca->nc_ext = X509_get_ext_d2i(ca->inter, NID_name_constraints, &crit, NULL);
	if (!ca->nc_ext && crit != -1) {
		snprintf(err, errlen, "%s: unreadable nameConstraints", CA_INT_PEM);
		rc = CL_ERR_PARSE;
		goto fail;
	}
	if ((rc = cl_ca_nc_from_ext(&ca->nc, ca->nc_ext)) != CL_OK) {
		snprintf(err, errlen, "%s: unusable nameConstraints", CA_INT_PEM);
		goto fail;
	}
	rc = CL_ERR;
	/* the issuer name every leaf copies: encoded once, then only read */
	if (!(ca->issuer = X509_NAME_dup(X509_get_subject_name(ca->inter))) ||
	    i2d_X509_NAME(ca->issuer, NULL) <= 0 || leaf_exts(ca) != CL_OK) {
		snprintf(err, errlen, "could not prepare the CA%s", cl_ca_ossl(r, sizeof r));
		goto fail;
	}
	snprintf(path, sizeof path, "%s/%s", dir, CA_DB);
	if ((rc = cl_ca_db_open(path, &ca->db, err, errlen)) != CL_OK)
		goto fail;

	ca->info.dir = ca->dir;
	ca->info.key_type = ca->key_type;
	ca->info.encrypted = enc;
	ca->info.max_leaf_lifetime = pol.max_leaf;
	ca->info.default_leaf_lifetime = pol.default_leaf;
	ca->info.crl_url = ca->crl_url;
	ca->info.issuer_url = ca->issuer_url;
	ca->info.permit_dns = (struct cl_ca_strs){ (const char *const *)ca->nc.pdns, ca->nc.npdns };
	ca->info.exclude_dns = (struct cl_ca_strs){ (const char *const *)ca->nc.xdns, ca->nc.nxdns };
	ca->info.permit_ip = (struct cl_ca_strs){ (const char *const *)ca->nc.pip_txt, ca->nc.npip };
	ca->info.exclude_ip = (struct cl_ca_strs){ (const char *const *)ca->nc.xip_txt,
	                                           ca->nc.nxip };
	ca->info.root = ca->root;
	ca->info.intermediate = ca->inter;
	ca->info.root_pem = ca->root_pem;
	ca->info.intermediate_pem = ca->int_pem;
	{
		struct tm tm;
		const ASN1_TIME *na = X509_get0_notAfter(ca->inter);
		if (ASN1_TIME_to_tm(na, &tm) != 1) {
			snprintf(err, errlen, "%s: bad notAfter", CA_INT_PEM);
			rc = CL_ERR_PARSE;
			goto fail;
		}
		ca->info.intermediate_not_after = cl_time_from_civil(tm.tm_year + 1900,
		        (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday, (unsigned)tm.tm_hour,
		        (unsigned)tm.tm_min, (unsigned)tm.tm_sec);
	}
	*out = ca;
	return CL_OK;
fail:
	cl_ca_close(ca);
	return rc;
}

void cl_ca_close(struct cl_ca *ca)
{
	if (!ca)
		return;
	if (ca->db)
		sqlite3_close(ca->db);
	EVP_PKEY_free(ca->int_key);
	EVP_PKEY_free(ca->root_key);
	X509_free(ca->root);
	X509_free(ca->inter);
	X509_NAME_free(ca->issuer);
	NAME_CONSTRAINTS_free(ca->nc_ext);
	cl_ca_nc_free(&ca->nc);
	X509_EXTENSION_free(ca->x_bc);
	X509_EXTENSION_free(ca->x_ku_sig);
	X509_EXTENSION_free(ca->x_ku_rsa);
	X509_EXTENSION_free(ca->x_eku);
	X509_EXTENSION_free(ca->x_eku_client);
	X509_EXTENSION_free(ca->x_aki);
	X509_EXTENSION_free(ca->x_cdp);
	X509_EXTENSION_free(ca->x_aia);
	free(ca->root_pem);
	free(ca->int_pem);
	free(ca->dir);
	free(ca->key_type);
	free(ca->crl_url);
	free(ca->issuer_url);
	pthread_mutex_destroy(&ca->lock);
	pthread_mutex_destroy(&ca->gc_lock);
	pthread_cond_destroy(&ca->gc_cond);
	free(ca);
}

const struct cl_ca_info *cl_ca_get0_info(const struct cl_ca *ca)
{
	return &ca->info;
}
