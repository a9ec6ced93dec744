/*
 * File discovery: walks trees, recognises certificate material by
 * content and records it in the inventory.
 *
 * Pipeline: the calling thread walks (never following a symlink into a
 * loop, never opening devices, FIFOs or sockets, skipping pseudo file
 * systems), N worker threads read and parse files, and one writer thread
 * records results in batched transactions. Memory is bounded by the queue
 * sizes, not by the size of the tree.
 */
#ifndef CL_DISCOVER_FILES_H
#define CL_DISCOVER_FILES_H

#include <signal.h>
#include <stdbool.h>
#include "store/store.h"
#include "x509/load.h"

struct cl_discover_opts {
	const char *const *excludes;  /* globs on the full path or the base name */
	size_t nexcludes;
	int max_depth;                /* directories below a root; -1 = unlimited */
	size_t max_file_size;         /* bytes; larger files are skipped */
	int workers;                  /* parser threads; 0 = number of CPUs */
	const struct cl_load_opts *load;
	bool progress;                /* draw a progress line on stderr */
	bool quiet;                   /* no per-file warnings on stderr */
	volatile sig_atomic_t *stop;  /* set asynchronously to stop early (Ctrl-C) */
	const char *args;             /* command line, recorded with the run */
};

struct cl_discover_stats {
	long files;          /* regular files considered */
	long read;           /* files read */
	long certs;          /* certificate occurrences found */
	long certs_new;      /* certificates stored for the first time */
	long certs_seen;     /* already known certificates */
	long sightings_new;  /* new certificate-location pairs */
	long keys;           /* private keys found */
	long unreadable;     /* files/directories that could not be read */
	long problems;       /* malformed, locked, too large, ... (findings) */
	long skipped;        /* excluded, special files, pseudo file systems */
	long gone;           /* certificate/key locations that disappeared */
	bool interrupted;
	double seconds;
};

/* Default --max-file-size: 4 MiB. */
#define CL_DEFAULT_MAX_FILE_SIZE (4u << 20)

/*
 * Discovers every root (file or directory) into s. Per-file problems are
 * reported on stderr and recorded as findings; they do not fail the call.
 * Returns CL_OK (also when interrupted: see st->interrupted; nothing is
 * then marked gone), or a store error (message via cl_store_errmsg).
 */
int cl_discover_files(struct cl_store *s, const char *const *roots, size_t nroots,
                      const struct cl_discover_opts *o, struct cl_discover_stats *st);

#endif
