/*
 * Syslog: RFC 5424 lines, over a local socket ("unix:/dev/log", the
 * default: datagrams, or a stream with NUL-terminated lines as glibc
 * does), over TCP ("tcp:HOST:PORT") or TLS ("tls:HOST:PORT", verified
 * against ca_bundle or the system store, host name checked) with RFC 6587
 * octet-counting framing.
 *
 * Each message is one line:
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [certledger@32473 ...] MSG
 * with the alert's fields as SD-PARAMs (", \ and ] escaped).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "alert/notify_int.h"
#include "core/log.h"
#include "core/util.h"

#define SD_ID "certledger@32473"
#define SD_VALUE_MAX 512        /* bytes of one PARAM-VALUE */
#define SD_LIST_MAX 10          /* locations and tags listed */
#define SD_LIST_ROOM 4096       /* ... while the line is shorter than this */
#define MSG_MAX 1024            /* bytes of MSG: lines stay below the 8 KiB
                                   receivers such as rsyslog take by default */
#define FRAMES_MAX (16u << 20)  /* one batch over a stream */
#define DEFAULT_SOCKET "/dev/log"

/* ---- the line ---- */

/* An RFC 5424 header field: PRINTUSASCII only, at most max, "-" if empty. */
static int put_field(struct cl_buf *b, const char *s, size_t max)
{
	size_t i;
	int rc = CL_OK;

	if (s == NULL || s[0] == '\0')
		return cl_buf_addc(b, '-');
	for (i = 0; s[i] && i < max && rc == CL_OK; i++) {
		unsigned char c = (unsigned char)s[i];

		rc = cl_buf_addc(b, c > 0x20 && c < 0x7f ? (char)c : '_');
	}
	return rc;
}

/* SP NAME="VALUE" with ", \ and ] escaped; nothing when v is NULL/empty. */
static int put_param(struct cl_buf *b, const char *name, const char *v)
{
	struct cl_buf t;
	size_t i;
	int rc;

	if (v == NULL || v[0] == '\0')
		return CL_OK;
	cl_buf_init(&t, SD_VALUE_MAX + 8);
	if ((rc = cl_notify_put_text(&t, v, SD_VALUE_MAX, false)) != CL_OK ||
	    (rc = cl_buf_printf(b, " %s=\"", name)) != CL_OK)
		goto out;
	for (i = 0; i < t.len && rc == CL_OK; i++) {
		char c = t.data[i];

		if (c == '"' || c == '\\' || c == ']')
			rc = cl_buf_addc(b, '\\');
		if (rc == CL_OK)
			rc = cl_buf_addc(b, c);
	}
	if (rc == CL_OK)
		rc = cl_buf_addc(b, '"');
out:
	cl_buf_free(&t);
	return rc;
}

/* syslog severity by alert severity */
static int syslog_severity(const char *sev)
{
	static const int s[] = { 2, 3, 4, 6, 5 };   /* crit, err, warning, info; notice */

	return s[cl_notify_sev_rank(sev)];
}

