/* scan.h - imgsec scan: find what is in a container image, in one pass.
 *
 * An image (a docker-save archive, an OCI layout, or a root filesystem
 * directory) is read as a stream, layer by layer, top layer first, so that
 * whiteouts, opaque directories and overwrites are known before a lower
 * layer's file is looked at: every path of the merged filesystem is offered
 * at most once, and a file deleted or replaced by a later layer is never
 * seen. Each surviving entry is offered to every analyzer; the entry's
 * bytes are read once and handed to every analyzer that asked for them.
 *
 * Analyzers are small modules behind one interface (scan_analyzer): what
 * entries they want, what they do with one, what they emit at the end.
 * Adding one touches its own file and one line of the table in
 * src/lib/scan/scan_analyzers.c. They emit records of the eight report
 * types of data-model.md into a scan_result, whose document is an ingest
 * document: one validator (doc_from_json) and one store path serve
 * importers, scans and the API alike.
 *
 * Memory: one entry's content at a time, at most SCAN_CONTENT_MAX bytes,
 * plus the set of paths already seen (upper layers); never the image.
 */
#ifndef IMGSEC_SCAN_H
#define IMGSEC_SCAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h> /* S_ISREG and friends for scan_entry.mode */
#include <sys/types.h>

#include "imgsec/err.h"
#include "imgsec/model.h"

/* The most content bytes of one entry held in memory at once. An analyzer
 * that wants more sees the first SCAN_CONTENT_MAX bytes (truncated). */
#define SCAN_CONTENT_MAX (64u << 20)
/* scan_analyzer.want: not interested / metadata only / the whole content
 * (up to SCAN_CONTENT_MAX); any other positive value is a byte count. */
#define SCAN_WANT_NONE 0
#define SCAN_WANT_META (-1)
#define SCAN_WANT_ALL INT64_MAX

/* One entry of the merged filesystem. */
typedef struct {
    const char *path;        /* relative, normalised: no leading "/" or "./", no "..",
                                no trailing "/", e.g. "var/lib/dpkg/status" */
    const char *layer;       /* diff id of the layer that last wrote it ("sha256:..."),
                                "" for a root filesystem directory */
    mode_t mode;             /* type and permission bits (S_IFREG|0644, S_IFLNK, ...) */
    int64_t uid, gid;
    const char *uname;       /* owner name from the archive, or NULL */
    const char *gname;
    int64_t size;            /* content bytes (regular files), else 0 */
    const char *link_target; /* symlink or hard link target, else NULL */
} scan_entry;

/* What a scan found; analyzers add to it, the driver turns it into one
 * ingest document. */
typedef struct scan_result scan_result;

/* Appends rec (stolen, a JSON object in the shape of data-model.md for
 * report type t) to the result. Returns 0, or -1 on out of memory (rec is
 * freed either way). */
int scan_emit(scan_result *res, report_type t, json_t *rec);
/* Sets the image's operating system from os-release (ID, VERSION_ID,
 * e.g. "debian", "12"; "alpine", "3.18.4"); later calls are ignored when
 * one was already set from an upper layer. */
void scan_set_os(scan_result *res, const char *id, const char *version_id);
const char *scan_os_id(const scan_result *res);         /* NULL if unknown */
const char *scan_os_version(const scan_result *res);    /* NULL if unknown */

/* The image as a whole, for analyzers' finish step. */
typedef struct {
    const json_t *config;  /* the image config (OCI/Docker: "config", "history", ...),
                              NULL for a root filesystem directory */
    const char *const *diff_ids; /* layer diff ids, bottom first */
    size_t n_layers;
} scan_image;

/* What a scan is told (the CLI's flags); zero-initialised means defaults. */
typedef struct scan_options {
    const char *platform;    /* "os/arch[/variant]" picked from an index; NULL: linux/amd64 */
    const char *analyzers;   /* comma-separated analyzer names to run; NULL: all */
    const char *rules_dir;   /* --rules DIR: YARA rule files (*.yar, *.yara) added to the
                                built-in rules */
    const char *hash_list;   /* --malware-hashes FILE: SHA-256 block list added to the
                                built-in one ("<hex> [name]" per line) */
    const char *policy_file; /* --policy FILE: the non-compliant-app policy; NULL: built-in */
    const char *vulndb;      /* --vulndb FILE: the OSV database (vulndb.h) the apps are matched
                                against; NULL: no vulnerability matching */
    /* Progress for long scans (may be NULL): phase ("layer 2/5"), bytes done
     * of total (total 0 when unknown). */
    void (*progress)(void *ctx, const char *phase, int64_t done, int64_t total);
    void *progress_ctx;
    const char *image;       /* --image NAME:TAG: the image of a multi-image archive or
                                index; NULL: the only one (several: refused, listed) */
    /* Sees every entry of the merged filesystem, in the order offered
     * (may be NULL): `imgsec scan --output files`, and the tests. */
    void (*observe)(void *ctx, const scan_entry *e);
    void *observe_ctx;
    /* Registry pulls (SCAN_INPUT_REGISTRY; docs/scanning.md "From a registry"). */
    bool insecure_registry;        /* plain http://, for a registry without TLS */
    const char *registry_username; /* credentials, sent to the registry (Basic) or to its
                                      token service (Bearer); NULL: from registry_auth_file,
                                      else anonymous */
    const char *registry_password;
    const char *registry_auth_file; /* a Docker config.json whose "auths" entry for the
                                      registry's host gives them (base64 "user:password");
                                      a missing file means anonymous */
    const char *registry_ca_file;  /* PEM CA certificates to verify the registry and its token
                                      realm with; NULL: the system's */
} scan_options;

