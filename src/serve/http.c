/* The daemon's HTTP endpoints (see serve/http.h). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include "core/log.h"
#include "core/pgzip.h"
#include "core/util.h"
#include "report/ics.h"
#include "serve/http.h"

struct cl_http {
	struct evhttp *http;
	struct cl_daemon *d;
};

int cl_http_parse_listen(const char *listen, char *host, size_t len, unsigned *port)
{
	const char *colon, *h = listen;
	size_t hl;
	char *end;
	long p;

	if (*listen == '[') {
		const char *rb = strchr(listen, ']');
		if (!rb || rb[1] != ':')
			return CL_ERR_USAGE;
		h = listen + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		if (!(colon = strrchr(listen, ':')) || memchr(listen, ':', (size_t)(colon - listen)))
			return CL_ERR_USAGE;
		hl = (size_t)(colon - listen);
	}
	if (hl == 0 || hl >= len)
		return CL_ERR_USAGE;
	memcpy(host, h, hl);
	host[hl] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p < 1 || p > 65535)
		return CL_ERR_USAGE;
	*port = (unsigned)p;
	return CL_OK;
}

/* ---- /metrics ------------------------------------------------------------------- */

static int emit_buf(void *arg, const char *data, size_t len)
{
	return evbuffer_add(arg, data, len) == 0 ? CL_OK : CL_ERR_NOMEM;
}

/* gzip on the fly: 100,000 series are ~94 MB of text but ~20 MB compressed,
 * and the reply is held in memory until sent. Compressing costs twice what
 * rendering does, so it runs on the other cores while the render goes on. */
static int sink_buf(void *arg, const void *data, size_t len)
{
	return evbuffer_add(arg, data, len) == 0 ? CL_OK : CL_ERR_NOMEM;
}

static int emit_gz(void *arg, const char *data, size_t len)
{
	return cl_pgz_write(arg, data, len);
}

static int gzip_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

static bool accepts_gzip(struct evhttp_request *req)
{
	const char *ae = evhttp_find_header(evhttp_request_get_input_headers(req),
	                                    "Accept-Encoding");

	return ae && strstr(ae, "gzip") != NULL;
}

/* A copy of the job metrics, taken under the lock. */
static struct cl_job_metrics *snapshot_jobs(struct cl_daemon *d, size_t *n, char ***names)
{
	struct cl_job_metrics *v;
	size_t i;

