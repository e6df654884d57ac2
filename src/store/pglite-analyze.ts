/**
 * Planner statistics for PGlite, which has no autovacuum: nothing would ever ANALYZE a table that
 * grew after its migration, and a plan needs them to tell a common word from a rare one in a
 * search (src/store/conversation-search.ts: without them a common word took 35–60 ms instead of
 * 1–6 ms on 10,000 conversations). A table is analyzed when it has grown by a fifth (and 8 pages)
 * since its statistics were taken, checked soon after the server starts and then periodically.
 * PostgreSQL's own autovacuum does this for a server database.
 */
import type { Logger } from "../logger.js";
import type { Database } from "./types.js";

export interface AutoAnalyzeOptions {
  /** Delay before the first check, ms: after the start, so it does not delay it. Default 2 s. */
  firstAfterMs?: number;
  /** Time between checks, ms. Default 10 minutes. */
  intervalMs?: number;
}

/**
 * Analyzes the tables of the current schema that grew since their statistics: those whose size
 * in pages exceeds what the last ANALYZE (or VACUUM) recorded by a fifth plus 8 pages, which
 * includes any table never analyzed that is past 8 pages. Returns their names.
 */
export async function analyzeGrownTables(db: Database): Promise<string[]> {
  const { rows } = await db.query<{ name: string; ident: string }>(
    `SELECT c.relname AS name, quote_ident(c.relname) AS ident
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind = 'r'
        AND pg_relation_size(c.oid) / current_setting('block_size')::int > c.relpages * 1.2 + 8
      ORDER BY c.relname`,
  );
  for (const row of rows) await db.exec(`ANALYZE ${row.ident}`);
  return rows.map((row) => row.name);
}

/**
 * Checks for grown tables in the background until the returned stop function is called; it
 * resolves once a check under way has finished, so the database can be closed next.
 */
export function startAutoAnalyze(
  db: Database,
  logger: Logger,
  options: AutoAnalyzeOptions = {},
): () => Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const check = async () => {
    const started = performance.now();
    try {
      const tables = await analyzeGrownTables(db);
      if (tables.length > 0) {
        logger.info({ tables, ms: Math.round(performance.now() - started) }, "database statistics refreshed");
      }
    } catch (error) {
      if (!stopped) logger.warn({ err: error }, "refreshing database statistics failed");
    }
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      running = check().finally(() => {
        if (!stopped) schedule(options.intervalMs ?? 10 * 60_000);
      });
    }, ms);
    // A check never keeps the process alive on its own.
    timer.unref();
  };
  schedule(options.firstAfterMs ?? 2_000);
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running;
  };
}
