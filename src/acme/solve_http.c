/*
 * HTTP-01 solvers (RFC 8555 8.3): a standalone responder (libevent's
 * evhttp in a thread of its own) and a web root writer. Both only ever
 * serve or write base64url tokens, so a token cannot name another path.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include "acme/acme_int.h"
#include "core/util.h"

#define PREFIX "/.well-known/acme-challenge/"
#define MAX_TOKENS 4096

void cl_acme_solver_free(struct cl_acme_solver *s)
{
	if (s == NULL)
		return;
	if (s->ops && s->ops->free)
		s->ops->free(s->state);
	free(s);
}

int cl_acme_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

unsigned cl_acme_solver_port(const struct cl_acme_solver *s)
{
	return s && s->ops && s->ops->port ? s->ops->port(s->state) : 0;
}

/* -------------------------------------------------------------- standalone --- */

struct token {
	char *token, *key_authz;
	unsigned refs;
};

struct standalone {
	pthread_mutex_t mu;
	struct token *v;
	size_t n, cap;
	struct event_base *base;
	struct evhttp *http;
	struct event *wake_ev;
	int wake[2];              /* written to stop the loop (a loopbreak before
	                             the loop starts would be lost) */
	pthread_t thread;
	bool running;
	unsigned port;
};

static pthread_once_t evthread_once = PTHREAD_ONCE_INIT;

static void evthread_init(void)
{
	evthread_use_pthreads();
}

static void on_request(struct evhttp_request *req, void *ud)
{
	struct standalone *s = ud;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL, *tok;
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	bool found = false;
	size_t i;

	if (path && strncmp(path, PREFIX, sizeof PREFIX - 1) == 0 &&
	    cl_acme_is_b64url(tok = path + sizeof PREFIX - 1, 256)) {
		pthread_mutex_lock(&s->mu);
		for (i = 0; i < s->n; i++) {
			if (strcmp(s->v[i].token, tok) == 0) {
				found = evbuffer_add(out, s->v[i].key_authz, strlen(s->v[i].key_authz)) == 0;
				break;
			}
		}
		pthread_mutex_unlock(&s->mu);
	}
	if (found) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		                  "text/plain");
		evhttp_send_reply(req, 200, "OK", out);
	} else {
		evhttp_send_error(req, 404, NULL);
	}
}

static void on_wake(evutil_socket_t fd, short what, void *ud)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(ud);
}

