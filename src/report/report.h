/*
 * Output of inventory rows, events and findings as a table, JSON or CSV.
 * Writers stream: one row in, one row out, nothing accumulated (the table
 * format only buffers nothing either: its columns have fixed widths).
 */
#ifndef CL_REPORT_H
#define CL_REPORT_H

#include <stdio.h>
#include "store/store.h"

enum cl_format { CL_FMT_TABLE, CL_FMT_JSON, CL_FMT_CSV };

/* Parses "table", "json" or "csv". Returns CL_OK or CL_ERR_USAGE. */
int cl_format_parse(const char *s, enum cl_format *out);

struct cl_writer {
	FILE *out;
	enum cl_format fmt;
	bool tty;      /* truncate wide table cells */
	int64_t now;   /* for days_left */
	long rows;     /* rows written so far */
	char *buf;     /* JSON encoding buffer, reused across rows */
	size_t bufcap;
};

void cl_writer_init(struct cl_writer *w, FILE *out, enum cl_format fmt, int64_t now);

/* Certificates (ls). The CSV has one line per certificate-location. */
void cl_report_certs_begin(struct cl_writer *w);
int cl_report_cert(void *w, const struct cl_inv_row *row);  /* cl_row_cb */
/* A row already encoded as JSON by the store (cl_json_cb, JSON format only). */
int cl_report_cert_encoded(void *w, const char *json, size_t len);
void cl_report_certs_end(struct cl_writer *w);

/* Builds the JSON object of one inventory row (new reference). */
struct json_t *cl_report_cert_json(const struct cl_inv_row *row, int64_t now);

void cl_report_events_begin(struct cl_writer *w);
int cl_report_event(void *w, const struct cl_event_row *e);
void cl_report_events_end(struct cl_writer *w);

void cl_report_findings_begin(struct cl_writer *w);
int cl_report_finding(void *w, const struct cl_finding_row *f);
void cl_report_findings_end(struct cl_writer *w);

/* Alerts (certledger alerts). */
void cl_report_alerts_begin(struct cl_writer *w);
int cl_report_alert(void *w, const struct cl_alert_row *a);
void cl_report_alerts_end(struct cl_writer *w);

/* Endpoints (endpoints, discover net --output): one row per endpoint. */
void cl_report_endpoints_begin(struct cl_writer *w);
int cl_report_endpoint(void *w, const struct cl_endpoint_row *r);
void cl_report_endpoints_end(struct cl_writer *w);

/* Writes one CSV field (RFC 4180 quoting); sep is written before it unless first. */
void cl_csv_field(FILE *out, const char *s, bool first);

#endif
