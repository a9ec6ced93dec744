/*
 * Crash-safe deployment of a managed certificate (layout in manage.h,
 * the argument in docs/managed.md).
 *
 * The invariant: whatever instant the process dies at, the configured
 * names resolve either all to the old version or all to the new one,
 * never a key without its certificate. Three rules give it:
 *  1. a version directory is written in full (every file fsync'd, its
 *     meta.json last, the directory fsync'd) before anything points at it;
 *  2. the configured names are symlinks through OUT/.certledger/NAME/current,
 *     and current is replaced by rename(2) of a new symlink: one atomic
 *     step switches every name at once;
 *  3. a configured name that is not yet such a symlink is first copied,
 *     with every other name as it resolves now, into a version of its
 *     own that becomes current ("adopted"); then each name is replaced
 *     by a symlink that resolves to the same bytes it had: nothing
 *     visible changes until the switch of rule 2.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include "core/log.h"
#include "core/util.h"
#include "manage/manage.h"
#include "x509/cert.h"

#define MAX_FILE (1 << 20)       /* a deployed file read back */
#define META "meta.json"

/* The files of a version, by role. */
enum role { R_CERT, R_CHAIN, R_FULL, R_KEY, R_P12, NROLES };
static const char *const role_file[NROLES] = {
	"cert.pem", "chain.pem", "fullchain.pem", "key.pem", "bundle.p12",
};

/* ---- the crash test hook -------------------------------------------------------------- */

void cl_manage_crash_point(const char *step)
{
	const char *want = getenv("CERTLEDGER_TEST_CRASH_AT");

	if (want && *want && strcmp(want, step) == 0) {
		static const char msg[] = "certledger: CERTLEDGER_TEST_CRASH_AT: killed at ";
		ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
		w = write(STDERR_FILENO, step, strlen(step));
		w = write(STDERR_FILENO, "\n", 1);
		(void)w;
		raise(SIGKILL);
	}
}

/* ---- small helpers --------------------------------------------------------------------- */

static const char *configured(const struct cl_manage_cert *c, enum role r)
{
	switch (r) {
	case R_CERT: return c->out.cert;
	case R_CHAIN: return c->out.chain;
	case R_FULL: return c->out.fullchain;
	case R_KEY: return c->out.key;
	case R_P12: return c->out.pkcs12;
	default: return NULL;
	}
}

static int errf(char *err, size_t errlen, int rc, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return rc;
}

static int fsync_fd_dir(int dfd)
{
	return fsync(dfd) == 0 ? CL_OK : CL_ERR_IO;
}

/* mkdir -p of an absolute path, 0755, each new directory's parent fsync'd. */
static int mkdirs(const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return errf(err, errlen, CL_ERR_IO, path);
	}
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char save = *p;
		*p = '\0';
		if (mkdir(buf, 0755) == 0) {
			char parent[PATH_MAX], *slash;
			snprintf(parent, sizeof parent, "%s", buf);
			if ((slash = strrchr(parent, '/')) != NULL) {
				*(slash == parent ? slash + 1 : slash) = '\0';
				cl_fsync_dir(parent);
			}
		} else if (errno != EEXIST) {
			return errf(err, errlen, CL_ERR_IO, buf);
		}
		*p = save;
		if (!save)
			break;
	}
	return CL_OK;
}

/* "v12" -> 12; -1 when name is not a version. */
static int version_of(const char *name)
{
	long v;
	char *end;

	if (name[0] != 'v' || name[1] < '0' || name[1] > '9')
		return -1;
	v = strtol(name + 1, &end, 10);
	return *end || v < 0 || v > 1000000000 ? -1 : (int)v;
}

/* The version current points at in dfd, or -1 when there is none. */
static int current_version(int dfd)
{
	char buf[64];
	ssize_t n = readlinkat(dfd, "current", buf, sizeof buf - 1);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return version_of(buf);
}

static bool version_complete(int dfd, int v)
{
	char name[48];
	struct stat st;

	snprintf(name, sizeof name, "v%d/" META, v);
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* Removes version directory v (its files, then itself). */
static int remove_version(int dfd, int v, bool crash_test)
{
	char name[32];
	struct dirent *de;
	DIR *d;
	int fd, rc = CL_OK;

	snprintf(name, sizeof name, "v%d", v);
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? CL_OK : CL_ERR_IO;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return CL_ERR_IO;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) != 0 && errno != ENOENT)
			rc = CL_ERR_IO;
		if (crash_test) {
			cl_manage_crash_point("prune");
			crash_test = false;
		}
	}
	closedir(d);
	if (rc == CL_OK && unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = CL_ERR_IO;
	return rc;
}

