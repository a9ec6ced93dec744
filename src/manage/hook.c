/*
 * Deploy hooks: a command from the spec run with /bin/sh -c after the
 * files are in place, with a timeout, its output captured for the log.
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
#include "core/util.h"
#include "manage/manage.h"

#define CAPTURE 4096

extern char **environ;

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The environment plus extra entries (NULL on allocation failure). */
static char **make_env(const char *const *extra, size_t nextra)
{
	size_t n = 0, i, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	if (!(env = calloc(n + nextra + 1, sizeof *env)))
		return NULL;
	for (i = 0; i < n; i++) {
		size_t j, klen = strcspn(environ[i], "=");
		bool replaced = false;
		for (j = 0; j < nextra && !replaced; j++)
			replaced = strncmp(extra[j], environ[i], klen) == 0 && extra[j][klen] == '=';
		if (!replaced)
			env[k++] = environ[i];
	}
	for (i = 0; i < nextra; i++)
		env[k++] = (char *)extra[i];
	env[k] = NULL;
	return env;
}

/* Printable copy of the captured bytes: invalid UTF-8 and controls escaped. */
static void sanitize(char *out, size_t outlen, const char *in, size_t n, bool truncated)
{
	char *esc, *p;

	while (n > 0 && (in[n - 1] == '\n' || in[n - 1] == '\r' || in[n - 1] == ' '))
		n--;
	esc = cl_escape_bytes(in, n);
	if (!out || !outlen)
		goto out;
	out[0] = '\0';
	if (!esc)
		goto out;
	for (p = esc; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
			*p = '?';
	snprintf(out, outlen, "%s%s", esc, truncated ? " [...]" : "");
out:
	free(esc);
}

int cl_manage_hook_run(const char *cmd, const char *const *env, size_t nenv, int64_t timeout,
                       char *out, size_t outlen, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dflt;
	char buf[CAPTURE], chunk[1024], **envp = NULL;
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	int pfd[2] = { -1, -1 }, status = 0, rc = CL_ERR;
	int64_t deadline, kill_at = 0;
	size_t got = 0;
	bool truncated = false, exited = false, eof = false, timed_out = false;
	pid_t pid = -1;

	if (out && outlen)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return CL_ERR;
	}
	if (!(envp = make_env(env, nenv))) {
		close(pfd[0]);
		close(pfd[1]);
		snprintf(err, errlen, "out of memory");
		return CL_ERR_NOMEM;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGHUP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dflt);
	posix_spawnattr_setpgroup(&at, 0);   /* its own group: a timeout kills it all */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                              POSIX_SPAWN_SETSIGDEF);
	errno = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(envp);
	close(pfd[1]);
	if (errno != 0) {
		snprintf(err, errlen, "cannot run /bin/sh: %s", strerror(errno));
		close(pfd[0]);
		return CL_ERR;
	}
	deadline = mono_ms() + timeout * 1000;
	while (!exited || !eof) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int64_t now = mono_ms();
		if (!exited) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				exited = true;
		}
		if (exited && eof)
			break;
		if (!timed_out && now >= deadline) {
			timed_out = true;
			kill(-pid, SIGTERM);
			kill_at = now + 2000;
		} else if (timed_out && kill_at && now >= kill_at) {
			kill(-pid, SIGKILL);
			kill_at = 0;
		}
		if (eof || poll(&p, 1, 100) <= 0) {
			if (eof)
				usleep(20000);
			/* the shell is gone, but something it started holds the pipe:
			 * take what is there and stop listening */
			if (exited && !eof && poll(&p, 1, 0) <= 0)
				eof = true;
			continue;
		}
		ssize_t r = read(pfd[0], chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			eof = true;
			continue;
		}
		if (got < sizeof buf) {
			size_t take = (size_t)r < sizeof buf - got ? (size_t)r : sizeof buf - got;
			memcpy(buf + got, chunk, take);
			got += take;
			truncated |= take < (size_t)r;
		} else {
			truncated = true;
		}
	}
	close(pfd[0]);
	sanitize(out, outlen, buf, got, truncated);
	if (timed_out)
		snprintf(err, errlen, "timed out after %llds", (long long)timeout);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = CL_OK;
	else if (WIFEXITED(status))
		snprintf(err, errlen, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(err, errlen, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(err, errlen, "failed");
	return rc;
}
