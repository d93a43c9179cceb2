/* ratelimit.h - failed authentications per client address.
 *
 * A client that fails authentication `limit` times within a window is
 * answered 429 with Retry-After until the window ends, on every route that
 * takes credentials, so guessing tokens, passwords or signatures costs
 * time. A fixed-size table (hash of the address, oldest entry evicted)
 * bounds memory whatever the number of addresses. */
#ifndef IMGSECD_RATELIMIT_H
#define IMGSECD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct ratelimit ratelimit;

/* limit failures per window_ms; limit 0 disables the limiter. NULL on OOM. */
ratelimit *ratelimit_new(unsigned limit, int64_t window_ms);
void ratelimit_free(ratelimit *rl);

/* Counts one failed authentication of addr at now_ms. */
void ratelimit_fail(ratelimit *rl, const struct sockaddr *addr, int64_t now_ms);
/* True if addr is over its limit at now_ms; *retry_after_s gets the
 * seconds until it may try again (>= 1). */
bool ratelimit_blocked(ratelimit *rl, const struct sockaddr *addr, int64_t now_ms,
                       unsigned *retry_after_s);

#endif
