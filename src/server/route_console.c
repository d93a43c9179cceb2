/* route_console.c - the web console's static files (docs/console.md):
 * GET / redirects to /console/, GET /console/ is index.html, and
 * GET /console/NAME serves one file of --console-dir.
 *
 * The directory is flat on purpose: a NAME is one path segment of
 * [A-Za-z0-9_.-], not starting with '.', with an extension of the type
 * table below, sent without percent-encoding; anything else is 404
 * before the file system is touched.
 * The file is opened relative to the directory with O_NOFOLLOW, so a
 * symlink (even one pointing inside) is refused, and it must be a regular
 * file of at most CONSOLE_FILE_MAX bytes. Every reply carries a strict
 * Content-Security-Policy (no inline script or style, no eval, only this
 * origin), nosniff and no-referrer; files are revalidated with an ETag
 * (size and mtime), so a changed file is seen at once. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "routes.h"

#define CONSOLE_NAME_MAX 64
#define CONSOLE_FILE_MAX (1u << 20)

#define CONSOLE_CSP                                                                          \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "          \
    "frame-ancestors 'none'"

static const struct {
    const char *ext;
    const char *type;
} CONSOLE_TYPES[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
};

static void console_headers(request *req)
{
    http_add_header(req, "Content-Security-Policy", CONSOLE_CSP);
    http_add_header(req, "X-Content-Type-Options", "nosniff");
    http_add_header(req, "Referrer-Policy", "no-referrer");
}

static void console_not_found(request *req)
{
    console_headers(req);
    http_reply_error(req, 404, "APIGW.0101", "the requested route %s does not exist", "console");
}

/* The type of an acceptable name, or NULL. */
static const char *console_type(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > CONSOLE_NAME_MAX || name[0] == '.')
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return NULL;
    }
    if (strstr(name, ".."))
        return NULL;
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof CONSOLE_TYPES / sizeof CONSOLE_TYPES[0]; i++)
        if (strcmp(dot, CONSOLE_TYPES[i].ext) == 0)
            return CONSOLE_TYPES[i].type;
    return NULL;
}

static void console_serve(request *req, const char *name)
{
    const char *type = console_type(name);
    const char *dir_path = req->app->cfg.console_dir;
    if (!type || !dir_path || !*dir_path)
        return console_not_found(req);
    int dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return console_not_found(req);
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    close(dir);
    if (fd < 0)
        return console_not_found(req);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)CONSOLE_FILE_MAX) {
        close(fd);
        return console_not_found(req);
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
    console_headers(req);
    http_add_header(req, "ETag", etag);
    http_add_header(req, "Cache-Control", "no-cache");
    const char *inm = http_header(req, "If-None-Match");
    if (inm && strcmp(inm, etag) == 0) {
        close(fd);
        return http_reply_json(req, 304, NULL);
    }
    if (!http_reply_fd(req, 200, fd, (size_t)st.st_size, type, NULL))
        http_reply_internal(req, "console: cannot make the response for %s", name);
}

void console_root_handle(request *req)
{
    http_add_header(req, "Location", "/console/");
    http_reply_json(req, 302, NULL);
}

void console_index_handle(request *req)
{
    size_t n = strlen(req->path);
    if (n == 0 || req->path[n - 1] != '/') /* relative URLs need the slash */
        return console_root_handle(req);
    console_serve(req, "index.html");
}

/* The names need no percent-encoding, so the target as received must be
 * the plain path: anything encoded (a %00 the decoder cut the path at, an
 * encoded slash or dot) is refused rather than decoded into a name. */
void console_file_handle(request *req)
{
    const char *raw = req->raw_target;
    const char *name = req->params[0];
    size_t plen = strlen("/console/"), nlen = strlen(name);
    if (!raw || strncmp(raw, "/console/", plen) != 0 || strncmp(raw + plen, name, nlen) != 0 ||
        (raw[plen + nlen] != '\0' && raw[plen + nlen] != '?'))
        return console_not_found(req);
    console_serve(req, name);
}