	pthread_mutex_lock(&d->mu);
	*n = d->njobs;
	v = calloc(d->njobs + 1, sizeof *v);
	*names = calloc(d->njobs + 1, sizeof **names);
	if (v && *names)
		for (i = 0; i < d->njobs; i++) {
			v[i] = d->jobs[i].m;
			(*names)[i] = strdup(d->jobs[i].name);
			v[i].name = (*names)[i] ? (*names)[i] : "";
		}
	pthread_mutex_unlock(&d->mu);
	if (!v || !*names) {
		free(v);
		free(*names);
		*names = NULL;
		return NULL;
	}
	return v;
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

static void serve_metrics(struct cl_http *h, struct evhttp_request *req)
{
	struct cl_daemon *d = h->d;
	struct cl_metrics_in in = { 0 };
	struct evbuffer *b = evbuffer_new();
	struct cl_job_metrics *jobs;
	struct cl_store *s = NULL;
	char **names = NULL;
	bool gzip = false;
	size_t n = 0;
	int rc;

	if (!b || !(jobs = snapshot_jobs(d, &n, &names))) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		if (b)
			evbuffer_free(b);
		return;
	}
	in.jobs = jobs;
	in.njobs = n;
	in.now = cl_now();
	in.started = d->started;
	pthread_mutex_lock(&d->mu);
	in.max_series = d->cfg->c->metrics_max_series;
	in.eval_last = d->eval_last;
	in.eval_seconds = d->eval_seconds;
	pthread_mutex_unlock(&d->mu);
	if ((rc = cl_daemon_store(d, &s)) != CL_OK) {
		evhttp_send_error(req, HTTP_INTERNAL, "the inventory could not be opened");
		goto out;
	}
	if (accepts_gzip(req)) {
		struct cl_pgz *z;
		if ((rc = cl_pgz_new(&z, gzip_threads(), 1, sink_buf, b)) == CL_OK) {
			rc = cl_metrics_render(s, &in, emit_gz, z);
			if (rc == CL_OK)
				rc = cl_pgz_finish(z);
			cl_pgz_free(z);
		}
		gzip = true;
	} else {
		rc = cl_metrics_render(s, &in, emit_buf, b);
	}
	if (rc != CL_OK) {
		cl_log(CL_LOG_ERROR, "/metrics: %s", cl_store_errmsg(s));
		evhttp_send_error(req, HTTP_INTERNAL, "the inventory could not be read");
	} else {
		struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
		evhttp_add_header(hd, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		if (gzip)
			evhttp_add_header(hd, "Content-Encoding", "gzip");
		evhttp_send_reply(req, HTTP_OK, "OK", b);
	}
	cl_store_close(s);
out:
	evbuffer_free(b);
	free(jobs);
	free_names(names, n);
	malloc_trim(0);   /* the reply's memory goes back to the system */
}

/* ---- /healthz ------------------------------------------------------------------- */

static void serve_health(struct cl_http *h, struct evhttp_request *req)
{
	struct cl_daemon *d = h->d;
	json_t *o = json_object(), *jobs = json_array();
	time_t now = (time_t)cl_now();
	char ts[40];
	bool late_any = false;
	char *txt;
	size_t i;

	if (!o || !jobs) {
		json_decref(o);
		json_decref(jobs);
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	pthread_mutex_lock(&d->mu);
	for (i = 0; i < d->njobs; i++) {
		const struct cl_jobstate *j = &d->jobs[i];
		int64_t base = j->m.last_success ? j->m.last_success : d->started;
		int64_t deadline = base + j->every + d->cfg->c->grace;
		struct tm tm;
		bool late;
		json_t *e;

		localtime_r(&now, &tm);
		/* a job held back by its quiet hours is not late */
		late = now > deadline && !cl_window_contains(&j->quiet, tm.tm_hour * 60 + tm.tm_min);
		e = json_pack("{s:s,s:s,s:I,s:b,s:b,s:s}", "name", j->name, "kind", j->m.kind,
		                      "every_seconds", (json_int_t)j->every, "running", j->m.running,
		                      "late", late, "last_status",
		                      j->last_status[0] ? j->last_status : "never");
		if (!e)
			continue;
		if (j->m.last_start)
			json_object_set_new(e, "last_start", json_string(cl_time_fmt(ts, sizeof ts,
			                                                             j->m.last_start)));
		if (j->m.last_success)
			json_object_set_new(e, "last_success", json_string(cl_time_fmt(ts, sizeof ts,
			                                                               j->m.last_success)));
		json_object_set_new(e, "next_due", json_string(cl_time_fmt(ts, sizeof ts, j->next_due)));
		json_array_append_new(jobs, e);
		late_any |= late;
	}
	if (d->eval_last)
		json_object_set_new(o, "last_alert_evaluation",
		                    json_string(cl_time_fmt(ts, sizeof ts, d->eval_last)));
	pthread_mutex_unlock(&d->mu);
	json_object_set_new(o, "status", json_string(late_any ? "late" : "ok"));
	json_object_set_new(o, "jobs", jobs);
	txt = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	if (!txt) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	{
		struct evbuffer *b = evbuffer_new();
		if (b) {
			evbuffer_add_printf(b, "%s\n", txt);
			evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			                  "application/json");
			evhttp_send_reply(req, late_any ? 503 : HTTP_OK,
			                  late_any ? "Service Unavailable" : "OK", b);
			evbuffer_free(b);
		} else {
			evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		}
	}
	free(txt);
}

/* ---- /calendar.ics ------------------------------------------------------------ */

static void serve_ics(struct cl_http *h, struct evhttp_request *req)
{
	struct cl_daemon *d = h->d;
	struct evkeyvalq q;
	const char *v;
	struct cl_filter f;
	struct cl_ics x;
	struct cl_store *s = NULL;
	char *data = NULL;
	size_t len = 0;
	FILE *mem;
	int rc;

	cl_filter_init(&f);
	f.now = cl_now();
	memset(&q, 0, sizeof q);
	if (evhttp_parse_query_str(evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req))
	                           ? evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)) : "",
	                           &q) != 0) {
		evhttp_send_error(req, HTTP_BADREQUEST, "malformed query");
		return;
	}
	f.owner = evhttp_find_header(&q, "owner");
	f.environment = evhttp_find_header(&q, "environment");
	if ((v = evhttp_find_header(&q, "expiring")) != NULL &&
	    cl_duration_parse(v, &f.expiring) != CL_OK) {
		evhttp_clear_headers(&q);
		evhttp_send_error(req, HTTP_BADREQUEST, "expiring: not a duration (e.g. 90d)");
		return;
	}
	if (!(mem = open_memstream(&data, &len))) {
		evhttp_clear_headers(&q);
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	cl_ics_begin(&x, mem, f.now);
	if ((rc = cl_daemon_store(d, &s)) == CL_OK)
		rc = cl_store_query(s, &f, cl_ics_cert, &x);
	cl_ics_end(&x);
	fclose(mem);
	evhttp_clear_headers(&q);
	if (rc != CL_OK) {
		cl_log(CL_LOG_ERROR, "/calendar.ics: %s", s ? cl_store_errmsg(s) : "cannot open");
		evhttp_send_error(req, HTTP_INTERNAL, "the inventory could not be read");
	} else {
		struct evbuffer *b = evbuffer_new();
		if (b && evbuffer_add(b, data, len) == 0) {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			                  "text/calendar; charset=utf-8");
			evhttp_send_reply(req, HTTP_OK, "OK", b);
		} else {
			evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		}
		if (b)
			evbuffer_free(b);
	}
	cl_store_close(s);
	free(data);
	malloc_trim(0);
}

