/*
 * Shared part of the two handshake clients (hs_epoll.c, hs_libevent.c):
 * options, the one SSL_CTX both use, the per-connection work after the
 * handshake, and the result line.
 *
 *   hs_X [--addr A] [--ports P-Q] [--concurrency N] [--rounds R] [--deadline S]
 *        [--read-ahead]
 *
 * Connects to A:P .. A:Q (default 127.0.0.1:20000-20999), R times over
 * (default 1), with at most N connections in flight (default 100); full TLS
 * handshake, no SNI, no verification (SSL_VERIFY_NONE); after it, fetches
 * the presented chain (SSL_get_peer_cert_chain, i2d of each certificate) and
 * closes (no close_notify).  Single thread, one event loop.  --deadline S
 * stops after S seconds and counts the unfinished probes as failed (with a
 * blackhole server: S seconds with N handshakes in flight, to measure the
 * memory they hold; max_rss_kb is the process's peak RSS).  --read-ahead
 * sets SSL_CTX_set_read_ahead(1): OpenSSL reads whatever the socket holds
 * instead of a record header and then its body (fewer read() calls).
 *
 * Prints one line: engine=... handshakes=... failed=... certs=... der_bytes=...
 * wall_s=... user_s=... sys_s=... cpu_us_per_hs=... ; exits 1 if any failed
 * (probes cut off by --deadline do not count for the exit status).
 */
#ifndef HS_COMMON_H
#define HS_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static struct {
	struct in_addr addr;
	unsigned port_lo, port_hi, concurrency, rounds, deadline, read_ahead;
} hs_opt = { { 0 }, 20000, 20999, 100, 1, 0, 0 };

static struct {
	unsigned long long total, started, done, ok, failed, certs, der_bytes;
	char first_error[160];
	struct timespec t0;
} hs_st;

static void hs_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--addr A] [--ports P-Q] [--concurrency N] [--rounds R] [--deadline S] [--read-ahead]\n",
		prog);
	exit(2);
}

static unsigned hs_uint(const char *s, const char *prog, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v;
	if (!s)
		hs_usage(prog);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		hs_usage(prog);
	return (unsigned)v;
}

static void hs_parse(int argc, char **argv)
{
	inet_pton(AF_INET, "127.0.0.1", &hs_opt.addr);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--read-ahead")) {
			hs_opt.read_ahead = 1;
			continue;
		}
		if (!strcmp(a, "--addr")) {
			if (!v || inet_pton(AF_INET, v, &hs_opt.addr) != 1)
				hs_usage(argv[0]);
		} else if (!strcmp(a, "--ports")) {
			char *dash = v ? strchr(v, '-') : NULL;
			if (!dash)
				hs_usage(argv[0]);
			*dash = 0;
			hs_opt.port_lo = hs_uint(v, argv[0], 1, 65535);
			hs_opt.port_hi = hs_uint(dash + 1, argv[0], hs_opt.port_lo, 65535);
		} else if (!strcmp(a, "--concurrency"))
			hs_opt.concurrency = hs_uint(v, argv[0], 1, 1000000);
		else if (!strcmp(a, "--rounds"))
			hs_opt.rounds = hs_uint(v, argv[0], 1, 1000000);
		else if (!strcmp(a, "--deadline"))
			hs_opt.deadline = hs_uint(v, argv[0], 1, 86400);
		else
			hs_usage(argv[0]);
		i++;
	}
	hs_st.total = (unsigned long long)(hs_opt.port_hi - hs_opt.port_lo + 1) * hs_opt.rounds;
}

/* the shared client context: TLS 1.0-1.3, no verification, buffers released
 * when idle, every cipher a scanner would accept */
static SSL_CTX *hs_ctx_new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0")) {
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (hs_opt.read_ahead)
		SSL_CTX_set_read_ahead(ctx, 1);
	clock_gettime(CLOCK_MONOTONIC, &hs_st.t0);
	return ctx;
}

/* address of the next probe, or 0 when all are started */
static int hs_next(struct sockaddr_in *sa)
{
	unsigned nports = hs_opt.port_hi - hs_opt.port_lo + 1;
	if (hs_st.started >= hs_st.total)
		return 0;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr = hs_opt.addr;
	sa->sin_port = htons((unsigned short)(hs_opt.port_lo + hs_st.started % nports));
	hs_st.started++;
	return 1;
}

/* the work after a completed handshake: the chain as DER */
static void hs_finished(SSL *ssl)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	int n = chain ? sk_X509_num(chain) : 0;
	for (int i = 0; i < n; i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(chain, i), &der);
		if (len > 0) {
			hs_st.der_bytes += (unsigned long long)len;
			hs_st.certs++;
		}
		OPENSSL_free(der);
	}
	hs_st.done++;
	if (n > 0)
		hs_st.ok++;
	else
		hs_st.failed++;
}

static void hs_failed(const char *what, unsigned port)
{
	hs_st.done++;
	hs_st.failed++;
	if (!hs_st.first_error[0]) {
		unsigned long e = ERR_peek_error();
		snprintf(hs_st.first_error, sizeof(hs_st.first_error), "port_%u:%s:%s", port, what,
			 e ? ERR_reason_error_string(e) : strerror(errno));
		for (char *c = hs_st.first_error; *c; c++)
			if (*c == ' ')
				*c = '_';
	}
	ERR_clear_error();
}

static int hs_report(const char *engine)
{
	struct timespec t1;
	struct rusage ru;
	double wall, user, sys;
	unsigned long long pending = hs_st.started - hs_st.done;
	if (pending) { /* stopped by --deadline */
		hs_st.failed += pending;
		if (!hs_st.first_error[0])
			snprintf(hs_st.first_error, sizeof(hs_st.first_error), "%llu_in_flight_at_deadline", pending);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	wall = (double)(t1.tv_sec - hs_st.t0.tv_sec) + (double)(t1.tv_nsec - hs_st.t0.tv_nsec) / 1e9;
	user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("engine=%s%s handshakes=%llu failed=%llu certs=%llu der_bytes=%llu concurrency=%u wall_s=%.3f "
	       "user_s=%.3f sys_s=%.3f cpu_us_per_hs=%.1f max_rss_kb=%ld%s%s\n",
	       engine, hs_opt.read_ahead ? "+read_ahead" : "", hs_st.ok, hs_st.failed, hs_st.certs, hs_st.der_bytes, hs_opt.concurrency, wall, user, sys,
	       hs_st.ok ? (user + sys) * 1e6 / (double)hs_st.ok : 0.0, ru.ru_maxrss,
	       hs_st.first_error[0] ? " first_error=" : "", hs_st.first_error);
	return hs_st.failed > pending ? 1 : 0; /* stopping at --deadline is not a failure */
}

#endif