char *cl_notify_syslog_line(const struct cl_alert_msg *m, int facility, const char *hostname,
                            const char *app_name)
{
	struct cl_buf b;
	char t[40], num[32];
	size_t i;
	int rc;

	if (facility < 0 || facility > 23)
		facility = 1;
	cl_buf_init(&b, 64 * 1024);
	rc = cl_buf_printf(&b, "<%d>1 ", facility * 8 + syslog_severity(m->severity));
	if (rc == CL_OK)
		rc = cl_buf_addstr(&b, m->timestamp ? cl_time_fmt(t, sizeof t, m->timestamp) : "-");
	if (rc == CL_OK)
		rc = cl_buf_addc(&b, ' ');
	if (rc == CL_OK)
		rc = put_field(&b, hostname, 255);
	if (rc == CL_OK)
		rc = cl_buf_addc(&b, ' ');
	if (rc == CL_OK)
		rc = put_field(&b, app_name && app_name[0] ? app_name : "certledger", 48);
	if (rc == CL_OK)
		rc = cl_buf_printf(&b, " %ld ", (long)getpid());
	if (rc == CL_OK)
		rc = put_field(&b, m->event_type, 32);
	if (rc == CL_OK)
		rc = cl_buf_addstr(&b, " [" SD_ID);
	if (rc == CL_OK)
		rc = put_param(&b, "id", m->id);
	if (rc == CL_OK)
		rc = put_param(&b, "alert_key", m->alert_key);
	if (rc == CL_OK)
		rc = put_param(&b, "action", m->action);
	if (rc == CL_OK)
		rc = put_param(&b, "severity", m->severity);
	if (rc == CL_OK)
		rc = put_param(&b, "subject", m->certificate_subject);
	if (rc == CL_OK)
		rc = put_param(&b, "subject_cn", m->subject_cn);
	if (rc == CL_OK)
		rc = put_param(&b, "serial", m->certificate_serial);
	if (rc == CL_OK)
		rc = put_param(&b, "issuer_cn", m->issuer_cn);
	if (rc == CL_OK)
		rc = put_param(&b, "fingerprint", m->fingerprint_sha256);
	if (rc == CL_OK && m->expiration_date) {
		rc = put_param(&b, "not_after", cl_time_fmt(t, sizeof t, m->expiration_date));
		snprintf(num, sizeof num, "%ld", m->days_left);
		if (rc == CL_OK)
			rc = put_param(&b, "days_left", num);
	}
	for (i = 0; rc == CL_OK && i < m->nlocations && i < SD_LIST_MAX && b.len < SD_LIST_ROOM;
	     i++)
		rc = put_param(&b, "location", m->locations[i]);
	if (rc == CL_OK)
		rc = put_param(&b, "owner", m->owner);
	if (rc == CL_OK)
		rc = put_param(&b, "environment", m->environment);
	for (i = 0; rc == CL_OK && i < m->ntags && i < SD_LIST_MAX && b.len < SD_LIST_ROOM;
	     i++)
		rc = put_param(&b, "tag", m->tags[i]);
	if (rc == CL_OK)
		rc = put_param(&b, "managed", m->managed);
	if (rc == CL_OK && m->failures) {
		snprintf(num, sizeof num, "%d", m->failures);
		rc = put_param(&b, "failures", num);
	}
	if (rc == CL_OK && m->next_attempt)
		rc = put_param(&b, "next_attempt", cl_time_fmt(t, sizeof t, m->next_attempt));
	if (rc == CL_OK)
		rc = put_param(&b, "threshold", m->threshold);
	if (rc == CL_OK)
		rc = put_param(&b, "detail", m->detail);
	if (rc == CL_OK)
		rc = cl_buf_addstr(&b, "] ");
	if (rc == CL_OK)
		rc = cl_notify_put_text(&b, m->summary && m->summary[0] ? m->summary :
		                                cl_notify_event_title(m->event_type),
		                        MSG_MAX, false);
	if (rc != CL_OK)
		return NULL;   /* the buffer was freed */
	return cl_buf_take(&b);
}

/* ---- transports ---- */

enum transport { T_UNIX, T_TCP, T_TLS };

struct dest {
	enum transport kind;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host[256], port[8];
};

