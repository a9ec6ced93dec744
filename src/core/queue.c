/* Bounded weighted queue: see queue.h. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "core/queue.h"

void cl_queue_init(struct cl_queue *q, size_t wake_at, size_t max_weight)
{
	memset(q, 0, sizeof *q);
	q->wake_at = wake_at ? wake_at : 1;
	q->max_weight = max_weight ? max_weight : SIZE_MAX;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
}

void cl_queue_destroy(struct cl_queue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
}

/* Moves up to max items to out (lock held); wakes blocked producers. */
static size_t take(struct cl_queue *q, void **out, size_t max)
{
	size_t n = 0;

	while (q->len > 0 && n < max) {
		out[n++] = q->items[q->head];
		q->weight -= q->weights[q->head];
		q->head = (q->head + 1) % CL_QUEUE_CAP;
		q->len--;
	}
	if (n)
		pthread_cond_broadcast(&q->not_full);
	return n;
}

/* Worth waking a consumer: enough items, or heavy enough that producers
 * may be about to block on the weight limit. */
static bool queue_ready(const struct cl_queue *q)
{
	return q->len >= q->wake_at || (q->len > 0 && q->weight >= q->max_weight / 2);
}

void cl_queue_push(struct cl_queue *q, void *item, size_t weight)
{
	size_t slot;

	pthread_mutex_lock(&q->mu);
	while (q->len == CL_QUEUE_CAP || (q->len > 0 && q->weight + weight > q->max_weight))
		pthread_cond_wait(&q->not_full, &q->mu);
	slot = (q->head + q->len++) % CL_QUEUE_CAP;
	q->items[slot] = item;
	q->weights[slot] = weight;
	q->weight += weight;
	/* batch wake-ups: a context switch per item costs more than the item */
	if (q->waiting && queue_ready(q))
		pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
}

size_t cl_queue_pop(struct cl_queue *q, void **out, size_t max,
                        const struct timespec *deadline, bool *timed_out)
{
	size_t n = 0;

	if (timed_out)
		*timed_out = false;
	pthread_mutex_lock(&q->mu);
	while (!queue_ready(q) && !q->closed) {
		int rc;
		q->waiting++;
		rc = deadline ? pthread_cond_timedwait(&q->not_empty, &q->mu, deadline)
		              : pthread_cond_wait(&q->not_empty, &q->mu);
		q->waiting--;
		if (rc == ETIMEDOUT) {
			if (q->len == 0 && timed_out)
				*timed_out = !q->closed;
			break;
		}
	}
	n = take(q, out, max);
	if (q->waiting && queue_ready(q))
		pthread_cond_signal(&q->not_empty);  /* pass the baton */
	pthread_mutex_unlock(&q->mu);
	return n;
}

void cl_queue_close(struct cl_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
}

size_t cl_queue_trypop(struct cl_queue *q, void **out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&q->mu);
	n = take(q, out, max);
	pthread_mutex_unlock(&q->mu);
	return n;
}

bool cl_queue_finished(struct cl_queue *q)
{
	bool done;

	pthread_mutex_lock(&q->mu);
	done = q->closed && q->len == 0;
	pthread_mutex_unlock(&q->mu);
	return done;
}
