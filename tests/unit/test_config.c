/*
 * The daemon's configuration: the documented example parses into the
 * values it shows, left-out keys take their documented defaults, the
 * accepted spellings (ports as a list, shares as 67% / 2/3 / 0.67, ...)
 * mean the same, every class of error names the file, the exact line and
 * what is wrong, secrets come from the environment and from files and
 * never show in messages, and quiet hours and notifier type names behave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "testutil.h"
#include "core/util.h"
#include "serve/config.h"
#include "serve/config_int.h"

static struct cl_config *parse_ok(const char *yaml)
{
	struct cl_config *c = NULL;
	char err[700] = "";

	if (cl_config_parse(&c, yaml, strlen(yaml), "test.yaml", err, sizeof err) != CL_OK)
		fail_msg("config did not parse: %s\n%s", err, yaml);
	assert_non_null(c);
	return c;
}

/* Parses yaml, expecting CL_ERR_PARSE with exactly this message. */
static void parse_fails(const char *yaml, const char *want)
{
	struct cl_config *c = (struct cl_config *)1;
	char err[700] = "";
	int rc = cl_config_parse(&c, yaml, strlen(yaml), "bad.yaml", err, sizeof err);

	if (rc != CL_ERR_PARSE)
		fail_msg("expected CL_ERR_PARSE, got %d (%s) for:\n%s", rc, err, yaml);
	assert_null(c);
	if (strcmp(err, want) != 0)
		fail_msg("expected\n  '%s'\ngot\n  '%s'\nfor:\n%s", want, err, yaml);
}

