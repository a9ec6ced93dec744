/* Alert messages and notifiers: JSON round trip, payload builders, the
 * webhook signature, syslog lines, e-mail digests and the local senders. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "testutil.h"
#include "alert/alert.h"
#include "alert/notify.h"
#include "alert/notify_int.h"

#define TS 1795458147          /* 2026-11-23T18:22:27Z */
#define NA 1795717347          /* 2026-11-26T18:22:27Z */
#define NB 1787616000          /* 2026-08-25T00:00:00Z */
#define FP "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const char *const locs3[] = { "tls:10.0.0.5:443", "file:/etc/ssl/www.pem",
                                     "tls:[2001:db8::1]:8443" };
static const char *const locs7[] = { "l1", "l2", "l3", "l4", "l5", "l6", "l7" };
static const char *const tags2[] = { "team=web", "pci" };

/* A message with every field set. */
static struct cl_alert_msg full_msg(void)
{
	struct cl_alert_msg m = {
		.id = "0123456789abcdef0123456789abcdef",
		.alert_key = "cert.expiring:" FP ":3d",
		.event_type = CL_AT_EXPIRING,
		.action = "firing",
		.severity = "critical",
		.summary = "Certificate www.example.com expires in 3 days",
		.timestamp = TS,
		.certificate_subject = "CN=www.example.com,O=Example Ltd",
		.subject_cn = "www.example.com",
		.certificate_serial = "0a1b2c",
		.issuer = "CN=Example CA,O=Example Ltd",
		.issuer_cn = "Example CA",
		.fingerprint_sha256 = FP,
		.not_before = NB,
		.expiration_date = NA,
		.days_left = 3,
		.locations = locs3,
		.nlocations = 3,
		.owner = "web-team@example.com",
		.environment = "prod",
		.tags = tags2,
		.ntags = 2,
		.threshold = "3d",
		.detail = "renew before Thursday",
		.dashboard_url = "https://certledger.example.com/c/" FP,
	};
	return m;
}

/* ---- small JSON helpers ---- */

/* Follows "a.b[2].c" from root; NULL when a step is missing. */
static json_t *jget(json_t *root, const char *path)
{
	char buf[256], *p, *tok, *save = NULL;
	json_t *j = root;

	snprintf(buf, sizeof buf, "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save)) {
		if ((p = strchr(tok, '[')) != NULL) {
			*p = '\0';
			if (*tok)
				j = json_object_get(j, tok);
			while (j && p) {
				j = json_array_get(j, strtoul(p + 1, NULL, 10));
				p = strchr(p + 1, '[');
			}
		} else {
			j = json_object_get(j, tok);
		}
	}
	return j;
}

static const char *jstr_at(json_t *root, const char *path)
{
	json_t *j = jget(root, path);

	if (j == NULL || !json_is_string(j))
		fail_msg("%s: not a string", path);
	return json_string_value(j);
}

static void assert_jstr(json_t *root, const char *path, const char *want)
{
	const char *got = jstr_at(root, path);

	if (strcmp(got, want) != 0)
		fail_msg("%s: got [%s] want [%s]", path, got, want);
}

static void assert_jint(json_t *root, const char *path, json_int_t want)
{
	json_t *j = jget(root, path);

	if (j == NULL || !json_is_integer(j) || json_integer_value(j) != want)
		fail_msg("%s: want %lld", path, (long long)want);
}

static void assert_jnull(json_t *root, const char *path)
{
	json_t *j = jget(root, path);

	if (j == NULL || !json_is_null(j))
		fail_msg("%s: want null", path);
}

static void assert_jabsent(json_t *root, const char *path)
{
	if (jget(root, path) != NULL)
		fail_msg("%s: want it absent", path);
}

/* Keys of an object in order, comma separated. */
static char *jkeys(json_t *o)
{
	static char buf[1024];
	const char *k;
	json_t *v;
	size_t n = 0;

	buf[0] = '\0';
	json_object_foreach(o, k, v) {
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "," : "", k);
		if (n >= sizeof buf)
			break;
	}
	return buf;
}

/* ---- the generic JSON form ---- */

static void assert_str_eq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_msg_equal(const struct cl_alert_msg *a, const struct cl_alert_msg *b)
{
	size_t i;

	assert_str_eq_null(a->id, b->id);
	assert_str_eq_null(a->alert_key, b->alert_key);
	assert_str_eq_null(a->event_type, b->event_type);
	assert_str_eq_null(a->action, b->action);
	assert_str_eq_null(a->severity, b->severity);
	assert_str_eq_null(a->summary, b->summary);
	assert_int_equal(a->timestamp, b->timestamp);
	assert_str_eq_null(a->certificate_subject, b->certificate_subject);
	assert_str_eq_null(a->subject_cn, b->subject_cn);
	assert_str_eq_null(a->certificate_serial, b->certificate_serial);
	assert_str_eq_null(a->issuer, b->issuer);
	assert_str_eq_null(a->issuer_cn, b->issuer_cn);
	assert_str_eq_null(a->fingerprint_sha256, b->fingerprint_sha256);
	assert_int_equal(a->not_before, b->not_before);
	assert_int_equal(a->expiration_date, b->expiration_date);
	assert_int_equal(a->days_left, b->days_left);
	assert_int_equal(a->nlocations, b->nlocations);
	for (i = 0; i < a->nlocations; i++)
		assert_string_equal(a->locations[i], b->locations[i]);
	assert_str_eq_null(a->owner, b->owner);
	assert_str_eq_null(a->environment, b->environment);
	assert_int_equal(a->ntags, b->ntags);
	for (i = 0; i < a->ntags; i++)
		assert_string_equal(a->tags[i], b->tags[i]);
	assert_str_eq_null(a->threshold, b->threshold);
	assert_str_eq_null(a->detail, b->detail);
	assert_str_eq_null(a->dashboard_url, b->dashboard_url);
	assert_str_eq_null(a->managed, b->managed);
	assert_int_equal(a->failures, b->failures);
	assert_int_equal(a->next_attempt, b->next_attempt);
}

