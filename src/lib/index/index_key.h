/* index_key.h - composite keys for the index's hash maps, and image ids
 * spelled as strings.
 *
 * Several maps are keyed by more than one string ((project, ep), the
 * latest-version group, a vulnerability, a build-command risk). A key is
 * the parts joined with NUL bytes: the strings come from C strings, so
 * they hold no NUL and the encoding is unambiguous (and the first part of
 * a key can still be read as a C string). Short keys are built on the
 * stack.
 *
 * The keys that are built in one file and looked up or taken apart in
 * another have their layout here, once: (project, ep), (vul_id, vul_type)
 * and (rule_id, risk_name, level).
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

/* The (project_id, ep) key of an image's scope, into an empty k. */
void key_project_ep(ixkey *k, const char *project_id, const char *ep);

/* The (vul_id, vul_type) posting key: vul_id, NUL, the type byte. Queries
 * build thousands of them into one buffer, so there is a form that writes
 * to memory: key_vul_write puts the key of the len-byte vul_id at dst
 * (KEY_VUL_LEN(len) bytes) and returns its length. key_vul builds the same
 * into an empty k. */
#define KEY_VUL_LEN(len) ((len) + 2)
size_t key_vul_write(char *dst, const char *vul_id, size_t len, unsigned char type);
void key_vul(ixkey *k, const char *vul_id, unsigned char type);

/* The (rule_id, risk_name, level) key of a build-command risk, into an
 * empty k; key_build_split takes such a key apart (pointing into it). */
void key_build(ixkey *k, const char *rule_id, const char *risk_name, unsigned char level);
typedef struct {
    const char *rule, *risk;  /* not NUL-terminated: use the lengths */
    size_t rule_len, risk_len;
    unsigned char level;
} key_build_parts;
void key_build_split(const char *key, size_t klen, key_build_parts *out);

/* Is s the decimal spelling of an image id, exactly as the server writes
 * it ("%lld": no '+', no leading zeros, no spaces)? Sets *id if so. */
bool key_decimal_id(const char *s, int64_t *id);

#endif
