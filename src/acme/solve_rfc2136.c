/*
 * DNS-01 by RFC 2136 dynamic update: present adds the TXT record
 * "_acme-challenge.NAME TTL IN TXT VALUE" to the configured zone, cleanup
 * deletes exactly that record. Updates are TSIG-signed (RFC 8945) when a
 * key is configured, sent over TCP (RFC 7766: every server takes TCP, and
 * a lost datagram needs no retransmission logic), and the answer's TSIG
 * is checked before its result is believed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "acme/acme_int.h"
#include "acme/dnsmsg.h"

#define DEFAULT_TTL 60
#define DEFAULT_TIMEOUT_S 10

struct rfc2136 {
	struct sockaddr_storage sa;
	socklen_t salen;
	char shown[80];               /* "127.0.0.1 port 53" */
	char *zone;
	char *key_name, *alg;
	unsigned char *secret;
	size_t secret_len;
	unsigned ttl;
	int timeout_s;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to become ready for ev before deadline. */
static bool wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { fd, ev, 0 };
		int64_t left = deadline - mono_ms();
		int r;

		if (left <= 0)
			return false;
		r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

/* Sends or receives exactly n bytes before deadline. Returns 0, or -1
 * (timed out), -2 (connection closed), -3 (error, errno set). */
static int io_all(int fd, bool out, unsigned char *buf, size_t n, int64_t deadline)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k;

		if (!wait_fd(fd, out ? POLLOUT : POLLIN, deadline))
			return -1;
		k = out ? send(fd, buf + done, n - done, MSG_NOSIGNAL) : recv(fd, buf + done, n - done, 0);
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -3;
		}
		if (k == 0)
			return -2;
		done += (size_t)k;
	}
	return 0;
}

/* One DNS exchange over TCP (RFC 1035 4.2.2: each message after its
 * 2-byte length). Returns CL_OK with the answer in ans (CL_DNS_MAX_MSG). */
