/* pg_cluster_run.h - the C tests' one way to drive tests/support/pg_cluster.sh.
 *
 * pg_cluster_run(sh, cmd, dir, out, size) runs `sh 'SH' CMD 'DIR'` (start,
 * stop, pause, resume, crash: see the script's header) and returns 0 when
 * it exits 0. When out is not NULL it gets the first line the command
 * printed, without its newline (start prints the cluster's URI).
 * Header-only: the unit and API tests link different support libraries.
 */
#ifndef IMGSEC_TESTS_PG_CLUSTER_RUN_H
#define IMGSEC_TESTS_PG_CLUSTER_RUN_H

#include <limits.h>
#include <stdio.h>
#include <string.h>

static inline int pg_cluster_run(const char *sh, const char *cmd, const char *dir, char *out,
                                 size_t size)
{
    char line[PATH_MAX * 2 + 32];
    snprintf(line, sizeof line, "sh '%s' %s '%s'", sh, cmd, dir);
    FILE *p = popen(line, "r");
    if (!p)
        return -1;
    if (out && size) {
        out[0] = '\0';
        if (fgets(out, (int)size, p))
            out[strcspn(out, "\n")] = '\0';
    }
    return pclose(p) == 0 ? 0 : -1;
}

#endif