/* The versions present in dfd (sorted ascending) into v[0..*n). */
static int list_versions(int dfd, int **v, size_t *n)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *d;
	int fd, x;

	*v = NULL;
	*n = 0;
	if ((fd = dup(dfd)) < 0)
		return CL_ERR_IO;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return CL_ERR_IO;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if ((x = version_of(de->d_name)) < 0)
			continue;
		if (CL_GROW(*v, cap, *n + 1) != CL_OK) {
			closedir(d);
			free(*v);
			*v = NULL;
			return CL_ERR_NOMEM;
		}
		(*v)[(*n)++] = x;
	}
	closedir(d);
	for (size_t i = 1; i < *n; i++)     /* a handful: insertion sort */
		for (size_t j = i; j > 0 && (*v)[j - 1] > (*v)[j]; j--) {
			x = (*v)[j];
			(*v)[j] = (*v)[j - 1];
			(*v)[j - 1] = x;
		}
	return CL_OK;
}

/*
 * Writes n bytes to a new file name in dfd: created 0600 (nothing can
 * read it meanwhile), given its owner and mode, then written and fsync'd.
 * crash, when not NULL, names the test step hit half way through.
 */
static int write_at(int dfd, const char *name, const void *p, size_t n, int mode, uid_t uid,
                    gid_t gid, const char *crash)
{
	const char *s = p;
	size_t done = 0;
	int fd, saved;

	unlinkat(dfd, name, 0);
	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return CL_ERR_IO;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) != 0)
		goto fail;
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	while (done < n) {
		size_t chunk = n - done;
		ssize_t w;
		if (crash && done == 0 && n > 1)
			chunk = n / 2;
		if ((w = write(fd, s + done, chunk)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		done += (size_t)w;
		if (crash) {
			cl_manage_crash_point(crash);
			crash = NULL;
		}
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return CL_OK;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dfd, name, 0);
	errno = saved;
	return CL_ERR_IO;
}

/* Reads a whole (small) file at dfd/name, following symlinks. NULL with errno.
 * Free with free_read (the bytes are wiped: keys pass through here). */
static char *read_at(int dfd, const char *name, size_t *len)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return NULL;
	}
	if (!(buf = OPENSSL_malloc((size_t)st.st_size + 1))) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	while (n < (size_t)st.st_size && (r = read(fd, buf + n, (size_t)st.st_size - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void free_read(char *p, size_t len)
{
	if (p)
		OPENSSL_clear_free(p, len + 1);
}

/* Creates or replaces a symlink name -> target in dfd atomically. */
static int symlink_replace(int dfd, const char *name, const char *target)
{
	char tmp[NAME_MAX + 1];

	if (snprintf(tmp, sizeof tmp, ".%.200s.certledger-tmp", name) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return CL_ERR_IO;
	}
	unlinkat(dfd, tmp, 0);
	if (symlinkat(target, dfd, tmp) != 0)
		return CL_ERR_IO;
	if (renameat(dfd, tmp, dfd, name) != 0) {
		int saved = errno;
		unlinkat(dfd, tmp, 0);
		errno = saved;
		return CL_ERR_IO;
	}
	return CL_OK;
}

/* ---- owner, group -------------------------------------------------------------------- */

static int resolve_ids(const struct cl_manage_output *o, uid_t *uid, gid_t *gid, char *err,
                       size_t errlen)
{
	char buf[16384], *end;
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	unsigned long v;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (o->owner) {
		errno = 0;
		v = strtoul(o->owner, &end, 10);
		if (!*end && !errno) {
			*uid = (uid_t)v;
		} else if (getpwnam_r(o->owner, &pw, buf, sizeof buf, &pwp) == 0 && pwp) {
			*uid = pwp->pw_uid;
		} else {
			snprintf(err, errlen, "output.owner: no user '%s' on this system", o->owner);
			return CL_ERR_USAGE;
		}
	}
	if (o->group) {
		errno = 0;
		v = strtoul(o->group, &end, 10);
		if (!*end && !errno) {
			*gid = (gid_t)v;
		} else if (getgrnam_r(o->group, &gr, buf, sizeof buf, &grp) == 0 && grp) {
			*gid = grp->gr_gid;
		} else {
			snprintf(err, errlen, "output.group: no group '%s' on this system", o->group);
			return CL_ERR_USAGE;
		}
	}
	return CL_OK;
}

/* ---- the base directory and its lock ---------------------------------------------------- */

struct base {
	int out;                    /* OUT */
	int dfd;                    /* OUT/.certledger/NAME */
	int lock;
	char path[PATH_MAX];
};

static void base_close(struct base *b)
{
	if (b->lock >= 0)
		close(b->lock);     /* releases the flock */
	if (b->dfd >= 0)
		close(b->dfd);
	if (b->out >= 0)
		close(b->out);
	b->lock = b->dfd = b->out = -1;
}

/* Opens (creating when create) the directories of c; locks when lock. */
static int base_open(const struct cl_manage_cert *c, bool create, bool lock, struct base *b,
                     char *err, size_t errlen)
{
	int rc;

	b->out = b->dfd = b->lock = -1;
	if (snprintf(b->path, sizeof b->path, "%s/.certledger/%s", c->out.dir, c->name) >=
	    (int)sizeof b->path) {
		errno = ENAMETOOLONG;
		return errf(err, errlen, CL_ERR_IO, c->out.dir);
	}
	if (create && (rc = mkdirs(b->path, err, errlen)) != CL_OK)
		return rc;
	if ((b->out = open(c->out.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? CL_ERR_NOTFOUND : CL_ERR_IO;
		return errf(err, errlen, rc, c->out.dir);
	}
	if ((b->dfd = open(b->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		rc = errno == ENOENT ? CL_ERR_NOTFOUND : CL_ERR_IO;
		errf(err, errlen, rc, b->path);
		base_close(b);
		return rc;
	}
	if (!lock)
		return CL_OK;
	if ((b->lock = openat(b->dfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		errf(err, errlen, CL_ERR_IO, b->path);
		base_close(b);
		return CL_ERR_IO;
	}
	if (flock(b->lock, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? CL_ERR_BUSY : CL_ERR_IO;
		if (rc == CL_ERR_BUSY)
			snprintf(err, errlen, "%s: another certledger is deploying this certificate",
			         b->path);
		else
			errf(err, errlen, rc, b->path);
		base_close(b);
		return rc;
	}
	return CL_OK;
}

/* Points current at version v: a new symlink renamed over it, then fsync. */
static int switch_to(struct base *b, int v, const char *crash_prefix, char *err, size_t errlen)
{
	char target[32], step[48];

	snprintf(target, sizeof target, "v%d", v);
	unlinkat(b->dfd, "current.tmp", 0);
	if (symlinkat(target, b->dfd, "current.tmp") != 0)
		return errf(err, errlen, CL_ERR_IO, b->path);
	snprintf(step, sizeof step, "%s-tmp", crash_prefix);
	cl_manage_crash_point(step);
	if (renameat(b->dfd, "current.tmp", b->dfd, "current") != 0)
		return errf(err, errlen, CL_ERR_IO, b->path);
	cl_manage_crash_point(crash_prefix);
	if (fsync_fd_dir(b->dfd) != CL_OK)
		return errf(err, errlen, CL_ERR_IO, b->path);
	return CL_OK;
}

/* ---- meta.json ------------------------------------------------------------------------- */

static int meta_write(int vfd, int version, const struct cl_manage_material *m,
                      const struct cl_manage_cert *c, bool adopted)
{
	json_t *j;
	char *s = NULL;
	int rc = CL_ERR_NOMEM;

	j = json_pack("{s:i,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:b}",
	              "version", version, "name", c->name,
	              "fingerprint", m && m->fp[0] ? m->fp : "",
	              "serial", m && m->serial[0] ? m->serial : "",
	              "spki_sha256", m && m->spki[0] ? m->spki : "",
	              "not_before", (json_int_t)(m ? m->not_before : 0),
	              "not_after", (json_int_t)(m ? m->not_after : 0),
	              "issued_at", (json_int_t)cl_now(),
	              "issuer", adopted ? "" : c->issuer->name,
	              "issue_hash", adopted ? "" : c->issue_hash,
	              "adopted", adopted);
	if (j && json_object_set_new(j, "deploy_hash", json_string(adopted ? "" : c->deploy_hash))
	    == 0 && (s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS)) != NULL)
		rc = write_at(vfd, META, s, strlen(s), 0644, (uid_t)-1, (gid_t)-1, NULL);
	free(s);
	json_decref(j);
	return rc;
}

static void copy_str(char *dst, size_t len, json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	snprintf(dst, len, "%s", v ? v : "");
}

static int meta_read(int dfd, int v, struct cl_manage_deployed *d, char *err, size_t errlen)
{
	json_error_t je;
	char name[48], *text;
	size_t len = 0;
	json_t *j;

	memset(d, 0, sizeof *d);
	snprintf(name, sizeof name, "v%d/" META, v);
	if (!(text = read_at(dfd, name, &len)))
		return errf(err, errlen, CL_ERR_IO, name);
	j = json_loadb(text, len, 0, &je);
	free_read(text, len);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		snprintf(err, errlen, "%s: not valid JSON", name);
		return CL_ERR_PARSE;
	}
	d->version = v;
	d->present = !json_is_true(json_object_get(j, "adopted"));
	copy_str(d->fp, sizeof d->fp, j, "fingerprint");
	copy_str(d->serial, sizeof d->serial, j, "serial");
	copy_str(d->issuer, sizeof d->issuer, j, "issuer");
	copy_str(d->issue_hash, sizeof d->issue_hash, j, "issue_hash");
	copy_str(d->deploy_hash, sizeof d->deploy_hash, j, "deploy_hash");
	d->not_before = json_integer_value(json_object_get(j, "not_before"));
	d->not_after = json_integer_value(json_object_get(j, "not_after"));
	d->issued_at = json_integer_value(json_object_get(j, "issued_at"));
	json_decref(j);
	if (d->present && (strlen(d->fp) != 64 || !d->not_after)) {
		snprintf(err, errlen, "%s: incomplete", name);
		return CL_ERR_PARSE;
	}
	return CL_OK;
}

int cl_manage_deployed_get(const struct cl_manage_cert *c, struct cl_manage_deployed *d,
                           char *err, size_t errlen)
{
	struct base b;
	int rc, v;

	memset(d, 0, sizeof *d);
	if ((rc = base_open(c, false, false, &b, err, errlen)) != CL_OK)
		return rc == CL_ERR_NOTFOUND ? CL_OK : rc;
	if ((v = current_version(b.dfd)) >= 0)
		rc = meta_read(b.dfd, v, d, err, errlen);
	base_close(&b);
	return rc;
}

/* ---- material ------------------------------------------------------------------------- */

void cl_manage_material_clear(struct cl_manage_material *m)
{
	free(m->cert_pem);
	free(m->chain_pem);
	if (m->key_pem)
		OPENSSL_clear_free(m->key_pem, strlen(m->key_pem) + 1);
	free(m->der);
	memset(m, 0, sizeof *m);
}

static char *bio_str(BIO *b)
{
	char *p, *s;
	long n = BIO_get_mem_data(b, &p);

	if (n < 0 || !(s = malloc((size_t)n + 1)))
		return NULL;
	if (n > 0)
		memcpy(s, p, (size_t)n);
	s[n] = '\0';
	return s;
}

int cl_manage_material_set(struct cl_manage_material *m, const char *cert_pem,
                           const char *chain_pem, const char *key_pem, char *err,
                           size_t errlen)
{
	BIO *in = NULL, *leaf = NULL, *chain = NULL, *kb = NULL, *kout = NULL;
	X509 *x = NULL, *first = NULL;
	EVP_PKEY *key = NULL;
	struct cl_cert *cc = NULL;
	unsigned char *der = NULL;
	const char *why = NULL;
	char *p;
	long n;
	int len, rc = CL_ERR_PARSE, i;

	memset(m, 0, sizeof *m);
	if (!(leaf = BIO_new(BIO_s_mem())) || !(chain = BIO_new(BIO_s_mem()))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < 2; i++) {
		const char *src = i == 0 ? cert_pem : chain_pem;
		if (!src || !*src)
			continue;
		BIO_free(in);
		if (!(in = BIO_new_mem_buf(src, -1))) {
			rc = CL_ERR_NOMEM;
			goto out;
		}
		while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
			if (PEM_write_bio_X509(first ? chain : leaf, x) != 1) {
				X509_free(x);
				rc = CL_ERR_NOMEM;
				goto out;
			}
			if (!first)
				first = x;
			else
				X509_free(x);
		}
		ERR_clear_error();
	}
	if (!first) {
		snprintf(err, errlen, "no certificate in what the issuer returned");
		goto out;
	}
	if ((len = i2d_X509(first, &der)) <= 0) {
		snprintf(err, errlen, "cannot encode the certificate");
		goto out;
	}
	if (cl_cert_parse_der(der, (size_t)len, &cc, &why) != CL_OK) {
		snprintf(err, errlen, "the certificate does not parse: %s", why ? why : "?");
		goto out;
	}
	if (key_pem && *key_pem) {
		if (!(kb = BIO_new_mem_buf(key_pem, -1)) ||
		    !(key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL))) {
			snprintf(err, errlen, "the private key does not parse");
			goto out;
		}
		if (X509_check_private_key(first, key) != 1) {
			snprintf(err, errlen, "the private key does not belong to the certificate");
			goto out;
		}
		if (!(kout = BIO_new(BIO_s_secmem())) ||
		    PEM_write_bio_PrivateKey(kout, key, NULL, NULL, 0, NULL, NULL) != 1 ||
		    (n = BIO_get_mem_data(kout, &p)) <= 0 || !(m->key_pem = OPENSSL_malloc((size_t)n + 1))) {
			rc = CL_ERR_NOMEM;
			goto out;
		}
		memcpy(m->key_pem, p, (size_t)n);
		m->key_pem[n] = '\0';
	}
	if (!(m->cert_pem = bio_str(leaf)) || !(m->chain_pem = bio_str(chain)) ||
	    !(m->der = malloc((size_t)len))) {
		rc = CL_ERR_NOMEM;
		goto out;
	}
	memcpy(m->der, der, (size_t)len);
	m->der_len = (size_t)len;
	cl_hex(m->fp, cc->fp, CL_SHA256_LEN);
	cl_hex(m->spki, cc->spki_sha256, CL_SHA256_LEN);
	snprintf(m->serial, sizeof m->serial, "%s", cc->serial);
	m->not_before = cc->not_before;
	m->not_after = cc->not_after;
	rc = CL_OK;
out:
	if (rc != CL_OK) {
		if (rc == CL_ERR_NOMEM)
			snprintf(err, errlen, "out of memory");
		cl_manage_material_clear(m);
	}
	ERR_clear_error();
	cl_cert_free(cc);
	OPENSSL_free(der);
	X509_free(first);
	EVP_PKEY_free(key);
	BIO_free(in);
	BIO_free(leaf);
	BIO_free(chain);
	BIO_free(kb);
	BIO_free(kout);
	return rc;
}

int cl_manage_deployed_material(const struct cl_manage_cert *c, struct cl_manage_material *m,
                                char *err, size_t errlen)
{
	char *f[3] = { NULL, NULL, NULL }, name[64];
	size_t len[3] = { 0, 0, 0 };
	static const enum role roles[3] = { R_CERT, R_CHAIN, R_KEY };
	struct base b;
	int rc, v, i;

	memset(m, 0, sizeof *m);
	if ((rc = base_open(c, false, false, &b, err, errlen)) != CL_OK)
		return rc;
	if ((v = current_version(b.dfd)) < 0) {
		base_close(&b);
		snprintf(err, errlen, "%s: nothing deployed", b.path);
		return CL_ERR_NOTFOUND;
	}
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "v%d/%s", v, role_file[roles[i]]);
		f[i] = read_at(b.dfd, name, &len[i]);
	}
	if (!f[0])
		rc = CL_ERR_NOTFOUND;
	else
		rc = cl_manage_material_set(m, f[0], f[1], f[2], err, errlen);
	if (rc == CL_ERR_NOTFOUND)
		snprintf(err, errlen, "%s/v%d: no certificate", b.path, v);
	for (i = 0; i < 3; i++)
		free_read(f[i], len[i]);
	base_close(&b);
	return rc;
}

/* ---- PKCS#12 ---------------------------------------------------------------------------- */

static int make_p12(const struct cl_manage_cert *c, const struct cl_manage_material *m,
                    const char *password, unsigned char **out, size_t *outlen, char *err,
                    size_t errlen)
{
	STACK_OF(X509) *ca = NULL;
	BIO *b = NULL;
	X509 *leaf = NULL, *x;
	EVP_PKEY *key = NULL;
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	int len, rc = CL_ERR;

	*out = NULL;
	if (!password) {
		snprintf(err, errlen, "output.pkcs12: no password");
		return CL_ERR_USAGE;
	}
	if (!(b = BIO_new_mem_buf(m->cert_pem, -1)) ||
	    !(leaf = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		goto out;
	BIO_free(b);
	if (!(ca = sk_X509_new_null()) || !(b = BIO_new_mem_buf(m->chain_pem ? m->chain_pem : "", -1)))
		goto out;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(ca, x)) {
			X509_free(x);
			goto out;
		}
	ERR_clear_error();
	BIO_free(b);
	if (!(b = BIO_new_mem_buf(m->key_pem, -1)) ||
	    !(key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)))
		goto out;
	/* OpenSSL 3 defaults: AES-256-CBC with PBKDF2, HMAC-SHA-256 MAC */
	if (!(p12 = PKCS12_create(password, c->name, key, leaf, ca, 0, 0, 0, 0, 0)) ||
	    (len = i2d_PKCS12(p12, &der)) <= 0)
		goto out;
	*out = der;
	*outlen = (size_t)len;
	der = NULL;
	rc = CL_OK;
out:
	if (rc != CL_OK) {
		char why[200];
		snprintf(err, errlen, "cannot make the PKCS#12 file: %s",
		         cl_ossl_reason(why, sizeof why));
	}
	OPENSSL_free(der);
	PKCS12_free(p12);
	EVP_PKEY_free(key);
	X509_free(leaf);
	sk_X509_pop_free(ca, X509_free);
	BIO_free(b);
	return rc;
}

/* ---- adoption of what the configured names hold ------------------------------------------- */

/* True when OUT/name is the symlink this layout puts there. */
static bool is_our_link(int out, const struct cl_manage_cert *c, enum role r, bool *exists)
{
	char want[PATH_MAX], have[PATH_MAX];
	struct stat st;
	ssize_t n;

	*exists = fstatat(out, configured(c, r), &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (!*exists || !S_ISLNK(st.st_mode))
		return false;
	snprintf(want, sizeof want, ".certledger/%s/current/%s", c->name, role_file[r]);
	n = readlinkat(out, configured(c, r), have, sizeof have - 1);
	if (n < 0)
		return false;
	have[n] = '\0';
	return strcmp(have, want) == 0;
}

/*
 * Makes version v from what the configured names resolve to now (see
 * rule 3 at the top) and switches to it.
 */
static int adopt(const struct cl_manage_cert *c, struct base *b, int v, char *err,
                 size_t errlen)
{
	struct cl_manage_material none = { 0 };
	char vname[32];
	int vfd = -1, rc = CL_OK, r;

	snprintf(vname, sizeof vname, "v%d", v);
	if (mkdirat(b->dfd, vname, 0755) != 0 ||
	    (vfd = openat(b->dfd, vname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errf(err, errlen, CL_ERR_IO, b->path);
	for (r = 0; r < NROLES && rc == CL_OK; r++) {
		const char *name = configured(c, (enum role)r);
		struct stat st;
		size_t len = 0;
		char *data;
		if (!name)
			continue;
		if (fstatat(b->out, name, &st, 0) != 0)
			continue;           /* absent (or a dangling link): stays absent */
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s/%s: is a directory", c->out.dir, name);
			rc = CL_ERR_IO;
			break;
		}
		if (!(data = read_at(b->out, name, &len))) {
			char what[PATH_MAX + 300];
			snprintf(what, sizeof what, "%s/%s", c->out.dir, name);
			rc = errf(err, errlen, CL_ERR_IO, what);
			break;
		}
		if (write_at(vfd, role_file[r], data, len, (int)(st.st_mode & 0777),
		             geteuid() == 0 ? st.st_uid : (uid_t)-1,
		             geteuid() == 0 ? st.st_gid : (gid_t)-1, NULL) != CL_OK)
			rc = errf(err, errlen, CL_ERR_IO, b->path);
		if (rc == CL_OK && r == R_CERT)
			cl_manage_material_set(&none, data, NULL, NULL, err, errlen);  /* for meta */
		free_read(data, len);
	}
	if (rc == CL_OK && (meta_write(vfd, v, none.fp[0] ? &none : NULL, c, true) != CL_OK ||
	                    fsync_fd_dir(vfd) != CL_OK || fsync_fd_dir(b->dfd) != CL_OK))
		rc = errf(err, errlen, CL_ERR_IO, b->path);
	cl_manage_material_clear(&none);
	close(vfd);
	if (rc != CL_OK)
		return rc;
	cl_manage_crash_point("adopt");
	return switch_to(b, v, "adopt-switch", err, errlen);
}

/* Rule 3: every configured name becomes our symlink, nothing visible changes. */
static int link_names(const struct cl_manage_cert *c, struct base *b, int *cur, char *err,
                      size_t errlen)
{
	bool exists, foreign = false;
	char target[PATH_MAX], what[PATH_MAX + 300];
	int r, rc, linked = 0;

	for (r = 0; r < NROLES; r++)
		if (configured(c, (enum role)r) && !is_our_link(b->out, c, (enum role)r, &exists) &&
		    exists)
			foreign = true;
	if (foreign) {
		if ((rc = adopt(c, b, *cur + 1, err, errlen)) != CL_OK)
			return rc;
		*cur += 1;
	}
	for (r = 0; r < NROLES; r++) {
		const char *name = configured(c, (enum role)r);
		if (!name || is_our_link(b->out, c, (enum role)r, &exists))
			continue;
		snprintf(target, sizeof target, ".certledger/%s/current/%s", c->name, role_file[r]);
		if (symlink_replace(b->out, name, target) != CL_OK) {
			snprintf(what, sizeof what, "%s/%s", c->out.dir, name);
			return errf(err, errlen, CL_ERR_IO, what);
		}
		if (linked++ == 0)
			cl_manage_crash_point("link");
	}
	if (linked && fsync_fd_dir(b->out) != CL_OK)
		return errf(err, errlen, CL_ERR_IO, c->out.dir);
	return CL_OK;
}

/* ---- deploy ---------------------------------------------------------------------------- */

/* Removes versions above cur (left by a crash, or rolled back from) and
 * stray temporary links. */
static int cleanup(struct base *b, int cur)
{
	int *v = NULL, rc;
	size_t n = 0, i;

	unlinkat(b->dfd, "current.tmp", 0);
	if ((rc = list_versions(b->dfd, &v, &n)) != CL_OK)
		return rc;
	for (i = 0; i < n && rc == CL_OK; i++)
		if (v[i] > cur)
			rc = remove_version(b->dfd, v[i], false);
	free(v);
	return rc;
}

/* Keeps current and the CL_MANAGE_KEEP - 1 complete versions below it. */
static int prune(struct base *b, int cur)
{
	int *v = NULL, kept = 1, rc;
	size_t n = 0, i;
	bool first = true;

	if ((rc = list_versions(b->dfd, &v, &n)) != CL_OK)
		return rc;
	for (i = n; i-- > 0 && rc == CL_OK;) {
		if (v[i] >= cur)
			continue;
		if (kept < CL_MANAGE_KEEP && version_complete(b->dfd, v[i])) {
			kept++;
			continue;
		}
		rc = remove_version(b->dfd, v[i], first);
		first = false;
	}
	free(v);
	return rc;
}

int cl_manage_lock(const struct cl_manage_cert *c, int *fd, char *err, size_t errlen)
{
	struct base b;
	int rc;

	*fd = -1;
	if ((rc = base_open(c, true, true, &b, err, errlen)) != CL_OK)
		return rc;
	*fd = b.lock;       /* the lock stays with this descriptor */
	b.lock = -1;
	base_close(&b);
	return CL_OK;
}

void cl_manage_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int cl_manage_deploy(const struct cl_manage_cert *c, const struct cl_manage_material *m,
                     const char *p12_password, unsigned flags, int *version, char *err,
                     size_t errlen)
{
	const struct cl_manage_output *o = &c->out;
	unsigned char *p12 = NULL;
	size_t p12len = 0;
	char vname[32], *full = NULL, step[64];
	struct base b;
	uid_t uid;
	gid_t gid;
	int cur, v = 0, vfd = -1, rc;

	*version = 0;
	if (!m->cert_pem || !m->key_pem) {
		snprintf(err, errlen, "nothing to deploy (no certificate or no key)");
		return CL_ERR_USAGE;
	}
	if ((rc = resolve_ids(o, &uid, &gid, err, errlen)) != CL_OK)
		return rc;
	if (o->pkcs12 && (rc = make_p12(c, m, p12_password, &p12, &p12len, err, errlen)) != CL_OK)
		return rc;
	if ((rc = base_open(c, true, !(flags & CL_MANAGE_LOCKED), &b, err, errlen)) != CL_OK)
		goto out_free;
	cur = current_version(b.dfd);
	if ((rc = cleanup(&b, cur)) != CL_OK) {
		errf(err, errlen, rc, b.path);
		goto out;
	}
	if ((rc = link_names(c, &b, &cur, err, errlen)) != CL_OK)
		goto out;
	v = cur + 1;
	if (v == 0)
		v = 1;   /* v0 is never a new certificate */
	snprintf(vname, sizeof vname, "v%d", v);
	if (mkdirat(b.dfd, vname, 0755) != 0 ||
	    (vfd = openat(b.dfd, vname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		rc = errf(err, errlen, CL_ERR_IO, b.path);
		goto out;
	}
	if (asprintf(&full, "%s%s", m->cert_pem, m->chain_pem ? m->chain_pem : "") < 0) {
		full = NULL;
		rc = CL_ERR_NOMEM;
		goto out;
	}
	{
		const char *data[NROLES] = { m->cert_pem, m->chain_pem ? m->chain_pem : "", full,
		                             m->key_pem, (const char *)p12 };
		size_t len[NROLES] = { strlen(m->cert_pem), strlen(data[R_CHAIN]), strlen(full),
		                       strlen(m->key_pem), p12len };
		/* the key first: should anything fail, no certificate is left without it */
		static const enum role order[NROLES] = { R_KEY, R_P12, R_CERT, R_CHAIN, R_FULL };
		for (int i = 0; i < NROLES; i++) {
			enum role r = order[i];
			int mode = r == R_KEY || r == R_P12 ? o->mode : 0644;
			if (r == R_P12 && !p12)
				continue;
			snprintf(step, sizeof step, "write:%s", role_file[r]);
			if (write_at(vfd, role_file[r], data[r], len[r], mode, uid, gid, step) != CL_OK) {
				char what[PATH_MAX + 64];
				snprintf(what, sizeof what, "%s/%s/%s", b.path, vname, role_file[r]);
				rc = errf(err, errlen, CL_ERR_IO, what);
				goto out;
			}
		}
	}
	cl_manage_crash_point("written");
	if (meta_write(vfd, v, m, c, false) != CL_OK) {
		rc = errf(err, errlen, CL_ERR_IO, b.path);
		goto out;
	}
	cl_manage_crash_point("meta");
	if (fsync_fd_dir(vfd) != CL_OK || fsync_fd_dir(b.dfd) != CL_OK) {
		rc = errf(err, errlen, CL_ERR_IO, b.path);
		goto out;
	}
	if ((rc = switch_to(&b, v, "switch", err, errlen)) != CL_OK)
		goto out;
	*version = v;
	if (prune(&b, v) != CL_OK)   /* old versions: a leftover is removed next time */
		cl_log(CL_LOG_WARN, "%s: could not remove old versions: %s", b.path, strerror(errno));
	rc = CL_OK;
out:
	if (vfd >= 0)
		close(vfd);
	if (rc != CL_OK && *version == 0 && vfd >= 0 && current_version(b.dfd) != v)
		remove_version(b.dfd, v, false);   /* never current: nothing points at it */
	base_close(&b);
out_free:
	free(full);
	if (p12) {
		OPENSSL_cleanse(p12, p12len);
		OPENSSL_free(p12);
	}
	return rc;
}

int cl_manage_switch_back(const struct cl_manage_cert *c, struct cl_manage_deployed *d,
                          char *err, size_t errlen)
{
	struct base b;
	int *v = NULL, cur, target = -1, rc;
	size_t n = 0, i;

	memset(d, 0, sizeof *d);
	if ((rc = base_open(c, false, true, &b, err, errlen)) != CL_OK) {
		if (rc == CL_ERR_NOTFOUND)
			snprintf(err, errlen, "%s: nothing deployed yet", c->name);
		return rc;
	}
	if ((cur = current_version(b.dfd)) < 0) {
		snprintf(err, errlen, "%s: nothing deployed yet", c->name);
		rc = CL_ERR_NOTFOUND;
		goto out;
	}
	if ((rc = list_versions(b.dfd, &v, &n)) != CL_OK)
		goto out;
	for (i = 0; i < n; i++)
		if (v[i] < cur && version_complete(b.dfd, v[i]))
			target = v[i];
	if (target < 0) {
		snprintf(err, errlen, "%s: no earlier version to roll back to (v%d is the oldest "
		         "kept)", c->name, cur);
		rc = CL_ERR_NOTFOUND;
		goto out;
	}
	if ((rc = switch_to(&b, target, "rollback", err, errlen)) == CL_OK)
		rc = meta_read(b.dfd, target, d, err, errlen);
out:
	free(v);
	base_close(&b);
	return rc;
}
