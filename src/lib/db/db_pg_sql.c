/* db_pg_sql.c - the store's SQL, written in SQLite's dialect, as
 * PostgreSQL takes it: placeholders (?N to $N) for every statement, and
 * the few DDL forms the schema uses (db.h, db_ddl): among them CREATE
 * TRIGGER (a function "<name>_fn" and the trigger) and DROP TRIGGER IF
 * EXISTS (the function, CASCADE: the trigger).
 *
 * Both walk the text token by token and copy string literals, quoted
 * names and comments untouched, so a '?' or a type name inside them is
 * never rewritten. The DDL translation knows a closed list of forms; a
 * trigger it cannot translate faithfully (BEFORE, INSTEAD OF, WHEN) is
 * refused with a reason rather than changed in meaning.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/db_int.h"
#include "imgsec/util.h"

static bool ident_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

/* The end of the literal, quoted name or comment starting at p, or NULL
 * if none starts there. An unterminated one runs to the end. */
static const char *skip_quoted(const char *p)
{
    if (*p == '\'' || *p == '"') {
        char q = *p++;
        while (*p) {
            if (*p == q) {
                if (p[1] == q) { /* '' or "" inside */
                    p += 2;
                    continue;
                }
                return p + 1;
            }
            p++;
        }
        return p;
    }
    if (p[0] == '-' && p[1] == '-') {
        const char *e = strchr(p, '\n');
        return e ? e + 1 : p + strlen(p);
    }
    if (p[0] == '/' && p[1] == '*') {
        const char *e = strstr(p + 2, "*/");
        return e ? e + 2 : p + strlen(p);
    }
    return NULL;
}

static const char *words_at(const char *p, const char *const *words);
#define WORDS(p, ...) words_at((p), (const char *const[]){__VA_ARGS__, NULL})

/* SQLite's spellings PostgreSQL does not take, at a word start p: the
 * null-safe comparison "a IS b" / "a IS NOT b" (PostgreSQL: IS [NOT]
 * DISTINCT FROM; IS [NOT] NULL, TRUE, FALSE stay), the integer
 * condition "WHERE 1" (PostgreSQL wants a boolean), and the index hints
 * "INDEXED BY name" and "NOT INDEXED" (dropped). Appends the
 * translation and returns the end of what it replaced, or NULL. */
static const char *dialect_word(util_buf *b, const char *p)
{
    const char *e, *n;
    if ((e = WORDS(p, "INDEXED", "BY"))) { /* an index hint: PostgreSQL plans alone */
        while (isspace((unsigned char)*e))
            e++;
        while (ident_char(*e))
            e++;
        return e;
    }
    if ((e = WORDS(p, "NOT", "INDEXED")))
        return e;
    if ((e = WORDS(p, "WHERE", "1")) && !ident_char(*e) && *e != '.') {
        util_buf_printf(b, "WHERE TRUE");
        return e;
    }
    bool is_not = (e = WORDS(p, "IS", "NOT")) != NULL;
    if (!e && !(e = WORDS(p, "IS")))
        return NULL;
    n = e;
    while (isspace((unsigned char)*n))
        n++;
    if (WORDS(n, "NULL") || WORDS(n, "TRUE") || WORDS(n, "FALSE") || WORDS(n, "UNKNOWN") ||
        WORDS(n, "DISTINCT") || (!is_not && WORDS(n, "NOT")))
        return NULL;
    util_buf_printf(b, is_not ? "IS DISTINCT FROM" : "IS NOT DISTINCT FROM");
    return e;
}

