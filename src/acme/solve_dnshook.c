/*
 * DNS-01 through a hook command: "HOOK present|cleanup DOMAIN TOKEN VALUE"
 * run with posix_spawn (an argv array, never a shell), stdin /dev/null,
 * stdout and stderr captured (the start quoted in errors), in a process
 * group of its own that is killed when it overruns its time. DOMAIN,
 * TOKEN and VALUE are checked before anything runs (LDH labels, base64url).
 * The contract is documented in docs/acme.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "acme/acme_int.h"

#define DEFAULT_TIMEOUT_S 120
#define KEEP_OUTPUT 400
#define KILL_GRACE_MS 2000

extern char **environ;

struct hook {
	char *path;
	int timeout_s;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for pid until deadline (ms). Returns true with *status when it ended. */
static bool reap(pid_t pid, int64_t deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		struct timespec ts = { 0, 20 * 1000000L };

		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR) {
			*status = -1;
			return true;
		}
		if (mono_ms() >= deadline)
			return false;
		nanosleep(&ts, NULL);
	}
}

static int run(const struct hook *h, const char *verb, const struct cl_acme_chall *c, char *err,
               size_t errlen)
{
	char *argv[6], out[KEEP_OUTPUT + 1], shown[KEEP_OUTPUT + 1], drain[512];
	const char *domain = c->identifier;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, defs;
	int pfd[2] = { -1, -1 }, status = 0, rc = CL_ERR;
	size_t kept = 0;
	int64_t deadline;
	bool fa_ok = false, at_ok = false, ended = false, eof = false;
	pid_t pid = -1;

	if (c->id_type != CL_ACME_ID_DNS || !cl_acme_dns_name_ok(domain, true, true)) {
		cl_acme_errf(err, errlen, "the domain is not a DNS name of LDH labels");
		return CL_ERR_PARSE;
	}
	if (domain[0] == '*')
		domain += 2;
	if (!cl_acme_is_b64url(c->token, 256) || !cl_acme_is_b64url(c->txt_value, 64)) {
		cl_acme_errf(err, errlen, "the token or TXT value is not base64url");
		return CL_ERR_PARSE;
	}
	argv[0] = h->path;
	argv[1] = (char *)verb;
	argv[2] = (char *)domain;
	argv[3] = (char *)c->token;
	argv[4] = (char *)c->txt_value;
	argv[5] = NULL;
	if (pipe2(pfd, O_CLOEXEC) != 0 || posix_spawn_file_actions_init(&fa) != 0) {
		cl_acme_errf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	fa_ok = true;
	if (posix_spawnattr_init(&at) != 0) {
		cl_acme_errf(err, errlen, "cannot set up the hook's process");
		goto out;
	}
	at_ok = true;
	sigemptyset(&none);
	sigemptyset(&defs);
	sigaddset(&defs, SIGPIPE);
	sigaddset(&defs, SIGINT);
	sigaddset(&defs, SIGTERM);
	sigaddset(&defs, SIGHUP);
	sigaddset(&defs, SIGQUIT);
	sigaddset(&defs, SIGCHLD);
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2) != 0 ||
	    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                      POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawnattr_setpgroup(&at, 0) != 0 || posix_spawnattr_setsigmask(&at, &none) != 0 ||
	    posix_spawnattr_setsigdefault(&at, &defs) != 0) {
		cl_acme_errf(err, errlen, "cannot set up the hook's process");
		goto out;
	}
	if ((errno = posix_spawnp(&pid, h->path, &fa, &at, argv, environ)) != 0) {
		cl_acme_errf(err, errlen, "cannot run %s: %s", h->path, strerror(errno));
		pid = -1;
		goto out;
	}
	close(pfd[1]);
	pfd[1] = -1;
	deadline = mono_ms() + (int64_t)h->timeout_s * 1000;
	/* read its output until it ends (and the pipe is drained) or time is up */
	for (;;) {
		int64_t left = deadline - mono_ms();

		if ((ended && eof) || left <= 0)
			break;
		if (!eof) {
			struct pollfd p = { pfd[0], POLLIN, 0 };

			if (poll(&p, 1, left > 50 ? 50 : (int)left) > 0) {
				ssize_t n = read(pfd[0], drain, sizeof drain);

				if (n > 0) {
					size_t take = (size_t)n < KEEP_OUTPUT - kept ? (size_t)n
					                                             : KEEP_OUTPUT - kept;

					memcpy(out + kept, drain, take);
					kept += take;
				} else if (n == 0 || errno != EINTR) {
					eof = true;
				}
			}
		} else {
			struct timespec ts = { 0, 20 * 1000000L };

			nanosleep(&ts, NULL);
		}
		if (!ended) {
			pid_t r = waitpid(pid, &status, WNOHANG);

			if (r == pid || (r < 0 && errno != EINTR)) {
				ended = true;
				if (r < 0)
					status = -1;
				/* what is left in the pipe; a daemonised child may hold it open */
				if (mono_ms() + 200 < deadline)
					deadline = mono_ms() + 200;
			}
		}
	}
	out[kept] = '\0';
	cl_acme_sanitize(shown, sizeof shown, out, kept);
	if (!ended && !reap(pid, deadline, &status)) {
		kill(-pid, SIGTERM);
		if (!reap(pid, mono_ms() + KILL_GRACE_MS, &status)) {
			kill(-pid, SIGKILL);
			(void)reap(pid, mono_ms() + KILL_GRACE_MS, &status);
		}
		cl_acme_errf(err, errlen, "%s %s timed out after %d s%s%s", h->path, verb, h->timeout_s,
		             shown[0] ? ": " : "", shown);
		pid = -1;
		goto out;
	}
	pid = -1;
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rc = CL_OK;
	} else if (status != -1 && WIFEXITED(status)) {
		cl_acme_errf(err, errlen, "%s %s exited with status %d%s%s", h->path, verb,
		             WEXITSTATUS(status), shown[0] ? ": " : "", shown);
	} else if (status != -1 && WIFSIGNALED(status)) {
		cl_acme_errf(err, errlen, "%s %s was killed by signal %d%s%s", h->path, verb,
		             WTERMSIG(status), shown[0] ? ": " : "", shown);
	} else {
		cl_acme_errf(err, errlen, "%s %s: cannot tell how it ended (is SIGCHLD ignored?)",
		             h->path, verb);
	}
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		(void)reap(pid, mono_ms() + KILL_GRACE_MS, &status);
	}
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	return rc;
}