static void test_msg_roundtrip(void **state)
{
	struct cl_alert_msg t[7];
	size_t i;

	(void)state;
	t[6] = full_msg();                          /* a managed certificate's renewal */
	t[6].event_type = CL_AT_RENEWAL_FAILING;
	t[6].managed = "web";
	t[6].failures = 3;
	t[6].next_attempt = TS + 4 * 3600;
	t[0] = full_msg();
	memset(&t[1], 0, sizeof t[1]);             /* everything unknown */
	t[2] = full_msg();                          /* expired, resolved, no locations */
	t[2].action = "resolved";
	t[2].days_left = -12;
	t[2].expiration_date = TS - 12 * 86400 - 5;
	t[2].nlocations = 0;
	t[2].locations = NULL;
	t[2].ntags = 0;
	t[2].tags = NULL;
	memset(&t[3], 0, sizeof t[3]);              /* an endpoint without a certificate */
	t[3].id = "ffffffffffffffffffffffffffffffff";
	t[3].event_type = CL_AT_UNREACHABLE;
	t[3].action = "firing";
	t[3].severity = "error";
	t[3].summary = "tls:10.0.0.5:443 stopped answering";
	t[3].timestamp = TS;
	t[3].locations = locs3;
	t[3].nlocations = 1;
	t[3].detail = "quote \" backslash \\ newline \n tab \t end";
	t[4] = full_msg();                          /* UTF-8, days_left 0 */
	t[4].subject_cn = "b\xc3\xbc" "cher.example";
	t[4].summary = "Zertifikat f\xc3\xbcr b\xc3\xbc" "cher.example l\xc3\xa4uft heute ab";
	t[4].days_left = 0;
	t[5] = full_msg();                          /* times before 1970 and after 9999 */
	t[5].not_before = -86400;
	t[5].expiration_date = 253402300800;
	t[5].days_left = 2900000;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		json_t *j = cl_alert_msg_json(&t[i]), *back, *j2;
		struct cl_alert_msg m;
		char *s, *s2;
		void *strs = NULL;
		json_error_t e;

		assert_non_null(j);
		s = json_dumps(j, JSON_COMPACT);
		assert_non_null(s);
		back = json_loads(s, 0, &e);
		assert_non_null(back);
		assert_int_equal(cl_alert_msg_from_json(&m, back, &strs), CL_OK);
		assert_msg_equal(&t[i], &m);
		j2 = cl_alert_msg_json(&m);
		s2 = json_dumps(j2, JSON_COMPACT);
		assert_string_equal(s, s2);
		free(s);
		free(s2);
		free(strs);
		json_decref(j);
		json_decref(j2);
		json_decref(back);
	}
}

static void test_msg_json_fields(void **state)
{
	struct cl_alert_msg m = full_msg(), z;
	json_t *j;

	(void)state;
	j = cl_alert_msg_json(&m);
	assert_string_equal(jkeys(j), "id,alert_key,event_type,action,severity,summary,timestamp,"
	                              "certificate_subject,subject_cn,certificate_serial,issuer,"
	                              "issuer_cn,fingerprint_sha256,expiration_date,days_left,"
	                              "not_before,not_after,locations,owner,environment,tags,"
	                              "threshold,detail,dashboard_url");
	assert_jstr(j, "timestamp", "2026-11-23T18:22:27Z");
	assert_jstr(j, "expiration_date", "2026-11-26T18:22:27Z");
	assert_jint(j, "not_after", NA);
	assert_jint(j, "not_before", NB);
	assert_jint(j, "days_left", 3);
	assert_jstr(j, "locations[1]", "file:/etc/ssl/www.pem");
	assert_int_equal(json_array_size(jget(j, "locations")), 3);
	assert_jstr(j, "tags[0]", "team=web");
	assert_jstr(j, "event_type", "cert.expiring");
	json_decref(j);

	memset(&z, 0, sizeof z);
	j = cl_alert_msg_json(&z);
	assert_jnull(j, "id");
	assert_jnull(j, "timestamp");
	assert_jnull(j, "expiration_date");
	assert_jnull(j, "days_left");
	assert_jnull(j, "not_after");
	assert_int_equal(json_array_size(jget(j, "locations")), 0);
	json_decref(j);

	/* invalid UTF-8 is written escaped, not dropped */
	z.summary = "bad \xff byte";
	j = cl_alert_msg_json(&z);
	assert_jstr(j, "summary", "bad \\xff byte");
	json_decref(j);
}

/* A renewal_failing message as every receiver renders it. */
static struct cl_alert_msg failing_msg(void)
{
	struct cl_alert_msg m = full_msg();

	m.alert_key = "manage.renewal_failing:web:7";
	m.event_type = CL_AT_RENEWAL_FAILING;
	m.severity = "warning";
	m.threshold = NULL;
	m.summary = "web: renewal failing (3 failures in a row): CA unreachable";
	m.detail = "CA unreachable";
	m.managed = "web";
	m.failures = 3;
	m.next_attempt = TS + 4 * 3600;        /* 2026-11-23T22:22:27Z */
	return m;
}

static void test_manage_messages(void **state)
{
	struct cl_alert_msg m = failing_msg(), h;
	struct cl_buf b;
	json_t *j;
	char *s, *dump;

	(void)state;
	/* webhook body: the three fields after the others; absent elsewhere */
	j = cl_alert_msg_json(&m);
	assert_string_equal(jkeys(j), "id,alert_key,event_type,action,severity,summary,timestamp,"
	                              "certificate_subject,subject_cn,certificate_serial,issuer,"
	                              "issuer_cn,fingerprint_sha256,expiration_date,days_left,"
	                              "not_before,not_after,locations,owner,environment,tags,"
	                              "threshold,detail,dashboard_url,managed,failures,"
	                              "next_attempt");
	assert_jstr(j, "event_type", "manage.renewal_failing");
	assert_jstr(j, "managed", "web");
	assert_jint(j, "failures", 3);
	assert_jstr(j, "next_attempt", "2026-11-23T22:22:27Z");
	json_decref(j);
	/* Slack: title, fields */
	j = cl_notify_slack_payload(&m);
	assert_non_null(j);
	assert_jstr(j, "text", "[WARNING: Certificate renewal failing] web: renewal failing "
	            "(3 failures in a row): CA unreachable");
	dump = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(dump, "*Failures*\\n3 in a row"));
	assert_non_null(strstr(dump, "*Next attempt*\\n2026-11-23T22:22:27Z"));
	free(dump);
	json_decref(j);
	/* Teams: facts */
	j = cl_notify_teams_payload(&m);
	assert_non_null(j);
	dump = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(dump, "Certificate renewal failing"));
	assert_non_null(strstr(dump, "\"Managed\""));
	assert_non_null(strstr(dump, "3 in a row"));
	free(dump);
	json_decref(j);
	/* PagerDuty: one incident per failure streak, the fields in custom_details */
	j = cl_notify_pagerduty_payload(&m, "rk");
	assert_jstr(j, "dedup_key", "manage.renewal_failing:web:7");
	assert_jstr(j, "payload.class", "manage.renewal_failing");
	assert_jstr(j, "payload.custom_details.managed", "web");
	assert_jint(j, "payload.custom_details.failures", 3);
	json_decref(j);
	/* Alertmanager: labelled with the certificate's name */
	j = cl_notify_alertmanager_alert(&m);
	assert_jstr(j, "labels.alertname", "certledger_manage_renewal_failing");
	assert_jstr(j, "labels.managed", "web");
	assert_jstr(j, "annotations.failures", "3");
	assert_jstr(j, "annotations.next_attempt", "2026-11-23T22:22:27Z");
	json_decref(j);
	/* plain text (e-mail digest, ServiceNow, Jira) */
	cl_buf_init(&b, 1 << 20);
	assert_int_equal(cl_notify_text_details(&b, &m, "  ", "\n"), CL_OK);
	assert_non_null(strstr(b.data, "  Managed:      web\n"));
	assert_non_null(strstr(b.data, "  Failures:     3 in a row\n"));
	assert_non_null(strstr(b.data, "  Next attempt: 2026-11-23T22:22:27Z\n"));
	assert_non_null(strstr(b.data, "  Event:        manage.renewal_failing (firing)\n"));
	cl_buf_free(&b);
	/* syslog structured data */
	s = cl_notify_syslog_line(&m, 1, "h", "certledger");
	assert_non_null(strstr(s, " manage.renewal_failing [certledger@32473 "));
	assert_non_null(strstr(s, " managed=\"web\" failures=\"3\" "
	                          "next_attempt=\"2026-11-23T22:22:27Z\" "));
	free(s);
	/* a hook failure: no count, no next attempt */
	h = failing_msg();
	h.event_type = CL_AT_HOOK_FAILED;
	h.failures = 0;
	h.next_attempt = 0;
	j = cl_alert_msg_json(&h);
	assert_jstr(j, "managed", "web");
	assert_jabsent(j, "failures");
	assert_jabsent(j, "next_attempt");
	json_decref(j);
	s = cl_notify_syslog_line(&h, 1, "h", "certledger");
	assert_null(strstr(s, "failures="));
	free(s);
	j = cl_notify_slack_payload(&h);
	assert_jstr(j, "blocks[0].text.text", "WARNING: Deploy hook failed");
	json_decref(j);
}

