/* scan_int.h - what the analyzer's modules share (internal).
 *
 * scan_result is what analyzers emit into: one JSON array per report type
 * (records in the shape of data-model.md), the image's operating system
 * from os-release, and non-fatal warnings. The driver (scan.c) turns it
 * into one ingest document.
 */
#ifndef IMGSEC_SCAN_INT_H
#define IMGSEC_SCAN_INT_H

#include <jansson.h>

#include "imgsec/scan.h"

#define SCAN_WARN_MAX 256 /* warnings kept per scan; more are counted, not kept */

struct scan_result {
    json_t *records[REPORT_TYPE_COUNT]; /* owned arrays, never NULL after scan_result_new */
    char *os_id, *os_version;           /* from os-release, or NULL */
    json_t *warnings;                   /* owned array of strings */
    size_t warnings_dropped;
    int oom;                            /* an emit or warn ran out of memory */
    /* The image (scan.c fills these; strings owned by the result). */
    scan_info info;
    char *info_strings[6];              /* what info's strings point into */
    bool failed;                        /* identified, then failed: records dropped */
};

/* NULL on out of memory. */
scan_result *scan_result_new(void);
void scan_result_free(scan_result *res);

/* Every analyzer, in the order they are offered an entry
 * (scan_analyzers.c). */
extern const scan_analyzer *const scan_analyzers[];
extern const size_t scan_analyzers_count;

/* ---- SHA-256 of streams (scan_hash.c: OpenSSL, SHA-NI where the CPU has it) ---- */
typedef struct {
    void *ctx; /* EVP_MD_CTX */
} scan_sha256;
int scan_sha256_init(scan_sha256 *h); /* 0, or -1 out of memory */
void scan_sha256_update(scan_sha256 *h, const void *p, size_t n);
/* hex gets 64 lower-case hex digits and a NUL; frees the context. */
void scan_sha256_final(scan_sha256 *h, char hex[65]);
void scan_sha256_free(scan_sha256 *h);
/* The SHA-256 of p[0..n) in one call: 0, or -1 (out of memory). */
int scan_sha256_mem(const void *p, size_t n, unsigned char out[32]);
/* s is exactly 64 lower-case hex digits (a SHA-256 as digests write it). */
bool scan_is_hex64(const char *s);

/* ---- layer sources (scan_src.c) ----
 * A layer (or any blob) arrives as a stream of blocks from a source: a
 * file, a member of an outer archive, memory, or (issue 14) an HTTP body.
 * The reader never seeks in it. */
typedef struct scan_src scan_src;
struct scan_src {
    /* The next block: *buf points at n bytes, valid until the next call.
     * Returns n > 0, 0 at the end, -1 on error (err set). */
    ssize_t (*read)(scan_src *s, const void **buf, imgsec_err *err);
    void (*close)(scan_src *s);
    char name[256]; /* the member or file, for messages */
};
scan_src *scan_src_file(const char *path, const char *name, imgsec_err *err);
scan_src *scan_src_memory(const void *data, size_t len, const char *name, imgsec_err *err);
/* The same, taking data over: freed at close, or at once on failure. */
scan_src *scan_src_memory_owned(void *data, size_t len, const char *name, imgsec_err *err);
void scan_src_close(scan_src *s);
/* Reads a whole source, at most max bytes (more: IMGSEC_EINVAL), into a
 * malloc'd NUL-terminated buffer; *hex (65 bytes, may be NULL) gets its
 * SHA-256. */
char *scan_src_slurp(scan_src *s, size_t max, size_t *len, char *hex, imgsec_err *err);

/* ---- the set of paths seen in upper layers (scan_paths.c) ---- */
enum { SCAN_PATH_FILE = 1, SCAN_PATH_DIR = 2, SCAN_PATH_WHITEOUT = 4, SCAN_PATH_OPAQUE = 8 };
typedef struct scan_paths scan_paths;
scan_paths *scan_paths_new(void);
void scan_paths_free(scan_paths *p);
/* Ors flags into path's flags; -1 on out of memory. */
int scan_paths_add(scan_paths *p, const char *path, size_t len, unsigned flags);
unsigned scan_paths_get(const scan_paths *p, const char *path, size_t len);
size_t scan_paths_bytes(const scan_paths *p);

