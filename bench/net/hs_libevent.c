/*
 * hs_libevent: handshake client on libevent 2.1 bufferevent_openssl.
 * See hs_common.h for what it does and prints.
 *
 * bufferevent_openssl_socket_new(fd -1, BUFFEREVENT_SSL_CONNECTING,
 * BEV_OPT_CLOSE_ON_FREE) + bufferevent_socket_connect(); the handshake is
 * done when the event callback gets BEV_EVENT_CONNECTED with the SSL
 * object's handshake finished; bufferevent_free() closes the socket.
 */
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "hs_common.h"

struct slot {
	unsigned port;
	struct bufferevent *bev;
};

static SSL_CTX *ctx;
static struct event_base *base;

static void slot_start(struct slot *s);

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct slot *s = arg;
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if ((what & BEV_EVENT_CONNECTED) && SSL_is_init_finished(ssl))
		hs_finished(ssl);
	else if (what & BEV_EVENT_CONNECTED)
		return; /* TCP connected, handshake still running */
	else
		hs_failed(what & BEV_EVENT_EOF ? "eof" : "error", s->port);
	bufferevent_free(bev);
	s->bev = NULL;
	slot_start(s);
}

static void slot_start(struct slot *s)
{
	struct sockaddr_in sa;

	while (hs_next(&sa)) {
		SSL *ssl = SSL_new(ctx);
		s->port = ntohs(sa.sin_port);
		if (!ssl) {
			ERR_print_errors_fp(stderr);
			exit(1);
		}
		s->bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
							BEV_OPT_CLOSE_ON_FREE);
		if (!s->bev) {
			fprintf(stderr, "bufferevent_openssl_socket_new failed\n");
			exit(1);
		}
		bufferevent_setcb(s->bev, NULL, NULL, on_event, s);
		if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return;
		hs_failed("connect", s->port);
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
}

int main(int argc, char **argv)
{
	struct slot *slots;

	hs_parse(argc, argv);
	ctx = hs_ctx_new();
	base = event_base_new();
	slots = calloc(hs_opt.concurrency, sizeof(*slots));
	if (!base || !slots) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	for (unsigned i = 0; i < hs_opt.concurrency; i++)
		slot_start(&slots[i]);
	if (hs_opt.deadline) {
		struct timeval tv = { (time_t)hs_opt.deadline, 0 };
		event_base_loopexit(base, &tv);
	}
	if (event_base_dispatch(base) < 0) {
		fprintf(stderr, "event_base_dispatch failed\n");
		return 1;
	}
	if (hs_st.done < hs_st.total && !hs_opt.deadline)
		fprintf(stderr, "event loop ended with %llu of %llu probes done\n", hs_st.done, hs_st.total);
	free(slots);
	event_base_free(base);
	SSL_CTX_free(ctx);
	return hs_report("libevent");
}