static void test_msg_from_json(void **state)
{
	static const struct {
		const char *in;
		int rc;
	} t[] = {
		{ "{}", CL_OK },
		{ "{\"id\":null,\"locations\":null,\"tags\":[]}", CL_OK },
		{ "[]", CL_ERR_PARSE },
		{ "{\"id\":5}", CL_ERR_PARSE },
		{ "{\"summary\":true}", CL_ERR_PARSE },
		{ "{\"locations\":\"tls:a:1\"}", CL_ERR_PARSE },
		{ "{\"locations\":[\"a\",1]}", CL_ERR_PARSE },
		{ "{\"tags\":{}}", CL_ERR_PARSE },
		{ "{\"timestamp\":\"now\"}", CL_ERR_PARSE },
		{ "{\"timestamp\":\"2026-13-01T00:00:00Z\"}", CL_ERR_PARSE },
		{ "{\"timestamp\":1.5}", CL_ERR_PARSE },
		{ "{\"days_left\":\"3\"}", CL_ERR_PARSE },
		{ "{\"not_after\":\"x\"}", CL_ERR_PARSE },
		{ "{\"expiration_date\":7}", CL_OK },
	};
	size_t i;
	struct cl_alert_msg m;
	void *strs;
	json_t *j;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		j = json_loads(t[i].in, 0, NULL);
		assert_non_null(j);
		strs = (void *)1;
		if (cl_alert_msg_from_json(&m, j, &strs) != t[i].rc)
			fail_msg("%s: want %d", t[i].in, t[i].rc);
		if (t[i].rc != CL_OK)
			assert_null(strs);
		free(strs);
		json_decref(j);
	}
	/* written by hand: an RFC 3339 expiry, days_left derived */
	j = json_loads("{\"timestamp\":\"2026-11-23T18:22:27Z\","
	               "\"expiration_date\":\"2026-11-20T00:00:00+00:00\",\"locations\":[\"x\"]}",
	               0, NULL);
	assert_int_equal(cl_alert_msg_from_json(&m, j, &strs), CL_OK);
	assert_int_equal(m.timestamp, TS);
	assert_int_equal(m.expiration_date, 1795132800);
	assert_int_equal(m.days_left, -4);
	assert_int_equal(m.nlocations, 1);
	assert_string_equal(m.locations[0], "x");
	assert_null(m.tags);
	free(strs);
	json_decref(j);
}

/* ---- the webhook signature ---- */

static void test_signature(void **state)
{
	static const struct {
		const char *key, *body, *want;
	} t[] = {
		/* RFC 4231 test case 2 */
		{ "Jefe", "what do ya want for nothing?",
		  "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		/* openssl dgst -sha256 -hmac s3cr3t-key */
		{ "s3cr3t-key", "{\"id\":\"0123456789abcdef0123456789abcdef\",\"event_type\":\"test\"}",
		  "sha256=8344eec882b8b02d537ad6984f05b04edaff1078a2838dce560210a2c5dcad3e" },
	};
	char out[80];
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		memset(out, 'x', sizeof out);
		cl_notify_signature(out, t[i].key, t[i].body, strlen(t[i].body));
		assert_string_equal(out, t[i].want);
		assert_int_equal(strlen(out), 71);
	}
}

/* ---- payload builders ---- */

static void test_slack(void **state)
{
	struct cl_alert_msg m = full_msg();
	json_t *j, *fields;
	const char *s;
	char *dump;

	(void)state;
	m.summary = "expires <soon> & fast";
	m.locations = locs7;
	m.nlocations = 7;
	j = cl_notify_slack_payload(&m);
	assert_non_null(j);
	assert_string_equal(jkeys(j), "text,blocks");
	assert_jstr(j, "text", "[CRITICAL: Certificate expiring] expires <soon> & fast");
	assert_jstr(j, "blocks[0].type", "header");
	assert_jstr(j, "blocks[0].text.type", "plain_text");
	assert_jstr(j, "blocks[0].text.text", "CRITICAL: Certificate expiring");
	assert_jstr(j, "blocks[1].type", "section");
	assert_jstr(j, "blocks[1].text.type", "mrkdwn");
	/* mrkdwn control characters are escaped */
	assert_jstr(j, "blocks[1].text.text", ":red_circle: expires &lt;soon&gt; &amp; fast");
	fields = jget(j, "blocks[2].fields");
	assert_non_null(fields);
	assert_int_equal(json_array_size(fields), 8);
	assert_jstr(j, "blocks[2].fields[0].text", "*Severity*\ncritical");
	assert_jstr(j, "blocks[2].fields[1].text", "*Subject*\nCN=www.example.com,O=Example Ltd");
	assert_jstr(j, "blocks[2].fields[2].text", "*Expires*\n2026-11-26T18:22:27Z");
	assert_jstr(j, "blocks[2].fields[3].text", "*Days left*\n3 days left");
	assert_jstr(j, "blocks[2].fields[4].text", "*Owner*\nweb-team@example.com");
	assert_jstr(j, "blocks[2].fields[5].text", "*Environment*\nprod");
	assert_jstr(j, "blocks[2].fields[6].text", "*Threshold*\n3d");
	assert_jstr(j, "blocks[2].fields[7].text", "*Issuer*\nCN=Example CA,O=Example Ltd");
	/* the first five locations, then how many more */
	assert_jstr(j, "blocks[3].text.text",
	            "*Locations*\n\xe2\x80\xa2 l1\n\xe2\x80\xa2 l2\n\xe2\x80\xa2 l3\n"
	            "\xe2\x80\xa2 l4\n\xe2\x80\xa2 l5\n(and 2 more)");
	assert_jstr(j, "blocks[4].text.text", "*Detail*\nrenew before Thursday");
	assert_jstr(j, "blocks[5].type", "context");
	s = jstr_at(j, "blocks[5].elements[0].text");
	assert_non_null(strstr(s, "firing"));
	assert_non_null(strstr(s, "cert.expiring:" FP ":3d"));
	assert_jstr(j, "blocks[5].elements[1].text",
	            "<https://certledger.example.com/c/" FP "|Open in certledger>");
	assert_null(jget(j, "blocks[6]"));
	json_decref(j);

	/* resolved, nothing optional */
	memset(&m, 0, sizeof m);
	m.action = "resolved";
	m.severity = "warning";
	m.event_type = CL_AT_CHANGED;
	j = cl_notify_slack_payload(&m);
	assert_jstr(j, "blocks[0].text.text", "RESOLVED: Endpoint certificate changed");
	assert_jstr(j, "blocks[1].text.text", ":white_check_mark: Endpoint certificate changed");
	assert_jstr(j, "blocks[2].fields[0].text", "*Severity*\nwarning (resolved)");
	dump = json_dumps(j, 0);
	assert_null(strstr(dump, "Open in certledger"));
	free(dump);
	json_decref(j);
}

