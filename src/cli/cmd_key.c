/* cmd_key.c - imgsec key create|list|del: access keys for AK/SK signatures
 * (auth.md). create prints the SK exactly once; it is stored only sealed
 * under the key file (keyfile.h), which create makes if it is absent, the
 * same way the server does on its first start. list never shows an SK. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "imgsec/keyfile.h"
#include "imgsec/store_keys.h"
#include "imgsec/util.h"

static const char USAGE[] =
    "usage:\n"
    "  imgsec key create [--db DB] [--key-file PATH] --domain D --name N\n"
    "  imgsec key list   [--db DB]\n"
    "  imgsec key del    [--db DB] --ak AK\n"
    "  create prints the new AK and SK; the SK is never shown again.\n"
    "  --key-file defaults to <DB>.key (the server's --key-file default).\n";

typedef struct {
    const char *db, *key_file, *domain, *name, *ak;
} key_args;

static int parse_args(int argc, char **argv, key_args *a)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},     {"key-file", required_argument, NULL, 'k'},
        {"domain", required_argument, NULL, 'D'}, {"name", required_argument, NULL, 'n'},
        {"ak", required_argument, NULL, 'a'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *a = (key_args){.db = cli_default_db()};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->db = optarg; break;
        case 'k': a->key_file = optarg; break;
        case 'D': a->domain = optarg; break;
        case 'n': a->name = optarg; break;
        case 'a': a->ak = optarg; break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: fputs(USAGE, stderr); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "imgsec key: unexpected argument '%s'\n%s", argv[optind], USAGE);
        return CLI_USAGE;
    }
    return 0;
}

static bool need(const char *value, const char *flag)
{
    return cli_need("key", USAGE, value, flag);
}

static int key_create(store *st, const key_args *a)
{
    imgsec_err err = {0};
    char path[KEYFILE_PATH_MAX];
    const char *kf = a->key_file;
    if (!kf) {
        if (keyfile_default_path(a->db, path, sizeof path, &err) != IMGSEC_OK)
            return cli_fail(&err);
        kf = path;
    }
    store_user u;
    if (store_user_get(st, a->domain, a->name, &u, NULL, 0, &err) != IMGSEC_OK)
        return cli_fail(&err);
    unsigned char key[KEYFILE_BYTES];
    bool created = false;
    if (keyfile_load_or_create(kf, key, &created, &err) != IMGSEC_OK)
        return cli_fail(&err);
    if (created)
        fprintf(stderr, "imgsec key: created the key file %s (mode 0600); keep it with the database\n",
                kf);
    char ak[STORE_AK_LEN + 1], sk[STORE_SK_LEN + 1];
    unsigned char sealed[STORE_SK_SEALED_MAX];
    int rc;
    /* An AK collision (36^20 space) is all but impossible; retry once anyway. */
    for (int attempt = 0; attempt < 2; attempt++) {
        store_key_generate(ak, sk);
        keyfile_seal(key, (const unsigned char *)sk, STORE_SK_LEN, sealed);
        rc = store_key_insert(st, ak, u.id, sealed, STORE_SK_LEN + KEYFILE_SEAL_OVERHEAD,
                              util_now_ms(), &err);
        if (rc != IMGSEC_ECONFLICT)
            break;
    }
    sodium_memzero(key, sizeof key);
    if (rc != IMGSEC_OK) {
        sodium_memzero(sk, sizeof sk);
        return cli_fail(&err);
    }
    printf("AK: %s\nSK: %s\n", ak, sk);
    fflush(stdout);
    sodium_memzero(sk, sizeof sk);
    fprintf(stderr, "imgsec key: access key for %s/%s created; the SK above is not shown again\n",
            u.domain, u.name);
    return CLI_OK;
}

static void print_key(const store_key_info *k, void *arg)
{
    (void)arg;
    char ts[UTIL_ISO_TIME_MAX];
    util_iso_time(k->created_ms, ts);
    printf("%s  %s/%s  created %s\n", k->ak, k->user.domain, k->user.name, ts);
}

int cmd_key(int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE, stderr);
        return CLI_USAGE;
    }
    const char *sub = argv[1];
    key_args a;
    int rc = parse_args(argc - 1, argv + 1, &a);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    bool create = strcmp(sub, "create") == 0, list = strcmp(sub, "list") == 0,
         del = strcmp(sub, "del") == 0;
    if (!create && !list && !del) {
        fprintf(stderr, "imgsec key: unknown subcommand '%s'\n%s", sub, USAGE);
        return CLI_USAGE;
    }
    if (create && (!need(a.domain, "--domain") || !need(a.name, "--name")))
        return CLI_USAGE;
    if (del && !need(a.ak, "--ak"))
        return CLI_USAGE;
    store *st = cli_store_open(a.db);
    if (!st)
        return CLI_FAIL;
    imgsec_err err = {0};
    if (create) {
        rc = key_create(st, &a);
    } else if (list) {
        rc = store_key_list(st, print_key, NULL, &err) == IMGSEC_OK ? CLI_OK : cli_fail(&err);
    } else {
        rc = store_key_delete(st, a.ak, &err) == IMGSEC_OK ? CLI_OK : cli_fail(&err);
        if (rc == CLI_OK)
            fprintf(stderr, "imgsec key: deleted %s\n", a.ak);
    }
    store_close(st);
    return rc;
}
