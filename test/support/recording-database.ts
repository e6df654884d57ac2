import type { Database, Queryable } from "../../src/store/types.js";

/**
 * `db` with the text of every statement run through it recorded in `statements`, in order
 * (a transaction records its BEGIN and its END, commit or rollback, too): for statement budgets, and for what a code
 * path did or did not read. Clear it with `statements.length = 0`.
 */
export function recordingDatabase(db: Database): { db: Database; statements: string[] } {
  const statements: string[] = [];
  const recorded = (q: Queryable): Queryable => ({
    query: (sql, params) => {
      statements.push(sql);
      return q.query(sql, params);
    },
  });
  return {
    db: {
      engine: db.engine,
      ...recorded(db),
      transaction: (fn) => {
        statements.push("BEGIN");
        return db.transaction((tx) => fn(recorded(tx))).finally(() => statements.push("END"));
      },
      exec: (sql) => {
        statements.push(sql);
        return db.exec(sql);
      },
      sizeBytes: () => db.sizeBytes(),
      close: () => db.close(),
    },
    statements,
  };
}