static void test_teams(void **state)
{
	static const struct {
		const char *sev, *action, *color;
	} t[] = {
		{ "critical", "firing", "B00020" }, { "error", "firing", "E81123" },
		{ "warning", "firing", "FFB900" },  { "info", "firing", "0078D7" },
		{ NULL, "firing", "808080" },       { "critical", "resolved", "2EB886" },
	};
	struct cl_alert_msg m = full_msg();
	json_t *j, *facts;
	size_t i;

	(void)state;
	j = cl_notify_teams_payload(&m);
	assert_non_null(j);
	assert_jstr(j, "@type", "MessageCard");
	assert_jstr(j, "@context", "https://schema.org/extensions");
	assert_jstr(j, "themeColor", "B00020");
	assert_jstr(j, "summary", m.summary);
	assert_jstr(j, "title", "CRITICAL: Certificate expiring");
	assert_jstr(j, "sections[0].activityTitle", m.summary);
	assert_true(json_is_false(jget(j, "sections[0].markdown")));
	facts = jget(j, "sections[0].facts");
	assert_int_equal(json_array_size(facts), 14);
	assert_jstr(j, "sections[0].facts[0].name", "Severity");
	assert_jstr(j, "sections[0].facts[0].value", "critical");
	assert_jstr(j, "sections[0].facts[1].name", "Subject");
	assert_jstr(j, "sections[0].facts[3].name", "Expires");
	assert_jstr(j, "sections[0].facts[3].value", "2026-11-26T18:22:27Z");
	assert_jstr(j, "sections[0].facts[4].value", "3 days left");
	assert_jstr(j, "sections[0].facts[10].name", "Locations");
	assert_jstr(j, "sections[0].facts[10].value",
	            "tls:10.0.0.5:443, file:/etc/ssl/www.pem, tls:[2001:db8::1]:8443");
	assert_jstr(j, "sections[0].facts[11].value", "team=web, pci");
	assert_jstr(j, "sections[0].facts[13].name", "Alert");
	assert_jstr(j, "potentialAction[0].@type", "OpenUri");
	assert_jstr(j, "potentialAction[0].targets[0].uri", m.dashboard_url);
	json_decref(j);
	/* a tag list longer than a fact holds is cut, not lost */
	{
		static char tag[300];
		const char *many[20];
		const char *v;

		memset(tag, 't', sizeof tag - 1);
		for (i = 0; i < CL_ARRAY_LEN(many); i++)
			many[i] = tag;
		m.tags = many;
		m.ntags = CL_ARRAY_LEN(many);
		j = cl_notify_teams_payload(&m);
		v = jstr_at(j, "sections[0].facts[11].value");
		assert_memory_equal(v, tag, 299);
		assert_true(strlen(v) <= 2010);
		assert_string_equal(v + strlen(v) - 5, ", ...");
		json_decref(j);
		m.tags = tags2;
		m.ntags = 2;
	}
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		m.severity = t[i].sev;
		m.action = t[i].action;
		m.dashboard_url = NULL;
		j = cl_notify_teams_payload(&m);
		assert_jstr(j, "themeColor", t[i].color);
		assert_jabsent(j, "potentialAction");
		json_decref(j);
	}
}

static void test_pagerduty(void **state)
{
	static const struct {
		const char *sev, *want;
	} t[] = {
		{ "critical", "critical" }, { "error", "error" }, { "warning", "warning" },
		{ "info", "info" },         { "bogus", "info" },  { NULL, "info" },
	};
	struct cl_alert_msg m = full_msg();
	json_t *j;
	size_t i;

	(void)state;
	j = cl_notify_pagerduty_payload(&m, "R0UT1NGKEY");
	assert_non_null(j);
	assert_jstr(j, "routing_key", "R0UT1NGKEY");
	assert_jstr(j, "event_action", "trigger");
	assert_jstr(j, "dedup_key", m.alert_key);
	assert_jstr(j, "client", "certledger");
	assert_jstr(j, "client_url", m.dashboard_url);
	assert_jstr(j, "payload.summary", m.summary);
	assert_jstr(j, "payload.source", "tls:10.0.0.5:443");
	assert_jstr(j, "payload.severity", "critical");
	assert_jstr(j, "payload.timestamp", "2026-11-23T18:22:27Z");
	assert_jstr(j, "payload.component", "www.example.com");
	assert_jstr(j, "payload.group", "prod");
	assert_jstr(j, "payload.class", "cert.expiring");
	assert_jstr(j, "payload.custom_details.fingerprint_sha256", FP);
	assert_jint(j, "payload.custom_details.days_left", 3);
	assert_jstr(j, "payload.custom_details.expiration_date", "2026-11-26T18:22:27Z");
	assert_jstr(j, "links[0].href", m.dashboard_url);
	json_decref(j);
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		m.severity = t[i].sev;
		j = cl_notify_pagerduty_payload(&m, "k");
		assert_jstr(j, "payload.severity", t[i].want);
		json_decref(j);
	}
	/* a resolution: the key and the dedup key, nothing else */
	m.action = "resolved";
	j = cl_notify_pagerduty_payload(&m, "R0UT1NGKEY");
	assert_string_equal(jkeys(j), "routing_key,event_action,dedup_key");
	assert_jstr(j, "event_action", "resolve");
	assert_jstr(j, "dedup_key", m.alert_key);
	json_decref(j);
	/* without locations the source is the CN, without both "certledger" */
	m = full_msg();
	m.nlocations = 0;
	j = cl_notify_pagerduty_payload(&m, "k");
	assert_jstr(j, "payload.source", "www.example.com");
	json_decref(j);
	m.subject_cn = NULL;
	j = cl_notify_pagerduty_payload(&m, "k");
	assert_jstr(j, "payload.source", "certledger");
	assert_jabsent(j, "payload.component");
	json_decref(j);
}

