/* an_pkg.h - what the package analyzers (an_dpkg.c ... an_rust.c) share
 * (internal).
 *
 * Every package analyzer turns bytes from the image into `apps` records:
 * app_name, app_version, app_type, app_path, layer_digest, license and a
 * purl (purl-spec). The helpers here build those records the same way for
 * all of them: strings from the image are cut at a bound and made valid
 * UTF-8 before they reach JSON, purls are percent-encoded and their
 * qualifiers sorted as purl-spec's canonical form says, and the text
 * formats several package databases share (lines, "Key: value" stanzas)
 * are read without copying.
 *
 * OS packages (deb, apk, rpm) need the distro from os-release, which the
 * os analyzer only sets during the entry phase, so those analyzers keep
 * their packages in an an_pending list during entry() and emit them in
 * finish().
 */
#ifndef IMGSEC_SCAN_AN_PKG_H
#define IMGSEC_SCAN_AN_PKG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "imgsec/scan.h"

/* Bounds on what one record holds; longer values from the image are cut. */
#define AN_NAME_MAX 512      /* app_name, source package names */
#define AN_VERSION_MAX 256   /* app_version, epochs, architectures */
#define AN_LICENSE_MAX 1024  /* license */
#define AN_PATH_MAX 4096     /* app_path (nested archives append to it) */
/* Packages one analyzer keeps for finish() in one scan; more are dropped
 * with a warning. */
#define AN_PENDING_MAX 200000

/* The bytes entry() was given as text, never NULL: an empty file may come
 * as NULL and 0, and NULL + 0 is undefined in C. */
static inline const char *an_text(const unsigned char *data)
{
    return data ? (const char *)data : "";
}

/* One line of text at *p (up to end), without its "\n" or "\r\n"; advances
 * *p past it. false at the end. */
bool an_line_next(const char **p, const char *end, const char **line, size_t *len);
/* Bytes of the scanned data, not NUL-terminated. */
typedef struct {
    const char *v;
    size_t n;
} an_span;

/* Stanzas of "Key: value" lines separated by blank lines, the text format
 * of dpkg's status files (deb822) and apk's "K:value" database, read in
 * place. A field's key is the bytes before its line's first ':' (as they
 * are: not trimmed, any case), its value the rest with blanks trimmed.
 * Lines starting with a blank (deb822 continuations) and lines without
 * ':' belong to their stanza but are not fields. */
typedef struct {
    const char *p, *end;
    bool in_stanza; /* a line of the current stanza was read */
} an_stanzas;
enum { AN_STANZAS_DONE, AN_STANZA_FIELD, AN_STANZA_END };
void an_stanzas_init(an_stanzas *r, const unsigned char *data, size_t len);
/* AN_STANZA_FIELD: *key and *value are the next field of the current
 * stanza. AN_STANZA_END: the current stanza (one line or more, fields or
 * not) ended, at a blank line or the end of the data. AN_STANZAS_DONE:
 * nothing more. */
int an_stanza_next(an_stanzas *r, an_span *key, an_span *value);

/* s[0..n) with blanks (space, tab, CR) cut at both ends. */
void an_trim(const char **s, size_t *n);
/* Does s (NUL-terminated) end with suffix? */
bool an_ends_with(const char *s, const char *suffix);
/* The last path component of path. */
const char *an_basename(const char *path);

/* A JSON string of s[0..n), cut at max bytes (at a character boundary)
 * and with bytes that are not valid UTF-8 replaced by '?'. NULL on out of
 * memory. */
json_t *an_json_strn(const char *s, size_t n, size_t max);

/* A purl qualifier; entries with a NULL or empty value are left out. */
typedef struct {
    const char *key;
    const char *value;
} an_qual;

/* A purl (malloc'd): pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS, each
 * namespace segment (ns may hold several, '/'-separated), the name, the
 * version and each qualifier value percent-encoded (everything but
 * A-Z a-z 0-9 . - _ ~, and ':' in the version), qualifiers sorted by key.
 * ns and version may be NULL or "". "" when there is no name or too many
 * qualifiers (no purl: records leave it out); NULL only on out of memory. */
char *an_purl(const char *type, const char *ns, const char *name, const char *version,
              const an_qual *quals, size_t n_quals);

/* One apps record. NULL or "" optional fields are left out. */
typedef struct {
    const char *name;    /* required */
    const char *version;
    const char *type;    /* deb rpm apk npm python jar go gem cargo */
    const char *path;
    const char *layer;
    const char *license;
    const char *purl;
} an_app;

/* The record as a JSON object (fields cut to their bounds), or NULL on
 * out of memory. */
json_t *an_app_json(const an_app *a);
/* Emits the record into res. 0, or -1 on out of memory. */
int an_emit_app(scan_result *res, const an_app *a);

/* Packages kept for finish(): each a JSON object of string fields, the
 * record's ("app_name", ...) plus the analyzer's own purl parts under
 * keys starting with '_' (dropped before the record is emitted). */
typedef struct {
    json_t *items; /* array */
    size_t dropped;
} an_pending;

/* 0, or -1 on out of memory. */
int an_pending_init(an_pending *p);
void an_pending_free(an_pending *p);
/* Adds obj (stolen). 0; -1 on out of memory; 1 when AN_PENDING_MAX is
 * reached (obj freed, counted in dropped). */
int an_pending_add(an_pending *p, json_t *obj);
/* Sets key to s[0..n) (cut to max), skipped when n is 0. 0 or -1. */
int an_obj_setn(json_t *obj, const char *key, const char *s, size_t n, size_t max);
/* The string at key, or NULL. */
const char *an_obj_get(const json_t *obj, const char *key);
/* Drops the '_' keys of obj, sets "purl" (stolen, may be NULL) and emits
 * it. 0, or -1 on out of memory. */
int an_pending_emit(scan_result *res, json_t *obj, char *purl);

/* The "distro" qualifier of OS packages: "ID-VERSION_ID" ("debian-12"),
 * or NULL when os-release was not seen. Written into buf. */
const char *an_distro(const scan_result *res, char *buf, size_t size);

/* an_rust.c's parser of a .dep-v0 section's bytes (zlib-compressed
 * cargo-auditable JSON), apart from the executable around it, for its
 * fuzz target. Emits into res; 0, or -1 on out of memory. */
int an_rust_audit(const scan_entry *e, const unsigned char *z, size_t n, scan_result *res);

#endif
