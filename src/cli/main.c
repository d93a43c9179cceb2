/* main.c - imgsec, the command line: administers users, imports scan
 * results, scans images, asks for statistics and lists, and makes demo
 * data, working on the database file directly (the server sees what it
 * writes at its next request) or, where a command says so, on a server.
 *
 * The commands are one table: the usage is printed from it and the
 * dispatch walks it, so adding a command is one line here. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "imgsec/auth.h"

typedef struct {
    const char *name;
    const char *synopsis; /* after the name, for the usage */
    const char *what;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
} cli_command;

static const cli_command COMMANDS[] = {
    {"user", "add|grant|revoke|list|del", "manage users and their grants", cmd_user},
    {"key", "create|list|del", "access keys (AK/SK) for signed requests", cmd_key},
    {"import", "--project P [--ep EP] FILE...", "load scan results (native, Trivy, Grype, Syft, "
     "CycloneDX, SPDX)", cmd_import},
    {"scan", "--project P IMAGE|--rootfs DIR", "analyze an image and store its findings", cmd_scan},
    {"vulndb", "import|update|status|match|rematch", "the offline OSV vulnerability database",
     cmd_vulndb},
    {"stat", "--type T --project P [filters]", "the statistic's total_num (offline or --server)",
     cmd_stat},
    {"list", "WHAT --project P [--image ID]", "the finding lists, as the API shows them (offline "
     "or --server)", cmd_list},
    {"export", "--type T --project P -o FILE", "write a report to XLSX or CSV (offline or --server)",
     cmd_export},
    {"records", "--type T [--project P] [-o FILE]", "dump the stored records as CSV or SQLite "
     "tables", cmd_records},
    {"demo", "--project P [--images N]", "fill a database with generated demo data", cmd_demo},
    {"gen", "--images N [--seed S]", "print generated documents as NDJSON", cmd_gen},
    {"registry", "add|list|rm --project P", "a project's registries (sealed passwords)",
     cmd_registry},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *f)
{
    fputs("usage: imgsec COMMAND [options]\n\ncommands:\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-7s %-36s %s\n", COMMANDS[i].name, COMMANDS[i].synopsis, COMMANDS[i].what);
    fputs("\nEvery command takes --db FILE (default: $IMGSEC_DB, else ./imgsec.db).\n"
          "Run 'imgsec COMMAND --help' for the options of one command.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], COMMANDS[i].name) != 0)
            continue;
        imgsec_err err = {0};
        if (auth_init(&err) != IMGSEC_OK)
            return cli_fail(&err);
        return COMMANDS[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "imgsec: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
