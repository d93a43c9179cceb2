/* an_os.c - the "os" analyzer: the image's operating system from
 * os-release (ID and VERSION_ID), for the package analyzers' finish
 * steps and for purls. etc/os-release wins over usr/lib/os-release
 * (os-release(5)); a symlink between them carries no content and is
 * skipped, its target is read instead. Emits no records. */
#include "scan/scan_int.h"

#include <stdlib.h>
#include <string.h>

#define OS_RELEASE_MAX 65536

typedef struct {
    char id[2][64], version[2][64]; /* [0] etc/os-release, [1] usr/lib/os-release */
} os_state;

static int os_open(const scan_options *opt, void **state, imgsec_err *err)
{
    (void)opt;
    if (!(*state = calloc(1, sizeof(os_state))))
        return err_set(err, IMGSEC_EINTERNAL, "out of memory");
    return IMGSEC_OK;
}

static int which(const char *path)
{
    return strcmp(path, "etc/os-release") == 0 ? 0 : strcmp(path, "usr/lib/os-release") == 0 ? 1 : -1;
}

static int64_t os_want(void *state, const scan_entry *e)
{
    (void)state;
    return S_ISREG(e->mode) && which(e->path) >= 0 ? OS_RELEASE_MAX : SCAN_WANT_NONE;
}

/* KEY=value, KEY="value" or KEY='value' (shell-like, no expansion). */
static void value_of(const char *line, size_t len, char *out, size_t size)
{
    if (len && (line[0] == '"' || line[0] == '\'') && line[len - 1] == line[0] && len >= 2) {
        line++;
        len -= 2;
    }
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < size; i++)
        if (line[i] != '\\')
            out[o++] = line[i];
    out[o] = '\0';
}

void scan_os_release_parse(const char *data, size_t len, char *id, char *version, size_t size)
{
    id[0] = version[0] = '\0';
    for (size_t i = 0; i < len;) {
        const char *line = data + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i;
        i += n + 1;
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
            n--;
        if (n > 3 && strncmp(line, "ID=", 3) == 0)
            value_of(line + 3, n - 3, id, size);
        else if (n > 11 && strncmp(line, "VERSION_ID=", 11) == 0)
            value_of(line + 11, n - 11, version, size);
    }
}

static int os_entry(void *state, const scan_entry *e, const unsigned char *data, size_t len,
                    scan_result *res, imgsec_err *err)
{
    (void)res;
    (void)err;
    os_state *s = state;
    int k = which(e->path);
    if (k >= 0)
        scan_os_release_parse((const char *)data, len, s->id[k], s->version[k], sizeof s->id[k]);
    return IMGSEC_OK;
}

static int os_finish(void *state, const scan_image *img, scan_result *res, imgsec_err *err)
{
    (void)img;
    os_state *s = state;
    int k = s->id[0][0] ? 0 : 1;
    scan_set_os(res, s->id[k], s->version[k]);
    return res->oom ? err_set(err, IMGSEC_EINTERNAL, "out of memory") : IMGSEC_OK;
}

static void os_close(void *state)
{
    free(state);
}

const scan_analyzer scan_an_os = {
    .name = "os", .emits = REPORT_APPS, .open = os_open, .want = os_want, .entry = os_entry,
    .finish = os_finish, .close = os_close,
};
