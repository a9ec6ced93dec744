/*
 * A gzip writer that compresses on several threads, as pigz does: the
 * input is cut into blocks of 1 MiB, each compressed as raw deflate on a
 * worker thread with the previous block's last 32 KiB as its dictionary
 * and ended on a byte boundary (Z_SYNC_FLUSH), and the blocks are joined
 * in order into one gzip member whose CRC is combined from the blocks'.
 * The result is an ordinary single-member gzip stream that any reader
 * takes; the compression ratio is within a fraction of a percent of one
 * deflate stream.
 *
 * Output that never fills a block is compressed on the calling thread and
 * no thread is started, so small replies cost what plain zlib costs.
 *
 *   cl_pgz_new(&z, threads, level, sink, arg)
 *   cl_pgz_write(z, data, len) ...        (sink is called in order, from
 *   cl_pgz_finish(z)                       the calling thread only)
 *   cl_pgz_free(z)
 */
#ifndef CL_PGZIP_H
#define CL_PGZIP_H

#include <stddef.h>

struct cl_pgz;

/* Receives compressed bytes in order; returns CL_OK or an error that
 * stops the stream. */
typedef int (*cl_pgz_sink)(void *arg, const void *data, size_t len);

/* threads: workers to use at most (1..16); level: zlib's 1..9. */
int cl_pgz_new(struct cl_pgz **out, int threads, int level, cl_pgz_sink sink, void *arg);

/* Adds input. Returns CL_OK, CL_ERR_NOMEM, CL_ERR (zlib) or the sink's error. */
int cl_pgz_write(struct cl_pgz *z, const void *data, size_t len);

/* Compresses what is left and writes the trailer. */
int cl_pgz_finish(struct cl_pgz *z);

/* Stops the workers (after what they are doing) and frees everything. */
void cl_pgz_free(struct cl_pgz *z);

#endif
