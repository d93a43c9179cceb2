/* main.c - imgsec, the command line: administers users, imports scan
 * results and makes demo data, working on the database file directly
 * (the server sees what it writes at its next request). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "imgsec/auth.h"

static const char USAGE[] =
    "usage: imgsec COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  user add|grant|revoke|list|del   manage users and their grants\n"
    "  key create|list|del              access keys (AK/SK) for signed requests\n"
    "  import --project P [--ep EP] FILE...   load ingest documents (NDJSON or JSON array)\n"
    "  demo --project P [--images N]    fill a database with generated demo data\n"
    "  gen --images N [--seed S]        print generated documents as NDJSON\n"
    "  export --type T --project P -o FILE   write a report to XLSX or CSV (offline or --server)\n"
    "  scan --project P IMAGE|--rootfs DIR   analyze an image and store its findings\n"
    "  stat --type T --project P [--body JSON]   the statistic's total_num (offline or --server)\n"
    "  list WHAT --project P [--image ID]    the finding lists, as the API shows them (offline or --server)\n"
    "  vulndb import|update|status|match|rematch   the offline OSV vulnerability database\n"
    "\n"
    "Every command takes --db FILE (default: $IMGSEC_DB, else ./imgsec.db).\n"
    "Run 'imgsec COMMAND --help' for the options of one command.\n";

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    imgsec_err err = {0};
    if (auth_init(&err) != IMGSEC_OK)
        return cli_fail(&err);
    const char *cmd = argv[1];
    if (strcmp(cmd, "user") == 0)
        return cmd_user(argc - 1, argv + 1);
    if (strcmp(cmd, "key") == 0)
        return cmd_key(argc - 1, argv + 1);
    if (strcmp(cmd, "import") == 0)
        return cmd_import(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "gen") == 0)
        return cmd_gen(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return cmd_export(argc - 1, argv + 1);
    if (strcmp(cmd, "scan") == 0)
        return cmd_scan(argc - 1, argv + 1);
    if (strcmp(cmd, "stat") == 0)
        return cmd_stat(argc - 1, argv + 1);
    if (strcmp(cmd, "list") == 0)
        return cmd_list(argc - 1, argv + 1);
    if (strcmp(cmd, "vulndb") == 0)
        return cmd_vulndb(argc - 1, argv + 1);
    fprintf(stderr, "imgsec: unknown command '%s'\n%s", cmd, USAGE);
    return CLI_USAGE;
}
