/* vulndb_int.h - what the files of src/lib/vulndb share: the OSV record
 * as the database keeps it, CVSS, ecosystems and package URLs. */
#ifndef IMGSEC_VULNDB_INT_H
#define IMGSEC_VULNDB_INT_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/model.h"
#include "imgsec/version.h"

/* ---- bounds on what an OSV record may hold ---- */
#define OSV_RECORD_MAX (16u << 20)  /* bytes of one record (JSON) */
#define OSV_ID_MAX 128              /* bytes of id and of an alias */
#define OSV_AFFECTED_MAX 10000      /* affected[] entries of one record */
#define OSV_NAME_MAX 512            /* bytes of an ecosystem or package name */
#define OSV_DESCRIPTION_MAX 1024    /* bytes of the description kept */

/* ---- CVSS (cvss.c) ---- */
/* Base score of a CVSS:3.0/ or CVSS:3.1/ vector; -1 if not one. */
int cvss3_score(const char *vector, double *score);
/* Base score of a CVSS:4.0/ vector; -1 if not one. */
int cvss4_score(const char *vector, double *score);
/* The qualitative rating of a score (0.0: unknown). */
severity cvss_severity(double score);

/* ---- ecosystems (osv.c) ---- */
typedef struct {
    const char *name;     /* OSV ecosystem, without ":release" */
    int scheme;           /* version_scheme, or -1: stored, never matched */
    vul_type type;        /* linux_vul for distributions */
} osv_ecosystem;
/* The ecosystem of a full OSV ecosystem string ("Debian:12" -> Debian),
 * or NULL when imgsec does not know it. */
const osv_ecosystem *osv_ecosystem_find(const char *full);
/* The key a package is stored and looked up under: the ecosystem with
 * its release normalised ("Ubuntu:22.04:LTS" -> "Ubuntu:22.04") and the
 * name as the ecosystem compares names (PyPI: PEP 503). Writes into the
 * buffers; false when either does not fit. */
bool osv_key(const char *ecosystem, const char *name, char *eco_out, size_t eco_size,
             char *name_out, size_t name_size);

/* ---- the ranges and versions of an affected entry, as stored ----
 * Binary, written by osv.c at import and read by vulndb_match.c once per
 * candidate entry without allocating:
 *   spec  := u32 n_versions, str x n_versions, u32 n_ranges, range x n_ranges
 *   range := u8 type (SPEC_ECOSYSTEM | SPEC_SEMVER), u32 n_events, event x n_events
 *   event := u8 kind (SPEC_INTRODUCED ...), str
 *   str   := at most VERSION_MAX bytes, no NUL, then a NUL
 * u32 little-endian. Only ECOSYSTEM and SEMVER ranges are kept, events in
 * record order; versions list entries that are not strings of at most
 * VERSION_MAX bytes are dropped. */
enum { SPEC_ECOSYSTEM = 0, SPEC_SEMVER = 1 };
enum { SPEC_INTRODUCED = 0, SPEC_FIXED = 1, SPEC_LAST_AFFECTED = 2, SPEC_LIMIT = 3 };

/* ---- one parsed OSV record (osv.c) ---- */
typedef struct {
    char *ecosystem;  /* key, as osv_key */
    char *name;       /* key */
    unsigned char *spec; /* the entry's ranges and versions, encoded as above */
    size_t spec_len;
} osv_affected;

typedef struct {
    char *id, *modified;
    bool withdrawn;
    char *vul_id;       /* first CVE alias, else id */
    severity sev;
    double score;       /* CVSS base score; < 0 when none */
    char *description;  /* summary, else details, cut to OSV_DESCRIPTION_MAX bytes */
    char *url;
    osv_affected *affected;
    size_t n_affected;
    char *json;         /* the record's JSON text */
} osv_record;

/* Parses one OSV record (a JSON object) from buf[0..len). IMGSEC_EPARSE
 * for what is not JSON, IMGSEC_EINVAL (naming the field) for a record that
 * breaks the schema or a bound. rec is zeroed first; free with
 * osv_record_free whatever the result. */
int osv_parse(const char *buf, size_t len, osv_record *rec, imgsec_err *err);
/* The same from a parsed object (borrowed). */
int osv_from_json(const json_t *root, osv_record *rec, imgsec_err *err);
/* The same, keeping raw[0..raw_len) (the text root was parsed from) as the
 * record's JSON instead of serialising root again. */
int osv_from_json_raw(const json_t *root, const char *raw, size_t raw_len, osv_record *rec,
                      imgsec_err *err);
void osv_record_free(osv_record *rec);

/* ---- package URLs (purl.c) ---- */
#define PURL_MAX 2048
typedef struct {
    char type[32];
    char namespace_[256];
    char name[256];
    char version[256];
    char distro[64];     /* qualifier distro */
    char upstream[256];  /* qualifier upstream (source package), may be "name@version" */
} purl;
/* Parses a package URL (percent-decoding its parts). false when it is
 * not one or a part does not fit. */
bool purl_parse(const char *s, purl *p);

#endif