/* One analyzer. Every callback may be NULL when it has nothing to do. */
typedef struct {
    const char *name;   /* "dpkg", "secrets", ...: --analyzers, docs, progress */
    report_type emits;  /* the report type it mostly emits (docs, summaries) */
    /* Once per scan: per-scan state in *state. */
    int (*open)(const scan_options *opt, void **state, imgsec_err *err);
    /* Cheap, for every entry: SCAN_WANT_NONE, SCAN_WANT_META, a byte count
     * or SCAN_WANT_ALL. Must not keep e. */
    int64_t (*want)(void *state, const scan_entry *e);
    /* An entry it wanted, with data[0..len) (NULL and 0 for META; len is
     * less than e->size when the content was capped). An error fails the
     * whole scan: return errors only for what makes the result untrue
     * (out of memory), not for a malformed file inside the image (skip it,
     * or report it with scan_warn). */
    int (*entry)(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                 scan_result *res, imgsec_err *err);
    /* After the last layer. */
    int (*finish)(void *state, const scan_image *img, scan_result *res, imgsec_err *err);
    void (*close)(void *state);
} scan_analyzer;

/* A non-fatal note about the image ("var/lib/rpm/rpmdb.sqlite: not an rpm
 * database, skipped"): shown on stderr by the CLI, kept in the result. */
void scan_warn(scan_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


/* ---- running a scan (scan.c; docs/scanning.md) ---- */

/* What the input is. AUTO: a directory holding "oci-layout" is an OCI
 * layout, any other directory is refused (pass ROOTFS for that); a file is
 * a tar (plain, gzip, zstd, ...) holding either a docker-save
 * "manifest.json" (legacy or Docker 25 hybrid) or an OCI layout. */
typedef enum {
    SCAN_INPUT_AUTO, SCAN_INPUT_ARCHIVE, SCAN_INPUT_OCI_DIR, SCAN_INPUT_ROOTFS,
    /* input is a reference, [HOST[:PORT]/]REPO[:TAG|@sha256:HEX], pulled over the OCI
     * distribution API (Docker Hub when no host is named; tag "latest" by default).
     * A failed pull (unreachable, refused credentials, a connection lost mid-layer)
     * is an integrity failure: nothing identified, *out NULL. */
    SCAN_INPUT_REGISTRY
} scan_input_kind;

/* The image as the input describes it. Strings are owned by the result. */
typedef struct {
    const char *format;          /* "docker-archive", "oci-archive", "oci-dir", "rootfs",
                                    "registry" */
    const char *repo_tag;        /* first RepoTags entry or OCI ref name, NULL if none */
    const char *config_digest;   /* "sha256:<hex>" of the config (= image_id), NULL for a rootfs */
    const char *manifest_digest; /* OCI manifest digest, NULL if none */
    const char *platform;        /* "linux/amd64" from the config, NULL if unknown */
    int64_t blob_bytes;          /* layer bytes as stored (compressed) */
    int64_t layer_bytes;         /* uncompressed layer bytes read (the image size) */
    int64_t entries;             /* entries of the merged filesystem offered to analyzers */
    size_t n_layers;
} scan_info;

/* Scans input (a path) with the analyzers of opt->analyzers (NULL: all).
 * On success *out is the result. On failure the error names what failed;
 * integrity failures (not an image, corrupt or truncated member, digest
 * mismatch: IMGSEC_EINVAL naming the member and offset) leave *out NULL,
 * while failures after the image was identified (an analyzer's error, out
 * of memory, an I/O error) leave in *out a result whose identity is known
 * and whose records are dropped (scan_result_failed is true), so the
 * caller can store the image as scan_status "failed". */
int scan_run(const char *input, scan_input_kind kind, const scan_options *opt, scan_result **out,
             imgsec_err *err);
void scan_result_destroy(scan_result *res);
const scan_info *scan_result_info(const scan_result *res);
bool scan_result_failed(const scan_result *res);
/* The records of type t so far (a JSON array owned by the result). */
const json_t *scan_result_records(const scan_result *res, report_type t);
/* Non-fatal warnings (array of strings) and how many were not kept. */
const json_t *scan_result_warnings(const scan_result *res, size_t *dropped);

/* Identity flags that override what the image says (NULL: from the image). */
typedef struct {
    const char *image_type;      /* default "local_image" */
    const char *namespace_, *image_name, *image_version;
    int64_t scan_ms;             /* latest_scan_time; 0: now */
} scan_identity;

/* The ingest document (data-model.md) of a result: image identity from
 * the image and id, scan_status "success" with every record, or "failed"
 * with none when scan_result_failed. NULL on out of memory. */
json_t *scan_result_document(const scan_result *res, const scan_identity *id);

/* Lists a registry's repositories (GET /v2/_catalog, paged) and the tags
 * of each (GET /v2/<repo>/tags/list, paged), authenticating as a pull
 * does with opt's insecure_registry, credentials and CA (not its auth
 * file). host is "HOST[:PORT]"; prefix (NULL or "": all) keeps the
 * repositories under "prefix/". cb(ctx, repo, tag) for each tag, repo and
 * tag checked as a reference's; a non-zero return stops the walk and is
 * returned. More than max repositories, or tags in all: IMGSEC_EINVAL.
 * Errors name the registry and what failed, never credentials. */
int scan_registry_catalog(const char *host, const char *prefix, const scan_options *opt,
                          size_t max, int (*cb)(void *ctx, const char *repo, const char *tag),
                          void *ctx, imgsec_err *err);

/* The names of the analyzers, comma-separated, for usage texts. */
const char *scan_analyzer_names(void);

#endif
