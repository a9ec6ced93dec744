/*
 * hs_epoll: handshake client on raw epoll (edge-triggered) + non-blocking
 * sockets + SSL_set_fd.  See hs_common.h for what it does and prints.
 *
 * One epoll_ctl(ADD) per connection with EPOLLIN|EPOLLOUT|EPOLLET; every
 * readiness event just calls SSL_do_handshake() again (OpenSSL's
 * WANT_READ/WANT_WRITE need no re-arming under edge triggering); a refused
 * connect shows up as the handshake's write error.
 */
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "hs_common.h"

struct conn {
	int fd;
	unsigned port;
	SSL *ssl;
};

static SSL_CTX *ctx;
static int ep;

static void conn_close(struct conn *c)
{
	SSL_free(c->ssl);
	close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
}

/* start the next probe in slot c (no-op when all are started) */
static void conn_start(struct conn *c)
{
	struct sockaddr_in sa;
	struct epoll_event ev;

	while (hs_next(&sa)) {
		c->port = ntohs(sa.sin_port);
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			perror("socket");
			exit(1);
		}
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
			hs_failed("connect", c->port);
			close(c->fd);
			continue;
		}
		c->ssl = SSL_new(ctx);
		if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
			ERR_print_errors_fp(stderr);
			exit(1);
		}
		SSL_set_connect_state(c->ssl);
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
			perror("epoll_ctl");
			exit(1);
		}
		return;
	}
}

static void conn_event(struct conn *c)
{
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		hs_finished(c->ssl);
	} else {
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return;
		hs_failed(e == SSL_ERROR_SYSCALL ? "syscall" : "handshake", c->port);
	}
	conn_close(c);
	conn_start(c);
}

int main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct conn *conns;

	hs_parse(argc, argv);
	ctx = hs_ctx_new();
	ep = epoll_create1(EPOLL_CLOEXEC);
	conns = calloc(hs_opt.concurrency, sizeof(*conns));
	if (ep < 0 || !conns) {
		perror("setup");
		return 1;
	}
	for (unsigned i = 0; i < hs_opt.concurrency; i++)
		conn_start(&conns[i]);
	while (hs_st.done < hs_st.total) {
		int n, timeout = -1;
		if (hs_opt.deadline) {
			struct timespec now;
			long long left_ms;
			clock_gettime(CLOCK_MONOTONIC, &now);
			left_ms = (hs_st.t0.tv_sec + (long long)hs_opt.deadline - now.tv_sec) * 1000 +
				  (hs_st.t0.tv_nsec - now.tv_nsec) / 1000000;
			if (left_ms <= 0)
				break;
			timeout = (int)left_ms;
		}
		n = epoll_wait(ep, evs, 256, timeout);
		if (n < 0 && errno != EINTR) {
			perror("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++)
			conn_event(evs[i].data.ptr);
	}
	free(conns);
	close(ep);
	SSL_CTX_free(ctx);
	return hs_report("epoll");
}
