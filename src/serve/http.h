/*
 * The daemon's HTTP endpoints (libevent evhttp, on the main thread):
 *   GET /metrics        Prometheus text format (serve/metrics.h)
 *   GET /healthz        200 when every job runs on schedule, else 503; JSON
 *   GET /calendar.ics   expiry dates as iCalendar; ?owner=, ?environment=,
 *                       ?expiring=90d narrow it
 *   GET /               a plain-text index
 */
#ifndef CL_SERVE_HTTP_H
#define CL_SERVE_HTTP_H

#include "serve/state.h"

struct cl_http;

/*
 * Listens on "HOST:PORT" or "[V6]:PORT" with the event base d->base.
 * CL_ERR_USAGE for a malformed address, CL_ERR_IO when it cannot be bound
 * (message logged).
 */
int cl_http_start(struct cl_http **out, struct cl_daemon *d, const char *listen);
void cl_http_stop(struct cl_http *h);

/* Splits "HOST:PORT" / "[V6]:PORT" into host (buffer of len) and port. */
int cl_http_parse_listen(const char *listen, char *host, size_t len, unsigned *port);

#endif
