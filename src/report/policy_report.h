/*
 * Output of policy findings for CI: SARIF 2.1.0 (GitHub code scanning)
 * and JUnit XML (test dashboards). Human and JSON output are written by
 * the lint and check commands themselves.
 */
#ifndef CL_POLICY_REPORT_H
#define CL_POLICY_REPORT_H

#include <stdio.h>
#include "policy/policy.h"

/* A certificate that was linted. */
struct cl_lint_cert {
	const char *file;
	char fp[2 * CL_SHA256_LEN + 1];
	const char *subject;
	const char *profile;
};

/* One finding of lint (owned strings, freed by the caller). */
struct cl_lint_finding {
	size_t cert;                  /* index into the certificates */
	const char *file, *subject;   /* of that certificate */
	char fp[2 * CL_SHA256_LEN + 1];
	enum cl_rule rule;
	enum cl_sev severity;
	char *found, *limit, *message, *where;
	const char *fix;
};

int cl_report_sarif(FILE *out, const struct cl_lint_finding *f, size_t n, const char *version);

/* One test case per certificate, failed by findings at or above fail_on. */
int cl_report_junit(FILE *out, const struct cl_lint_finding *f, size_t n,
                    const struct cl_lint_cert *certs, size_t ncerts, enum cl_sev fail_on);

#endif
