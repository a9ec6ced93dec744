/*
 * blackhole: TCP listeners that complete the handshake (the kernel does)
 * but never accept or answer, so that every TLS probe against them stays
 * in flight until the prober's own timeout.
 *
 *   blackhole [--addr A] [--backlog B] PORT-PORT
 *
 * Listens on A:PORT for every port of the range (A default 127.0.0.1),
 * listen(fd, B) with B default 65535 (the kernel caps it at
 * net.core.somaxconn).  Raises its RLIMIT_NOFILE soft limit to the hard
 * limit.  Prints "ready ports=N backlog=B" on stdout once all listen, then
 * waits for SIGTERM/SIGINT.
 *
 * A connection the prober gives up on stays in the accept queue (in
 * CLOSE_WAIT) until the listener closes, so count in-flight probes on the
 * prober's side (ss ... dport in the range), not from the queues.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: blackhole [--addr A] [--backlog B] PORT-PORT\n");
	exit(2);
}

static long num(const char *s, long lo, long hi)
{
	char *end;
	long v;
	if (!s)
		usage();
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	long backlog = 65535, lo = 0, hi = -1, n;
	struct rlimit rl;
	struct sigaction act = { .sa_handler = on_signal };
	sigset_t block, old;
	int *fds;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--addr")) {
			if (i + 1 >= argc || inet_pton(AF_INET, argv[++i], &sa.sin_addr) != 1)
				usage();
		} else if (!strcmp(argv[i], "--backlog"))
			backlog = num(i + 1 < argc ? argv[++i] : NULL, 1, 1 << 30);
		else if (hi < 0 && strchr(argv[i], '-') && argv[i][0] != '-') {
			char *dash = strchr(argv[i], '-');
			*dash = 0;
			lo = num(argv[i], 1, 65535);
			hi = num(dash + 1, lo, 65535);
		} else
			usage();
	}
	if (hi < 0)
		usage();
	n = hi - lo + 1;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = calloc((size_t)n, sizeof(*fds));
	if (!fds) {
		perror("calloc");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		int one = 1;
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sa.sin_port = htons((unsigned short)(lo + i));
		if (fds[i] < 0 || setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		    bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fds[i], (int)backlog) != 0) {
			fprintf(stderr, "blackhole: port %ld: %s\n", lo + i, strerror(errno));
			return 1;
		}
	}
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old); /* no lost wake-up between the test and the wait */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	printf("ready ports=%ld backlog=%ld\n", n, backlog);
	fflush(stdout);

	while (!stop)
		sigsuspend(&old);
	return 0;
}