static void serve_index(struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	evbuffer_add_printf(b, "certledger %s\n\n/metrics       Prometheus metrics\n"
	                    "/healthz       whether every job runs on schedule (JSON)\n"
	                    "/calendar.ics  expiry dates (?owner=, ?environment=, ?expiring=90d)\n",
	                    CL_VERSION);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/plain; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct cl_http *h = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	if (!path || strcmp(path, "/") == 0)
		serve_index(req);
	else if (strcmp(path, "/metrics") == 0)
		serve_metrics(h, req);
	else if (strcmp(path, "/healthz") == 0)
		serve_health(h, req);
	else if (strcmp(path, "/calendar.ics") == 0)
		serve_ics(h, req);
	else
		evhttp_send_error(req, HTTP_NOTFOUND, "Not Found");
}

int cl_http_start(struct cl_http **out, struct cl_daemon *d, const char *listen)
{
	struct cl_http *h;
	char host[256];
	unsigned port;

	*out = NULL;
	if (cl_http_parse_listen(listen, host, sizeof host, &port) != CL_OK) {
		cl_log(CL_LOG_ERROR, "listen: '%s' is not HOST:PORT or [V6]:PORT", listen);
		return CL_ERR_USAGE;
	}
	if (!(h = calloc(1, sizeof *h)) || !(h->http = evhttp_new(d->base))) {
		free(h);
		return CL_ERR_NOMEM;
	}
	h->d = d;
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                           EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_max_headers_size(h->http, 16384);
	evhttp_set_max_body_size(h->http, 65536);
	evhttp_set_timeout(h->http, 30);
	evhttp_set_gencb(h->http, on_request, h);
	if (evhttp_bind_socket(h->http, host, (ev_uint16_t)port) != 0) {
		cl_log(CL_LOG_ERROR, "listen %s: cannot bind (in use, or not a local address?)",
		       listen);
		evhttp_free(h->http);
		free(h);
		return CL_ERR_IO;
	}
	*out = h;
	return CL_OK;
}

void cl_http_stop(struct cl_http *h)
{
	if (!h)
		return;
	evhttp_free(h->http);
	free(h);
}
