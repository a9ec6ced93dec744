/*
 * A bounded, weighted multi-producer multi-consumer queue of pointers.
 *
 * Producers block while the queue is full or too heavy (the weight of an
 * item is what it costs in memory, e.g. certificates held), so a pipeline
 * stays bounded however big its input. Consumers take items in batches
 * and are woken in batches: a context switch per item costs more than the
 * item.
 */
#ifndef CL_CORE_QUEUE_H
#define CL_CORE_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define CL_QUEUE_CAP 1024

struct cl_queue {
	void *items[CL_QUEUE_CAP];
	size_t weights[CL_QUEUE_CAP];
	size_t head, len;
	size_t weight, max_weight; /* e.g. certificates held: bounds memory */
	size_t wake_at;        /* wake a waiting consumer once len reaches this */
	int waiting;           /* consumers blocked in queue_pop */
	bool closed;
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
};

/* wake_at: wake a consumer once this many items are queued (0 = 1);
 * max_weight: bound on the summed weights (0 = unbounded). */
void cl_queue_init(struct cl_queue *q, size_t wake_at, size_t max_weight);
void cl_queue_destroy(struct cl_queue *q);

/* Queues item; blocks while the queue is full or (unless empty) too heavy. */
void cl_queue_push(struct cl_queue *q, void *item, size_t weight);

/*
 * Takes up to max items (at least one) into out. Returns the number
 * taken: 0 once the queue is closed and empty, or when deadline
 * (CLOCK_REALTIME; NULL = none) passed with nothing queued (*timed_out
 * set then).
 */
size_t cl_queue_pop(struct cl_queue *q, void **out, size_t max,
                    const struct timespec *deadline, bool *timed_out);

/* Takes up to max items without waiting; returns the number taken. */
size_t cl_queue_trypop(struct cl_queue *q, void **out, size_t max);

/* No more items will be pushed: wakes every consumer. */
void cl_queue_close(struct cl_queue *q);

/* True once closed and drained. */
bool cl_queue_finished(struct cl_queue *q);

#endif