/* How scan_path_normalise takes a ".." component. */
enum {
    SCAN_DOTDOT_REFUSE,  /* fail: member names of a layer (a ".." is never honest there) */
    SCAN_DOTDOT_RESOLVE, /* drop the component before it, lexically (link targets of an
                            outer archive); a ".." at the root fails */
};
/* Normalises a path (an archive member name, a link target) into out
 * (size >= strlen(name)+1): drops leading "/" and "./", empty and "."
 * components and a trailing "/", and takes ".." as dotdot says. Returns
 * the length, 0 for the root itself, -1 on a ".." refused or leaving the
 * root, or when out is too small. */
int scan_path_normalise(const char *name, char *out, size_t size, int dotdot);

/* ---- one layer through the driver (scan_layer.c) ---- */
typedef struct scan_run_ctx scan_run_ctx;
/* Offers one entry to every analyzer that wants it; data is read from
 * rd(rd_ctx, buf, n) when one wants content. Nonzero stops the scan. */
typedef ssize_t (*scan_content_fn)(void *rd_ctx, void *buf, size_t n);
int scan_offer(scan_run_ctx *rc, const scan_entry *e, scan_content_fn rd, void *rd_ctx,
               imgsec_err *err);
/* True when the last scan_offer failed because rd failed (the input is
 * corrupt or truncated), not because an analyzer did. */
bool scan_offer_read_failed(const scan_run_ctx *rc);
/* Progress: n more uncompressed bytes of the current layer were read. */
void scan_progress_add(scan_run_ctx *rc, int64_t n);
scan_result *scan_run_result(scan_run_ctx *rc);
/* Runs the analyzers of opt over one layer read from src (any compression),
 * without digests or a config: the fuzz target of the layer reader and
 * the analyzers (tests/fuzz/fuzz_scan_layer.c). */
int scan_run_source(scan_src *src, const scan_options *opt, scan_result **out, imgsec_err *err);
/* Walks a root filesystem directory (never following a symlink, never
 * leaving dir's file system's tree; proc, sys and dev at the top are
 * skipped). */
int scan_rootfs_walk(scan_run_ctx *rc, const char *dir, imgsec_err *err);
/* Sets key to s cut to MODEL_RECORD_STRING_MAX bytes on a UTF-8 boundary;
 * NULL or "" sets nothing. -1 on out of memory. */
int scan_set_str(json_t *rec, const char *key, const char *s);
/* ID and VERSION_ID of an os-release file (an_os.c), cut to size. */
void scan_os_release_parse(const char *data, size_t len, char *id, char *version, size_t size);

/* Walks the layer tar of src (any compression libarchive reads), top
 * layers already walked into seen: whiteouts and opaque dirs of this layer
 * are applied to seen after it (so they hide lower layers only), and
 * record (false for the bottom layer) adds its paths. Verifies the
 * stream's SHA-256 against blob_digest (NULL: none) and its uncompressed
 * SHA-256 against diff_id. *raw and *plain get the byte counts. */
typedef struct {
    const char *diff_id;     /* "sha256:<hex>" */
    const char *blob_digest; /* "sha256:<hex>" of the stored bytes, or NULL */
    int64_t blob_size;       /* expected stored size, or -1 */
    const char *label;       /* "layer 2/3 (blobs/sha256/ab..)" for messages */
    bool record;             /* record paths for the layers below */
} scan_layer_spec;
int scan_layer_walk(scan_run_ctx *rc, scan_src *src, const scan_layer_spec *spec, scan_paths *seen,
                    int64_t *raw, int64_t *plain, imgsec_err *err);

/* ---- the image readers (scan_image.c) ---- */
typedef struct {
    char *digest;            /* "sha256:<hex>" of the stored blob, NULL if unknown (legacy) */
    char *member;            /* archive member or file under the layout */
    int64_t size;            /* -1 if unknown */
} scan_blob;

