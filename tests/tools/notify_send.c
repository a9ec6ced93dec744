/*
 * notify_send: a test driver for the notifiers (built with the tests,
 * never installed). Fills a struct cl_notifier from its options, reads
 * alert messages (the JSON cl_alert_msg_json writes: one object, an array
 * of them, or one per line) from FILE and sends them all with
 * cl_notify_send.
 *
 *   notify_send --type TYPE [options] FILE
 *
 * Prints "result=OK|RETRY|FAIL nsent=N" and, on failure, "error=TEXT".
 * Exit status: 0 sent, 1 retry, 2 permanent failure, 64 usage.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "alert/alert.h"
#include "alert/notify.h"

#define MAX_LIST 32
#define MAX_MSGS 1000

static void usage(void)
{
	fputs("usage: notify_send --type webhook|slack|teams|pagerduty|alertmanager|servicenow|"
	      "jira|email|syslog|jsonl\n"
	      "  [--name N] [--url URL] [--secret S] [--token T] [--routing-key K]\n"
	      "  [--username U] [--password P] [--table T] [--project P] [--issue-type T]\n"
	      "  [--header 'Name: value']... [--ca-bundle FILE] [--timeout-ms MS]\n"
	      "  [--smtp-url URL] [--no-starttls] [--from ADDR] [--to ADDR]... [--to-owner]\n"
	      "  [--address unix:PATH|tcp:H:P|tls:H:P] [--app-name A] [--facility N]\n"
	      "  [--path FILE] [--no-resolved] MESSAGES.json\n",
	      stderr);
	exit(64);
}

/* Maps the config's type names (the config loader has its own parser). */
static int type_of(const char *s)
{
	static const char *const names[CL_NT_COUNT] = {
		[CL_NT_WEBHOOK] = "webhook", [CL_NT_SLACK] = "slack", [CL_NT_TEAMS] = "teams",
		[CL_NT_PAGERDUTY] = "pagerduty", [CL_NT_ALERTMANAGER] = "alertmanager",
		[CL_NT_SERVICENOW] = "servicenow", [CL_NT_JIRA] = "jira", [CL_NT_EMAIL] = "email",
		[CL_NT_SYSLOG] = "syslog", [CL_NT_JSONL] = "jsonl",
	};
	int i;

	for (i = 0; i < CL_NT_COUNT; i++) {
		if (strcmp(s, names[i]) == 0)
			return i;
	}
	return -1;
}

