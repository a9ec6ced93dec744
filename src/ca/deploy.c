/*
 * Writing an issued certificate as files, the safe way: every file in
 * full under a temporary name in its final directory (mode set before
 * the first byte, fsync'd), then renamed: certificates first, the key
 * last, with the directory fsync'd in between. See cl_ca_deploy in ca.h
 * for the reasoning.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ca/ca_int.h"
#include "core/util.h"

enum { F_LEAF, F_CHAIN, F_FULL, F_KEY, NFILES };

static const char *const suffix[NFILES] = { ".pem", ".chain.pem", ".fullchain.pem", ".key" };

/* Writes parts into a new temporary file beside final; its name goes to tmp. */
static int write_tmp(const char *final, char *tmp, size_t tmplen, int mode,
                     const char *const *parts, size_t nparts)
{
	int fd, saved;
	size_t i;

	if (snprintf(tmp, tmplen, "%s.tmp.XXXXXX", final) >= (int)tmplen) {
		errno = ENAMETOOLONG;
		tmp[0] = '\0';
		return CL_ERR_IO;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {   /* created 0600 */
		tmp[0] = '\0';
		return CL_ERR_IO;
	}
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	for (i = 0; i < nparts; i++)
		if (cl_write_all(fd, parts[i], strlen(parts[i])) != CL_OK)
			goto fail;
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
	unlink(tmp);
	tmp[0] = '\0';
	errno = saved;
	return CL_ERR_IO;
}

int cl_ca_deploy(const struct cl_ca_issued *is, const char *prefix, char *err, size_t errlen)
{
	char final[NFILES][4096], tmp[NFILES][4200], dir[4096], pfx[4096];
	const char *parts[NFILES][2] = {
		{ is->cert_pem }, { is->chain_pem }, { is->cert_pem, is->chain_pem }, { is->key_pem },
	};
	const size_t nparts[NFILES] = { 1, 1, 2, 1 };
	const int mode[NFILES] = { 0644, 0644, 0644, 0600 };
	int n = is->key_pem ? NFILES : F_KEY, i, rc = CL_ERR_IO;
	const char *what = NULL;

	memset(tmp, 0, sizeof tmp);
	if (!is->cert_pem || !is->chain_pem) {
		snprintf(err, errlen, "nothing to deploy");
		return CL_ERR_USAGE;
	}
	snprintf(pfx, sizeof pfx, "%s", prefix);
	snprintf(dir, sizeof dir, "%s", dirname(pfx));
	for (i = 0; i < n; i++) {
		if (snprintf(final[i], sizeof final[i], "%s%s", prefix, suffix[i])
		    >= (int)sizeof final[i]) {
			errno = ENAMETOOLONG;
			what = prefix;
			goto fail;
		}
	}
	/* 1. everything in full under temporary names */
	for (i = 0; i < n; i++) {
		if (write_tmp(final[i], tmp[i], sizeof tmp[i], mode[i], parts[i], nparts[i])
		    != CL_OK) {
			what = final[i];
			goto fail;
		}
	}
	/* 2. the certificates, then (durably after them) the key */
	for (i = 0; i < n; i++) {
		if (i == F_KEY && cl_fsync_dir(dir) != CL_OK) {
			what = dir;
			goto fail;
		}
		if (rename(tmp[i], final[i]) != 0) {
			what = final[i];
			goto fail;
		}
		tmp[i][0] = '\0';
	}
	if (cl_fsync_dir(dir) != CL_OK) {
		what = dir;
		goto fail;
	}
	return CL_OK;
fail:
	snprintf(err, errlen, "%s: %s", what ? what : prefix, strerror(errno));
	for (i = 0; i < n; i++)
		if (tmp[i][0])
			unlink(tmp[i]);
	return rc;
}