static void test_alertmanager(void **state)
{
	struct cl_alert_msg m = full_msg();
	json_t *j;

	(void)state;
	j = cl_notify_alertmanager_alert(&m);
	assert_non_null(j);
	assert_string_equal(jkeys(j), "labels,annotations,startsAt,generatorURL");
	assert_string_equal(jkeys(jget(j, "labels")), "alertname,severity,alert_key,fingerprint,"
	                                              "subject_cn,owner,environment");
	assert_jstr(j, "labels.alertname", "certledger_cert_expiring");
	assert_jstr(j, "labels.severity", "critical");
	assert_jstr(j, "labels.alert_key", m.alert_key);
	assert_jstr(j, "labels.fingerprint", FP);
	assert_jstr(j, "labels.subject_cn", "www.example.com");
	assert_jstr(j, "labels.owner", "web-team@example.com");
	assert_jstr(j, "labels.environment", "prod");
	assert_jstr(j, "annotations.summary", m.summary);
	assert_jstr(j, "annotations.detail", "renew before Thursday");
	assert_jstr(j, "annotations.expiration_date", "2026-11-26T18:22:27Z");
	assert_jstr(j, "annotations.locations",
	            "tls:10.0.0.5:443, file:/etc/ssl/www.pem, tls:[2001:db8::1]:8443");
	assert_jstr(j, "startsAt", "2026-11-23T18:22:27Z");
	assert_jabsent(j, "endsAt");
	assert_jstr(j, "generatorURL", m.dashboard_url);
	json_decref(j);

	m.action = "resolved";
	m.event_type = CL_AT_RENEWAL_OVERDUE;
	m.owner = NULL;
	m.dashboard_url = NULL;
	m.detail = NULL;
	j = cl_notify_alertmanager_alert(&m);
	assert_jstr(j, "labels.alertname", "certledger_cert_renewal_overdue");
	assert_jabsent(j, "labels.owner");
	assert_jabsent(j, "annotations.detail");
	assert_jabsent(j, "generatorURL");
	assert_jstr(j, "endsAt", "2026-11-23T18:22:27Z");
	json_decref(j);
}

static void test_servicenow(void **state)
{
	static const struct {
		const char *sev, *urgency, *impact;
	} t[] = {
		{ "critical", "1", "1" }, { "error", "2", "2" }, { "warning", "2", "3" },
		{ "info", "3", "3" },     { NULL, "3", "3" },
	};
	struct cl_alert_msg m = full_msg();
	char longkey[300], corr[128];
	const char *d;
	json_t *j;
	size_t i;

	(void)state;
	j = cl_notify_servicenow_payload(&m);
	assert_non_null(j);
	assert_string_equal(jkeys(j), "short_description,description,urgency,impact,"
	                              "correlation_id,correlation_display");
	assert_jstr(j, "short_description",
	            "[certledger] Certificate www.example.com expires in 3 days");
	assert_jstr(j, "correlation_id", m.alert_key);
	assert_jstr(j, "correlation_display", "certledger");
	d = jstr_at(j, "description");
	assert_non_null(strstr(d, "Certificate www.example.com expires in 3 days\n\n"));
	assert_non_null(strstr(d, "\nFingerprint:  " FP "\n"));
	assert_non_null(strstr(d, "\nExpires:      2026-11-26T18:22:27Z (3 days left)\n"));
	assert_non_null(strstr(d, "\nLocations:    tls:10.0.0.5:443\n"
	                          "              file:/etc/ssl/www.pem\n"));
	json_decref(j);
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		m.severity = t[i].sev;
		j = cl_notify_servicenow_payload(&m);
		assert_jstr(j, "urgency", t[i].urgency);
		assert_jstr(j, "impact", t[i].impact);
		json_decref(j);
	}
	/* short_description holds 160 characters */
	memset(longkey, 'x', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	m.summary = longkey;
	j = cl_notify_servicenow_payload(&m);
	assert_true(strlen(jstr_at(j, "short_description")) <= 160);
	json_decref(j);
	/* a key longer than correlation_id's 100 characters, or one with query
	   syntax in it, is hashed */
	m.alert_key = longkey;
	cl_notify_sn_correlation(corr, sizeof corr, &m);
	assert_int_equal(strlen(corr), 11 + 64);
	assert_memory_equal(corr, "certledger:", 11);
	m.alert_key = "a^b=c";
	cl_notify_sn_correlation(corr, sizeof corr, &m);
	assert_memory_equal(corr, "certledger:", 11);
	m.alert_key = "cert.expired:" FP;
	cl_notify_sn_correlation(corr, sizeof corr, &m);
	assert_string_equal(corr, "cert.expired:" FP);
}

static void test_jira(void **state)
{
	struct cl_alert_msg m = full_msg();
	json_t *j;

	(void)state;
	m.environment = "pre prod";
	j = cl_notify_jira_payload(&m, "OPS", NULL);
	assert_non_null(j);
	assert_string_equal(jkeys(jget(j, "fields")),
	                    "project,issuetype,summary,description,labels");
	assert_jstr(j, "fields.project.key", "OPS");
	assert_jstr(j, "fields.issuetype.name", "Task");
	assert_jstr(j, "fields.summary", "[certledger] Certificate www.example.com expires in 3 days");
	assert_non_null(strstr(jstr_at(j, "fields.description"), "\nOwner:        "
	                                                          "web-team@example.com\n"));
	assert_int_equal(json_array_size(jget(j, "fields.labels")), 4);
	assert_jstr(j, "fields.labels[0]", "certledger");
	assert_jstr(j, "fields.labels[1]", "cert.expiring");
	assert_jstr(j, "fields.labels[2]", "critical");
	assert_jstr(j, "fields.labels[3]", "pre_prod");   /* labels hold no spaces */
	json_decref(j);
	j = cl_notify_jira_payload(&m, "SEC", "Bug");
	assert_jstr(j, "fields.issuetype.name", "Bug");
	assert_jstr(j, "fields.project.key", "SEC");
	json_decref(j);
}

/* ---- syslog ---- */

