/*
 * peer_openssl_loop: the "plain loop over files with libcrypto" baseline.
 *
 *   peer_openssl_loop DIR|FILE...     walk each DIR (nftw), or take FILEs
 *   peer_openssl_loop -               read one path per line from stdin
 *
 * For every regular file: read it into memory; if it contains "-----BEGIN"
 * parse it with PEM_read_bio_X509 in a loop (bundles), otherwise with
 * d2i_X509 (one DER certificate).  For each certificate compute the
 * SHA-256 fingerprint with X509_digest(EVP_sha256()) and classify notAfter
 * (expired / expiring within 30 days).  Single-threaded, no database.
 *
 * Prints one key=value line on stdout:
 *   tool=openssl-loop files= certs= errors= expired= expiring_30d= seconds= xor=
 * (xor = XOR of all SHA-256 fingerprints, first 8 bytes, as a checksum that
 * does not depend on file order).  Exits 1 if any file failed to parse.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static unsigned char *buf;
static size_t bufcap;
static unsigned long long nfiles, ncerts, nerrors, nexpired, nexpiring;
static unsigned char xor_fp[32];
static time_t t_now, t_30d;

static int read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t off = 0;

	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "openssl-loop: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((size_t)st.st_size + 1 > bufcap) {
		bufcap = (size_t)st.st_size + 1 + 65536;
		free(buf);
		buf = malloc(bufcap);
		if (!buf) {
			perror("malloc");
			exit(2);
		}
	}
	for (;;) {
		ssize_t r = read(fd, buf + off, bufcap - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "openssl-loop: %s: %s\n", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		off += (size_t)r;
		if (off == bufcap) { /* file grew; good enough for a benchmark */
			break;
		}
	}
	close(fd);
	*len = off;
	return 0;
}

static void account(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	const ASN1_TIME *na = X509_get0_notAfter(x);

	if (!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != 32) {
		nerrors++;
		return;
	}
	for (int i = 0; i < 32; i++)
		xor_fp[i] ^= md[i];
	if (X509_cmp_time(na, &t_now) < 0)
		nexpired++;
	else if (X509_cmp_time(na, &t_30d) < 0)
		nexpiring++;
	ncerts++;
}

static void do_file(const char *path)
{
	size_t len;

	nfiles++;
	if (read_file(path, &len) != 0) {
		nerrors++;
		return;
	}
	if (memmem(buf, len, "-----BEGIN", 10)) {
		BIO *b = BIO_new_mem_buf(buf, (int)len);
		unsigned found = 0;
		X509 *x;
		while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
			account(x);
			X509_free(x);
			found++;
		}
		/* the loop ends with PEM_R_NO_START_LINE at end of input */
		unsigned long e = ERR_peek_last_error();
		if (!found || (e && ERR_GET_REASON(e) != PEM_R_NO_START_LINE)) {
			fprintf(stderr, "openssl-loop: %s: PEM parse error\n", path);
			ERR_print_errors_fp(stderr);
			nerrors++;
		}
		ERR_clear_error();
		BIO_free(b);
	} else {
		const unsigned char *p = buf;
		X509 *x = d2i_X509(NULL, &p, (long)len);
		if (!x) {
			fprintf(stderr, "openssl-loop: %s: DER parse error\n", path);
			ERR_print_errors_fp(stderr);
			ERR_clear_error();
			nerrors++;
			return;
		}
		account(x);
		X509_free(x);
	}
}

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_F)
		do_file(path);
	else if (type == FTW_DNR || type == FTW_NS) {
		fprintf(stderr, "openssl-loop: cannot read %s\n", path);
		nerrors++;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double t0, t1;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(argc < 2 ? stderr : stdout,
			"usage: peer_openssl_loop DIR|FILE...   or   peer_openssl_loop - < filelist\n");
		return argc < 2 ? 2 : 0;
	}
	t_now = time(NULL);
	t_30d = t_now + 30 * 86400;
	t0 = now_s();
	for (int a = 1; a < argc; a++) {
		struct stat st;
		if (!strcmp(argv[a], "-")) {
			char *line = NULL;
			size_t cap = 0;
			ssize_t n;
			while ((n = getline(&line, &cap, stdin)) > 0) {
				if (line[n - 1] == '\n')
					line[--n] = '\0';
				if (n)
					do_file(line);
			}
			free(line);
		} else if (stat(argv[a], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (nftw(argv[a], walk_cb, 64, FTW_PHYS) != 0) {
				fprintf(stderr, "openssl-loop: walking %s: %s\n", argv[a], strerror(errno));
				nerrors++;
			}
		} else {
			do_file(argv[a]);
		}
	}
	t1 = now_s();
	printf("tool=openssl-loop files=%llu certs=%llu errors=%llu expired=%llu expiring_30d=%llu "
	       "seconds=%.3f xor=",
	       nfiles, ncerts, nerrors, nexpired, nexpiring, t1 - t0);
	for (int i = 0; i < 8; i++)
		printf("%02x", xor_fp[i]);
	printf("\n");
	free(buf);
	return nerrors ? 1 : 0;
}
