/* cmd_vulndb_rematch.c - imgsec vulndb rematch (not yet implemented). */
#include <stdio.h>

#include "cli.h"
#include "imgsec/vulndb.h"

int cmd_vulndb_rematch(const char *db_path, vulndb *vdb);

int cmd_vulndb_rematch(const char *db_path, vulndb *vdb)
{
    (void)vdb;
    fprintf(stderr, "imgsec vulndb rematch: %s: not implemented yet\n", db_path);
    return CLI_FAIL;
}
