/* Policy findings as SARIF 2.1.0 (code scanning) and JUnit XML (CI dashboards). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "core/cl.h"
#include "report/policy_report.h"

static const char *sarif_level(enum cl_sev s)
{
	return s >= CL_SEV_ERROR ? "error" : s == CL_SEV_WARNING ? "warning" : "note";
}

int cl_report_sarif(FILE *out, const struct cl_lint_finding *f, size_t n, const char *version)
{
	json_t *rules = json_array(), *results = json_array(), *root;
	bool used[CL_R_COUNT] = { false };
	int index[CL_R_COUNT];
	size_t i;
	int r, k = 0, rc;

	for (i = 0; i < n; i++)
		used[f[i].rule] = true;
	for (r = 0; r < CL_R_COUNT; r++) {
		char id[64];
		if (!used[r])
			continue;
		index[r] = k++;
		snprintf(id, sizeof id, "policy.%s", cl_rules[r].name);
		json_array_append_new(rules, json_pack(
			"{s:s,s:s,s:{s:s},s:{s:s},s:{s:s},s:{s:s}}", "id", id, "name", cl_rules[r].name,
			"shortDescription", "text", cl_rules[r].summary,
			"fullDescription", "text", cl_rules[r].explain,
			"help", "text", cl_rules[r].fix,
			"defaultConfiguration", "level", sarif_level(cl_rules[r].severity)));
	}
	for (i = 0; i < n; i++) {
		char id[64], text[1024];
		snprintf(id, sizeof id, "policy.%s", cl_rules[f[i].rule].name);
		snprintf(text, sizeof text, "%s (%s): %s. Fix: %s", f[i].subject, f[i].fp, f[i].message,
		         f[i].fix);
		json_array_append_new(results, json_pack(
			"{s:s,s:i,s:s,s:{s:s},s:[{s:{s:{s:s}}}],s:{s:s,s:s,s:s}}", "ruleId", id,
			"ruleIndex", index[f[i].rule], "level", sarif_level(f[i].severity),
			"message", "text", text,
			"locations", "physicalLocation", "artifactLocation", "uri", f[i].file,
			"partialFingerprints", "certificateSha256", f[i].fp, "found", f[i].found,
			"limit", f[i].limit));
	}
	root = json_pack("{s:s,s:s,s:[{s:{s:{s:s,s:s,s:s,s:o}},s:o}]}",
	                 "$schema", "https://json.schemastore.org/sarif-2.1.0.json",
	                 "version", "2.1.0", "runs", "tool", "driver", "name", "certledger",
	                 "version", version, "informationUri", "https://github.com/certledger",
	                 "rules", rules, "results", results);
	if (!root)
		return CL_ERR_NOMEM;
	rc = json_dumpf(root, out, JSON_INDENT(2)) == 0 ? CL_OK : CL_ERR_IO;
	fputc('\n', out);
	json_decref(root);
	return rc;
}

/* XML character data and attribute values. */
static void xml(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputc('?', out);  /* not allowed in XML 1.0 */
			else
				fputc(*s, out);
		}
	}
}

int cl_report_junit(FILE *out, const struct cl_lint_finding *f, size_t n,
                    const struct cl_lint_cert *certs, size_t ncerts, enum cl_sev fail_on)
{
	size_t i, k, failures = 0;

	/* failures counts failed test cases (certificates), not findings */
	for (k = 0; k < ncerts; k++)
		for (i = 0; i < n; i++)
			if (f[i].cert == k && f[i].severity >= fail_on) {
				failures++;
				break;
			}
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<testsuites name=\"certledger lint\" tests=\"%zu\" failures=\"%zu\">\n"
	        "  <testsuite name=\"certledger lint\" tests=\"%zu\" failures=\"%zu\">\n",
	        ncerts, failures, ncerts, failures);
	/* one test case per certificate: failed when a finding reaches fail_on */
	for (k = 0; k < ncerts; k++) {
		size_t bad = 0;
		for (i = 0; i < n; i++)
			if (f[i].cert == k && f[i].severity >= fail_on)
				bad++;
		fputs("    <testcase classname=\"", out);
		xml(out, certs[k].file);
		fputs("\" name=\"", out);
		xml(out, certs[k].subject);
		fprintf(out, " (%.12s)\"", certs[k].fp);
		if (bad == 0) {
			fputs("/>\n", out);
			continue;
		}
		fputs(">\n", out);
		for (i = 0; i < n; i++) {
			if (f[i].cert != k || f[i].severity < fail_on)
				continue;
			fprintf(out, "      <failure type=\"policy.%s\" message=\"", cl_rules[f[i].rule].name);
			xml(out, f[i].message);
			fprintf(out, "\">%s policy.%s: ", cl_sev_name(f[i].severity),
			        cl_rules[f[i].rule].name);
			xml(out, f[i].message);
			fputs("\nFix: ", out);
			xml(out, f[i].fix);
			fputs("</failure>\n", out);
		}
		fputs("    </testcase>\n", out);
	}
	fputs("  </testsuite>\n</testsuites>\n", out);
	return ferror(out) ? CL_ERR_IO : CL_OK;
}