typedef struct {
    const char *format;
    json_t *config;          /* the image config */
    char *config_digest;     /* "sha256:<hex>" */
    char *manifest_digest;   /* or NULL */
    char *repo_tag;          /* or NULL */
    scan_blob *layers;       /* bottom first */
    size_t n_layers;
    char **diff_ids;         /* bottom first, from the config */
    /* How to open a member: the archive path (members) or the layout dir. */
    char *archive;           /* the tar holding the image, or NULL */
    char *dir;               /* the OCI layout directory, or NULL */
    /* Small members of the archive (manifests, configs) read in the index
     * pass, so resolving the image never re-reads the archive. */
    struct scan_member {
        char *name;
        char *data;
        size_t len;
    } *members;
    size_t n_members;
    /* A registry (scan_registry.c): opens "index.json" and "blobs/sha256/<hex>"
     * over HTTP instead of the archive or the directory, or NULL. */
    struct scan_remote *remote;
} scan_plan;

/* ---- registry pulls (scan_registry.c) ---- */
typedef struct scan_remote {
    scan_src *(*open)(struct scan_remote *r, const char *name, imgsec_err *err);
    void (*free)(struct scan_remote *r);
} scan_remote;
/* Resolves the image named by ref (SCAN_INPUT_REGISTRY) into plan, whose
 * layers then stream from the registry. */
int scan_registry_plan(const char *ref, const scan_options *opt, scan_plan *plan, imgsec_err *err);

/* A parsed reference (fuzzed with the challenge parser). */
typedef struct {
    char host[256];   /* "127.0.0.1:5000"; "registry-1.docker.io" for Docker Hub */
    char auth_key[256]; /* its key in a Docker config.json "auths" */
    char repo[256];   /* "ns/name"; "library/alpine" for Docker Hub's "alpine" */
    char tag[129];    /* "" when digest is set */
    char digest[72];  /* "sha256:<hex>" or "" */
    char canonical[700]; /* "host/repo:tag" or "host/repo@digest" (docker.io for Docker Hub) */
    bool host_named;  /* the reference named a host */
} scan_registry_ref;
int scan_registry_ref_parse(const char *s, scan_registry_ref *r, imgsec_err *err);

/* A WWW-Authenticate challenge: scheme "Bearer" or "Basic" and its
 * realm, service and scope parameters (each "" when absent). */
typedef struct {
    char scheme[16];
    char realm[1024], service[256], scope[512];
} scan_registry_challenge;
int scan_registry_challenge_parse(const char *s, scan_registry_challenge *c, imgsec_err *err);

/* One page of a registry's list answer (fuzzed): the names of
 * {"repositories": [...]} (repos) or {"name": ..., "tags": [...]} into
 * names (cleared first), each checked as a reference's repository or tag;
 * an absent or null array is no name. IMGSEC_EINVAL naming what (and
 * names empty) for anything else. */
int scan_registry_list_parse(const char *body, size_t len, bool repos, json_t *names,
                             const char *what, imgsec_err *err);

#define SCAN_JSON_MAX (8u << 20)  /* bytes of one manifest, index or config */
#define SCAN_LAYERS_MAX 1024      /* layers of one image */
#define SCAN_INDEX_DEPTH 4        /* nested indexes */

int scan_plan_open(const char *input, scan_input_kind kind, const scan_options *opt,
                   scan_plan *plan, imgsec_err *err);
/* Resolves an OCI layout whose members are already in plan (index.json,
 * blobs): what scan_plan_open does after the index pass (fuzzed). */
int scan_plan_oci(scan_plan *plan, const scan_options *opt, imgsec_err *err);
void scan_plan_free(scan_plan *plan);
/* A source for layer i of plan. */
scan_src *scan_plan_layer(const scan_plan *plan, size_t i, imgsec_err *err);

/* Parsers of untrusted JSON (fuzzed: tests/fuzz/fuzz_scan_manifest.c).
 * Each checks types and bounds and names the offending key. */
int scan_parse_config(const char *buf, size_t len, json_t **config, char ***diff_ids,
                      size_t *n, imgsec_err *err);
/* An OCI/Docker v2 image manifest: its config and layer descriptors. */
int scan_parse_manifest(const char *buf, size_t len, scan_blob *config, scan_blob **layers,
                        size_t *n, imgsec_err *err);
/* A docker-save manifest.json: picks the image (opt_image or the only one)
 * and returns its Config, Layers and first RepoTag. */
int scan_parse_docker_manifest(const char *buf, size_t len, const char *opt_image,
                               char **config, char ***layers, size_t *n, char **repo_tag,
                               imgsec_err *err);
void scan_blob_free(scan_blob *b);
void scan_strv_free(char **v, size_t n);

#endif