char *db_pg_placeholders(const char *sql, unsigned char used[DB_PG_MAX_PARAMS / 8 + 1], int *max_out)
{
    util_buf b = {0};
    long max = 0; /* SQLite numbers a plain ? one past the largest so far */
    const char *p = sql;
    bool word_start = true;
    while (*p) {
        const char *e = skip_quoted(p);
        if (e) {
            util_buf_put(&b, p, (size_t)(e - p));
            p = e;
            word_start = true;
            continue;
        }
        if (word_start && ident_char(*p) && (e = dialect_word(&b, p))) {
            p = e;
            continue;
        }
        if (*p != '?') {
            word_start = !ident_char(*p) && *p != '$';
            util_buf_put(&b, p++, 1);
            continue;
        }
        word_start = false;
        p++;
        long n;
        if (isdigit((unsigned char)*p)) {
            char *end;
            n = strtol(p, &end, 10);
            p = end;
        } else {
            n = max + 1;
        }
        if (n > max)
            max = n;
        if (used && n >= 1 && n <= DB_PG_MAX_PARAMS)
            used[n / 8] |= (unsigned char)(1u << (n % 8));
        if (n < 1 || n > DB_PG_MAX_PARAMS) {
            free(b.buf);
            return NULL;
        }
        util_buf_printf(&b, "$%ld", n);
    }
    util_buf_put(&b, "", 1);
    if (b.failed) {
        free(b.buf);
        return NULL;
    }
    if (max_out)
        *max_out = (int)max;
    return b.buf;
}

/* ---- DDL ---- */

/* If the words (NULL-terminated list) follow at p, separated by white
 * space, case-insensitive and each a whole word: the end of the last. */
static const char *words_at(const char *p, const char *const *words)
{
    for (size_t i = 0; words[i]; i++) {
        if (i) {
            if (!isspace((unsigned char)*p))
                return NULL;
            while (isspace((unsigned char)*p))
                p++;
        }
        size_t n = strlen(words[i]);
        if (strncasecmp(p, words[i], n) != 0 || ident_char(p[n]))
            return NULL;
        p += n;
    }
    return p;
}

/* The start of the next whole word w at or after p outside quotes, or
 * NULL. */
static const char *find_word(const char *p, const char *w)
{
    bool word_start = true;
    while (*p) {
        const char *e = skip_quoted(p);
        if (e) {
            p = e;
            word_start = true;
            continue;
        }
        if (word_start && WORDS(p, w))
            return p;
        word_start = !ident_char(*p);
        p++;
    }
    return NULL;
}

/* "CREATE TRIGGER <header> BEGIN <body> END;" at p (after the two first
 * words, at the header): appends PostgreSQL's function and trigger, and
 * returns the end, or NULL with *why. */
static const char *trigger(util_buf *b, const char *p, const char **why)
{
    const char *begin = find_word(p, "BEGIN");
    const char *end = begin ? find_word(begin + 5, "END") : NULL;
    if (!begin || !end) {
        *why = "a trigger without BEGIN ... END";
        return NULL;
    }
    const char *h = p;
    while (isspace((unsigned char)*h))
        h++;
    size_t name_len = 0;
    while (ident_char(h[name_len]))
        name_len++;
    const char *after = find_word(h, "AFTER");
    if (!name_len || !after || after > begin || (find_word(h, "WHEN") && find_word(h, "WHEN") < begin) ||
        (find_word(h, "EACH") && find_word(h, "EACH") < begin)) {
        *why = "a trigger other than \"CREATE TRIGGER name AFTER event ON table BEGIN ... END\"";
        return NULL;
    }
    util_buf_printf(b,
                    "CREATE FUNCTION \"%.*s_fn\"() RETURNS trigger LANGUAGE plpgsql AS $imgsec$\n"
                    "BEGIN%.*s RETURN NULL; END\n$imgsec$;\n"
                    "CREATE TRIGGER %.*s FOR EACH ROW EXECUTE FUNCTION \"%.*s_fn\"()",
                    (int)name_len, h, (int)(end - begin - 5), begin + 5, (int)(begin - h), h,
                    (int)name_len, h);
    return end + 3;
}

/* For "CREATE TABLE name (...)" at p: the closing parenthesis of the
 * column list when SQLite would key the table by a hidden rowid (no
 * INTEGER PRIMARY KEY column, not WITHOUT ROWID), else NULL. */
