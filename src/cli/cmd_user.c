/* cmd_user.c - imgsec user add|grant|revoke|list|del (auth.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "imgsec/auth.h"

static const char USAGE[] =
    "usage:\n"
    "  imgsec user add    [--db DB] --domain D --name N --project P --role R --eps LIST\n"
    "  imgsec user grant  [--db DB] --domain D --name N --project P --role R --eps LIST\n"
    "  imgsec user revoke [--db DB] --domain D --name N --project P\n"
    "  imgsec user del    [--db DB] --domain D --name N\n"
    "  imgsec user list   [--db DB]\n"
    "  R is reader, writer or admin; LIST is 'all' or EP ids separated by commas (e.g. 0,ep-a).\n"
    "  add reads the password from IMGSEC_PASSWORD, else from standard input.\n";

typedef struct {
    const char *db, *domain, *name, *project, *role, *eps;
} user_args;

static int parse_args(int argc, char **argv, user_args *a)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"domain", required_argument, NULL, 'D'},
        {"name", required_argument, NULL, 'n'},    {"project", required_argument, NULL, 'p'},
        {"role", required_argument, NULL, 'r'},    {"eps", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    *a = (user_args){.db = cli_default_db()};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->db = optarg; break;
        case 'D': a->domain = optarg; break;
        case 'n': a->name = optarg; break;
        case 'p': a->project = optarg; break;
        case 'r': a->role = optarg; break;
        case 'e': a->eps = optarg; break;
        case 'h': fputs(USAGE, stdout); return -1;
        default: fputs(USAGE, stderr); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "imgsec user: unexpected argument '%s'\n%s", argv[optind], USAGE);
        return CLI_USAGE;
    }
    return 0;
}

static bool need(const char *value, const char *flag)
{
    return cli_need("user", USAGE, value, flag);
}

static bool grant_from_args(const user_args *a, store_grant *g)
{
    if (!need(a->project, "--project") || !need(a->role, "--role") || !need(a->eps, "--eps"))
        return false;
    memset(g, 0, sizeof *g);
    int r = role_parse(a->role);
    if (r < 0) {
        fprintf(stderr, "imgsec user: --role must be reader, writer or admin\n");
        return false;
    }
    if (strlen(a->project) > MODEL_PROJECT_ID_MAX || strlen(a->eps) > STORE_EPS_MAX) {
        fprintf(stderr, "imgsec user: --project or --eps too long\n");
        return false;
    }
    strcpy(g->project_id, a->project);
    g->role = (role)r;
    g->eps_all = strcmp(a->eps, "all") == 0;
    if (!g->eps_all)
        strcpy(g->eps, a->eps);
    return true;
}

static void print_user(const store_user *u, const store_grant *g, void *arg)
{
    (void)arg;
    if (!g)
        printf("%s\t%s\t-\t-\t-\n", u->domain, u->name);
    else
        printf("%s\t%s\t%s\t%s\t%s\n", u->domain, u->name, g->project_id, role_name(g->role),
               g->eps_all ? "all" : g->eps);
}

typedef enum { SUB_ADD, SUB_GRANT, SUB_REVOKE, SUB_DEL, SUB_LIST, SUB_COUNT } user_sub;
static const char *const SUB_NAMES[SUB_COUNT] = {"add", "grant", "revoke", "del", "list"};

/* Everything a subcommand needs from the command line, checked before the
 * database is opened: opening creates (or migrates) it, and a mistyped
 * command must leave no file behind (as in cmd_key.c). */
static bool args_complete(user_sub sub, const user_args *a, store_grant *g)
{
    switch (sub) {
    case SUB_ADD:
    case SUB_GRANT:
        return need(a->domain, "--domain") && need(a->name, "--name") && grant_from_args(a, g);
    case SUB_REVOKE:
        return need(a->domain, "--domain") && need(a->name, "--name") &&
               need(a->project, "--project");
    case SUB_DEL: return need(a->domain, "--domain") && need(a->name, "--name");
    default: return true;
    }
}

/* add: the password is read and hashed before the database is opened,
 * so a missing password leaves no file behind either. */
static int password_hash(char *hash, size_t size, imgsec_err *err)
{
    char pw[AUTH_PASSWORD_MAX + 2];
    if (!cli_read_password(pw, sizeof pw)) {
        fprintf(stderr, "imgsec user: no password (set IMGSEC_PASSWORD or give it on stdin)\n");
        return CLI_USAGE;
    }
    int rc = auth_password_hash(pw, hash, size, err);
    sodium_memzero(pw, sizeof pw);
    return rc == IMGSEC_OK ? CLI_OK : cli_fail(err);
}

static int run(store *st, user_sub sub, const user_args *a, const store_grant *g,
               const char *hash, imgsec_err *err)
{
    int rc = IMGSEC_OK;
    switch (sub) {
    case SUB_ADD: rc = store_user_add(st, a->domain, a->name, hash, g, err); break;
    case SUB_GRANT: rc = store_user_grant(st, a->domain, a->name, g, err); break;
    case SUB_REVOKE: rc = store_user_revoke(st, a->domain, a->name, a->project, err); break;
    case SUB_DEL: rc = store_user_del(st, a->domain, a->name, err); break;
    case SUB_LIST:
        printf("domain\tname\tproject\trole\teps\n");
        rc = store_user_list(st, print_user, NULL, err);
        break;
    case SUB_COUNT: break;
    }
    return rc == IMGSEC_OK ? CLI_OK : cli_fail(err);
}

int cmd_user(int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE, stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    user_args a;
    int rc = parse_args(argc - 1, argv + 1, &a);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    user_sub sub = SUB_ADD;
    while (sub < SUB_COUNT && strcmp(name, SUB_NAMES[sub]) != 0)
        sub++;
    if (sub == SUB_COUNT) {
        fprintf(stderr, "imgsec user: unknown subcommand '%s'\n%s", name, USAGE);
        return CLI_USAGE;
    }
    store_grant g = {0};
    if (!args_complete(sub, &a, &g))
        return CLI_USAGE;
    imgsec_err err = {0};
    char hash[AUTH_PW_HASH_MAX] = "";
    if (sub == SUB_ADD && (rc = password_hash(hash, sizeof hash, &err)) != CLI_OK)
        return rc;
    store *st = cli_store_open(a.db);
    if (!st)
        return CLI_FAIL;
    rc = run(st, sub, &a, &g, hash, &err);
    store_close(st);
    return rc;
}