static void test_syslog_line(void **state)
{
	struct cl_alert_msg m = full_msg();
	char want[2048], *s;
	static const struct {
		const char *sev;
		int facility, pri;
	} t[] = {
		{ "critical", 1, 10 }, { "error", 1, 11 }, { "warning", 1, 12 }, { "info", 1, 14 },
		{ "other", 1, 13 },    { "critical", 16, 130 }, { "error", 23, 187 },
		{ "critical", 99, 10 }, /* out of range: user */
	};
	size_t i;

	(void)state;
	s = cl_notify_syslog_line(&m, 1, "host.example", "certledger");
	snprintf(want, sizeof want,
	         "<10>1 2026-11-23T18:22:27Z host.example certledger %ld cert.expiring "
	         "[certledger@32473 id=\"0123456789abcdef0123456789abcdef\" "
	         "alert_key=\"cert.expiring:" FP ":3d\" action=\"firing\" severity=\"critical\" "
	         "subject=\"CN=www.example.com,O=Example Ltd\" subject_cn=\"www.example.com\" "
	         "serial=\"0a1b2c\" issuer_cn=\"Example CA\" fingerprint=\"" FP "\" "
	         "not_after=\"2026-11-26T18:22:27Z\" days_left=\"3\" "
	         "location=\"tls:10.0.0.5:443\" location=\"file:/etc/ssl/www.pem\" "
	         "location=\"tls:[2001:db8::1\\]:8443\" owner=\"web-team@example.com\" "
	         "environment=\"prod\" tag=\"team=web\" tag=\"pci\" threshold=\"3d\" "
	         "detail=\"renew before Thursday\"] "
	         "Certificate www.example.com expires in 3 days",
	         (long)getpid());
	assert_string_equal(s, want);
	free(s);
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		char pri[16];

		m.severity = t[i].sev;
		s = cl_notify_syslog_line(&m, t[i].facility, "h", "a");
		snprintf(pri, sizeof pri, "<%d>1 ", t[i].pri);
		if (strncmp(s, pri, strlen(pri)) != 0)
			fail_msg("%s/%d: %.20s", t[i].sev, t[i].facility, s);
		free(s);
	}
	/* escaping, header fields, nothing known */
	memset(&m, 0, sizeof m);
	m.severity = "warning";
	m.detail = "a \"q\" b\\c ]x[\nnext";
	m.summary = "line1\nline2\r\n";
	m.owner = "";
	s = cl_notify_syslog_line(&m, 1, "bad host", "");
	snprintf(want, sizeof want,
	         "<12>1 - bad_host certledger %ld - [certledger@32473 severity=\"warning\" "
	         "detail=\"a \\\"q\\\" b\\\\c \\]x[ next\"] line1 line2  ",
	         (long)getpid());
	assert_string_equal(s, want);
	free(s);
	/* an empty hostname is the NILVALUE */
	s = cl_notify_syslog_line(&m, 1, "", "x");
	assert_non_null(strstr(s, " - x "));
	free(s);
}

/* ---- e-mail ---- */

/* Every line ends with CRLF, none is longer than 998 octets. */
static void assert_crlf_lines(const char *s)
{
	const char *p = s, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_true(nl > p && nl[-1] == '\r');
		assert_true(nl - p <= 999);
		p = nl + 1;
	}
}

/* The value of header name (first occurrence, unfolded), or NULL. */
static char *header(const char *mail, const char *name)
{
	static char buf[4096];
	const char *p = mail, *end = strstr(mail, "\r\n\r\n");
	size_t n = strlen(name), o = 0;

	while (p && p < end) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			for (;;) {
				const char *e = strstr(p, "\r\n");

				memcpy(buf + o, p, (size_t)(e - p));
				o += (size_t)(e - p);
				if (e[2] != ' ' && e[2] != '\t')
					break;
				p = e + 2;
			}
			buf[o] = '\0';
			return buf;
		}
		p = strstr(p, "\r\n");
		if (p)
			p += 2;
	}
	return NULL;
}

static void test_email_digest(void **state)
{
	struct cl_alert_msg a = full_msg(), b = full_msg(), c = full_msg();
	const struct cl_alert_msg *msgs[] = { &a, &b, &c };
	char *mail, *mail2, *body;
	const char *h;

	(void)state;
	b.severity = "warning";
	b.summary = "Certificate api.example.com expires in 14 days";
	b.id = "11111111111111111111111111111111";
	c.action = "resolved";
	c.summary = "Certificate old.example.com was renewed";
	c.id = "22222222222222222222222222222222";
	/* b first: the digest lists the critical one first */
	msgs[0] = &b;
	msgs[1] = &a;
	mail = cl_notify_email_digest(msgs, 3, "certledger <alerts@example.com>",
	                              "ops@example.com", TS);
	assert_non_null(mail);
	assert_crlf_lines(mail);
	assert_string_equal(header(mail, "From"), "certledger <alerts@example.com>");
	assert_string_equal(header(mail, "To"), "ops@example.com");
	assert_string_equal(header(mail, "Subject"),
	                    "certledger: 3 alerts (1 critical, 1 resolved)");
	assert_string_equal(header(mail, "Date"), "Mon, 23 Nov 2026 18:22:27 +0000");
	h = header(mail, "Message-ID");
	assert_int_equal(strlen(h), 1 + 32 + 1 + 10 + 1 + 11 + 1);
	assert_non_null(strstr(h, ".1795458147@example.com>"));
	assert_string_equal(header(mail, "MIME-Version"), "1.0");
	assert_string_equal(header(mail, "Content-Type"), "text/plain; charset=utf-8");
	assert_string_equal(header(mail, "Content-Transfer-Encoding"), "8bit");
	assert_string_equal(header(mail, "Auto-Submitted"), "auto-generated");
	body = strstr(mail, "\r\n\r\n");
	assert_non_null(strstr(body, "\r\n1. [CRITICAL] Certificate www.example.com expires in 3 "
	                             "days\r\n   Event:        cert.expiring (firing)\r\n"));
	assert_non_null(strstr(body, "\r\n2. [WARNING] Certificate api.example.com"));
	assert_non_null(strstr(body, "\r\n3. [RESOLVED] Certificate old.example.com was renewed"));
	assert_non_null(strstr(body, "   Expires:      2026-11-26T18:22:27Z (3 days left)\r\n"));
	assert_non_null(strstr(body, "   Locations:    tls:10.0.0.5:443\r\n"
	                             "                 file:/etc/ssl/www.pem\r\n"));
	/* the same input gives the same Message-ID; another recipient another */
	mail2 = cl_notify_email_digest(msgs, 3, "certledger <alerts@example.com>",
	                               "ops@example.com", TS);
	assert_string_equal(mail, mail2);
	free(mail2);
	mail2 = cl_notify_email_digest(msgs, 3, "certledger <alerts@example.com>",
	                               "sec@example.com", TS);
	assert_string_not_equal(header(mail, "Message-ID"), "");
	{
		char mid[128];

		snprintf(mid, sizeof mid, "%s", header(mail, "Message-ID"));
		assert_string_not_equal(mid, header(mail2, "Message-ID"));
	}
	free(mail2);
	free(mail);

	/* errors are counted too, resolutions are not counted by severity */
	a.severity = b.severity = "error";
	msgs[0] = &a;
	msgs[1] = &b;
	mail = cl_notify_email_digest(msgs, 3, "alerts@example.com", "ops@example.com", TS);
	assert_string_equal(header(mail, "Subject"), "certledger: 3 alerts (2 errors, 1 resolved)");
	free(mail);
	a.severity = "critical";

	/* one message: its summary is the subject */
	msgs[0] = &a;
	mail = cl_notify_email_digest(msgs, 1, "alerts@example.com", "ops@example.com", TS);
	assert_string_equal(header(mail, "Subject"),
	                    "certledger: Certificate www.example.com expires in 3 days");
	free(mail);
}