/* Parses the address; false when it is malformed. */
static bool parse_address(const char *a, struct dest *d)
{
	const char *hp, *colon;
	size_t hl;
	char *end;
	long port;

	memset(d, 0, sizeof *d);
	if (a == NULL || a[0] == '\0')
		a = "unix:" DEFAULT_SOCKET;
	if (a[0] == '/' || strncmp(a, "unix:", 5) == 0) {
		d->kind = T_UNIX;
		if (a[0] != '/')
			a += 5;
		if (a[0] == '\0' || strlen(a) >= sizeof d->path)
			return false;
		snprintf(d->path, sizeof d->path, "%s", a);
		return true;
	}
	if (strncmp(a, "tcp:", 4) == 0)
		d->kind = T_TCP;
	else if (strncmp(a, "tls:", 4) == 0)
		d->kind = T_TLS;
	else
		return false;
	hp = a + 4;
	if ((colon = strrchr(hp, ':')) == NULL || colon == hp)
		return false;
	hl = (size_t)(colon - hp);
	if (hp[0] == '[') {
		if (hl < 3 || hp[hl - 1] != ']')
			return false;
		hp++;
		hl -= 2;
	}
	if (hl >= sizeof d->host || memchr(hp, '[', hl) || memchr(hp, ']', hl))
		return false;
	memcpy(d->host, hp, hl);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
		return false;
	snprintf(d->port, sizeof d->port, "%ld", port);
	return true;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_timeouts(int fd, int tmo_ms)
{
	struct timeval tv = { tmo_ms / 1000, (tmo_ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/*
 * A TCP connection to host:port within tmo_ms (non-blocking connect,
 * every address in turn), left blocking with send and receive timeouts.
 * Returns the descriptor, or -1 with the reason in why.
 */
static int tcp_connect(const struct dest *d, int tmo_ms, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	int64_t deadline = mono_ms() + tmo_ms;
	int fd = -1, g, e = 0, left;
	socklen_t elen;
	struct pollfd p;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((g = getaddrinfo(d->host, d->port, &hints, &res)) != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", d->host, gai_strerror(g));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		                 ai->ai_protocol)) < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			e = errno;
			if (e != EINPROGRESS)
				goto next;
			p.fd = fd;
			p.events = POLLOUT;
			do {
				left = (int)(deadline - mono_ms());
				g = left > 0 ? poll(&p, 1, left) : 0;
			} while (g < 0 && errno == EINTR);
			if (g <= 0) {
				e = g == 0 ? ETIMEDOUT : errno;
				goto next;
			}
			elen = sizeof e;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
				e = errno;
			if (e != 0)
				goto next;
		}
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
			e = errno;
			goto next;
		}
		set_timeouts(fd, tmo_ms);
		freeaddrinfo(res);
		return fd;
next:
		close(fd);
		fd = -1;
		if (mono_ms() >= deadline)
			break;
	}
	freeaddrinfo(res);
	snprintf(why, whylen, "cannot connect: %s", strerror(e ? e : ECONNREFUSED));
	return -1;
}

/* Writes all of p over a plain stream. Returns 0 or an errno value. */
static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? (errno == EAGAIN ? ETIMEDOUT : errno) : EPIPE;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The OpenSSL reason for a failed TLS step, the verify result first. */
static void tls_reason(SSL *s, char *why, size_t whylen, const char *what)
{
	char r[256];
	long v = s ? SSL_get_verify_result(s) : X509_V_OK;

	if (v != X509_V_OK)
		snprintf(why, whylen, "%s: certificate verification failed: %s", what,
		         X509_verify_cert_error_string(v));
	else
		snprintf(why, whylen, "%s: %s", what, cl_ossl_reason(r, sizeof r));
}

/* Sends frames over TLS to d. Returns CL_SEND_*, the reason in why. */
static enum cl_send_rc tls_send(const struct cl_notifier *nt, const struct dest *d, int fd,
                                const char *p, size_t n, char *why, size_t whylen)
{
	enum cl_send_rc rc = CL_SEND_RETRY;
	SSL_CTX *ctx = NULL;
	SSL *s = NULL;
	unsigned char ip[16];
	size_t w;
	bool is_ip = inet_pton(AF_INET, d->host, ip) == 1 || inet_pton(AF_INET6, d->host, ip) == 1;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		tls_reason(NULL, why, whylen, "TLS setup");
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (nt->ca_bundle && nt->ca_bundle[0]) {
		if (SSL_CTX_load_verify_locations(ctx, nt->ca_bundle, NULL) != 1) {
			tls_reason(NULL, why, whylen, "cannot load ca_bundle");
			rc = CL_SEND_FAIL;
			goto out;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_reason(NULL, why, whylen, "cannot load the system trust store");
		goto out;
	}
	if ((s = SSL_new(ctx)) == NULL || SSL_set_fd(s, fd) != 1 ||
	    (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), d->host) != 1
	           : (SSL_set_tlsext_host_name(s, d->host) != 1 ||
	              SSL_set1_host(s, d->host) != 1))) {
		tls_reason(NULL, why, whylen, "TLS setup");
		goto out;
	}
	if (SSL_connect(s) != 1) {
		tls_reason(s, why, whylen, "TLS handshake");
		goto out;
	}
	while (n > 0) {
		if (SSL_write_ex(s, p, n, &w) != 1) {
			tls_reason(s, why, whylen, "TLS write");
			goto out;
		}
		p += w;
		n -= w;
	}
	SSL_shutdown(s);
	rc = CL_SEND_OK;
out:
	SSL_free(s);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* A local socket: datagrams, or a stream when the socket is one. */
static enum cl_send_rc unix_send(const struct cl_notifier *nt, const struct dest *d,
                                 char *const *lines, size_t n, size_t *nsent, char *err,
                                 size_t errlen)
{
	struct sockaddr_un sa;
	int fd = -1, type = SOCK_DGRAM, e = 0;
	enum cl_send_rc rc = CL_SEND_RETRY;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, d->path, strlen(d->path) + 1);
	for (;;) {
		if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) < 0) {
			e = errno;
			break;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			e = 0;
			break;
		}
		e = errno;
		close(fd);
		fd = -1;
		if (e != EPROTOTYPE || type == SOCK_STREAM)
			break;
		type = SOCK_STREAM;
	}
	if (fd < 0) {
		cl_notify_err(err, errlen, nt, "unix:%s: cannot connect: %s", d->path, strerror(e));
		goto out;
	}
	set_timeouts(fd, cl_notify_timeout_ms(nt));
	for (i = 0; i < n; i++) {
		if (lines[i] == NULL) {
			(*nsent)++;   /* not to be sent */
			continue;
		}
		/* a stream gets NUL-terminated lines, as glibc's syslog() sends them */
		if (type == SOCK_DGRAM) {
			ssize_t w;

			do
				w = send(fd, lines[i], strlen(lines[i]), MSG_NOSIGNAL);
			while (w < 0 && errno == EINTR);
			e = w < 0 ? errno : 0;
		} else {
			e = write_all(fd, lines[i], strlen(lines[i]) + 1);
		}
		if (e) {
			cl_notify_err(err, errlen, nt, "unix:%s: cannot send: %s", d->path,
			              strerror(e == EAGAIN ? ETIMEDOUT : e));
			goto out;
		}
		(*nsent)++;
	}
	rc = CL_SEND_OK;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