/* Reads the messages: a JSON value (object or array) or JSON lines. */
static int load(const char *file, json_t **roots, size_t *nroots)
{
	FILE *f = fopen(file, "r");
	json_error_t e;
	json_t *j;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	*nroots = 0;
	if (f == NULL) {
		perror(file);
		return -1;
	}
	if ((j = json_loadf(f, 0, &e)) != NULL) {
		roots[(*nroots)++] = j;
		fclose(f);
		return 0;
	}
	rewind(f);
	while ((n = getline(&line, &cap, f)) > 0 && *nroots < MAX_MSGS) {
		if (strspn(line, " \t\r\n") == (size_t)n)
			continue;
		if ((j = json_loads(line, 0, &e)) == NULL) {
			fprintf(stderr, "%s: %s\n", file, e.text);
			free(line);
			fclose(f);
			return -1;
		}
		roots[(*nroots)++] = j;
	}
	free(line);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		O_TYPE = 1, O_NAME, O_URL, O_SECRET, O_TOKEN, O_RKEY, O_USER, O_PASS, O_TABLE,
		O_PROJECT, O_ITYPE, O_HEADER, O_CA, O_TIMEOUT, O_SMTP, O_NOSTARTTLS, O_FROM, O_TO,
		O_TOOWNER, O_ADDRESS, O_APP, O_FACILITY, O_PATH, O_NORESOLVED,
	};
	static const struct option opts[] = {
		{ "type", required_argument, NULL, O_TYPE },
		{ "name", required_argument, NULL, O_NAME },
		{ "url", required_argument, NULL, O_URL },
		{ "secret", required_argument, NULL, O_SECRET },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "routing-key", required_argument, NULL, O_RKEY },
		{ "username", required_argument, NULL, O_USER },
		{ "password", required_argument, NULL, O_PASS },
		{ "table", required_argument, NULL, O_TABLE },
		{ "project", required_argument, NULL, O_PROJECT },
		{ "issue-type", required_argument, NULL, O_ITYPE },
		{ "header", required_argument, NULL, O_HEADER },
		{ "ca-bundle", required_argument, NULL, O_CA },
		{ "timeout-ms", required_argument, NULL, O_TIMEOUT },
		{ "smtp-url", required_argument, NULL, O_SMTP },
		{ "no-starttls", no_argument, NULL, O_NOSTARTTLS },
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "to-owner", no_argument, NULL, O_TOOWNER },
		{ "address", required_argument, NULL, O_ADDRESS },
		{ "app-name", required_argument, NULL, O_APP },
		{ "facility", required_argument, NULL, O_FACILITY },
		{ "path", required_argument, NULL, O_PATH },
		{ "no-resolved", no_argument, NULL, O_NORESOLVED },
		{ NULL, 0, NULL, 0 },
	};
	static char *headers[MAX_LIST], *to[MAX_LIST];
	static json_t *roots[MAX_MSGS];
	static struct cl_alert_msg msgs[MAX_MSGS];
	static const struct cl_alert_msg *pm[MAX_MSGS];
	static void *strs[MAX_MSGS];
	struct cl_notifier nt;
	size_t nroots = 0, nmsgs = 0, nsent = 0, i, k;
	char err[1024];
	enum cl_send_rc rc;
	int c, t, status = 64;

	signal(SIGPIPE, SIG_IGN);   /* as the daemon does */
	memset(&nt, 0, sizeof nt);
	nt.name = "test";
	nt.type = CL_NT_COUNT;
	nt.send_resolved = true;
	nt.timeout_ms = 10000;
	nt.starttls = true;
	nt.facility = 1;
	nt.headers.v = headers;
	nt.to.v = to;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_TYPE:
			if ((t = type_of(optarg)) < 0)
				usage();
			nt.type = (enum cl_notifier_type)t;
			break;
		case O_NAME: nt.name = optarg; break;
		case O_URL: nt.url = optarg; break;
		case O_SECRET: nt.secret = optarg; break;
		case O_TOKEN: nt.token = optarg; break;
		case O_RKEY: nt.routing_key = optarg; break;
		case O_USER: nt.username = optarg; break;
		case O_PASS: nt.password = optarg; break;
		case O_TABLE: nt.table = optarg; break;
		case O_PROJECT: nt.project = optarg; break;
		case O_ITYPE: nt.issue_type = optarg; break;
		case O_HEADER:
			if (nt.headers.n == MAX_LIST)
				usage();
			headers[nt.headers.n++] = optarg;
			break;
		case O_CA: nt.ca_bundle = optarg; break;
		case O_TIMEOUT: nt.timeout_ms = atoi(optarg); break;
		case O_SMTP: nt.smtp_url = optarg; break;
		case O_NOSTARTTLS: nt.starttls = false; break;
		case O_FROM: nt.from = optarg; break;
		case O_TO:
			if (nt.to.n == MAX_LIST)
				usage();
			to[nt.to.n++] = optarg;
			break;
		case O_TOOWNER: nt.to_owner = true; break;
		case O_ADDRESS: nt.address = optarg; break;
		case O_APP: nt.app_name = optarg; break;
		case O_FACILITY: nt.facility = atoi(optarg); break;
		case O_PATH: nt.path = optarg; break;
		case O_NORESOLVED: nt.send_resolved = false; break;
		default: usage();
		}
	}
	if (nt.type == CL_NT_COUNT || optind != argc - 1)
		usage();
	if (load(argv[optind], roots, &nroots) != 0)
		goto out;
	for (i = 0; i < nroots; i++) {
		json_t *r = roots[i], *one;
		size_t n = json_is_array(r) ? json_array_size(r) : 1;

		for (k = 0; k < n && nmsgs < MAX_MSGS; k++) {
			one = json_is_array(r) ? json_array_get(r, k) : r;
			if (cl_alert_msg_from_json(&msgs[nmsgs], one, &strs[nmsgs]) != 0) {
				fprintf(stderr, "%s: message %zu is malformed\n", argv[optind],
				        nmsgs + 1);
				goto out;
			}
			pm[nmsgs] = &msgs[nmsgs];
			nmsgs++;
		}
	}
	if (nmsgs == 0) {
		fprintf(stderr, "%s: no messages\n", argv[optind]);
		goto out;
	}
	rc = cl_notify_send(&nt, pm, nmsgs, &nsent, err, sizeof err);
	printf("result=%s nsent=%zu\n",
	       rc == CL_SEND_OK ? "OK" : rc == CL_SEND_RETRY ? "RETRY" : "FAIL", nsent);
	if (rc != CL_SEND_OK)
		printf("error=%s\n", err);
	status = (int)rc;
out:
	for (i = 0; i < nmsgs; i++)
		free(strs[i]);
	for (i = 0; i < nroots; i++)
		json_decref(roots[i]);
	return status;
}