static void test_email_injection(void **state)
{
	struct cl_alert_msg a = full_msg();
	const struct cl_alert_msg *msgs[] = { &a };
	static const char *const evil[] = { "\r\nBcc: evil@example.net", "\nBcc: evil@example.net",
	                                    "\rBcc: evil@example.net" };
	char from[128], to[128], summary[128], *mail, *p;
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(evil); i++) {
		snprintf(from, sizeof from, "alerts@example.com%s", evil[i]);
		snprintf(to, sizeof to, "ops@example.com%s", evil[i]);
		snprintf(summary, sizeof summary, "expiring%s\r\n\r\nforged body", evil[i]);
		a.summary = summary;
		a.detail = summary;
		mail = cl_notify_email_digest(msgs, 1, from, to, TS);
		assert_non_null(mail);
		assert_crlf_lines(mail);
		/* no header line (and no body line) starts with Bcc: */
		for (p = mail; (p = strstr(p, "\r\n")) != NULL; p += 2)
			assert_int_not_equal(strncmp(p + 2, "Bcc:", 4), 0);
		assert_int_not_equal(strncmp(mail, "Bcc:", 4), 0);
		assert_null(header(mail, "Bcc"));
		assert_non_null(strstr(header(mail, "From"), "alerts@example.com"));
		assert_non_null(strstr(header(mail, "Subject"), "Bcc: evil@example.net"));
		free(mail);
	}
	/* a subject that is not ASCII is RFC 2047 encoded, in words of at most
	   75 characters, on folded lines */
	a.summary = "Zertifikat f\xc3\xbcr www.b\xc3\xbc" "cher.example l\xc3\xa4uft in 3 Tagen "
	            "ab, bitte rechtzeitig erneuern \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac";
	mail = cl_notify_email_digest(msgs, 1, "a@example.com", "b@example.com", TS);
	assert_crlf_lines(mail);
	p = strstr(mail, "\r\nSubject: =?UTF-8?B?");
	assert_non_null(p);
	assert_non_null(strstr(p + 2, "?=\r\n =?UTF-8?B?"));
	for (p = strstr(mail, "=?UTF-8?B?"); p; p = strstr(p + 1, "=?UTF-8?B?")) {
		char *e = strstr(p, "?=");

		assert_non_null(e);
		assert_true(e + 2 - p <= 75);
	}
	free(mail);
}

/* ---- senders that need no network ---- */

static struct cl_notifier base_notifier(enum cl_notifier_type type)
{
	struct cl_notifier nt;

	memset(&nt, 0, sizeof nt);
	nt.name = "n1";
	nt.type = type;
	nt.send_resolved = true;
	nt.timeout_ms = 2000;
	nt.facility = 1;
	nt.starttls = true;
	return nt;
}

static void test_jsonl(void **state)
{
	struct cl_notifier nt = base_notifier(CL_NT_JSONL);
	struct cl_alert_msg a = full_msg(), b = full_msg();
	const struct cl_alert_msg *msgs[] = { &a, &b };
	char path[512], err[256], *line, *save = NULL;
	unsigned char *data;
	size_t nsent = 99, len, lines = 0;
	struct stat sb;
	mode_t old;

	(void)state;
	b.action = "resolved";
	b.id = "11111111111111111111111111111111";
	snprintf(path, sizeof path, "%s/alerts.jsonl", tu_tmpdir());
	nt.path = path;
	old = umask(022);
	assert_int_equal(cl_notify_send(&nt, msgs, 2, &nsent, err, sizeof err), CL_SEND_OK);
	assert_int_equal(nsent, 2);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	/* appended; resolutions left out when send_resolved is off */
	nt.send_resolved = false;
	assert_int_equal(cl_notify_send(&nt, msgs, 2, &nsent, err, sizeof err), CL_SEND_OK);
	assert_int_equal(nsent, 2);
	umask(old);
	data = tu_read(path, &len);
	assert_int_equal(data[len - 1], '\n');
	for (line = strtok_r((char *)data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		struct cl_alert_msg m;
		void *strs;

		assert_non_null(j);
		assert_int_equal(cl_alert_msg_from_json(&m, j, &strs), CL_OK);
		assert_msg_equal(lines == 1 ? &b : &a, &m);
		free(strs);
		json_decref(j);
		lines++;
	}
	assert_int_equal(lines, 3);
	free(data);
	/* a directory that does not exist: permanent */
	snprintf(path, sizeof path, "%s/missing/alerts.jsonl", tu_tmpdir());
	assert_int_equal(cl_notify_send(&nt, msgs, 1, &nsent, err, sizeof err), CL_SEND_FAIL);
	assert_int_equal(nsent, 0);
	assert_non_null(strstr(err, "jsonl n1: cannot open "));
}

static void test_syslog_unix(void **state)
{
	struct cl_notifier nt = base_notifier(CL_NT_SYSLOG);
	struct cl_alert_msg a = full_msg(), b = full_msg();
	const struct cl_alert_msg *msgs[] = { &a, &b };
	struct sockaddr_un sa;
	char path[256], addr[300], buf[8192], err[256];
	size_t nsent;
	ssize_t n;
	int fd;

	(void)state;
	b.severity = "info";
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(path, sizeof path, "%s/log.sock", tu_tmpdir()) >= sizeof sa.sun_path)
		skip();   /* a socket path has to be short */
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	snprintf(addr, sizeof addr, "unix:%s", path);
	nt.address = addr;
	nt.app_name = "cl-test";
	nt.facility = 16;
	assert_int_equal(cl_notify_send(&nt, msgs, 2, &nsent, err, sizeof err), CL_SEND_OK);
	assert_int_equal(nsent, 2);
	n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_memory_equal(buf, "<130>1 2026-11-23T18:22:27Z ", 28);
	assert_non_null(strstr(buf, " cl-test "));
	n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_memory_equal(buf, "<134>1 ", 7);
	close(fd);
	unlink(path);
	/* a stream socket: NUL-terminated lines, as glibc's syslog() sends them */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(cl_notify_send(&nt, msgs, 2, &nsent, err, sizeof err), CL_SEND_OK);
	assert_int_equal(nsent, 2);
	{
		int c = accept(fd, NULL, NULL);
		size_t got = 0;
		char *second;

		assert_true(c >= 0);
		while ((n = recv(c, buf + got, sizeof buf - 1 - got, 0)) > 0)
			got += (size_t)n;
		close(c);
		assert_true(got > 20);
		assert_int_equal(buf[got - 1], '\0');
		assert_memory_equal(buf, "<130>1 ", 7);
		second = buf + strlen(buf) + 1;
		assert_true(second < buf + got);
		assert_memory_equal(second, "<134>1 ", 7);
		assert_int_equal(strlen(buf) + strlen(second) + 2, got);
	}
	close(fd);
	unlink(path);
	/* nobody listening: worth a retry */
	assert_int_equal(cl_notify_send(&nt, msgs, 2, &nsent, err, sizeof err), CL_SEND_RETRY);
	assert_int_equal(nsent, 0);
	assert_non_null(strstr(err, "syslog n1: unix:"));
}