static void *loop(void *ud)
{
	struct standalone *s = ud;

	event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int sa_present(void *state, const struct cl_acme_chall *c, char *err, size_t errlen)
{
	struct standalone *s = state;
	struct token *t;
	size_t i;
	int rc = CL_OK;

	if (!cl_acme_is_b64url(c->token, 256)) {
		cl_acme_errf(err, errlen, "the token is not base64url");
		return CL_ERR_PARSE;
	}
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].token, c->token) == 0) {
			s->v[i].refs++;
			goto out;
		}
	}
	if (s->n == MAX_TOKENS || CL_GROW(s->v, s->cap, s->n + 1) != CL_OK) {
		cl_acme_errf(err, errlen, "too many tokens at once");
		rc = CL_ERR_TOOBIG;
		goto out;
	}
	t = &s->v[s->n];
	if ((t->token = strdup(c->token)) == NULL || (t->key_authz = strdup(c->key_authz)) == NULL) {
		free(t->token);
		cl_acme_errf(err, errlen, "out of memory");
		rc = CL_ERR_NOMEM;
		goto out;
	}
	t->refs = 1;
	s->n++;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void sa_cleanup(void *state, const struct cl_acme_chall *c)
{
	struct standalone *s = state;
	size_t i;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].token, c->token) == 0) {
			if (--s->v[i].refs == 0) {
				free(s->v[i].token);
				free(s->v[i].key_authz);
				s->v[i] = s->v[--s->n];
			}
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

static void sa_free(void *state)
{
	struct standalone *s = state;
	size_t i;

	if (s == NULL)
		return;
	if (s->running) {
		ssize_t w;

		do
			w = write(s->wake[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(s->thread, NULL);
	}
	if (s->wake_ev)
		event_free(s->wake_ev);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	if (s->http)
		evhttp_free(s->http);
	if (s->base)
		event_base_free(s->base);
	for (i = 0; i < s->n; i++) {
		free(s->v[i].token);
		free(s->v[i].key_authz);
	}
	free(s->v);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static unsigned sa_port(const void *state)
{
	return ((const struct standalone *)state)->port;
}

static const struct cl_acme_solver_ops standalone_ops = {
	.name = "http-01 standalone",
	.type = CL_ACME_HTTP01,
	.present = sa_present,
	.cleanup = sa_cleanup,
	.free = sa_free,
	.port = sa_port,
};

/* The port a bound socket listens on. */
static unsigned fd_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int cl_acme_solver_http_standalone(struct cl_acme_solver **out, const char *addr,
                                   unsigned port, char *err, size_t errlen)
{
	struct cl_acme_solver *sv = NULL;
	struct standalone *s = NULL;
	struct evhttp_bound_socket *bs;
	int rc = CL_ERR_NOMEM;

	*out = NULL;
	if (port > 65535) {
		cl_acme_errf(err, errlen, "port %u is out of range", port);
		return CL_ERR_USAGE;
	}
	pthread_once(&evthread_once, evthread_init);
	if ((sv = calloc(1, sizeof *sv)) == NULL || (s = calloc(1, sizeof *s)) == NULL)
		goto fail;
	pthread_mutex_init(&s->mu, NULL);
	s->wake[0] = s->wake[1] = -1;
	if ((s->base = event_base_new()) == NULL || (s->http = evhttp_new(s->base)) == NULL)
		goto fail;
	if (pipe2(s->wake, O_CLOEXEC) != 0 ||
	    (s->wake_ev = event_new(s->base, s->wake[0], EV_READ, on_wake, s->base)) == NULL ||
	    event_add(s->wake_ev, NULL) != 0) {
		cl_acme_errf(err, errlen, "cannot set up the server's wake-up");
		rc = CL_ERR;
		goto fail;
	}
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(s->http, 16384);
	evhttp_set_max_body_size(s->http, 0);
	evhttp_set_timeout(s->http, 10);
	evhttp_set_gencb(s->http, on_request, s);
	if ((bs = evhttp_bind_socket_with_handle(s->http, addr ? addr : "0.0.0.0",
	                                         (ev_uint16_t)port)) == NULL) {
		cl_acme_errf(err, errlen, "cannot listen on %s port %u (in use, or not a local address?)",
		             addr ? addr : "0.0.0.0", port);
		rc = CL_ERR_IO;
		goto fail;
	}
	s->port = fd_port(evhttp_bound_socket_get_fd(bs));
	if (cl_acme_thread_start(&s->thread, loop, s) != 0) {
		cl_acme_errf(err, errlen, "cannot start a thread");
		rc = CL_ERR;
		goto fail;
	}
	s->running = true;
	sv->ops = &standalone_ops;
	sv->state = s;
	*out = sv;
	return CL_OK;
fail:
	if (rc == CL_ERR_NOMEM)
		cl_acme_errf(err, errlen, "out of memory");
	sa_free(s);
	free(sv);
	return rc;
}

/* ----------------------------------------------------------------- webroot --- */

struct webroot {
	char *root;
};

/* root/.well-known/acme-challenge[/token] into out; false when too long. */
static bool wr_path(const struct webroot *w, const char *token, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s%s%s", w->root, "/.well-known/acme-challenge",
	                 token ? "/" : "", token ? token : "");

	return n > 0 && (size_t)n < len;
}

static int wr_present(void *state, const struct cl_acme_chall *c, char *err, size_t errlen)
{
	struct webroot *w = state;
	char path[4096];
	size_t n;

	if (!cl_acme_is_b64url(c->token, 256)) {
		cl_acme_errf(err, errlen, "the token is not base64url");
		return CL_ERR_PARSE;
	}
	snprintf(path, sizeof path, "%s/.well-known", w->root);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		cl_acme_errf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return CL_ERR_IO;
	}
	if (!wr_path(w, NULL, path, sizeof path) || (mkdir(path, 0755) != 0 && errno != EEXIST)) {
		cl_acme_errf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return CL_ERR_IO;
	}
	if (!wr_path(w, c->token, path, sizeof path)) {
		cl_acme_errf(err, errlen, "the web root's path is too long");
		return CL_ERR_IO;
	}
	n = strlen(c->key_authz);
	if (cl_write_file_atomic(path, c->key_authz, n, 0644) != CL_OK) {
		cl_acme_errf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return CL_ERR_IO;
	}
	return CL_OK;
}

static void wr_cleanup(void *state, const struct cl_acme_chall *c)
{
	char path[4096];

	if (cl_acme_is_b64url(c->token, 256) && wr_path(state, c->token, path, sizeof path))
		(void)unlink(path);
}

static void wr_free(void *state)
{
	struct webroot *w = state;

	if (w)
		free(w->root);
	free(w);
}

static const struct cl_acme_solver_ops webroot_ops = {
	.name = "http-01 webroot",
	.type = CL_ACME_HTTP01,
	.present = wr_present,
	.cleanup = wr_cleanup,
	.free = wr_free,
};

int cl_acme_solver_http_webroot(struct cl_acme_solver **out, const char *webroot)
{
	struct cl_acme_solver *sv;
	struct webroot *w;
	size_t n;

	*out = NULL;
	if (webroot == NULL || (n = strlen(webroot)) == 0 || n > 3000)
		return CL_ERR_USAGE;
	sv = calloc(1, sizeof *sv);
	w = calloc(1, sizeof *w);
	if (sv == NULL || w == NULL || (w->root = strdup(webroot)) == NULL) {
		wr_free(w);
		free(sv);
		return CL_ERR_NOMEM;
	}
	while (n > 1 && w->root[n - 1] == '/')
		w->root[--n] = '\0';
	sv->ops = &webroot_ops;
	sv->state = w;
	*out = sv;
	return CL_OK;
}
