/* File discovery: walker, parser workers and a batching writer. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include "core/log.h"
#include "core/util.h"
#include "core/queue.h"
#include "discover/files.h"

#define BATCH_WEIGHT 50000            /* files + certificates per transaction */
#define MAX_INFLIGHT_CERTS 8192       /* parsed, not yet written */
#define BATCH_NSEC 500000000L

/* ---- results ------------------------------------------------------------- */

enum outcome {
	OUT_READ,        /* read and examined: lr holds the result */
	OUT_UNREADABLE,  /* open/read failed: err */
	OUT_TOO_LARGE,
	OUT_SKIP,        /* vanished or not a regular file any more */
	OUT_DIR_ERROR,   /* a directory could not be listed: err */
};

struct result {
	enum outcome out;
	char *path;      /* raw bytes as on disk */
	char *where;     /* printable, reversible (cl_escape_bytes) */
	bool bad_name;   /* path is not valid UTF-8 */
	int err;
	off_t size;
	bool looks_cert; /* for too-large files: worth a finding */
	int mode;
	long uid;
	struct cl_load_result lr;
};

static void result_free(struct result *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->where);
	cl_load_result_free(&r->lr);
	free(r);
}

static struct result *result_new(const char *path, enum outcome out, int err)
{
	struct result *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->out = out;
	r->err = err;
	r->mode = -1;
	r->uid = -1;
	r->path = strdup(path);
	r->where = cl_escape_bytes(path, strlen(path));
	if (!r->path || !r->where) {
		result_free(r);
		return NULL;
	}
	r->bad_name = !cl_utf8_valid(path, strlen(path)) || strchr(path, '\\') != NULL;
	return r;
}

/* ---- shared state ----------------------------------------------------------- */

struct devino {
	dev_t dev;
	ino_t ino;
};

struct disc {
	struct cl_store *s;
	const struct cl_discover_opts *o;
	struct cl_discover_stats *st;
	struct cl_queue jobs, results;
	int64_t run_id, now;
	int store_rc;           /* first store error; stops the writer */
	volatile long walked;   /* files queued */
	struct timespec t0;
	/* targets with open file.* findings when the run started (sorted) */
	char **open_targets;
	size_t nopen, capopen;
	/* visited (dev, ino) of files and directories */
	struct devino *seen;
	size_t nseen, capseen;
};

static double elapsed(const struct disc *d)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - d->t0.tv_sec) + (double)(t.tv_nsec - d->t0.tv_nsec) / 1e9;
}

static bool stopping(const struct disc *d)
{
	return (d->o->stop && *d->o->stop) || d->store_rc != CL_OK;
}

/* ---- workers -------------------------------------------------------------- */

static bool peek_looks_cert(int fd, const char *path)
{
	unsigned char buf[4096];
	ssize_t n = pread(fd, buf, sizeof buf, 0);

	if (cl_load_name_suggests_cert(path))
		return true;
	if (n <= 0)
		return false;
	if (memmem(buf, (size_t)n, "-----BEGIN ", 11))
		return true;
	if (n >= 4 && (buf[0] == 0xfe || buf[0] == 0xce) && buf[1] == buf[0] &&
	    buf[2] == buf[0] && buf[3] == buf[0])
		return true;
	return false;
}

static struct result *examine(struct disc *d, const char *path)
{
	struct result *r = result_new(path, OUT_READ, 0);
	unsigned char *buf = NULL;
	struct stat sb;
	size_t got = 0;
	ssize_t n;
	int fd;

	if (!r)
		return NULL;
	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r->out = errno == ENOENT ? OUT_SKIP : OUT_UNREADABLE;
		r->err = errno;
		return r;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		r->out = OUT_SKIP;
		goto out;
	}
	r->mode = (int)(sb.st_mode & 07777);
	r->uid = (long)sb.st_uid;
	r->size = sb.st_size;
	if ((size_t)sb.st_size > d->o->max_file_size) {
		r->out = OUT_TOO_LARGE;
		r->looks_cert = peek_looks_cert(fd, path);
		goto out;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		r->out = OUT_UNREADABLE;
		r->err = ENOMEM;
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->out = OUT_UNREADABLE;
			r->err = errno;
			goto out;
		}
		if (n == 0)
			break;  /* shrank while we read: take what is there */
		got += (size_t)n;
	}
	cl_load_buffer(buf, got, d->o->load, &r->lr);
out:
	if (buf) {
		/* the buffer may have held private keys, even malformed ones */
		OPENSSL_cleanse(buf, got);
		free(buf);
	}
	close(fd);
	return r;
}