static const char *rowid_table_end(const char *p)
{
    const char *open = NULL, *q = p;
    while (*q && *q != ';' && !open) {
        const char *e = skip_quoted(q);
        if (e) {
            q = e;
            continue;
        }
        if (*q == '(')
            open = q;
        q++;
    }
    const char *as = find_word(p, "AS");
    if (!open || (as && as < open))
        return NULL;
    int depth = 0;
    const char *close = NULL;
    for (q = open; *q && !close;) {
        const char *e = skip_quoted(q);
        if (e) {
            q = e;
            continue;
        }
        if (*q == '(')
            depth++;
        else if (*q == ')' && --depth == 0)
            close = q;
        q++;
    }
    if (!close)
        return NULL;
    for (const char *w = find_word(open, "INTEGER"); w && w < close; w = find_word(w + 7, "INTEGER"))
        if (WORDS(w, "INTEGER", "PRIMARY", "KEY"))
            return NULL;
    q = close + 1;
    while (isspace((unsigned char)*q))
        q++;
    return WORDS(q, "WITHOUT", "ROWID") ? NULL : close;
}

char *db_pg_translate_ddl(const char *sql, const char **why)
{
    util_buf b = {0};
    const char *p = sql, *rowid_at = NULL;
    bool word_start = true;
    *why = NULL;
    while (*p) {
        if (p == rowid_at) {
            util_buf_printf(&b, ",\n  rowid BIGINT GENERATED BY DEFAULT AS IDENTITY");
            rowid_at = NULL;
        }
        const char *e = skip_quoted(p);
        if (e) {
            util_buf_put(&b, p, (size_t)(e - p));
            p = e;
            word_start = true;
            continue;
        }
        if (!word_start || !ident_char(*p)) {
            word_start = !ident_char(*p);
            util_buf_put(&b, p++, 1);
            continue;
        }
        word_start = false;
        if (!rowid_at && WORDS(p, "CREATE", "TABLE"))
            rowid_at = rowid_table_end(p);
        if ((e = WORDS(p, "INTEGER", "PRIMARY", "KEY", "AUTOINCREMENT")) ||
            (e = WORDS(p, "INTEGER", "PRIMARY", "KEY"))) {
            util_buf_printf(&b, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
        } else if ((e = WORDS(p, "INTEGER"))) {
            util_buf_printf(&b, "BIGINT");
        } else if ((e = WORDS(p, "REAL"))) {
            util_buf_printf(&b, "DOUBLE PRECISION");
        } else if ((e = WORDS(p, "TEXT"))) {
            util_buf_printf(&b, "TEXT COLLATE \"C\"");
        } else if ((e = WORDS(p, "BLOB"))) {
            util_buf_printf(&b, "BYTEA");
        } else if ((e = WORDS(p, "WITHOUT", "ROWID"))) {
            /* nothing: every PostgreSQL table is organised by its heap */
        } else if ((e = WORDS(p, "PRAGMA"))) {
            const char *semi = strchr(e, ';');
            e = semi ? semi + 1 : e + strlen(e);
        } else if ((e = WORDS(p, "DROP", "TRIGGER", "IF", "EXISTS"))) {
            /* a trigger made above is its function "<name>_fn" and the
             * trigger on the table, which CASCADE drops with it */
            while (isspace((unsigned char)*e))
                e++;
            const char *name = e;
            while (ident_char(*e))
                e++;
            util_buf_printf(&b, "DROP FUNCTION IF EXISTS \"%.*s_fn\"() CASCADE", (int)(e - name),
                            name);
        } else if ((e = WORDS(p, "CREATE", "TRIGGER"))) {
            if (!(e = trigger(&b, e, why))) {
                free(b.buf);
                return NULL;
            }
        } else {
            while (ident_char(*p))
                util_buf_put(&b, p++, 1);
            continue;
        }
        p = e;
    }
    util_buf_put(&b, "", 1);
    if (b.failed) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}
