/*
 * libFuzzer target for the daemon's configuration: any bytes are either a
 * configuration that keeps its documented invariants, or an error that
 * names the file and a line. Secrets are not resolved (no variable or
 * file is read): each stands for CL_CONFIG_DUMMY_SECRET, which must never
 * appear in a message unless the input holds it itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/cl.h"
#include "serve/config.h"
#include "serve/config_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(const struct cl_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!l->v[i] || !l->v[i][0])
			abort();
}

static void check(const struct cl_config *c)
{
	const struct cl_alert_rules *r = &c->alerts;
	size_t i, k;

	if (!c->path || !c->store || !c->listen)
		abort();
	for (i = 0; i < c->njobs; i++) {
		const struct cl_job *j = &c->jobs[i];
		if (!j->name || j->every < 60 || j->line < 1 ||
		    (j->kind == CL_JOB_FILES ? j->paths.n == 0 : j->targets.n == 0))
			abort();
		for (k = 0; k < i; k++)
			if (strcmp(c->jobs[k].name, j->name) == 0)
				abort();
		check_list(&j->paths);
		check_list(&j->exclude);
		check_list(&j->targets);
		check_list(&j->sni);
		for (int m = -1; m <= 1440; m++)
			(void)cl_window_contains(&j->quiet, m);
	}
	for (i = 0; i < r->ndays; i++)
		if (r->days[i] < 1 || (i && r->days[i] >= r->days[i - 1]))
			abort();
	for (i = 0; i < r->nremaining; i++)
		if (!(r->remaining[i] > 0 && r->remaining[i] < 1) ||
		    (i && r->remaining[i] >= r->remaining[i - 1]))
			abort();
	if (r->renewal_at < 0 || r->renewal_at >= 1 || r->evaluate_every < 60)
		abort();
	for (i = 0; i < c->nnotifiers; i++) {
		const struct cl_notifier *n = &c->notifiers[i];
		if (!n->name || (unsigned)n->type >= CL_NT_COUNT || cl_config_notifier(c, n->name) != n ||
		    cl_notifier_type_parse(cl_notifier_type_name(n->type)) != (int)n->type)
			abort();
		if ((n->type <= CL_NT_JIRA && !n->url) || (n->type == CL_NT_PAGERDUTY && !n->routing_key) ||
		    (n->type == CL_NT_EMAIL && (!n->smtp_url || !n->from)) ||
		    (n->type == CL_NT_SYSLOG && (!n->address || !n->app_name || n->facility > 23)) ||
		    (n->type == CL_NT_JSONL && !n->path))
			abort();
		check_list(&n->to);
		check_list(&n->headers);
	}
	for (i = 0; i < c->nroutes; i++) {
		const struct cl_route *rt = &c->routes[i];
		if (rt->nnotify == 0)
			abort();
		for (k = 0; k < rt->nnotify; k++)
			if (rt->notify[k] >= c->nnotifiers)
				abort();
	}
	if (c->backoff_min > c->backoff_max)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char marker[] = "dummy-7f3a9c";
	struct cl_config *c = NULL;
	char err[700];
	int rc;

	err[0] = '\0';
	rc = cl_config_parse_flags(&c, (const char *)data, size, "fuzz.yaml", CL_CONFIG_NO_SECRETS,
	                           err, sizeof err);
	if (rc != CL_OK) {
		if (c)
			abort();
		if (rc == CL_ERR_PARSE && strncmp(err, "fuzz.yaml:", 10) != 0)
			abort();  /* every error names the file and a line */
		if (strstr(err, marker) && !memmem(data, size, marker, sizeof marker - 1))
			abort();  /* a secret's value leaked into a message */
		return 0;
	}
	check(c);
	cl_config_free(c);
	return 0;
}