static void *worker_main(void *arg)
{
	struct disc *d = arg;
	void *paths[16];

	pthread_setname_np(pthread_self(), "cl-parse");
	size_t n, i;

	while ((n = cl_queue_pop(&d->jobs, paths, CL_ARRAY_LEN(paths), NULL, NULL)) > 0) {
		for (i = 0; i < n; i++) {
			struct result *r = stopping(d) ? NULL : examine(d, paths[i]);
			free(paths[i]);
			if (r)
				cl_queue_push(&d->results, r, 1 + r->lr.ncerts);
		}
	}
	return NULL;
}

/* ---- writer --------------------------------------------------------------- */

static void warn_file(struct disc *d, const char *where, const char *fmt, ...) CL_PRINTF(3, 4);
static void warn_file(struct disc *d, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (d->o->quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (d->o->progress)
		fputs("\r\033[K", stderr);
	cl_log(CL_LOG_WARN, "%s: %s", where, msg);
}

static int collect_target(void *arg, const struct cl_finding_row *f)
{
	struct disc *d = arg;

	if (CL_GROW(d->open_targets, d->capopen, d->nopen + 1) != CL_OK)
		return CL_ERR_NOMEM;
	if (!(d->open_targets[d->nopen] = strdup(f->target)))
		return CL_ERR_NOMEM;
	d->nopen++;
	return CL_OK;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Resolves the target's file.* findings not raised in this run. Only
 * targets that had open findings when the run started can have any (the
 * rest were all raised now), which saves a query per file.
 */
static int settle(struct disc *d, const char *target)
{
	const char *key = target;

	if (!d->nopen || !bsearch(&key, d->open_targets, d->nopen, sizeof *d->open_targets,
	                          strp_cmp))
		return CL_OK;
	return cl_store_finding_settle(d->s, d->run_id, "file.", target, d->now);
}

static int finding(struct disc *d, const char *rule, const char *sev, const char *target,
                 const char *fp, const char *msg)
{
	return cl_store_finding_raise(d->s, d->run_id, rule, sev, target, fp, msg, d->now, NULL);
}

static int record(struct disc *d, struct result *r)
{
	struct cl_discover_stats *st = d->st;
	char target[PATH_MAX + 16], msg[512], fp[2 * CL_SHA256_LEN + 1];
	long ngone = 0;
	size_t i;
	int rc = CL_OK;

	snprintf(target, sizeof target, "file:%s", r->where);
	switch (r->out) {
	case OUT_SKIP:
		st->skipped++;
		return CL_OK;
	case OUT_DIR_ERROR:
	case OUT_UNREADABLE:
		st->unreadable++;
		snprintf(msg, sizeof msg, "cannot %s: %s", r->out == OUT_DIR_ERROR ? "list directory"
		         : "read", strerror(r->err));
		warn_file(d, r->where, "%s", msg);
		if (r->err == ENOENT)
			return CL_OK;  /* a root that does not exist: nothing there to track */
		if ((rc = finding(d, "file.unreadable", "warning", target, NULL, msg)) != CL_OK)
			return rc;
		return settle(d, target);
	case OUT_TOO_LARGE:
		if (!r->looks_cert) {
			st->skipped++;
			return CL_OK;
		}
		st->problems++;
		snprintf(msg, sizeof msg, "too large, skipped: %lld bytes is more than --max-file-size %zu",
		         (long long)r->size, d->o->max_file_size);
		warn_file(d, r->where, "%s", msg);
		if ((rc = finding(d, "file.too-large", "warning", target, NULL, msg)) != CL_OK)
			return rc;
		return settle(d, target);
	case OUT_READ:
		break;
	}
	st->read++;
	if (r->bad_name && (r->lr.ncerts || r->lr.nkeys || r->lr.format)) {
		snprintf(msg, sizeof msg, "file name is not valid UTF-8; recorded as \"%s\"", r->where);
		warn_file(d, r->where, "%s", msg);
		if ((rc = finding(d, "file.name-encoding", "info", target, NULL, msg)) != CL_OK)
			return rc;
	}
	for (i = 0; i < r->lr.ncerts; i++) {
		unsigned what = 0;
		if ((rc = cl_store_observe_cert(d->s, d->run_id, r->lr.certs[i].cert, "file", r->where,
		                                r->lr.certs[i].detail, d->now, &what)) != CL_OK)
			return rc;
		st->certs++;
		if (what & CL_OBS_NEW_CERT)
			st->certs_new++;
		else
			st->certs_seen++;
		if (what & (CL_OBS_NEW_SIGHTING | CL_OBS_BACK))
			st->sightings_new++;
	}
	for (i = 0; i < r->lr.nkeys; i++) {
		const struct cl_found_key *k = &r->lr.keys[i];
		struct cl_key_obs ko = {
			.spki_sha256 = k->have_spki ? fp : NULL,
			.key_type = k->key_type[0] ? k->key_type : NULL,
			.key_bits = k->key_bits, .encrypted = k->encrypted,
			.mode = r->mode, .uid = r->uid, .container = k->container,
		};
		if (k->have_spki)
			cl_hex(fp, k->spki_sha256, CL_SHA256_LEN);
		if ((rc = cl_store_observe_key(d->s, d->run_id, &ko, "file", r->where, d->now,
		                               NULL)) != CL_OK)
			return rc;
		st->keys++;
	}
	if (r->lr.nkeys && r->mode >= 0 && (r->mode & 044)) {
		bool clear = false;
		for (i = 0; i < r->lr.nkeys; i++)
			clear |= !r->lr.keys[i].encrypted;
		snprintf(msg, sizeof msg, "%sprivate key readable by %s (mode %04o); chmod 600",
		         clear ? "" : "encrypted ", (r->mode & 04) ? "everyone" : "its group",
		         r->mode);
		warn_file(d, r->where, "%s", msg);
		st->problems++;
		/* an unencrypted key for everyone to copy is the worst case */
		if ((rc = finding(d, "file.key-readable",
		                  clear && (r->mode & 04) ? "error" : "warning", target, NULL, msg))
		    != CL_OK)
			return rc;
	}
	if (r->lr.status != CL_OK) {
		const char *rule = r->lr.status == CL_ERR_LOCKED ? "file.locked" :
		                   r->lr.status == CL_ERR_PASSWORD ? "file.wrong-password" :
		                   "file.malformed";
		st->problems++;
		warn_file(d, r->where, "%s", r->lr.problem);
		if ((rc = finding(d, rule, r->lr.status == CL_ERR_PARSE ? "warning" : "info", target,
		                NULL, r->lr.problem)) != CL_OK)
			return rc;
	} else if (!r->lr.format && !r->lr.nother &&
	           (cl_load_name_suggests_cert(r->path) || r->bad_name)) {
		st->problems++;
		warn_file(d, r->where, "%s", r->lr.problem);
		if ((rc = finding(d, "file.unrecognized", "warning", target, NULL, r->lr.problem))
		    != CL_OK)
			return rc;
	}
	/* a locked or unreadable store says nothing about what left it */
	if (r->lr.status != CL_ERR_LOCKED && r->lr.status != CL_ERR_PASSWORD &&
	    r->lr.status != CL_ERR_NOMEM) {
		if ((rc = cl_store_location_done(d->s, d->run_id, "file", r->where, d->now,
		                                 &ngone)) != CL_OK)
			return rc;
		st->gone += ngone;
	}
	return settle(d, target);
}

static void progress(struct disc *d, bool final)
{
	const struct cl_discover_stats *st = d->st;
	double t = elapsed(d);

	if (!d->o->progress)
		return;
	if (final) {
		fputs("\r\033[K", stderr);
		return;
	}
	fprintf(stderr, "\r\033[Kdiscover: %ld/%ld files, %ld certificates (%ld new), %.0f files/s",
	        st->read + st->unreadable + st->problems, d->walked, st->certs, st->certs_new,
	        t > 0 ? (double)(st->read) / t : 0.0);
	fflush(stderr);
}

static void *writer_main(void *arg)
{
	struct disc *d = arg;
	struct timespec deadline, last = { 0 }, now;

	pthread_setname_np(pthread_self(), "cl-write");
	void *batch[64];
	bool in_txn = false, timed_out;
	long pending = 0;
	size_t n, i;
	int rc;

	for (;;) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += BATCH_NSEC / 5;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		n = cl_queue_pop(&d->results, batch, CL_ARRAY_LEN(batch), &deadline, &timed_out);
		if (n == 0 && in_txn) {
			if ((rc = cl_store_commit(d->s)) != CL_OK && d->store_rc == CL_OK)
				d->store_rc = rc;
			in_txn = false;
			pending = 0;
		}
		if (n == 0) {
			if (timed_out)
				continue;
			break;
		}
		for (i = 0; i < n; i++) {
			struct result *r = batch[i];
			if (d->store_rc == CL_OK) {
				if (!in_txn) {
					if ((rc = cl_store_begin(d->s)) != CL_OK)
						d->store_rc = rc;
					else
						in_txn = true;
				}
				if (d->store_rc == CL_OK && (rc = record(d, r)) != CL_OK) {
					d->store_rc = rc;
					cl_store_rollback(d->s);
					in_txn = false;
				}
				pending += 1 + (long)r->lr.ncerts;
				if (in_txn && pending >= BATCH_WEIGHT) {
					if ((rc = cl_store_commit(d->s)) != CL_OK && d->store_rc == CL_OK)
						d->store_rc = rc;
					in_txn = false;
					pending = 0;
				}
			}
			result_free(r);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (d->o->progress && (now.tv_sec - last.tv_sec) * 1000000000L +
		    (now.tv_nsec - last.tv_nsec) > 200000000L) {
			progress(d, false);
			last = now;
		}
	}
	if (in_txn && (rc = cl_store_commit(d->s)) != CL_OK && d->store_rc == CL_OK)
		d->store_rc = rc;
	progress(d, true);
	return NULL;
}

/* ---- walker ---------------------------------------------------------------- */

static bool seen_add(struct disc *d, dev_t dev, ino_t ino)
{
	size_t i, h, cap;

	if (d->nseen * 2 >= d->capseen) {
		cap = d->capseen ? d->capseen * 2 : 4096;
		struct devino *n = calloc(cap, sizeof *n);
		if (!n)
			return true;  /* cannot remember: treat as new */
		for (i = 0; i < d->capseen; i++) {
			if (d->seen[i].dev == 0 && d->seen[i].ino == 0)
				continue;
			h = ((size_t)d->seen[i].ino * 0x9e3779b97f4a7c15ULL ^ (size_t)d->seen[i].dev) &
			    (cap - 1);
			while (n[h].ino || n[h].dev)
				h = (h + 1) & (cap - 1);
			n[h] = d->seen[i];
		}
		free(d->seen);
		d->seen = n;
		d->capseen = cap;
	}
	h = ((size_t)ino * 0x9e3779b97f4a7c15ULL ^ (size_t)dev) & (d->capseen - 1);
	while (d->seen[h].ino || d->seen[h].dev) {
		if (d->seen[h].ino == ino && d->seen[h].dev == dev)
			return false;
		h = (h + 1) & (d->capseen - 1);
	}
	d->seen[h].dev = dev;
	d->seen[h].ino = ino;
	d->nseen++;
	return true;
}

static bool pseudo_fs(const char *path)
{
	static const unsigned long magic[] = {
		0x9fa0,     /* proc */       0x62656572, /* sysfs */   0x1cd1,     /* devpts */
		0x27e0eb,   /* cgroup */     0x63677270, /* cgroup2 */ 0x64626720, /* debugfs */
		0x74726163, /* tracefs */    0x73636673, /* securityfs */ 0x6165676c, /* pstore */
		0xcafe4a11, /* bpf */        0x62656570, /* configfs */ 0x65735543, /* fusectl */
		0x19800202, /* mqueue */     0x958458f6, /* hugetlbfs */ 0x42494e4d, /* binfmt */
		0xf97cff8c, /* selinux */    0xde5e81e4, /* efivarfs */ 0x6e736673, /* nsfs */
		0x0187,     /* autofs */
	};
	struct statfs sf;
	size_t i;

	if (statfs(path, &sf) != 0)
		return false;
	for (i = 0; i < CL_ARRAY_LEN(magic); i++)
		if ((unsigned long)sf.f_type == magic[i])
			return true;
	return false;
}

static bool excluded(const struct cl_discover_opts *o, const char *path, const char *base)
{
	size_t i;

	for (i = 0; i < o->nexcludes; i++)
		if (fnmatch(o->excludes[i], path, 0) == 0 || fnmatch(o->excludes[i], base, 0) == 0)
			return true;
	return false;
}

static void report_dir_error(struct disc *d, const char *path, int err)
{
	struct result *r = result_new(path, OUT_DIR_ERROR, err);

	if (r)
		cl_queue_push(&d->results, r, 1);
}

static void enqueue_file(struct disc *d, const char *path)
{
	char *p = strdup(path);

	if (!p)
		return;
	/* (jobs are handed to workers in small batches) */
	d->walked++;
	d->st->files++;
	cl_queue_push(&d->jobs, p, 1);
}

struct dir_entry {
	char *path;
	int depth;
};

struct dirent_stack {
	struct dir_entry *e;
	size_t n, cap;
};

static int stack_push(struct dirent_stack *s, const char *path, int depth)
{
	char *p;

	if (CL_GROW(s->e, s->cap, s->n + 1) != CL_OK || !(p = strdup(path)))
		return -1;
	s->e[s->n++] = (struct dir_entry){ p, depth };
	return 0;
}

/*
 * Classifies one directory entry (or root) and queues it. path is a real
 * path (no symlink components) unless the entry itself is a symlink.
 */
static void visit(struct disc *d, struct dirent_stack *stk, const char *path,
                  unsigned char dtype, dev_t parent_dev, int depth)
{
	struct stat sb;
	char real[PATH_MAX];

	if (dtype == DT_LNK || dtype == DT_UNKNOWN) {
		if (stat(path, &sb) != 0) {
			if (dtype == DT_UNKNOWN)
				d->st->skipped++;
			return;  /* dangling symlink: nothing to read */
		}
		if (dtype == DT_LNK) {
			if (!realpath(path, real))
				return;
			path = real;
		}
	} else if (dtype == DT_DIR) {
		if (lstat(path, &sb) != 0)
			return;
	} else if (dtype == DT_REG) {
		if (lstat(path, &sb) != 0)
			return;
	} else {
		d->st->skipped++;  /* FIFO, socket, device: never opened */
		return;
	}
	if (S_ISDIR(sb.st_mode)) {
		if (d->o->max_depth >= 0 && depth > d->o->max_depth) {
			d->st->skipped++;
			return;
		}
		if (!seen_add(d, sb.st_dev, sb.st_ino))
			return;  /* symlink loop or already walked */
		if (sb.st_dev != parent_dev && pseudo_fs(path)) {
			d->st->skipped++;
			return;
		}
		if (stack_push(stk, path, depth) != 0)
			d->st->skipped++;
	} else if (S_ISREG(sb.st_mode)) {
		if (seen_add(d, sb.st_dev, sb.st_ino))
			enqueue_file(d, path);
	} else {
		d->st->skipped++;
	}
}

static void walk_root(struct disc *d, const char *root)
{
	struct dirent_stack stk = { 0 };
	char path[PATH_MAX];
	struct stat sb;

	if (stat(root, &sb) != 0) {
		report_dir_error(d, root, errno);
		return;
	}
	if (!S_ISDIR(sb.st_mode)) {
		visit(d, &stk, root, S_ISREG(sb.st_mode) ? DT_REG : DT_UNKNOWN, sb.st_dev, 0);
		return;
	}
	if (pseudo_fs(root)) {
		cl_log(CL_LOG_WARN, "%s: a pseudo file system (proc, sys, ...); skipped", root);
		d->st->skipped++;
		return;
	}
	seen_add(d, sb.st_dev, sb.st_ino);
	stack_push(&stk, root, 0);
	while (stk.n > 0 && !stopping(d)) {
		char *dir = stk.e[--stk.n].path;
		int depth = stk.e[stk.n].depth;
		struct dirent *e;
		struct stat ds;
		DIR *dh;

		if ((dh = opendir(dir)) == NULL) {
			report_dir_error(d, dir, errno);
			free(dir);
			continue;
		}
		if (fstat(dirfd(dh), &ds) != 0)
			ds.st_dev = 0;
		while ((e = readdir(dh)) != NULL && !stopping(d)) {
			if (e->d_name[0] == '.' && (e->d_name[1] == '\0' ||
			    (e->d_name[1] == '.' && e->d_name[2] == '\0')))
				continue;
			if (snprintf(path, sizeof path, "%s%s%s", dir,
			             dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name) >= (int)sizeof path)
				continue;
			if (excluded(d->o, path, e->d_name)) {
				d->st->skipped++;
				continue;
			}
			visit(d, &stk, path, e->d_type, ds.st_dev, depth + 1);
		}
		closedir(dh);
		free(dir);
	}
	while (stk.n > 0)
		free(stk.e[--stk.n].path);
	free(stk.e);
}

/* ---- sweep ------------------------------------------------------------------ */

static bool file_exists(void *arg, const char *kind, const char *where)
{
	struct stat sb;
	char *raw;
	bool ok;

	(void)arg;
	if (strcmp(kind, "file") != 0)
		return true;
	if (!(raw = cl_unescape_bytes(where)))
		return true;
	ok = lstat(raw, &sb) == 0 || (errno != ENOENT && errno != ENOTDIR);
	free(raw);
	return ok;
}

/* ---- entry point ---------------------------------------------------------------- */

int cl_discover_files(struct cl_store *s, const char *const *roots, size_t nroots,
                      const struct cl_discover_opts *o, struct cl_discover_stats *st)
{
	struct disc d;
	pthread_t writer, *workers = NULL;
	char **real = NULL;
	int nworkers = o->workers, i, rc;
	size_t r;
	json_t *stats;
	char *sj;

	memset(st, 0, sizeof *st);
	memset(&d, 0, sizeof d);
	d.s = s;
	d.o = o;
	d.st = st;
	d.now = cl_now();
	clock_gettime(CLOCK_MONOTONIC, &d.t0);
	cl_load_init();
	if (nworkers <= 0)
		nworkers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nworkers <= 0)
		nworkers = 1;
	if (nworkers > 64)
		nworkers = 64;
	{
		struct cl_finding_filter ff = { .rule = "file.*", .target = "file:*" };
		if ((rc = cl_store_findings(s, &ff, collect_target, &d)) != CL_OK)
			return rc;
		if (d.nopen)
			qsort(d.open_targets, d.nopen, sizeof *d.open_targets, strp_cmp);
	}
	if ((rc = cl_store_run_begin(s, "discover-files", o->args, d.now, &d.run_id)) != CL_OK)
		return rc;
	cl_queue_init(&d.jobs, 16, 0);
	cl_queue_init(&d.results, 32, MAX_INFLIGHT_CERTS);
	if (!(workers = calloc((size_t)nworkers, sizeof *workers)) ||
	    !(real = calloc(nroots ? nroots : 1, sizeof *real))) {
		free(workers);
		cl_queue_destroy(&d.jobs);
		cl_queue_destroy(&d.results);
		cl_log(CL_LOG_ERROR, "out of memory");
		return CL_ERR_NOMEM;
	}
	pthread_create(&writer, NULL, writer_main, &d);
	for (i = 0; i < nworkers; i++)
		pthread_create(&workers[i], NULL, worker_main, &d);
	for (r = 0; r < nroots && !stopping(&d); r++) {
		char buf[PATH_MAX];
		if (!realpath(roots[r], buf)) {
			int err = errno;
			report_dir_error(&d, roots[r], err);
			/* a root that was removed: what was recorded below it is gone */
			if (err == ENOENT && roots[r][0] == '/' && !strstr(roots[r], "/.") &&
			    !strstr(roots[r], "//"))
				real[r] = strdup(roots[r]);
			continue;
		}
		real[r] = strdup(buf);
		walk_root(&d, buf);
	}
	cl_queue_close(&d.jobs);
	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	cl_queue_close(&d.results);
	pthread_join(writer, NULL);
	st->interrupted = o->stop && *o->stop;
	rc = d.store_rc;
	/* only a complete walk may conclude that something is gone */
	for (r = 0; rc == CL_OK && !st->interrupted && r < nroots; r++) {
		long ngone = 0;
		if (!real[r])
			continue;
		rc = cl_store_sweep(s, d.run_id, "file", real[r], file_exists, NULL, d.now, &ngone);
		st->gone += ngone;
	}
	st->seconds = elapsed(&d);
	stats = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}",
	                  "files", (json_int_t)st->files, "read", (json_int_t)st->read,
	                  "certificates", (json_int_t)st->certs, "new", (json_int_t)st->certs_new,
	                  "seen", (json_int_t)st->certs_seen, "keys", (json_int_t)st->keys,
	                  "unreadable", (json_int_t)st->unreadable,
	                  "problems", (json_int_t)st->problems, "skipped", (json_int_t)st->skipped,
	                  "gone", (json_int_t)st->gone, "seconds", st->seconds);
	sj = stats ? json_dumps(stats, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	json_decref(stats);
	if (d.store_rc == CL_OK || rc == CL_OK) {
		int rc2 = cl_store_run_end(s, d.run_id, rc != CL_OK ? "failed" :
		                           st->interrupted ? "interrupted" : "ok", sj, cl_now());
		if (rc == CL_OK)
			rc = rc2;
	}
	free(sj);
	for (r = 0; r < nroots; r++)
		free(real[r]);
	free(real);
	free(workers);
	free(d.seen);
	for (r = 0; r < d.nopen; r++)
		free(d.open_targets[r]);
	free(d.open_targets);
	cl_queue_destroy(&d.jobs);
	cl_queue_destroy(&d.results);
	return rc;
}
