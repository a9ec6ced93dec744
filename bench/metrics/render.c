/*
 * render: times cl_metrics_render (the /metrics page of certledger serve)
 * on an existing inventory, writing the text to standard output.
 *
 *   render --db PATH [--max-series N] [--runs R] [--jobs J] [--mem] > /dev/null
 *
 * The store is opened once (read-only) and kept, as the daemon does.
 * Prints one key=value line per run on standard error (wall and CPU
 * seconds, bytes, lines, emit calls) and at the end the best and mean wall
 * times, the best CPU time and the peak RSS of the process (which counts the pages of the database file that
 * SQLite maps). With --mem, every 8th emit call also samples RssAnon
 * from /proc/self/status (heap: the renderer's buffers and SQLite's
 * sorter) and the largest value is printed: use it in an untimed run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "serve/metrics.h"

struct sink {
	size_t bytes, calls, lines;
	int mem;
	long anon_kib;      /* largest RssAnon seen */
};

static long rss_anon_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "RssAnon: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int sink_emit(void *arg, const char *data, size_t len)
{
	struct sink *k = arg;
	size_t off = 0;

	k->bytes += len;
	k->calls++;
	if (k->mem && k->calls % 8 == 1) {
		long a = rss_anon_kib();
		if (a > k->anon_kib)
			k->anon_kib = a;
	}
	for (const char *p = data; (p = memchr(p, '\n', len - (size_t)(p - data))); p++)
		k->lines++;
	while (off < len) {
		ssize_t n = write(1, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CL_ERR_IO;
		off += (size_t)n;
	}
	return CL_OK;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct cl_job_metrics jobs[16];
	struct cl_metrics_in in;
	struct cl_store *s = NULL;
	struct rusage ru;
	const char *db = NULL;
	char err[512];
	double best = 0, sum = 0, best_cpu = 0;
	long max_series = 0;
	int runs = 3, njobs = 2, mem = 0, i, rc;
	long anon = -1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--max-series") == 0 && i + 1 < argc)
			max_series = atol(argv[++i]);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
			njobs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--mem") == 0)
			mem = 1;
		else {
			fprintf(stderr, "usage: render --db PATH [--max-series N] [--runs R]"
			        " [--jobs J] [--mem] > /dev/null\n");
			return 2;
		}
	}
	if (!db || runs < 1 || njobs < 0 || njobs > 16) {
		fprintf(stderr, "render: --db is required; 1 <= runs, 0 <= jobs <= 16\n");
		return 2;
	}
	if ((rc = cl_store_open(&s, db, CL_STORE_RDONLY, err, sizeof err)) != CL_OK) {
		fprintf(stderr, "render: %s\n", err);
		return 1;
	}
	memset(jobs, 0, sizeof jobs);
	for (i = 0; i < njobs; i++) {
		jobs[i].name = i % 2 ? "edge-endpoints" : "etc-tls";
		jobs[i].kind = i % 2 ? "net" : "files";
		jobs[i].last_start = jobs[i].last_end = jobs[i].last_success = time(NULL) - 600;
		jobs[i].last_seconds = 4.2;
		jobs[i].runs = 7;
	}
	memset(&in, 0, sizeof in);
	in.jobs = jobs;
	in.njobs = (size_t)njobs;
	in.max_series = max_series;
	in.now = time(NULL);
	in.started = in.now - 3600;
	in.eval_last = in.now - 60;
	in.eval_seconds = 0.25;
	for (i = 0; i < runs; i++) {
		struct sink k = { 0, 0, 0, mem, -1 };
		double t0 = now_s(), c0 = cpu_s(), t, c;

		if ((rc = cl_metrics_render(s, &in, sink_emit, &k)) != CL_OK) {
			fprintf(stderr, "render: %s (%s)\n", cl_strerror(rc), cl_store_errmsg(s));
			cl_store_close(s);
			return 1;
		}
		t = now_s() - t0;
		c = cpu_s() - c0;
		if (i == 0 || c < best_cpu)
			best_cpu = c;
		if (k.anon_kib > anon)
			anon = k.anon_kib;
		sum += t;
		if (i == 0 || t < best)
			best = t;
		fprintf(stderr, "run=%d seconds=%.3f cpu_seconds=%.3f bytes=%zu lines=%zu"
		        " emit_calls=%zu\n", i + 1, t, c, k.bytes, k.lines, k.calls);
	}
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "best_seconds=%.3f mean_seconds=%.3f best_cpu_seconds=%.3f"
	        " peak_rss_kib=%ld", best, sum / runs, best_cpu, ru.ru_maxrss);
	if (mem)
		fprintf(stderr, " peak_anon_kib=%ld", anon);
	fprintf(stderr, "\n");
	cl_store_close(s);
	return 0;
}