static void assert_list(const struct cl_strlist *l, const char *const *want, size_t n)
{
	size_t i;

	assert_int_equal(l->n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(l->v[i], want[i]);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The text of s with every from replaced by to (a new string). */
static char *replace(const char *s, const char *from, const char *to)
{
	size_t n = 0, lf = strlen(from), lt = strlen(to);
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, from)) != NULL; p += lf)
		n++;
	assert_non_null(out = malloc(strlen(s) + n * lt + 1));
	for (o = out, p = s; *p;) {
		if (strncmp(p, from, lf) == 0) {
			memcpy(o, to, lt);
			o += lt;
			p += lf;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

/* ---- the documented example ---------------------------------------------------- */

static void test_example(void **state)
{
	static const char *const files[] = { "/etc/nginx", "/etc/ssl/private" };
	static const char *const bak[] = { "*.bak" };
	static const char *const targets[] = { "10.0.0.0/24", "www.example.com",
	                                       "@/etc/certledger/hosts.txt" };
	static const char *const sni[] = { "www.example.com" };
	static const char *const excl[] = { "10.0.0.1" };
	static const char *const domains[] = { "*.example.com", "example.com" };
	static const char *const owner[] = { "team-web*" };
	static const char *const env[] = { "prod" };
	static const char *const tag[] = { "pci" };
	static const char *const type[] = { "cert.*" };
	static const char *const to[] = { "pki-team@example.com" };
	static const char *const hdr[] = { "X-Source: certledger" };
	static const int days[] = { 30, 14, 7, 3, 1 };
	char src[4096], dir[4200], path[4300], err[700] = "";
	const struct cl_notifier *n;
	struct cl_config *c = NULL;
	const struct cl_job *j;
	const struct cl_route *r;
	unsigned char *text;
	char *yaml;
	size_t len, i;

	(void)state;
	snprintf(src, sizeof src, "%s", __FILE__);
	assert_non_null(strrchr(src, '/'));
	*strrchr(src, '/') = '\0';
	snprintf(path, sizeof path, "%s/../../examples/certledger.yaml", src);
	text = tu_read(path, &len);
	/* the two secret files, where the test can write them */
	snprintf(dir, sizeof dir, "%s/example", tu_tmpdir());
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof path, "%s/pd.key", dir);
	write_file(path, "pd-routing-key-0123\n");
	snprintf(path, sizeof path, "%s/snow.password", dir);
	write_file(path, "snow pass\r\n");
	snprintf(path, sizeof path, "{file: %s/", dir);
	yaml = replace((const char *)text, "{file: /etc/certledger/", path);
	setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/XYZ", 1);
	setenv("SMTP_PASSWORD", "smtp-pass", 1);
	setenv("WEBHOOK_HMAC_KEY", "hmac-key", 1);
	setenv("TEAMS_WEBHOOK_URL", "https://example.webhook.office.com/webhookb2/abc", 1);
	setenv("JIRA_API_TOKEN", "jira-token", 1);
	if (cl_config_parse(&c, yaml, strlen(yaml), "certledger.yaml", err, sizeof err) != CL_OK)
		fail_msg("the example did not parse: %s", err);

	assert_string_equal(c->path, "certledger.yaml");
	assert_string_equal(c->store, "/var/lib/certledger/inventory.db");
	assert_string_equal(c->listen, "127.0.0.1:9477");
	assert_string_equal(c->policy, "/etc/certledger/policy.yaml");
	assert_string_equal(c->dashboard_url, "https://certs.example.com");
	assert_int_equal(c->grace, 600);
	assert_int_equal(c->metrics_max_series, 200000);
	assert_int_equal(c->backoff_min, 30);
	assert_int_equal(c->backoff_max, 3600);
	assert_int_equal(c->give_up, 48 * 3600);

	assert_int_equal(c->njobs, 2);
	j = &c->jobs[0];
	assert_string_equal(j->name, "web-configs");
	assert_int_equal(j->kind, CL_JOB_FILES);
	assert_list(&j->paths, files, 2);
	assert_list(&j->exclude, bak, 1);
	assert_int_equal(j->max_depth, 20);
	assert_int_equal(j->every, 6 * 3600);
	assert_int_equal(j->quiet.start_min, 8 * 60);
	assert_int_equal(j->quiet.end_min, 18 * 60);
	assert_true(j->line > 0);
	j = &c->jobs[1];
	assert_string_equal(j->name, "dmz");
	assert_int_equal(j->kind, CL_JOB_NET);
	assert_list(&j->targets, targets, 3);
	assert_string_equal(j->ports, "443,8443");
	assert_list(&j->sni, sni, 1);
	assert_list(&j->exclude, excl, 1);
	assert_int_equal(j->concurrency, 500);
	assert_true(j->rate == 200);
	assert_int_equal(j->timeout_ms, 5000);
	assert_string_equal(j->ca_bundle, "/etc/ssl/internal-ca.pem");
	assert_string_equal(j->starttls, "smtp");
	assert_int_equal(j->every, 3600);
	assert_int_equal(j->max_depth, -1);
	assert_int_equal(j->quiet.start_min, j->quiet.end_min);  /* unset */

	assert_int_equal(c->alerts.evaluate_every, 3600);
	assert_int_equal(c->alerts.ndays, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(c->alerts.days[i], days[i]);
	assert_int_equal(c->alerts.short_lived, 30 * 86400);
	assert_int_equal(c->alerts.nremaining, 2);
	assert_true(c->alerts.remaining[0] == 0.33 && c->alerts.remaining[1] == 0.10);
	assert_true(c->alerts.expired);
	assert_true(c->alerts.renewal_at == 0.67);
	assert_true(c->alerts.changed);
	assert_true(c->alerts.unreachable);
	assert_int_equal(c->alerts.unreachable_after, 1800);
	assert_string_equal(c->alerts.finding_min_severity, "error");
	assert_list(&c->alerts.watch_domains, domains, 2);
	assert_true(c->alerts.include_ca);
	assert_true(c->alerts.renewal_failing);
	assert_true(c->alerts.hook_failed);
	assert_true(c->manage.enabled);
	assert_int_equal(c->manage.every, 3600);
	assert_int_equal(c->manage.workers, 16);
	assert_true(c->manage.inventory);
	assert_int_equal(c->manage.files.n, 1);
	assert_string_equal(c->manage.files.v[0], "/etc/certledger/certs.yaml");
	assert_int_equal(c->manage.quiet.start_min, 2 * 60);
	assert_int_equal(c->manage.quiet.end_min, 4 * 60);

	assert_int_equal(c->nnotifiers, 10);
	assert_int_equal(c->nroutes, 2);
	r = &c->routes[0];
	assert_list(&r->owner, owner, 1);
	assert_list(&r->environment, env, 1);
	assert_list(&r->tag, tag, 1);
	assert_list(&r->type, type, 1);
	assert_string_equal(r->min_severity, "warning");
	assert_int_equal(r->nnotify, 2);
	assert_string_equal(c->notifiers[r->notify[0]].name, "slack-ops");
	assert_string_equal(c->notifiers[r->notify[1]].name, "pager");
	assert_false(r->stop);
	r = &c->routes[1];
	assert_int_equal(r->owner.n + r->environment.n + r->tag.n + r->type.n, 0);
	assert_null(r->min_severity);
	assert_int_equal(r->nnotify, 1);
	assert_string_equal(c->notifiers[r->notify[0]].name, "mail");

	assert_non_null(n = cl_config_notifier(c, "slack-ops"));
	assert_int_equal(n->type, CL_NT_SLACK);
	assert_string_equal(n->url, "https://hooks.slack.com/services/T0/B0/XYZ");
	assert_true(n->send_resolved);
	assert_int_equal(n->timeout_ms, 10000);
	assert_non_null(n = cl_config_notifier(c, "pager"));
	assert_int_equal(n->type, CL_NT_PAGERDUTY);
	assert_string_equal(n->routing_key, "pd-routing-key-0123");
	assert_string_equal(n->url, "https://events.pagerduty.com/v2/enqueue");
	assert_non_null(n = cl_config_notifier(c, "mail"));
	assert_int_equal(n->type, CL_NT_EMAIL);
	assert_string_equal(n->smtp_url, "smtp://mail.example.com:587");
	assert_true(n->starttls);
	assert_string_equal(n->username, "certledger");
	assert_string_equal(n->password, "smtp-pass");
	assert_string_equal(n->from, "certledger@example.com");
	assert_list(&n->to, to, 1);
	assert_true(n->to_owner);
	assert_non_null(n = cl_config_notifier(c, "hook"));
	assert_int_equal(n->type, CL_NT_WEBHOOK);
	assert_string_equal(n->url, "https://hooks.example.com/certledger");
	assert_string_equal(n->secret, "hmac-key");
	assert_list(&n->headers, hdr, 1);
	assert_int_equal(n->timeout_ms, 5000);
	assert_string_equal(n->ca_bundle, "/etc/ssl/internal-ca.pem");
	assert_non_null(n = cl_config_notifier(c, "teams-pki"));
	assert_int_equal(n->type, CL_NT_TEAMS);
	assert_string_equal(n->url, "https://example.webhook.office.com/webhookb2/abc");
	assert_false(n->send_resolved);
	assert_non_null(n = cl_config_notifier(c, "am"));
	assert_int_equal(n->type, CL_NT_ALERTMANAGER);
	assert_string_equal(n->url, "http://alertmanager.example.com:9093");
	assert_non_null(n = cl_config_notifier(c, "snow"));
	assert_int_equal(n->type, CL_NT_SERVICENOW);
	assert_string_equal(n->username, "certledger");
	assert_string_equal(n->password, "snow pass");  /* \r\n stripped */
	assert_string_equal(n->table, "incident");
	assert_non_null(n = cl_config_notifier(c, "jira"));
	assert_int_equal(n->type, CL_NT_JIRA);
	assert_string_equal(n->username, "pki-bot@example.com");
	assert_string_equal(n->token, "jira-token");
	assert_string_equal(n->project, "PKI");
	assert_string_equal(n->issue_type, "Task");
	assert_non_null(n = cl_config_notifier(c, "siem"));
	assert_int_equal(n->type, CL_NT_SYSLOG);
	assert_string_equal(n->address, "tls:siem.example.com:6514");
	assert_string_equal(n->app_name, "certledger");
	assert_int_equal(n->facility, 19);
	assert_non_null(n = cl_config_notifier(c, "archive"));
	assert_int_equal(n->type, CL_NT_JSONL);
	assert_string_equal(n->path, "/var/log/certledger/alerts.jsonl");
	assert_null(cl_config_notifier(c, "nope"));
	assert_null(cl_config_notifier(c, NULL));
	assert_null(cl_config_notifier(NULL, "mail"));
	/* each notifier knows where it was defined, in file order */
	for (i = 1; i < c->nnotifiers; i++)
		assert_true(c->notifiers[i].line > c->notifiers[i - 1].line);
	cl_config_free(c);

	/* without secret resolution, the example parses too (the fuzzer's seed) */
	c = NULL;
	assert_int_equal(cl_config_parse_flags(&c, (const char *)text, len, "certledger.yaml",
	                                       CL_CONFIG_NO_SECRETS, err, sizeof err), CL_OK);
	assert_string_equal(cl_config_notifier(c, "pager")->routing_key, CL_CONFIG_DUMMY_SECRET);
	cl_config_free(c);
	free(yaml);
	free(text);
}

/* ---- defaults -------------------------------------------------------------------- */

static void test_defaults(void **state)
{
	static const char minimal[] =
		"jobs:\n"
		"  - name: a\n"
		"    files: /srv\n"
		"    every: 1h\n"
		"notifiers:\n"
		"  - {name: pd, type: pagerduty, routing_key: k}\n"
		"  - {name: sn, type: servicenow, url: 'https://x.service-now.com', username: u,"
		" password: p}\n"
		"  - {name: jr, type: jira, url: 'https://x.atlassian.net', username: u, token: t,"
		" project: P}\n"
		"  - {name: sl, type: syslog}\n"
		"  - {name: em, type: email, smtp_url: 'smtps://mail:465', from: a@b.c, to_owner: true}\n";
	struct cl_config *c;
	const struct cl_notifier *n;
	size_t i;

	(void)state;
	setenv("CERTLEDGER_DB", "/tmp/default-store.db", 1);
	c = parse_ok(minimal);
	unsetenv("CERTLEDGER_DB");
	assert_string_equal(c->store, "/tmp/default-store.db");
	assert_string_equal(c->listen, "127.0.0.1:9477");
	assert_null(c->policy);
	assert_null(c->dashboard_url);
	assert_int_equal(c->grace, 600);
	assert_int_equal(c->metrics_max_series, 200000);
	assert_int_equal(c->backoff_min, 30);
	assert_int_equal(c->backoff_max, 3600);
	assert_int_equal(c->give_up, 172800);
	assert_int_equal(c->jobs[0].max_depth, -1);
	assert_int_equal(c->jobs[0].exclude.n, 0);
	assert_null(c->jobs[0].ports);
	assert_null(c->jobs[0].starttls);
	assert_int_equal(c->jobs[0].concurrency, 0);
	assert_int_equal(c->jobs[0].timeout_ms, 0);

	assert_int_equal(c->alerts.evaluate_every, 3600);
	assert_int_equal(c->alerts.ndays, 5);
	assert_int_equal(c->alerts.days[0], 30);
	assert_int_equal(c->alerts.days[4], 1);
	assert_int_equal(c->alerts.short_lived, 30 * 86400);
	assert_int_equal(c->alerts.nremaining, 2);
	assert_true(c->alerts.remaining[0] == 0.33 && c->alerts.remaining[1] == 0.10);
	assert_true(c->alerts.expired);
	assert_true(c->alerts.renewal_at == 2.0 / 3.0);
	assert_true(c->alerts.changed);
	assert_true(c->alerts.unreachable);
	assert_int_equal(c->alerts.unreachable_after, 0);
	assert_string_equal(c->alerts.finding_min_severity, "error");
	assert_int_equal(c->alerts.watch_domains.n, 0);
	assert_true(c->alerts.include_ca);
	assert_int_equal(c->nroutes, 0);

	for (i = 0; i < c->nnotifiers; i++) {
		assert_true(c->notifiers[i].send_resolved);
		assert_int_equal(c->notifiers[i].timeout_ms, 10000);
		assert_null(c->notifiers[i].ca_bundle);
	}
	n = cl_config_notifier(c, "pd");
	assert_string_equal(n->url, "https://events.pagerduty.com/v2/enqueue");
	assert_string_equal(cl_config_notifier(c, "sn")->table, "incident");
	assert_string_equal(cl_config_notifier(c, "jr")->issue_type, "Task");
	n = cl_config_notifier(c, "sl");
	assert_string_equal(n->address, "unix:/dev/log");
	assert_string_equal(n->app_name, "certledger");
	assert_int_equal(n->facility, 1);
	n = cl_config_notifier(c, "em");
	assert_true(n->starttls);
	assert_int_equal(n->to.n, 0);
	assert_null(n->username);
	cl_config_free(c);

	/* only notifiers, or only an alerts section: valid (the daemon only evaluates) */
	c = parse_ok("notifiers:\n  - {name: j, type: jsonl, path: /tmp/a.jsonl}\n");
	assert_int_equal(c->njobs, 0);
	assert_int_equal(c->nnotifiers, 1);
	cl_config_free(c);
	c = parse_ok("alerts: {}\n");
	assert_int_equal(c->alerts.ndays, 5);
	cl_config_free(c);
	c = parse_ok("alerts:\n");
	assert_int_equal(c->alerts.nremaining, 2);
	cl_config_free(c);
}

/* ---- accepted spellings ----------------------------------------------------------- */

#define JOB "jobs:\n  - name: j\n    every: 1h\n"

static void test_forms(void **state)
{
	struct cl_config *c;

	(void)state;
	/* ports: a string, a number, a list of numbers and ranges */
	c = parse_ok(JOB "    net: {targets: [h.example], ports: [443, 8443, '9000-9010']}\n");
	assert_string_equal(c->jobs[0].ports, "443,8443,9000-9010");
	cl_config_free(c);
	c = parse_ok(JOB "    net: {targets: h.example, ports: 636}\n");
	assert_string_equal(c->jobs[0].ports, "636");
	assert_int_equal(c->jobs[0].targets.n, 1);
	cl_config_free(c);
	c = parse_ok(JOB "    net: {targets: ['[::1]:8443', 192.0.2.1-20], ports: \"443, 8443\","
	             " starttls: NONE, timeout: 500ms, rate: 2.5}\n");
	assert_string_equal(c->jobs[0].ports, "443, 8443");
	assert_string_equal(c->jobs[0].starttls, "none");
	assert_int_equal(c->jobs[0].timeout_ms, 500);
	assert_true(c->jobs[0].rate == 2.5);
	cl_config_free(c);

	/* renewal_overdue: 67%, 2/3, 0.67, true (2/3), false (off) */
	c = parse_ok("alerts: {renewal_overdue: 2/3}\n");
	assert_true(c->alerts.renewal_at == 2.0 / 3.0);
	cl_config_free(c);
	c = parse_ok("alerts: {renewal_overdue: 0.67}\n");
	assert_true(c->alerts.renewal_at == 0.67);
	cl_config_free(c);
	c = parse_ok("alerts: {renewal_overdue: 75%}\n");
	assert_true(c->alerts.renewal_at == 0.75);
	cl_config_free(c);
	c = parse_ok("alerts: {renewal_overdue: false}\n");
	assert_true(c->alerts.renewal_at == 0);
	cl_config_free(c);
	c = parse_ok("alerts: {renewal_overdue: true}\n");
	assert_true(c->alerts.renewal_at == 2.0 / 3.0);
	cl_config_free(c);

	/* unreachable: a bool or a mapping; findings: a severity or false */
	c = parse_ok("alerts: {unreachable: false, findings: false}\n");
	assert_false(c->alerts.unreachable);
	assert_null(c->alerts.finding_min_severity);
	cl_config_free(c);
	c = parse_ok("alerts: {unreachable: {after: 1h}, findings: warning}\n");
	assert_true(c->alerts.unreachable);
	assert_int_equal(c->alerts.unreachable_after, 3600);
	assert_string_equal(c->alerts.finding_min_severity, "warning");
	cl_config_free(c);
	c = parse_ok("alerts: {unreachable: {enabled: no}}\n");
	assert_false(c->alerts.unreachable);
	cl_config_free(c);

	/* days and shares are sorted descending; a single value is a list of one; [] none */
	c = parse_ok("alerts:\n  expiry: {days: [1, 60, 7], remaining: ['5%', '50%', '20.5%']}\n");
	assert_int_equal(c->alerts.ndays, 3);
	assert_int_equal(c->alerts.days[0], 60);
	assert_int_equal(c->alerts.days[1], 7);
	assert_int_equal(c->alerts.days[2], 1);
	assert_int_equal(c->alerts.nremaining, 3);
	assert_true(c->alerts.remaining[0] == 0.5 && c->alerts.remaining[1] == 0.205 &&
	            c->alerts.remaining[2] == 0.05);
	cl_config_free(c);
	c = parse_ok("alerts:\n  expiry: {days: 14, remaining: []}\n");
	assert_int_equal(c->alerts.ndays, 1);
	assert_int_equal(c->alerts.days[0], 14);
	assert_int_equal(c->alerts.nremaining, 0);
	cl_config_free(c);

	/* listen: IPv6, a host name, or "" for no HTTP server */
	c = parse_ok("listen: '[::1]:9477'\nalerts: {}\n");
	assert_string_equal(c->listen, "[::1]:9477");
	cl_config_free(c);
	c = parse_ok("listen: localhost:80\nalerts: {}\n");
	assert_string_equal(c->listen, "localhost:80");
	cl_config_free(c);
	c = parse_ok("listen: \"\"\nalerts: {}\n");
	assert_string_equal(c->listen, "");
	cl_config_free(c);

	/* quiet hours that wrap midnight; one-digit hours */
	c = parse_ok(JOB "    files: [/a]\n    quiet_hours: 22:00-6:30\n");
	assert_int_equal(c->jobs[0].quiet.start_min, 22 * 60);
	assert_int_equal(c->jobs[0].quiet.end_min, 6 * 60 + 30);
	cl_config_free(c);

	/* routes may come before the notifiers they name; stop; several conditions */
	c = parse_ok("routes:\n  - {match: {type: [cert.expired, 'endpoint.*']}, notify: b,"
	             " stop: true}\n  - notify: [a, b]\n"
	             "notifiers:\n  - {name: a, type: jsonl, path: /tmp/x}\n"
	             "  - {name: b, type: syslog, address: 'tcp:[::1]:514', facility: 4}\n");
	assert_int_equal(c->nroutes, 2);
	assert_true(c->routes[0].stop);
	assert_int_equal(c->routes[0].type.n, 2);
	assert_int_equal(c->routes[0].nnotify, 1);
	assert_int_equal(c->routes[0].notify[0], 1);
	assert_int_equal(c->routes[1].notify[0], 0);
	assert_int_equal(c->routes[1].notify[1], 1);
	assert_int_equal(c->notifiers[1].facility, 4);
	cl_config_free(c);

	/* webhook token and headers; e-mail without STARTTLS; booleans as yes/no */
	c = parse_ok("notifiers:\n  - name: w\n    type: webhook\n    url: http://127.0.0.1:8080/\n"
	             "    token: abc\n    headers: ['Authorization: Basic eA==', 'X-A: b']\n"
	             "    send_resolved: no\n"
	             "  - {name: m, type: email, smtp_url: 'smtp://m:25', starttls: false,"
	             " from: a@b.c, to: [x@y.z, q@r.s]}\n");
	assert_string_equal(c->notifiers[0].token, "abc");
	assert_int_equal(c->notifiers[0].headers.n, 2);
	assert_false(c->notifiers[0].send_resolved);
	assert_false(c->notifiers[1].starttls);
	assert_int_equal(c->notifiers[1].to.n, 2);
	cl_config_free(c);
}

/* ---- errors: every class, with its exact line and message -------------------------- */

#define N1 "notifiers:\n  - name: n\n"

static void test_errors(void **state)
{
	static const struct { const char *yaml; const char *msg; } t[] = {
		/* nothing configured */
		{ "", "bad.yaml: no jobs and no alerts configured" },
		{ "# only a comment\n\n", "bad.yaml: no jobs and no alerts configured" },
		{ "{}\n", "bad.yaml: no jobs and no alerts configured" },
		{ "~\n", "bad.yaml: no jobs and no alerts configured" },
		{ "- a\n", "bad.yaml:1: the configuration must be a mapping (store, jobs, alerts, "
		  "routes, notifiers...)" },
		/* YAML syntax, and a second document */
		{ "alerts:\n  expiry: {days: [1, 2}\n",
		  "bad.yaml:2: did not find expected ',' or ']' (in the flow sequence started at "
		  "line 2)" },
		{ "alerts: {}\n---\nalerts: {}\n",
		  "bad.yaml:3: a second YAML document ('---'): the configuration is one document" },
		/* unknown keys, with a suggestion or the known ones */
		{ "alerts: {}\nnotifers: []\n",
		  "bad.yaml:2: unknown key 'notifers' (did you mean 'notifiers'?)" },
		{ "alerts: {}\ncolour: red\n",
		  "bad.yaml:2: unknown key 'colour' (known: store, listen, policy, dashboard_url, "
		  "health_grace, metrics, delivery, jobs, alerts, manage, routes, notifiers)" },
		{ "alerts:\n  expiry:\n    dyas: [1]\n",
		  "bad.yaml:3: unknown key 'dyas' in alerts.expiry (did you mean 'days'?)" },
		{ JOB "    files: [/a]\n    evrey: 2h\n",
		  "bad.yaml:5: unknown key 'evrey' in a job (did you mean 'every'?)" },
		{ JOB "    net:\n      target: [a.example]\n",
		  "bad.yaml:5: unknown key 'target' in net (did you mean 'targets'?)" },
		{ "routes:\n  - mach: {}\n",
		  "bad.yaml:2: unknown key 'mach' in a route (did you mean 'match'?)" },
		{ "routes:\n  - match: {owners: [x]}\n",
		  "bad.yaml:2: unknown key 'owners' in match (did you mean 'owner'?)" },
		{ "delivery: {retry: 1m}\n",
		  "bad.yaml:1: unknown key 'retry' in delivery (known: backoff_min, backoff_max, "
		  "give_up)" },
		{ N1 "    type: slack\n    URL: https://x\n",
		  "bad.yaml:4: unknown key 'URL' in a notifier (did you mean 'url'?)" },
		{ N1 "    type: jsonl\n    colour: red\n",
		  "bad.yaml:4: unknown key 'colour' in a notifier (known: name, type, send_resolved, "
		  "timeout, path)" },
		/* a key of another notifier type */
		{ N1 "    type: slack\n    url: https://x\n    routing_key: k\n",
		  "bad.yaml:5: key 'routing_key' does not apply to slack notifiers (only to: "
		  "pagerduty)" },
		{ N1 "    type: jsonl\n    path: /x\n    ca_bundle: /ca.pem\n",
		  "bad.yaml:5: key 'ca_bundle' does not apply to jsonl notifiers (only to: webhook, "
		  "slack, teams, pagerduty, alertmanager, servicenow, jira, email, syslog)" },
		/* keys given twice */
		{ "alerts: {}\nalerts: {}\n", "bad.yaml:2: key 'alerts' is given twice (lines 1 and 2)" },
		{ "alerts:\n  expiry: {days: [1], days: [2]}\n",
		  "bad.yaml:2: key 'alerts.expiry.days' is given twice (both on line 2)" },
		{ JOB "    files: /a\n    every: 2h\n",
		  "bad.yaml:5: key 'every' is given twice (lines 3 and 5)" },
		/* wrong types */
		{ "jobs: {name: x}\n", "bad.yaml:1: jobs: expected a list of jobs" },
		{ "jobs:\n  - web\n",
		  "bad.yaml:2: a job must be a mapping (name, every, files or net)" },
		{ "alerts: [expired]\n", "bad.yaml:1: alerts must be a mapping (key: value)" },
		{ "alerts: {expired: maybe}\n",
		  "bad.yaml:1: alerts.expired: expected true or false, got 'maybe'" },
		{ "alerts: {expired: [true]}\n",
		  "bad.yaml:1: alerts.expired: expected true or false, not a list" },
		{ "alerts: {include_ca: ~}\n",
		  "bad.yaml:1: alerts.include_ca: no value given (expected true or false)" },
		{ "metrics: {max_series: lots}\n",
		  "bad.yaml:1: metrics.max_series: expected a number, got 'lots'" },
		{ "metrics: {max_series: 0}\n",
		  "bad.yaml:1: metrics.max_series: 0 is out of range (1..100000000)" },
		{ "store: [a, b]\n",
		  "bad.yaml:1: store: expected a string, {env: NAME} or {file: PATH}" },
		{ "store: \"\"\n", "bad.yaml:1: store: must not be empty" },
		{ "store: \"a\\nb\"\n",
		  "bad.yaml:1: store: line breaks and control characters are not allowed" },
		{ JOB "    files: [/a, [/b]]\n", "bad.yaml:4: files: a list inside the list" },
		{ JOB "    files:\n      - /a\n      - ''\n", "bad.yaml:6: files: empty entry" },
		{ "notifiers:\n  - {name: a, type: email, smtp_url: 'smtp://m:25', from: a@b.c,"
		  " to: {x: y, z: w}}\n",
		  "bad.yaml:2: to: expected a string, {env: NAME} or {file: PATH}" },
		/* jobs */
		{ "jobs:\n  - every: 1h\n    files: /a\n", "bad.yaml:2: a job needs a name" },
		{ "jobs:\n  - name: 'web configs'\n",
		  "bad.yaml:2: name: 'web configs' is not a name (up to 64 letters, digits, '_', '.' "
		  "and '-')" },
		{ JOB "    files: /a\n" "  - name: j\n    every: 1h\n    files: /b\n",
		  "bad.yaml:5: job 'j' is defined twice (lines 2 and 5)" },
		{ JOB "    files: /a\n    net: {targets: a.example}\n",
		  "bad.yaml:2: job 'j': give files or net, not both (make two jobs)" },
		{ JOB, "bad.yaml:2: job 'j': give files (paths to search) or net (targets to scan)" },
		{ JOB "    files: []\n", "bad.yaml:4: job 'j': files is empty" },
		{ "jobs:\n  - name: j\n    files: /a\n",
		  "bad.yaml:2: job 'j': every is required (e.g. every: 6h)" },
		{ JOB "    net: {targets: a.example}\n    exclude: ['*.bak']\n",
		  "bad.yaml:5: exclude: only for files jobs (a net job's exclusions go under net: "
		  "exclude)" },
		{ JOB "    net: {targets: a.example}\n    max_depth: 3\n",
		  "bad.yaml:5: max_depth: only for files jobs" },
		{ JOB "    net: {ports: 443}\n",
		  "bad.yaml:4: net.targets: give at least one target to scan" },
		{ JOB "    files: /a\n    max_depth: -2\n",
		  "bad.yaml:5: max_depth: -2 is out of range (-1..1000)" },
		/* durations */
		{ "jobs:\n  - name: j\n    files: /a\n    every: 30s\n",
		  "bad.yaml:4: every: 30s is too short (at least 1m)" },
		{ "jobs:\n  - name: j\n    files: /a\n    every: 6\n",
		  "bad.yaml:4: every: '6' is not a duration (90s, 30m, 6h, 30d)" },
		{ "jobs:\n  - name: j\n    files: /a\n    every: 6x\n",
		  "bad.yaml:4: every: '6x' is not a duration (90s, 30m, 6h, 30d)" },
		{ "jobs:\n  - name: j\n    files: /a\n    every: 99999999999999y\n",
		  "bad.yaml:4: every: '99999999999999y' is not a duration (90s, 30m, 6h, 30d)" },
		{ "jobs:\n  - name: j\n    files: /a\n    every: 2y\n",
		  "bad.yaml:4: every: 2y is too long (at most 365d)" },
		{ "health_grace: -1m\n",
		  "bad.yaml:1: health_grace: '-1m' is not a duration (90s, 30m, 6h, 30d)" },
		{ "delivery:\n  backoff_min: 2h\n",
		  "bad.yaml:2: delivery: backoff_min (2h) is longer than backoff_max (1h)" },
		{ JOB "    net: {targets: a.example, timeout: 20m}\n",
		  "bad.yaml:4: net.timeout: 20m is too long (at most 10m)" },
		{ JOB "    net: {targets: a.example, timeout: 0ms}\n",
		  "bad.yaml:4: net.timeout: 0ms is too short (at least 1ms)" },
		/* windows */
		{ JOB "    files: /a\n    quiet_hours: 8-18\n",
		  "bad.yaml:5: quiet_hours: '8-18' is not a daily window HH:MM-HH:MM (e.g. "
		  "08:00-18:00)" },
		{ JOB "    files: /a\n    quiet_hours: 08:00-24:00\n",
		  "bad.yaml:5: quiet_hours: '08:00-24:00' is not a daily window HH:MM-HH:MM (e.g. "
		  "08:00-18:00)" },
		{ JOB "    files: /a\n    quiet_hours: 08:60-09:00\n",
		  "bad.yaml:5: quiet_hours: '08:60-09:00' is not a daily window HH:MM-HH:MM (e.g. "
		  "08:00-18:00)" },
		{ JOB "    files: /a\n    quiet_hours: 08:00-08:00\n",
		  "bad.yaml:5: quiet_hours: '08:00-08:00' starts and ends at the same time" },
		/* ports, targets, listen, addresses */
		{ JOB "    net: {targets: a.example, ports: '443,70000'}\n",
		  "bad.yaml:4: net.ports: '70000' is not a port or range (1..65535, low end first)" },
		{ JOB "    net:\n      targets: a.example\n      ports:\n        - 443\n        - 0\n",
		  "bad.yaml:8: net.ports: '0' is not a port or range (1..65535, low end first)" },
		{ JOB "    net: {targets: a.example, ports: []}\n",
		  "bad.yaml:4: net.ports: no port given (leave ports out for the default set)" },
		{ JOB "    net:\n      targets:\n        - 10.0.0.0/24\n        - 10.0.0.0/33\n",
		  "bad.yaml:7: net.targets: '10.0.0.0/33' is not a valid CIDR block (e.g. "
		  "10.0.0.0/24, fd00::/120)" },
		{ JOB "    net: {targets: a.example, exclude: [a.example]}\n",
		  "bad.yaml:4: net.exclude: 'a.example' is not an address, CIDR or range" },
		{ JOB "    net: {targets: a.example, sni: ['bad name']}\n",
		  "bad.yaml:4: net.sni: 'bad name' is not a host name" },
		{ JOB "    net: {targets: a.example, starttls: smtps}\n",
		  "bad.yaml:4: net.starttls: 'smtps' is not one of smtp, imap, pop3, ftp, ldap, "
		  "postgres, xmpp or none" },
		{ JOB "    net: {targets: '@'}\n",
		  "bad.yaml:4: net.targets: '@' needs a file name (@/etc/certledger/hosts.txt)" },
		{ "alerts: {}\nlisten: 9477\n",
		  "bad.yaml:2: listen: '9477' is not HOST:PORT (127.0.0.1:9477, [::1]:9477; \"\" turns "
		  "the HTTP server off)" },
		{ "alerts: {}\nlisten: '::1:9477'\n",
		  "bad.yaml:2: listen: '::1:9477' is not HOST:PORT (127.0.0.1:9477, [::1]:9477; \"\" "
		  "turns the HTTP server off)" },
		{ "alerts: {}\nlisten: 127.0.0.1:65536\n",
		  "bad.yaml:2: listen: '127.0.0.1:65536' is not HOST:PORT (127.0.0.1:9477, "
		  "[::1]:9477; \"\" turns the HTTP server off)" },
		{ "alerts: {}\nlisten: 300.1.1.1:80\n",
		  "bad.yaml:2: listen: '300.1.1.1:80' is not HOST:PORT (127.0.0.1:9477, [::1]:9477; "
		  "\"\" turns the HTTP server off)" },
		/* alert rules */
		{ "alerts:\n  expiry:\n    days: [30, 7, 30]\n",
		  "bad.yaml:3: alerts.expiry.days: 30 is given twice" },
		{ "alerts:\n  expiry:\n    days: [0]\n",
		  "bad.yaml:3: alerts.expiry.days: 0 is out of range (1..3650)" },
		{ "alerts:\n  expiry:\n    remaining: ['10%', '10.0%']\n",
		  "bad.yaml:3: alerts.expiry.remaining: 10.0% is given twice" },
		{ "alerts:\n  expiry:\n    remaining: ['100%']\n",
		  "bad.yaml:3: alerts.expiry.remaining: '100%' is not a share of the lifetime between "
		  "0% and 100% (e.g. 33%)" },
		{ "alerts:\n  expiry:\n    remaining: ['0%']\n",
		  "bad.yaml:3: alerts.expiry.remaining: '0%' is not a share of the lifetime between "
		  "0% and 100% (e.g. 33%)" },
		{ "alerts:\n  renewal_overdue: 3/2\n",
		  "bad.yaml:2: alerts.renewal_overdue: '3/2' is not a share of the lifetime (67%, 2/3 "
		  "or 0.67) or false" },
		{ "alerts:\n  renewal_overdue: 1.5\n",
		  "bad.yaml:2: alerts.renewal_overdue: '1.5' is not a share of the lifetime (67%, 2/3 "
		  "or 0.67) or false" },
		{ "alerts:\n  findings: fatal\n",
		  "bad.yaml:2: alerts.findings: 'fatal' is not a severity (info, warning, error, "
		  "critical) or false" },
		{ "alerts:\n  watch_domains: ['exa mple.com']\n",
		  "bad.yaml:2: alerts.watch_domains: 'exa mple.com' is not a domain name or glob "
		  "(*.example.com)" },
		{ "alerts:\n  unreachable: {after: 2h, enabled: sometimes}\n",
		  "bad.yaml:2: alerts.unreachable.enabled: expected true or false, got 'sometimes'" },
		/* routes */
		{ "routes:\n  - notify: [a, b, c]\nnotifiers:\n  - {name: b, type: jsonl, path: /x}\n",
		  "bad.yaml:2: notify: unknown notifiers 'a', 'c' (defined: b)" },
		{ "routes:\n  - notify:\n      - mail\n",
		  "bad.yaml:3: notify: unknown notifier 'mail' (no notifiers are defined)" },
		{ "routes:\n  - match: {type: [cert.expirng]}\n    notify: x\n",
		  "bad.yaml:2: match.type: 'cert.expirng' matches no alert type (cert.expiring, "
		  "cert.expired, cert.renewal_overdue, endpoint.cert_changed, endpoint.unreachable, "
		  "domain.new_cert, domain.new_issuer, finding.opened, manage.renewal_failing, "
		  "manage.hook_failed, test)" },
		{ "routes:\n  - match: {min_severity: high}\n    notify: x\n",
		  "bad.yaml:2: match.min_severity: 'high' is not a severity (info, warning, error, "
		  "critical)" },
		{ "routes:\n  - match: {owner: [x]}\n",
		  "bad.yaml:2: a route needs notify (the notifiers to send to)" },
		{ "routes:\n  - notify: []\n", "bad.yaml:2: notify: name at least one notifier" },
		{ "routes:\n  - notify: [a, a]\nnotifiers:\n  - {name: a, type: jsonl, path: /x}\n",
		  "bad.yaml:2: notify: 'a' is named twice" },
		/* notifiers: types, names, required fields */
		{ N1 "    url: https://x\n",
		  "bad.yaml:2: notifier 'n' needs a type (webhook, slack, teams, pagerduty, "
		  "alertmanager, servicenow, jira, email, syslog, jsonl)" },
		{ N1 "    type: slak\n",
		  "bad.yaml:3: type: unknown notifier type 'slak' (did you mean 'slack'?)" },
		{ N1 "    type: carrier-pigeon\n",
		  "bad.yaml:3: type: unknown notifier type 'carrier-pigeon' (known: webhook, slack, "
		  "teams, pagerduty, alertmanager, servicenow, jira, email, syslog, jsonl)" },
		{ "notifiers:\n  - {type: jsonl, path: /x}\n", "bad.yaml:2: a notifier needs a name" },
		{ "notifiers:\n  - {name: a, type: jsonl, path: /x}\n  - {name: a, type: jsonl,"
		  " path: /y}\n", "bad.yaml:3: notifier 'a' is defined twice (lines 2 and 3)" },
		{ "notifiers:\n  - slack\n",
		  "bad.yaml:2: a notifier must be a mapping (name, type and its settings)" },
		{ N1 "    type: webhook\n", "bad.yaml:2: notifier 'n' (webhook): url is required" },
		{ N1 "    type: slack\n", "bad.yaml:2: notifier 'n' (slack): url is required" },
		{ N1 "    type: teams\n", "bad.yaml:2: notifier 'n' (teams): url is required" },
		{ N1 "    type: pagerduty\n    url: https://pd.example\n",
		  "bad.yaml:2: notifier 'n' (pagerduty): routing_key is required" },
		{ N1 "    type: alertmanager\n",
		  "bad.yaml:2: notifier 'n' (alertmanager): url is required" },
		{ N1 "    type: servicenow\n    url: https://sn\n    username: u\n",
		  "bad.yaml:2: notifier 'n' (servicenow): password is required" },
		{ N1 "    type: jira\n    url: https://j\n    username: u\n    token: t\n",
		  "bad.yaml:2: notifier 'n' (jira): project is required" },
		{ N1 "    type: email\n    from: a@b.c\n    to: [c@d.e]\n",
		  "bad.yaml:2: notifier 'n' (email): smtp_url is required" },
		{ N1 "    type: email\n    smtp_url: smtp://m:25\n    from: a@b.c\n",
		  "bad.yaml:2: notifier 'n' (email): give to (recipients) or to_owner: true" },
		{ N1 "    type: email\n    smtp_url: smtp://m:25\n    from: a@b.c\n    to_owner: true\n"
		  "    username: u\n",
		  "bad.yaml:2: notifier 'n' (email): username and password go together" },
		{ N1 "    type: jsonl\n", "bad.yaml:2: notifier 'n' (jsonl): path is required" },
		/* notifiers: URLs, addresses and other formats */
		{ N1 "    type: slack\n    url: ftp://x.example/hook\n",
		  "bad.yaml:4: url: 'ftp://x.example/hook' is not an http:// or https:// URL" },
		{ N1 "    type: slack\n    url: https:///path\n",
		  "bad.yaml:4: url: 'https:///path' is not an http:// or https:// URL" },
		{ N1 "    type: email\n    smtp_url: https://m\n",
		  "bad.yaml:4: smtp_url: 'https://m' is not an smtp:// or smtps:// URL" },
		{ N1 "    type: email\n    smtp_url: smtp://m\n    from: 'Me <me@x.y>'\n",
		  "bad.yaml:5: from: 'Me <me@x.y>' is not an e-mail address (user@example.com)" },
		{ N1 "    type: email\n    smtp_url: smtp://m\n    to:\n      - a@b.c\n      - nobody\n",
		  "bad.yaml:7: to: 'nobody' is not an e-mail address (user@example.com)" },
		{ N1 "    type: syslog\n    address: udp:1.2.3.4:514\n",
		  "bad.yaml:4: address: 'udp:1.2.3.4:514' is not unix:/PATH, tcp:HOST:PORT or "
		  "tls:HOST:PORT" },
		{ N1 "    type: syslog\n    address: tcp:logs.example\n",
		  "bad.yaml:4: address: 'tcp:logs.example' is not unix:/PATH, tcp:HOST:PORT or "
		  "tls:HOST:PORT" },
		{ N1 "    type: syslog\n    facility: 24\n",
		  "bad.yaml:4: facility: 24 is out of range (0..23)" },
		{ N1 "    type: syslog\n    facility: local9\n",
		  "bad.yaml:4: facility: 'local9' is not a facility (0..23, user, daemon, "
		  "local0..local7...)" },
		{ N1 "    type: syslog\n    app_name: 'cert ledger'\n",
		  "bad.yaml:4: app_name: 'cert ledger' is not an app name (1 to 48 printable ASCII "
		  "characters, no spaces)" },
		{ N1 "    type: webhook\n    url: https://x\n    headers: ['no colon here']\n",
		  "bad.yaml:5: headers: expected 'Name: value'" },
		{ N1 "    type: servicenow\n    table: 'x/../y'\n",
		  "bad.yaml:4: table: 'x/../y' is not a table name (letters, digits and '_')" },
		{ N1 "    type: slack\n    url: https://x\n    timeout: 11m\n",
		  "bad.yaml:5: timeout: 11m is too long (at most 10m)" },
		{ "dashboard_url: certs.example.com\n",
		  "bad.yaml:1: dashboard_url: 'certs.example.com' is not an http:// or https:// URL" },
		/* secrets: their form */
		{ N1 "    type: slack\n    url: {env: 'NOT-A-NAME'}\n",
		  "bad.yaml:4: url: 'NOT-A-NAME' is not an environment variable name" },
		{ N1 "    type: slack\n    url: {vault: x}\n",
		  "bad.yaml:4: url: expected a string, {env: NAME} or {file: PATH}" },
		{ N1 "    type: slack\n    url: {env: ~}\n",
		  "bad.yaml:4: url: {env: ...} needs the name of an environment variable" },
		{ N1 "    type: slack\n    url: {env: A, file: B}\n",
		  "bad.yaml:4: url: expected a string, {env: NAME} or {file: PATH}" },
		/* names are never secrets: they are shown in messages, metrics and logs */
		{ "notifiers:\n  - {name: {env: HOME}, type: jsonl, path: /x}\n",
		  "bad.yaml:2: name: expected a name, not a mapping" },
		{ "jobs:\n  - name: {file: /etc/hostname}\n",
		  "bad.yaml:2: name: expected a name, not a mapping" },
		{ "routes:\n  - notify: [{env: HOME}]\n",
		  "bad.yaml:2: notify: expected a name, not a mapping" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++)
		parse_fails(t[i].yaml, t[i].msg);
}

/* ---- managed certificates ------------------------------------------------------------ */

static void test_manage(void **state)
{
	static const char *const files[] = { "/etc/certledger/certs.yaml", "/srv/more.yaml" };
	static const struct { const char *yaml; const char *msg; } bad[] = {
		{ "manage: {intervall: 1h}\n",
		  "bad.yaml:1: unknown key 'intervall' in manage (did you mean 'interval'?)" },
		{ "manage: {every: 1h, interval: 2h}\n",
		  "bad.yaml:1: manage: give every or interval, not both (the same setting)" },
		{ "manage: {every: 10s}\n", "bad.yaml:1: manage.every: 10s is too short (at least 1m)" },
		{ "manage: {workers: 0}\n",
		  "bad.yaml:1: manage.workers: 0 is out of range (1..256)" },
		{ "manage: {specs: certs.yaml}\n",
		  "bad.yaml:1: manage.specs: 'certs.yaml' is neither 'inventory' (the specs applied "
		  "with certledger apply) nor an absolute path of a spec file" },
		{ "manage: {specs: [inventory, /a.yaml, inventory]}\n",
		  "bad.yaml:1: manage.specs: 'inventory' is given twice" },
		{ "manage: {specs: [/a.yaml, /a.yaml]}\n",
		  "bad.yaml:1: manage.specs: '/a.yaml' is given twice" },
		{ "manage: {specs: []}\n",
		  "bad.yaml:1: manage.specs: give 'inventory' and/or spec files (absolute paths)" },
		{ "manage:\n  quiet_hours: 25:00-01:00\n",
		  "bad.yaml:2: manage.quiet_hours: '25:00-01:00' is not a daily window HH:MM-HH:MM "
		  "(e.g. 08:00-18:00)" },
		{ "manage: maybe\n", "bad.yaml:1: manage: expected a mapping (every, workers, specs, quiet_hours) or "
		  "true/false, got 'maybe'" },
		{ "jobs:\n  - {name: manage, files: /srv, every: 1h}\nmanage: {}\n",
		  "bad.yaml:2: a job called 'manage' clashes with the manage section (line 3) in "
		  "/healthz and /metrics: rename the job" },
		{ "alerts: {renewal_failng: false}\n",
		  "bad.yaml:1: unknown key 'renewal_failng' in alerts (did you mean "
		  "'renewal_failing'?)" },
		{ "alerts: {hook_failed: sometimes}\n",
		  "bad.yaml:1: alerts.hook_failed: expected true or false, got 'sometimes'" },
	};
	struct cl_config *c;
	size_t i;

	(void)state;
	/* absent: off; the alert rules are on */
	c = parse_ok("alerts: {evaluate_every: 1h}\n");
	assert_false(c->manage.enabled);
	assert_true(c->alerts.renewal_failing);
	assert_true(c->alerts.hook_failed);
	cl_config_free(c);
	/* present: the specs kept in the inventory, every hour */
	c = parse_ok("manage: {}\n");
	assert_true(c->manage.enabled);
	assert_int_equal(c->manage.every, 3600);
	assert_int_equal(c->manage.workers, 0);
	assert_true(c->manage.inventory);
	assert_int_equal(c->manage.files.n, 0);
	assert_int_equal(c->manage.line, 1);
	cl_config_free(c);
	c = parse_ok("alerts: {}\nmanage: true\n");
	assert_true(c->manage.enabled);
	assert_true(c->manage.inventory);
	assert_int_equal(c->manage.every, 3600);
	assert_int_equal(c->manage.line, 2);
	cl_config_free(c);
	c = parse_ok("alerts: {}\nmanage: false\n");
	assert_false(c->manage.enabled);
	cl_config_free(c);
	/* everything given; interval is another name of every */
	c = parse_ok("manage:\n"
	             "  interval: 30m\n"
	             "  workers: 16\n"
	             "  specs: [inventory, /etc/certledger/certs.yaml, /srv/more.yaml]\n"
	             "  quiet_hours: \"08:00-18:00\"\n"
	             "alerts: {renewal_failing: false, hook_failed: true}\n"
	             "routes:\n"
	             "  - match: {type: [manage.renewal_failing, manage.hook_failed]}\n"
	             "    notify: [log]\n"
	             "notifiers:\n"
	             "  - {name: log, type: jsonl, path: /tmp/a.jsonl}\n");
	assert_int_equal(c->manage.every, 1800);
	assert_int_equal(c->manage.workers, 16);
	assert_true(c->manage.inventory);
	assert_list(&c->manage.files, files, 2);
	assert_int_equal(c->manage.quiet.start_min, 8 * 60);
	assert_int_equal(c->manage.quiet.end_min, 18 * 60);
	assert_false(c->alerts.renewal_failing);
	assert_true(c->alerts.hook_failed);
	cl_config_free(c);
	/* spec files only */
	c = parse_ok("manage: {every: 2h, specs: /etc/certledger/certs.yaml}\n");
	assert_false(c->manage.inventory);
	assert_list(&c->manage.files, files, 1);
	assert_int_equal(c->manage.every, 7200);
	cl_config_free(c);
	for (i = 0; i < CL_ARRAY_LEN(bad); i++)
		parse_fails(bad[i].yaml, bad[i].msg);
}

/* ---- secrets ------------------------------------------------------------------------ */

static void test_secrets(void **state)
{
	static const char pre[] = "notifiers:\n  - name: n\n    type: webhook\n";
	static const char nosecrets[] =
		"notifiers:\n  - {name: n, type: slack, url: {env: CL_T_UNSET_X}}\n"
		"  - {name: m, type: pagerduty, routing_key: {file: /nonexistent}}\n";
	char dir[1024], path[1100], yaml[1400], want[1300], err[700];
	struct cl_config *c;
	int rc;

	(void)state;
	snprintf(dir, sizeof dir, "%s/secrets", tu_tmpdir());
	assert_int_equal(mkdir(dir, 0700), 0);

	/* from the environment, in any string field, also list entries */
	setenv("CL_T_URL", "https://hook.example/s3cr3t-url", 1);
	setenv("CL_T_HDR", "Authorization: Bearer s3cr3t-hdr", 1);
	c = parse_ok("notifiers:\n  - name: n\n    type: webhook\n    url: {env: CL_T_URL}\n"
	             "    headers: [{env: CL_T_HDR}, 'X-A: 1']\n    token:\n      env: CL_T_HDR\n");
	assert_string_equal(c->notifiers[0].url, "https://hook.example/s3cr3t-url");
	assert_string_equal(c->notifiers[0].headers.v[0], "Authorization: Bearer s3cr3t-hdr");
	assert_string_equal(c->notifiers[0].token, "Authorization: Bearer s3cr3t-hdr");
	cl_config_free(c);

	/* from a file: the content without one final newline */
	snprintf(path, sizeof path, "%s/key", dir);
	write_file(path, "s3cr3t-file\n");
	snprintf(yaml, sizeof yaml, "%s    url: https://x\n    secret: {file: %s}\n", pre, path);
	c = parse_ok(yaml);
	assert_string_equal(c->notifiers[0].secret, "s3cr3t-file");
	cl_config_free(c);
	write_file(path, "s3cr3t-file");
	c = parse_ok(yaml);
	assert_string_equal(c->notifiers[0].secret, "s3cr3t-file");
	cl_config_free(c);
	write_file(path, "s3cr3t-file\n\n");  /* only one final newline goes */
	snprintf(want, sizeof want, "bad.yaml:5: secret: cannot use secret file %s: it holds a line "
	         "break or a control character before its end", path);
	parse_fails(yaml, want);

	/* a missing variable: the line of the key and the variable's name */
	unsetenv("CL_T_MISSING");
	snprintf(yaml, sizeof yaml, "%s    url: https://x\n    secret: {env: CL_T_MISSING}\n", pre);
	parse_fails(yaml, "bad.yaml:5: secret: environment variable CL_T_MISSING is not set");
	snprintf(yaml, sizeof yaml, "%s    url: https://x\n    secret:\n      env: CL_T_MISSING\n",
	         pre);
	parse_fails(yaml, "bad.yaml:5: secret: environment variable CL_T_MISSING is not set");
	setenv("CL_T_EMPTY", "", 1);
	snprintf(yaml, sizeof yaml, "%s    url: https://x\n    secret: {env: CL_T_EMPTY}\n", pre);
	parse_fails(yaml, "bad.yaml:5: secret: environment variable CL_T_EMPTY is empty");
	setenv("CL_T_NL", "s3cr3t\ninjected", 1);
	snprintf(yaml, sizeof yaml, "%s    url: https://x\n    secret: {env: CL_T_NL}\n", pre);
	parse_fails(yaml, "bad.yaml:5: secret: environment variable CL_T_NL holds a line break or "
	            "a control character");

	/* an unreadable file: its path and why, never its content */
	snprintf(yaml, sizeof yaml, "%s    url: https://x\n    secret: {file: %s/nope}\n", pre, dir);
	snprintf(want, sizeof want, "bad.yaml:5: secret: cannot use secret file %s/nope: No such "
	         "file or directory", dir);
	parse_fails(yaml, want);
	snprintf(yaml, sizeof yaml, "%s    url: https://x\n    secret: {file: %s}\n", pre, dir);
	snprintf(want, sizeof want, "bad.yaml:5: secret: cannot use secret file %s: not a regular "
	         "file", dir);
	parse_fails(yaml, want);
	snprintf(path, sizeof path, "%s/multi", dir);
	write_file(path, "s3cr3t-line1\ns3cr3t-line2\n");
	snprintf(yaml, sizeof yaml, "%s    url: https://x\n    secret: {file: %s}\n", pre, path);
	snprintf(want, sizeof want, "bad.yaml:5: secret: cannot use secret file %s/multi: it holds a "
	         "line break or a control character before its end", dir);
	parse_fails(yaml, want);
	snprintf(path, sizeof path, "%s/empty", dir);
	write_file(path, "\n");
	snprintf(yaml, sizeof yaml, "%s    url: https://x\n    secret: {file: %s}\n", pre, path);
	snprintf(want, sizeof want, "bad.yaml:5: secret: cannot use secret file %s/empty: the file "
	         "is empty", dir);
	parse_fails(yaml, want);

	/* a secret that fails a check is named by where it came from, not by its value */
	setenv("CL_T_BADURL", "s3cr3t-not-a-url", 1);
	parse_fails("notifiers:\n  - name: n\n    type: slack\n    url: {env: CL_T_BADURL}\n",
	            "bad.yaml:4: url: the value of {env: CL_T_BADURL} is not an http:// or https:// "
	            "URL");
	snprintf(path, sizeof path, "%s/badmail", dir);
	write_file(path, "s3cr3t mail\n");
	snprintf(yaml, sizeof yaml, "notifiers:\n  - {name: n, type: email, smtp_url: 'smtp://m',"
	         " from: {file: %s}, to_owner: true}\n", path);
	snprintf(want, sizeof want, "bad.yaml:2: from: the value of {file: %s/badmail} is not an "
	         "e-mail address (user@example.com)", dir);
	parse_fails(yaml, want);
	setenv("CL_T_BADHDR", "s3cr3t-no-colon", 1);
	parse_fails("notifiers:\n  - name: n\n    type: webhook\n    url: https://x\n"
	            "    headers: [{env: CL_T_BADHDR}]\n",
	            "bad.yaml:5: headers: expected 'Name: value'");
	setenv("CL_T_BADLISTEN", "s3cr3t:port", 1);
	parse_fails("alerts: {}\nlisten: {env: CL_T_BADLISTEN}\n",
	            "bad.yaml:2: listen: the value of {env: CL_T_BADLISTEN} is not HOST:PORT "
	            "(127.0.0.1:9477, [::1]:9477; \"\" turns the HTTP server off)");

	/* without secret resolution nothing is read: a dummy stands for each */
	c = NULL;
	rc = cl_config_parse_flags(&c, nosecrets, strlen(nosecrets), "fuzz.yaml",
	                           CL_CONFIG_NO_SECRETS, err, sizeof err);
	if (rc != CL_OK)
		fail_msg("%s", err);
	assert_string_equal(c->notifiers[0].url, CL_CONFIG_DUMMY_SECRET);
	assert_string_equal(c->notifiers[1].routing_key, CL_CONFIG_DUMMY_SECRET);
	cl_config_free(c);
	unsetenv("CL_T_URL");
	unsetenv("CL_T_HDR");
	unsetenv("CL_T_EMPTY");
	unsetenv("CL_T_NL");
	unsetenv("CL_T_BADURL");
	unsetenv("CL_T_BADHDR");
	unsetenv("CL_T_BADLISTEN");
}

/* ---- loading a file ------------------------------------------------------------------- */

static void test_load(void **state)
{
	struct cl_config *c = (struct cl_config *)1;
	char path[4300], err[700] = "", want[4500];

	(void)state;
	assert_int_equal(cl_config_load(&c, "/nonexistent/certledger.yaml", err, sizeof err),
	                 CL_ERR_IO);
	assert_null(c);
	assert_string_equal(err, "/nonexistent/certledger.yaml: No such file or directory");

	snprintf(path, sizeof path, "%s/load.yaml", tu_tmpdir());
	write_file(path, "alerts:\n  expired: false\n");
	assert_int_equal(cl_config_load(&c, path, err, sizeof err), CL_OK);
	assert_string_equal(c->path, path);
	assert_false(c->alerts.expired);
	cl_config_free(c);

	write_file(path, "alerts:\n  expird: false\n");
	assert_int_equal(cl_config_load(&c, path, err, sizeof err), CL_ERR_PARSE);
	assert_null(c);
	snprintf(want, sizeof want, "%s:2: unknown key 'expird' in alerts (did you mean "
	         "'expired'?)", path);
	assert_string_equal(err, want);
	cl_config_free(NULL);
}

/* ---- windows and type names ------------------------------------------------------------ */

static void test_window(void **state)
{
	static const struct { int start, end, m; bool in; } t[] = {
		{ 8 * 60, 18 * 60, 8 * 60, true },        /* the start is inside */
		{ 8 * 60, 18 * 60, 18 * 60 - 1, true },
		{ 8 * 60, 18 * 60, 18 * 60, false },      /* the end is not */
		{ 8 * 60, 18 * 60, 7 * 60 + 59, false },
		{ 8 * 60, 18 * 60, 0, false },
		{ 22 * 60, 6 * 60, 22 * 60, true },       /* wraps midnight */
		{ 22 * 60, 6 * 60, 23 * 60 + 59, true },
		{ 22 * 60, 6 * 60, 0, true },
		{ 22 * 60, 6 * 60, 6 * 60 - 1, true },
		{ 22 * 60, 6 * 60, 6 * 60, false },
		{ 22 * 60, 6 * 60, 12 * 60, false },
		{ 22 * 60, 6 * 60, 22 * 60 - 1, false },
		{ 0, 1, 0, true },
		{ 1439, 0, 1439, true },
		{ 1439, 0, 0, false },
		{ 5 * 60, 5 * 60, 5 * 60, false },        /* unset */
		{ 0, 0, 0, false },
		{ 22 * 60, 6 * 60, -1, false },           /* out of range */
		{ 22 * 60, 6 * 60, 1440, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < CL_ARRAY_LEN(t); i++) {
		struct cl_window w = { t[i].start, t[i].end };
		if (cl_window_contains(&w, t[i].m) != t[i].in)
			fail_msg("case %zu: %d-%d contains %d should be %d", i, t[i].start, t[i].end,
			         t[i].m, t[i].in);
	}
	assert_false(cl_window_contains(NULL, 0));
}

static void test_notifier_types(void **state)
{
	static const char *const names[CL_NT_COUNT] = {
		"webhook", "slack", "teams", "pagerduty", "alertmanager", "servicenow", "jira",
		"email", "syslog", "jsonl",
	};
	int i;

	(void)state;
	for (i = 0; i < CL_NT_COUNT; i++) {
		assert_int_equal(cl_notifier_type_parse(names[i]), i);
		assert_string_equal(cl_notifier_type_name((enum cl_notifier_type)i), names[i]);
	}
	assert_int_equal(cl_notifier_type_parse("Slack"), -1);
	assert_int_equal(cl_notifier_type_parse(""), -1);
	assert_int_equal(cl_notifier_type_parse("smtp"), -1);
	assert_int_equal(cl_notifier_type_parse(NULL), -1);
	assert_string_equal(cl_notifier_type_name(CL_NT_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_manage),
		cmocka_unit_test(test_notifier_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
