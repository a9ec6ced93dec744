/*
 * An iCalendar (RFC 5545) feed of certificate expiry dates: one all-day
 * event per certificate on the day it expires, with a reminder a week
 * before, for teams that live in their calendars (`ls --format ics`).
 */
#ifndef CL_REPORT_ICS_H
#define CL_REPORT_ICS_H

#include <stdio.h>
#include "store/store.h"

struct cl_ics {
	FILE *out;
	int64_t now;
	long rows;
};

void cl_ics_begin(struct cl_ics *x, FILE *out, int64_t now);
/* A cl_row_cb: writes the certificate's VEVENT. */
int cl_ics_cert(void *x, const struct cl_inv_row *row);
void cl_ics_end(struct cl_ics *x);

#endif
