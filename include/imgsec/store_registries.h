/* store_registries.h - the image registries a project has declared
 * (AddRegistry and its siblings, docs/api.md "Registries").
 *
 * A row is one registry of one project: its name (unique in the project),
 * type, address, API version, protocol, namespace, carrier cluster id,
 * scan-image channel, the login user name and the SEALED password (the
 * caller seals it with keyfile_seal before the store sees it; the store
 * never holds, returns or logs a plain password, and no read below returns
 * even the sealed one), the connection status and the sync counters.
 *
 * Every string handed in is checked against its byte bound here
 * (IMGSEC_EINVAL naming the field) before it is bound; the route checks
 * the contract's character bounds first. Every write is one transaction.
 */
#ifndef IMGSEC_STORE_REGISTRIES_H
#define IMGSEC_STORE_REGISTRIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imgsec/err.h"
#include "imgsec/keyfile.h"
#include "imgsec/store.h"

/* The contract's bounds, in characters (the SDK models' 字符长度). */
#define REG_NAME_CHARS 128
#define REG_ADDR_CHARS 256
#define REG_USER_CHARS 128
#define REG_PASSWORD_CHARS 128
#define REG_NAMESPACE_CHARS 128
#define REG_CLUSTER_CHARS 64
#define REG_ID_CHARS 64
/* UTF-8 bytes for n characters, and a NUL. */
#define REG_BYTES(chars) ((chars) * 4 + 1)
#define REG_SEALED_MAX (REG_PASSWORD_CHARS * 4 + KEYFILE_SEAL_OVERHEAD)
/* Registries per project, and ids per batch delete: ListRegistry's
 * total_num is 0-100 in the SDK model. */
#define REG_PER_PROJECT_MAX 100

/* The fields a caller sets. Add: name, type, protocol, addr required;
 * Update: NULL leaves a field as it is (name and type cannot change). */
typedef struct {
    const char *name, *type, *api_version, *protocol, *addr, *username, *namespace_,
        *cluster_id, *channel;
    const unsigned char *sealed; /* nonce || secretbox(password); NULL: none / unchanged */
    size_t sealed_len;
} store_registry_fields;

/* One registry as read back: never the password, sealed or not. */
typedef struct {
    int64_t id;
    char name[REG_BYTES(REG_NAME_CHARS)];
    char type[16];
    char api_version[8];
    char protocol[8];
    char addr[REG_BYTES(REG_ADDR_CHARS)];
    char username[REG_BYTES(REG_USER_CHARS)];
    char namespace_[REG_BYTES(REG_NAMESPACE_CHARS)];
    char cluster_id[REG_BYTES(REG_CLUSTER_CHARS)];
    char channel[8];
    char status[16];      /* accessing (until a sync contacts it), success, fail */
    char fail_reason[32]; /* "" unless status is fail */
    int64_t images_num;
    int64_t latest_sync_ms; /* 0: never synced */
    int64_t created_ms, updated_ms;
    bool has_password;
} store_registry;

/* Adds a registry to project at now_ms with status "accessing"; *id_out its
 * id. IMGSEC_ECONFLICT if the project has a registry of that name,
 * IMGSEC_EINVAL if the project already has REG_PER_PROJECT_MAX. */
int store_registry_add(store *st, const char *project_id, const store_registry_fields *f,
                       int64_t now_ms, int64_t *id_out, imgsec_err *err);

/* Replaces the given fields of the project's registry id; the status goes
 * back to "accessing" (what it was checked against changed).
 * IMGSEC_ENOTFOUND if the project has no registry id. */
int store_registry_update(store *st, const char *project_id, int64_t id,
                          const store_registry_fields *f, int64_t now_ms, imgsec_err *err);

/* Deletes the project's registries ids[0..n) (n 1..REG_PER_PROJECT_MAX),
 * all or none: IMGSEC_ENOTFOUND (nothing deleted) if one is not the
 * project's; the message names param ("id", "ids"). ids must be distinct. */
int store_registry_delete(store *st, const char *project_id, const int64_t *ids, size_t n,
                          const char *param, imgsec_err *err);

/* The list filters; NULL / 0 means not given. */
typedef struct {
    const char *name;     /* substring of registry_name */
    int64_t id;           /* > 0: that id only */
    unsigned type_mask;   /* bit i: REGISTRY_TYPES[i] (0: every type) */
    const char *addr;     /* substring of registry_addr */
    const char *status;
} store_registry_filter;

/* The types the store accepts, NULL-terminated (the SDK's enum). */
extern const char *const STORE_REGISTRY_TYPES[];

/* The project's registries matching filter, by id, from offset, at most
 * limit, each to cb; *total the count of all that match. */
int store_registry_list(store *st, const char *project_id, const store_registry_filter *filter,
                        int64_t offset, int64_t limit,
                        void (*cb)(const store_registry *r, void *arg), void *arg,
                        int64_t *total, imgsec_err *err);

/* Counts of the project's registries of the types in type_mask (0: all)
 * by status. */
int store_registry_counts(store *st, const char *project_id, unsigned type_mask,
                          int64_t *success, int64_t *fail, imgsec_err *err);

#endif
