/* index_latest.c - the latest_version attribute (data-model.md).
 *
 * Images of one project sharing (image_type, instance_id, namespace,
 * image_name) form a group; the member with the greatest
 * latest_update_time (ties: the greatest id) is the latest version. Groups
 * are a postings instance (group key -> member rows), so a row finds its
 * group and leaves it in O(1); the group's aux field remembers its current
 * latest row. A join only compares the newcomer with the current latest
 * (so a rebuild is linear however large a group is); only the latest
 * leaving makes the group be scanned for its successor.
 */
#include "index_internal.h"

#include "index_key.h"

static bool newer(const ix_inst *ix, uint32_t a, uint32_t b)
{
    int64_t ta = ix_range_value(ix, IX_Q_UPDATE, a), tb = ix_range_value(ix, IX_Q_UPDATE, b);
    if (ta != tb)
        return ta > tb;
    return ix->rows[a].id > ix->rows[b].id;
}

static void set_latest(ix_inst *ix, pterm *g, uint32_t row)
{
    if (g->aux == row)
        return;
    if (g->aux != PTERM_NO_AUX)
        roaring_bitmap_remove(ix->latest, g->aux);
    roaring_bitmap_add(ix->latest, row);
    g->aux = row;
}

int latest_join(ix_inst *ix, uint32_t row, const image_summary *s)
{
    ixkey k;
    key_init(&k);
    key_str(&k, s->project_id);
    key_byte(&k, (unsigned char)s->type);
    key_str(&k, s->instance_id);
    key_str(&k, s->namespace_);
    key_str(&k, s->image_name);
    int rc = k.failed ? -1 : postings_row_add(&ix->groups, k.p, k.len, (posting){.row = row});
    key_free(&k);
    if (rc != 0)
        return -1;
    uint32_t n;
    const pref *refs = postings_row_refs(&ix->groups, row, &n);
    pterm *g = postings_term_rw(&ix->groups, refs[0].term);
    if (g->aux == PTERM_NO_AUX || newer(ix, row, g->aux))
        set_latest(ix, g, row);
    return 0;
}

void latest_leave(ix_inst *ix, uint32_t row)
{
    uint32_t n;
    const pref *refs = postings_row_refs(&ix->groups, row, &n);
    if (n == 0)
        return;
    uint32_t term = refs[0].term;
    postings_row_clear(&ix->groups, row);
    pterm *g = postings_term_rw(&ix->groups, term); /* NULL if row was the last member */
    if (!g) {
        roaring_bitmap_remove(ix->latest, row);
        return;
    }
    if (g->aux != row)
        return;
    uint32_t best = g->p[0].row;
    for (uint32_t i = 1; i < g->len; i++)
        if (newer(ix, g->p[i].row, best))
            best = g->p[i].row;
    set_latest(ix, g, best);
}