enum cl_send_rc cl_notify_syslog_send(const struct cl_notifier *nt,
                                      const struct cl_alert_msg *const *msgs, size_t n,
                                      size_t *nsent, char *err, size_t errlen)
{
	enum cl_send_rc rc = CL_SEND_FAIL;
	struct dest d;
	struct cl_buf frames;
	char host[256], why[512], **lines = NULL;
	size_t i;
	int fd = -1, e;

	*nsent = 0;
	cl_buf_init(&frames, FRAMES_MAX);
	if (!parse_address(nt->address, &d)) {
		cl_notify_err(err, errlen, nt, "address must be unix:PATH, tcp:HOST:PORT or "
		                               "tls:HOST:PORT");
		goto out;
	}
	rc = CL_SEND_RETRY;
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "%s", "-");
	host[sizeof host - 1] = '\0';
	if ((lines = calloc(n, sizeof *lines)) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (cl_notify_skip(nt, msgs[i]))
			continue;
		if ((lines[i] = cl_notify_syslog_line(msgs[i], nt->facility, host, nt->app_name)) ==
		    NULL)
			goto nomem;
		/* RFC 6587 octet counting: "LEN SP MSG" */
		if (d.kind != T_UNIX &&
		    (cl_buf_printf(&frames, "%zu ", strlen(lines[i])) != CL_OK ||
		     cl_buf_addstr(&frames, lines[i]) != CL_OK))
			goto nomem;
	}
	if (d.kind == T_UNIX) {
		rc = unix_send(nt, &d, lines, n, nsent, err, errlen);
		goto out;
	}
	if (frames.len == 0) {
		*nsent = n;
		rc = CL_SEND_OK;
		goto out;
	}
	if ((fd = tcp_connect(&d, cl_notify_timeout_ms(nt), why, sizeof why)) < 0) {
		cl_notify_err(err, errlen, nt, "%s:%s:%s: %s", d.kind == T_TLS ? "tls" : "tcp",
		              d.host, d.port, why);
		goto out;
	}
	if (d.kind == T_TLS) {
		rc = tls_send(nt, &d, fd, frames.data, frames.len, why, sizeof why);
		if (rc != CL_SEND_OK) {
			cl_notify_err(err, errlen, nt, "tls:%s:%s: %s", d.host, d.port, why);
			goto out;
		}
	} else if ((e = write_all(fd, frames.data, frames.len)) != 0 ||
	           (shutdown(fd, SHUT_WR) != 0 && (e = errno) != 0)) {
		cl_notify_err(err, errlen, nt, "tcp:%s:%s: cannot send: %s", d.host, d.port,
		              strerror(e));
		goto out;
	}
	*nsent = n;
	rc = CL_SEND_OK;
	goto out;
nomem:
	cl_notify_err(err, errlen, nt, "out of memory");
	rc = CL_SEND_RETRY;
out:
	if (fd >= 0)
		close(fd);
	for (i = 0; lines && i < n; i++)
		free(lines[i]);
	free(lines);
	cl_buf_free(&frames);
	return rc;
}