static int hk_present(void *state, const struct cl_acme_chall *c, char *err, size_t errlen)
{
	return run(state, "present", c, err, errlen);
}

static void hk_cleanup(void *state, const struct cl_acme_chall *c)
{
	char err[64];

	(void)run(state, "cleanup", c, err, sizeof err);
}

static void hk_free(void *state)
{
	struct hook *h = state;

	if (h)
		free(h->path);
	free(h);
}

static const struct cl_acme_solver_ops hook_ops = {
	.name = "dns-01 hook",
	.type = CL_ACME_DNS01,
	.present = hk_present,
	.cleanup = hk_cleanup,
	.free = hk_free,
};

int cl_acme_solver_dns_hook(struct cl_acme_solver **out, const char *hook, int timeout_s)
{
	struct cl_acme_solver *sv;
	struct hook *h;

	*out = NULL;
	if (hook == NULL || hook[0] == '\0' || strlen(hook) > 4000 || timeout_s < 0)
		return CL_ERR_USAGE;
	sv = calloc(1, sizeof *sv);
	h = calloc(1, sizeof *h);
	if (sv == NULL || h == NULL || (h->path = strdup(hook)) == NULL) {
		hk_free(h);
		free(sv);
		return CL_ERR_NOMEM;
	}
	h->timeout_s = timeout_s ? timeout_s : DEFAULT_TIMEOUT_S;
	sv->ops = &hook_ops;
	sv->state = h;
	*out = sv;
	return CL_OK;
}