static int exchange(const struct rfc2136 *s, const unsigned char *q, size_t qlen,
                    unsigned char *ans, size_t *anslen, char *err, size_t errlen)
{
	int64_t deadline = mono_ms() + (int64_t)s->timeout_s * 1000;
	unsigned char buf[2 + CL_DNS_MAX_MSG];
	size_t want;
	int fd, soerr = 0, r;
	socklen_t sl = sizeof soerr;
	int rc = CL_ERR_IO;

	if (qlen > CL_DNS_MAX_MSG)
		return CL_ERR_TOOBIG;
	if ((fd = socket(s->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		cl_acme_errf(err, errlen, "socket: %s", strerror(errno));
		return CL_ERR_IO;
	}
	if (connect(fd, (const struct sockaddr *)&s->sa, s->salen) != 0 && errno != EINPROGRESS) {
		cl_acme_errf(err, errlen, "connect to %s: %s", s->shown, strerror(errno));
		goto out;
	}
	if (!wait_fd(fd, POLLOUT, deadline) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
	    soerr != 0) {
		cl_acme_errf(err, errlen, "connect to %s: %s", s->shown,
		             soerr ? strerror(soerr) : "timed out");
		goto out;
	}
	buf[0] = (unsigned char)(qlen >> 8);
	buf[1] = (unsigned char)qlen;
	memcpy(buf + 2, q, qlen);
	if ((r = io_all(fd, true, buf, qlen + 2, deadline)) != 0) {
		cl_acme_errf(err, errlen, "send to %s: %s", s->shown,
		             r == -1 ? "timed out" : r == -2 ? "connection closed" : strerror(errno));
		goto out;
	}
	if ((r = io_all(fd, false, buf, 2, deadline)) == 0) {
		want = ((size_t)buf[0] << 8) | buf[1];
		if (want < 12 || want > CL_DNS_MAX_MSG) {
			cl_acme_errf(err, errlen, "%s sent a %zu-byte answer", s->shown, want);
			rc = CL_ERR_PARSE;
			goto out;
		}
		r = io_all(fd, false, ans, want, deadline);
		*anslen = want;
	}
	if (r != 0) {
		cl_acme_errf(err, errlen, "answer from %s: %s", s->shown,
		             r == -1 ? "none in time" : r == -2 ? "connection closed" : strerror(errno));
		goto out;
	}
	rc = CL_OK;
out:
	close(fd);
	return rc;
}

/* true when name is zone or below it (case-insensitive, label-aligned). */
static bool in_zone(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	if (z > 0 && zone[z - 1] == '.')
		z--;
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (z == 0)
		return true;
	if (n < z || strncasecmp(name + n - z, zone, z) != 0)
		return false;
	return n == z || name[n - z - 1] == '.';
}

static int update(struct rfc2136 *s, const struct cl_acme_chall *c, bool add, char *err,
                  size_t errlen)
{
	struct cl_dnsw *w = NULL;
	struct cl_dns_answer a;
	struct cl_dns_tsig key = { s->key_name, s->alg, s->secret, s->secret_len };
	unsigned char mac[CL_DNS_MAX_MAC], *ans = NULL, idb[2];
	size_t maclen = 0, anslen = 0;
	char rb[24], tb[24], e2[300];
	uint16_t id;
	int rc = CL_ERR;

	if (c->id_type != CL_ACME_ID_DNS || !cl_acme_dns_name_ok(c->identifier, false, true) ||
	    !cl_acme_is_b64url(c->txt_value, 64)) {
		cl_acme_errf(err, errlen, "the name or TXT value is not fit for DNS");
		return CL_ERR_PARSE;
	}
	if (!in_zone(c->txt_name, s->zone)) {
		cl_acme_errf(err, errlen, "%s is not in the zone %s", c->txt_name, s->zone);
		return CL_ERR_USAGE;
	}
	if ((w = malloc(sizeof *w)) == NULL || (ans = malloc(CL_DNS_MAX_MSG)) == NULL) {
		cl_acme_errf(err, errlen, "out of memory");
		rc = CL_ERR_NOMEM;
		goto out;
	}
	if (RAND_bytes(idb, sizeof idb) != 1) {
		cl_acme_errf(err, errlen, "no random numbers");
		goto out;
	}
	id = (uint16_t)(idb[0] << 8 | idb[1]);
	if (cl_dns_update(w, id, s->zone, c->txt_name, s->ttl, c->txt_value, add) != CL_OK ||
	    (s->key_name && cl_dns_tsig_sign(w, &key, (uint64_t)time(NULL), mac, &maclen) != CL_OK)) {
		cl_acme_errf(err, errlen, "cannot build the update message");
		goto out;
	}
	if ((rc = exchange(s, w->buf, w->len, ans, &anslen, e2, sizeof e2)) != CL_OK) {
		cl_acme_errf(err, errlen, "%s", e2);
		goto out;
	}
	rc = CL_ERR;
	if (cl_dns_answer_parse(ans, anslen, s->key_name ? &key : NULL, mac, maclen, &a) != CL_OK ||
	    a.id != id || !a.qr || a.opcode != 5) {
		cl_acme_errf(err, errlen, "%s: not an answer to the update", s->shown);
		goto out;
	}
	if (a.rcode != 0 || a.tsig_error != 0) {
		cl_acme_errf(err, errlen, "%s refused the update of %s TXT in zone %s: %s%s%s",
		             s->shown, c->txt_name, s->zone, cl_dns_rcode_name(a.rcode, rb, sizeof rb),
		             a.tsig_error ? ", TSIG " : "",
		             a.tsig_error ? cl_dns_rcode_name(a.tsig_error, tb, sizeof tb) : "");
		goto out;
	}
	if (s->key_name && (!a.signed_ || !a.tsig_ok)) {
		cl_acme_errf(err, errlen, "%s: the answer's TSIG signature %s", s->shown,
		             a.signed_ ? "does not verify" : "is missing");
		goto out;
	}
	rc = CL_OK;
out:
	free(w);
	free(ans);
	return rc;
}

static int r_present(void *state, const struct cl_acme_chall *c, char *err, size_t errlen)
{
	return update(state, c, true, err, errlen);
}

static void r_cleanup(void *state, const struct cl_acme_chall *c)
{
	char err[512];

	(void)update(state, c, false, err, sizeof err);
}

static void r_free(void *state)
{
	struct rfc2136 *s = state;

	if (s == NULL)
		return;
	free(s->zone);
	free(s->key_name);
	free(s->alg);
	if (s->secret) {
		OPENSSL_cleanse(s->secret, s->secret_len);
		free(s->secret);
	}
	free(s);
}

static const struct cl_acme_solver_ops rfc2136_ops = {
	.name = "dns-01 rfc2136",
	.type = CL_ACME_DNS01,
	.present = r_present,
	.cleanup = r_cleanup,
	.free = r_free,
};

int cl_acme_solver_dns_rfc2136(struct cl_acme_solver **out, const struct cl_acme_rfc2136 *cfg,
                               char *err, size_t errlen)
{
	struct cl_acme_solver *sv = NULL;
	struct rfc2136 *s = NULL;
	struct sockaddr_in *s4;
	struct sockaddr_in6 *s6;
	unsigned port = cfg->port ? cfg->port : 53;
	int rc = CL_ERR_USAGE;

	*out = NULL;
	if ((sv = calloc(1, sizeof *sv)) == NULL || (s = calloc(1, sizeof *s)) == NULL) {
		rc = CL_ERR_NOMEM;
		goto fail;
	}
	s4 = (struct sockaddr_in *)&s->sa;
	s6 = (struct sockaddr_in6 *)&s->sa;
	if (port > 65535) {
		cl_acme_errf(err, errlen, "port %u is out of range", port);
		goto fail;
	}
	if (cfg->server && inet_pton(AF_INET, cfg->server, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		s->salen = sizeof *s4;
	} else if (cfg->server && inet_pton(AF_INET6, cfg->server, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		s->salen = sizeof *s6;
	} else {
		cl_acme_errf(err, errlen, "server: not an IPv4 or IPv6 address");
		goto fail;
	}
	snprintf(s->shown, sizeof s->shown, "%s port %u", cfg->server, port);
	if (cfg->zone == NULL || !cl_acme_dns_name_ok(cfg->zone, false, true)) {
		cl_acme_errf(err, errlen, "zone: not a DNS name");
		goto fail;
	}
	if (cfg->tsig_name) {
		struct cl_dnsw t;
		const char *sec = cfg->tsig_secret ? cfg->tsig_secret : "";

		t.len = 0;
		t.err = false;
		cl_dnsw_name(&t, cfg->tsig_name);
		if (t.err || cfg->tsig_name[0] == '\0') {
			cl_acme_errf(err, errlen, "tsig_name: not a DNS name");
			goto fail;
		}
		if (!cl_dns_tsig_alg_ok(cfg->tsig_alg ? cfg->tsig_alg : "hmac-sha256")) {
			cl_acme_errf(err, errlen, "tsig_alg: hmac-sha256, hmac-sha384 or hmac-sha512");
			goto fail;
		}
		if (cl_acme_b64_decode(sec, strlen(sec), false, &s->secret, &s->secret_len) != CL_OK ||
		    s->secret_len == 0) {
			cl_acme_errf(err, errlen, "tsig_secret: not base64");
			goto fail;
		}
		if ((s->key_name = strdup(cfg->tsig_name)) == NULL ||
		    (s->alg = strdup(cfg->tsig_alg ? cfg->tsig_alg : "hmac-sha256")) == NULL) {
			rc = CL_ERR_NOMEM;
			goto fail;
		}
	}
	if ((s->zone = strdup(cfg->zone)) == NULL) {
		rc = CL_ERR_NOMEM;
		goto fail;
	}
	s->ttl = cfg->ttl ? cfg->ttl : DEFAULT_TTL;
	s->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : DEFAULT_TIMEOUT_S;
	sv->ops = &rfc2136_ops;
	sv->state = s;
	*out = sv;
	return CL_OK;
fail:
	if (rc == CL_ERR_NOMEM)
		cl_acme_errf(err, errlen, "out of memory");
	r_free(s);
	free(sv);
	return rc;
}
