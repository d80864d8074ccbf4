/**
 * The query behind `Registry.summaries()` (what `nx pkg list` shows): one row per app with its
 * versions in order and their total size. A module of its own, importing nothing, so that the
 * bench's Deno floor for list (tests/bench/deno_floor.ts) runs the very same query.
 */
export const SUMMARIES_SQL = `SELECT a.id, a.version, a.state, a.publisher, a.bundle_type, a.sku,
  (SELECT group_concat(version, ' ') FROM
    (SELECT version FROM versions WHERE app_id = a.id ORDER BY ord)) AS versions,
  (SELECT coalesce(sum(size), 0) FROM versions WHERE app_id = a.id) AS size
  FROM apps a ORDER BY a.id`;
