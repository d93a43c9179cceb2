/* index_key.h - composite keys for the index's hash maps, and image ids
 * spelled as strings.
 *
 * Several maps are keyed by more than one string ((project, ep), the
 * latest-version group, a build-command risk). A key is the parts joined
 * with NUL bytes: the strings come from C strings, so they hold no NUL and
 * the encoding is unambiguous (and the first part of a key can still be
 * read as a C string). Short keys are built on the stack.
 */
#ifndef IMGSEC_INDEX_KEY_H
#define IMGSEC_INDEX_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_INLINE 320

typedef struct {
    char *p;           /* inl or heap */
    size_t len, cap;
    size_t parts;      /* parts appended so far */
    int failed;        /* an append ran out of memory */
    char inl[KEY_INLINE];
} ixkey;

void key_init(ixkey *k);
void key_free(ixkey *k);
/* Appends s (NULL counts as "") and, if not the first part, a NUL before it. */
void key_str(ixkey *k, const char *s);
/* Appends one byte part (an enum value). */
void key_byte(ixkey *k, unsigned char b);

/* Is s the decimal spelling of an image id, exactly as the server writes
 * it ("%lld": no '+', no leading zeros, no spaces)? Sets *id if so. */
bool key_decimal_id(const char *s, int64_t *id);

#endif