static void test_config_errors(void **state)
{
	static const struct {
		enum cl_notifier_type type;
		const char *url, *address, *from, *to, *want;
	} t[] = {
		{ CL_NT_SYSLOG, NULL, "udp:1.2.3.4:514", NULL, NULL, "address must be" },
		{ CL_NT_SYSLOG, NULL, "tcp:host", NULL, NULL, "address must be" },
		{ CL_NT_SYSLOG, NULL, "tcp:host:99999", NULL, NULL, "address must be" },
		{ CL_NT_SYSLOG, NULL, "tls:[::1:6514", NULL, NULL, "address must be" },
		{ CL_NT_EMAIL, "http://mail", NULL, "a@example.com", "b@example.com", "smtp_url" },
		{ CL_NT_EMAIL, "smtp://127.0.0.1:1", NULL, "not an address", "b@example.com",
		  "from is not" },
		{ CL_NT_EMAIL, "smtp://127.0.0.1:1", NULL, "a@example.com", "b@x\r\nRCPT TO:<c@x>",
		  "recipient 1 is not" },
		{ CL_NT_EMAIL, "smtp://127.0.0.1:1", NULL, "a@example.com", NULL, "no recipient" },
		{ CL_NT_WEBHOOK, NULL, NULL, NULL, NULL, "no url" },
		{ CL_NT_WEBHOOK, "ftp://127.0.0.1/x", NULL, NULL, NULL, "ftp://127.0.0.1/x" },
		{ CL_NT_JIRA, "http://127.0.0.1:1", NULL, NULL, NULL, "no project" },
		{ CL_NT_PAGERDUTY, NULL, NULL, NULL, NULL, "no routing_key" },
	};
	struct cl_alert_msg a = full_msg();
	const struct cl_alert_msg *msgs[] = { &a };
	char err[512], *to[1];
	size_t i, nsent;

	(void)state;
	a.owner = "web team";
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		struct cl_notifier nt = base_notifier(t[i].type);

		nt.url = (char *)t[i].url;
		nt.smtp_url = (char *)t[i].url;
		nt.address = (char *)t[i].address;
		nt.from = (char *)t[i].from;
		nt.to_owner = true;
		if (t[i].to) {
			to[0] = (char *)t[i].to;
			nt.to.v = to;
			nt.to.n = 1;
		}
		nsent = 99;
		if (cl_notify_send(&nt, msgs, 1, &nsent, err, sizeof err) != CL_SEND_FAIL ||
		    strstr(err, t[i].want) == NULL)
			fail_msg("case %zu: [%s] does not say [%s]", i, err, t[i].want);
		assert_int_equal(nsent, 0);
	}
}

/* Network failures are worth a retry, and messages show no secret. */
static void test_http_unreachable(void **state)
{
	static const struct {
		enum cl_notifier_type type;
		const char *url, *shown, *hidden;
	} t[] = {
		{ CL_NT_WEBHOOK, "http://user:pw@127.0.0.1:1/hook/path?token=SECRET",
		  "webhook n1: http://127.0.0.1:1/hook/path: ", "SECRET" },
		{ CL_NT_SLACK, "http://127.0.0.1:1/services/T000/B000/XXXXSECRET",
		  "slack n1: http://127.0.0.1:1: ", "SECRET" },
		{ CL_NT_TEAMS, "http://127.0.0.1:1/webhookb2/SECRET@x/IncomingWebhook/y/z",
		  "teams n1: http://127.0.0.1:1: ", "SECRET" },
		{ CL_NT_PAGERDUTY, "http://127.0.0.1:1/v2/enqueue", "pagerduty n1: "
		  "http://127.0.0.1:1/v2/enqueue: ", "ROUTINGSECRET" },
		{ CL_NT_ALERTMANAGER, "http://127.0.0.1:1/", "alertmanager n1: "
		  "http://127.0.0.1:1/api/v2/alerts: ", "SECRET" },
		{ CL_NT_SERVICENOW, "http://127.0.0.1:1", "servicenow n1: "
		  "http://127.0.0.1:1/api/now/table/incident: ", "PWSECRET" },
		{ CL_NT_JIRA, "http://127.0.0.1:1", "jira n1: http://127.0.0.1:1/rest/api/2/issue: ",
		  "TOKSECRET" },
	};
	struct cl_alert_msg a = full_msg(), b = full_msg();
	const struct cl_alert_msg *msgs[] = { &a, &b };
	char err[512];
	size_t i, nsent;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		struct cl_notifier nt = base_notifier(t[i].type);

		nt.url = (char *)t[i].url;
		nt.routing_key = "ROUTINGSECRET";
		nt.username = "user";
		nt.password = "PWSECRET";
		nt.token = "TOKSECRET";
		nt.project = "OPS";
		nt.secret = "HMACSECRET";
		nsent = 99;
		if (cl_notify_send(&nt, msgs, 2, &nsent, err, sizeof err) != CL_SEND_RETRY)
			fail_msg("case %zu: not RETRY: %s", i, err);
		assert_int_equal(nsent, 0);
		if (strncmp(err, t[i].shown, strlen(t[i].shown)) != 0)
			fail_msg("case %zu: [%s] does not start with [%s]", i, err, t[i].shown);
		assert_null(strstr(err, t[i].hidden));
		assert_null(strstr(err, "SECRET"));
	}
	/* resolutions that are not sent count as sent, without a connection */
	{
		struct cl_notifier nt = base_notifier(CL_NT_WEBHOOK);

		a.action = b.action = "resolved";
		nt.url = "http://127.0.0.1:1/";
		nt.send_resolved = false;
		assert_int_equal(cl_notify_send(&nt, msgs, 2, &nsent, err, sizeof err), CL_SEND_OK);
		assert_int_equal(nsent, 2);
		/* Jira does not resolve issues */
		nt.type = CL_NT_JIRA;
		nt.send_resolved = true;
		nt.project = "OPS";
		assert_int_equal(cl_notify_send(&nt, msgs, 2, &nsent, err, sizeof err), CL_SEND_OK);
		assert_int_equal(nsent, 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_roundtrip),
		cmocka_unit_test(test_msg_json_fields),
		cmocka_unit_test(test_manage_messages),
		cmocka_unit_test(test_msg_from_json),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_slack),
		cmocka_unit_test(test_teams),
		cmocka_unit_test(test_pagerduty),
		cmocka_unit_test(test_alertmanager),
		cmocka_unit_test(test_servicenow),
		cmocka_unit_test(test_jira),
		cmocka_unit_test(test_syslog_line),
		cmocka_unit_test(test_email_digest),
		cmocka_unit_test(test_email_injection),
		cmocka_unit_test(test_jsonl),
		cmocka_unit_test(test_syslog_unix),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_http_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
