/* cmd_registry.c - imgsec registry add|list|rm: a project's registries,
 * offline on the database (docs/api.md "Registries"; the API's
 * AddRegistry, ListRegistry, DeleteRegistry). add checks its options with
 * the API's own body checks (registry_body.h) and seals the password under
 * the key file (keyfile.h) exactly as the server does; the password comes
 * from IMGSEC_PASSWORD or standard input, never from an argument. list
 * never shows a password. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "imgsec/keyfile.h"
#include "imgsec/registry_body.h"
#include "imgsec/store_registries.h"
#include "imgsec/util.h"

static const char USAGE[] =
    "usage:\n"
    "  imgsec registry add  [--db DB] [--key-file PATH] --project P --name N --type T\n"
    "                       --addr HOST[:PORT] [--protocol http|https] [--api-version V1|V2]\n"
    "                       [--username U] [--namespace NS]\n"
    "  imgsec registry list [--db DB] --project P\n"
    "  imgsec registry rm   [--db DB] --project P --id ID\n"
    "  --type: Harbor, Jfrog or Other; --protocol defaults to https.\n"
    "  With --username, the password is read from IMGSEC_PASSWORD, else from\n"
    "  standard input; it is stored only sealed under --key-file (default <DB>.key).\n";

typedef struct {
    const char *db, *key_file, *project, *name, *type, *addr, *protocol, *api_version,
        *username, *namespace_, *id;
} reg_args;

static int parse_args(int argc, char **argv, reg_args *a)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},       {"key-file", required_argument, NULL, 'k'},
        {"project", required_argument, NULL, 'p'},  {"name", required_argument, NULL, 'n'},
        {"type", required_argument, NULL, 't'},     {"addr", required_argument, NULL, 'a'},
        {"protocol", required_argument, NULL, 'P'}, {"api-version", required_argument, NULL, 'v'},
        {"username", required_argument, NULL, 'u'}, {"namespace", required_argument, NULL, 's'},
        {"id", required_argument, NULL, 'i'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *a = (reg_args){.db = cli_default_db(), .protocol = "https"};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->db = optarg; break;
        case 'k': a->key_file = optarg; break;
        case 'p': a->project = optarg; break;
        case 'n': a->name = optarg; break;
        case 't': a->type = optarg; break;
        case 'a': a->addr = optarg; break;
        case 'P': a->protocol = optarg; break;
        case 'v': a->api_version = optarg; break;
        case 'u': a->username = optarg; break;
        case 's': a->namespace_ = optarg; break;
        case 'i': a->id = optarg; break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: fputs(USAGE, stderr); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "imgsec registry: unexpected argument '%s'\n%s", argv[optind], USAGE);
        return CLI_USAGE;
    }
    return 0;
}

static bool need(const char *value, const char *flag)
{
    return cli_need("registry", USAGE, value, flag);
}

static void set(json_t *o, const char *key, const char *v)
{
    if (v)
        json_object_set_new(o, key, json_string(v));
}

static int reg_add(store *st, const reg_args *a)
{
    imgsec_err err = {0};
    char pw[REG_PASSWORD_CHARS * 4 + 2];
    pw[0] = '\0';
    if (a->username && !cli_read_password(pw, sizeof pw)) {
        fprintf(stderr, "imgsec registry: no password (IMGSEC_PASSWORD or standard input)\n");
        return CLI_USAGE;
    }
    json_t *body = json_object();
    set(body, "registry_name", a->name);
    set(body, "registry_type", a->type);
    set(body, "registry_addr", a->addr);
    set(body, "protocol", a->protocol);
    set(body, "api_version", a->api_version);
    set(body, "registry_username", a->username);
    set(body, "namespace", a->namespace_);
    if (a->username)
        set(body, "registry_password", pw);
    sodium_memzero(pw, sizeof pw);
    store_registry_fields f;
    const char *password;
    unsigned char sealed[REG_SEALED_MAX];
    int rc = registry_body_check(body, true, &f, &password, &err);
    if (rc == IMGSEC_OK && password) {
        char path[KEYFILE_PATH_MAX];
        const char *kf = a->key_file;
        unsigned char key[KEYFILE_BYTES];
        bool created = false;
        if (!kf && (rc = keyfile_default_path(a->db, path, sizeof path, &err)) == IMGSEC_OK)
            kf = path;
        if (rc == IMGSEC_OK && (rc = keyfile_load_or_create(kf, key, &created, &err)) == IMGSEC_OK) {
            if (created)
                fprintf(stderr, "imgsec registry: created the key file %s (mode 0600); keep it "
                                "with the database\n", kf);
            keyfile_seal(key, (const unsigned char *)password, strlen(password), sealed);
            f.sealed = sealed;
            f.sealed_len = strlen(password) + KEYFILE_SEAL_OVERHEAD;
            sodium_memzero(key, sizeof key);
        }
    }
    int64_t id = 0;
    if (rc == IMGSEC_OK)
        rc = store_registry_add(st, a->project, &f, util_now_ms(), &id, &err);
    json_t *p = json_object_get(body, "registry_password");
    if (json_is_string(p))
        sodium_memzero((char *)json_string_value(p), json_string_length(p));
    json_decref(body);
    if (rc != IMGSEC_OK)
        return cli_fail(&err);
    printf("%lld\n", (long long)id);
    fprintf(stderr, "imgsec registry: added %s to project %s\n", a->name, a->project);
    return CLI_OK;
}

static void print_registry(const store_registry *r, void *arg)
{
    (void)arg;
    printf("%lld  %s  %s  %s://%s  user=%s  %s\n", (long long)r->id, r->name, r->type, r->protocol,
           r->addr, r->username[0] ? r->username : "-", r->status);
}

int cmd_registry(int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE, stderr);
        return CLI_USAGE;
    }
    const char *sub = argv[1];
    reg_args a;
    int rc = parse_args(argc - 1, argv + 1, &a);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    bool add = strcmp(sub, "add") == 0, list = strcmp(sub, "list") == 0,
         rm = strcmp(sub, "rm") == 0;
    if (!add && !list && !rm) {
        fprintf(stderr, "imgsec registry: unknown subcommand '%s'\n%s", sub, USAGE);
        return CLI_USAGE;
    }
    if (!need(a.project, "--project") || (rm && !need(a.id, "--id")))
        return CLI_USAGE;
    if (add && (!need(a.name, "--name") || !need(a.type, "--type") || !need(a.addr, "--addr")))
        return CLI_USAGE;
    store *st = cli_store_open(a.db);
    if (!st)
        return CLI_FAIL;
    imgsec_err err = {0};
    if (add) {
        rc = reg_add(st, &a);
    } else if (list) {
        store_registry_filter f = {0};
        int64_t total;
        rc = store_registry_list(st, a.project, &f, 0, REG_PER_PROJECT_MAX, print_registry, NULL,
                                 &total, &err) == IMGSEC_OK
                 ? CLI_OK
                 : cli_fail(&err);
    } else {
        int64_t id = registry_id_parse(a.id);
        if (!id)
            rc = cli_fail(&(imgsec_err){IMGSEC_ENOTFOUND, "registry: --id: no such registry"});
        else
            rc = store_registry_delete(st, a.project, &id, 1, "--id", &err) == IMGSEC_OK
                     ? CLI_OK
                     : cli_fail(&err);
        if (rc == CLI_OK)
            fprintf(stderr, "imgsec registry: deleted %s\n", a.id);
    }
    store_close(st);
    return rc;
}
