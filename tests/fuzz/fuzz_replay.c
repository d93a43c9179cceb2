/* fuzz_replay.c - runs a fuzz target over files, without libFuzzer.
 *
 * Linked with each fuzz_*.c in the ordinary (gcc) builds, so that ctest
 * replays the seed corpus and every input that once crashed a target
 * (tests/fuzz/regressions/<target>/) on every `make test`, under ASan and
 * UBSan in the sanitizer pass. Arguments: files or directories. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "imgsec/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    size_t len = 0;
    char *buf = util_read_file(path, &len);
    if (!buf) {
        fprintf(stderr, "fuzz_replay: cannot open %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int failures = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            continue; /* an absent regressions dir is fine */
        if (!S_ISDIR(st.st_mode)) {
            failures += run_file(argv[i]);
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            failures += run_file(path);
            files++;
        }
        if (d)
            closedir(d);
    }
    printf("fuzz_replay: %d inputs, %d unreadable\n", files, failures);
    return failures || files == 0 ? 1 : 0;
}
