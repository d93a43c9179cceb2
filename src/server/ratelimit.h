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

/* An address as a table key: IPv4 mapped into IPv6 form, or IPv6. False
 * (key zeroed) for no address or another family. Shared with
 * body_budget.c. */
#define RATELIMIT_KEY_BYTES 16
bool ratelimit_addr_key(const struct sockaddr *addr, unsigned char key[RATELIMIT_KEY_BYTES]);

/* limit failures per window_ms; limit 0 disables the limiter. NULL on OOM. */
ratelimit *ratelimit_new(unsigned limit, int64_t window_ms);
void ratelimit_free(ratelimit *rl);

/* Counts one failed authentication of addr at now_ms. */
void ratelimit_fail(ratelimit *rl, const struct sockaddr *addr, int64_t now_ms);
/* Reserves one attempt of addr before a check that costs (a password):
 * counted as a failure at once, so that checks running at the same time
 * cannot together get past the limit, as they could if each were counted
 * only when it failed. True with *ticket, which ratelimit_refund takes to
 * give the attempt back when it did not fail; false with *retry_after_s
 * when addr has no attempt left. With the limiter off or no address:
 * true, and the ticket's refund does nothing. */
bool ratelimit_reserve(ratelimit *rl, const struct sockaddr *addr, int64_t now_ms,
                       int64_t *ticket, unsigned *retry_after_s);
/* Gives back an attempt reserved with ticket, unless its window has ended
 * since (the count it was part of is gone). */
void ratelimit_refund(ratelimit *rl, const struct sockaddr *addr, int64_t ticket);
/* True if addr is over its limit at now_ms; *retry_after_s gets the
 * seconds until it may try again (>= 1). */
bool ratelimit_blocked(ratelimit *rl, const struct sockaddr *addr, int64_t now_ms,
                       unsigned *retry_after_s);

#endif
