/* body_budget.h - the bytes held for requests not yet authenticated.
 *
 * An AK/SK-signed request is admitted at header time on its access key ID
 * alone (public: it is in every Authorization header), a fresh date and a
 * body length within the route's limit, and its body must then be held
 * until the signature over it can be checked. Without a bound, an access
 * key ID was enough to make the server hold 64 MiB per connection. Those
 * bytes are accounted here: at most `total` in all and `per_address` per
 * client address; a request that would go over either is refused (http.c),
 * before its body is read when it declares its length. The bytes are given
 * back once the signature is checked (whatever the outcome) or the request
 * ends.
 *
 * The per-address table is of fixed size; an address holding bytes is
 * never evicted, and an address that finds every slot of its probe run
 * held by others is refused as if the total were spent. */
#ifndef IMGSECD_BODY_BUDGET_H
#define IMGSECD_BODY_BUDGET_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct body_budget body_budget;

typedef enum {
    BODY_BUDGET_OK,
    BODY_BUDGET_ADDRESS, /* the address's share is spent */
    BODY_BUDGET_TOTAL,   /* the server's is (or no table slot was free) */
} body_budget_result;

/* NULL when out of memory. */
body_budget *body_budget_new(size_t total, size_t per_address);
void body_budget_free(body_budget *b);

/* Takes n more bytes for addr (NULL: one shared bucket), or nothing. */
body_budget_result body_budget_take(body_budget *b, const struct sockaddr *addr, size_t n);
/* Gives back n bytes that addr took. */
void body_budget_give(body_budget *b, const struct sockaddr *addr, size_t n);
/* Bytes held in all now. */
size_t body_budget_held(body_budget *b);

#endif
