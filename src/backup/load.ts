/**
 * Loads the data of a dump (see dump.ts) into a freshly migrated schema, inside the restore's
 * transaction. Only the `COPY … FROM stdin` blocks and the sequence positions are read: the schema
 * comes from the migrations. Rows go in as batched, parameterized INSERTs (the COPY protocol is
 * not available alike on both engines); each text value is cast to its column's type, which is
 * the same input conversion COPY applies.
 */
import { AppError } from "../errors.js";
import type { Queryable } from "../store/types.js";
import { listTables, type TableInfo } from "./catalog.js";
import { parseCopyRow, parseIdentList, quoteIdent } from "./copy-text.js";

export interface LoadSummary {
  tables: { name: string; rows: number }[];
}

/** Most parameters one INSERT carries (PostgreSQL's protocol limit is 65535). */
const MAX_PARAMS = 30_000;
const MAX_BATCH_ROWS = 500;

const COPY_LINE = /^COPY (.+?) \((.*)\) FROM stdin;$/;
const SETVAL_LINE =
  /^SELECT pg_catalog\.setval\(pg_catalog\.pg_get_serial_sequence\('((?:[^']|'')*)', '((?:[^']|'')*)'\), (\d+), true\);$/;

function invalid(detail: string): AppError {
  return new AppError("invalid_request", `not a valid aixcl backup: database.sql ${detail}`);
}

/** Splits byte chunks into lines (a newline byte never occurs inside a UTF-8 sequence). */
export async function* lines(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let rest = Buffer.alloc(0);
  for await (const chunk of chunks) {
    let data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let end = data.indexOf(10, start); end !== -1; end = data.indexOf(10, start)) {
      yield data.toString("utf8", start, end);
      start = end + 1;
    }
    data = data.subarray(start);
    rest = Buffer.from(data);
  }
  if (rest.length > 0) yield rest.toString("utf8");
}

interface Target {
  table: TableInfo;
  columns: TableInfo["columns"];
  rows: (string | null)[][];
  count: number;
  batchRows: number;
}

async function insertRows(tx: Queryable, target: Target): Promise<void> {
  if (target.rows.length === 0) return;
  const { table, columns } = target;
  const params: (string | null)[] = [];
  const tuples = target.rows.map((row) => {
    const placeholders = row.map((value, i) => {
      params.push(value);
      return `$${params.length}::text::${(columns[i] as TableInfo["columns"][number]).type}`;
    });
    return `(${placeholders.join(", ")})`;
  });
  const overriding = columns.some((column) => column.identityAlways) ? " OVERRIDING SYSTEM VALUE" : "";
  await tx.query(
    `INSERT INTO ${quoteIdent(table.name)} (${columns.map((c) => quoteIdent(c.name)).join(", ")})${overriding} VALUES ${tuples.join(", ")}`,
    params,
  );
  target.rows = [];
}

function startCopy(line: string, tables: Map<string, TableInfo>): Target | undefined {
  const match = COPY_LINE.exec(line);
  if (!match) return undefined;
  const tableName = parseIdentList(match[1] as string);
  const columnNames = parseIdentList(match[2] as string);
  if (tableName?.length !== 1 || columnNames === undefined) throw invalid(`has a malformed line: ${line}`);
  const table = tables.get(tableName[0] as string);
  if (!table) throw invalid(`has rows of table ${tableName[0]}, which its schema version does not have`);
  const columns = columnNames.map((name) => {
    const column = table.columns.find((c) => c.name === name);
    if (!column) throw invalid(`has a column ${table.name}.${name} its schema version does not have`);
    return column;
  });
  const batchRows = Math.max(
    1,
    Math.min(MAX_BATCH_ROWS, Math.floor(MAX_PARAMS / Math.max(1, columns.length))),
  );
  return { table, columns, rows: [], count: 0, batchRows };
}

/** Reads the dump's lines and loads its rows and sequence positions through `tx`. */
export async function loadDump(tx: Queryable, input: AsyncIterable<string>): Promise<LoadSummary> {
  const tables = new Map((await listTables(tx)).map((table) => [table.name, table]));
  const summary: LoadSummary = { tables: [] };
  const sequences: { table: string; column: string; value: string }[] = [];
  const loaded = new Set<string>();
  let target: Target | undefined;
  for await (const line of input) {
    if (target) {
      if (line === "\\.") {
        await insertRows(tx, target);
        summary.tables.push({ name: target.table.name, rows: target.count });
        target = undefined;
        continue;
      }
      target.rows.push(parseCopyRow(line, target.columns.length));
      target.count += 1;
      if (target.rows.length >= target.batchRows) await insertRows(tx, target);
      continue;
    }
    target = startCopy(line, tables);
    if (target) {
      if (loaded.has(target.table.name)) throw invalid(`holds table ${target.table.name} twice`);
      loaded.add(target.table.name);
      continue;
    }
    const setval = SETVAL_LINE.exec(line);
    if (setval) {
      sequences.push({
        table: (setval[1] as string).replace(/''/g, "'"),
        column: (setval[2] as string).replace(/''/g, "'"),
        value: setval[3] as string,
      });
    }
    // Anything else (SET lines, the schema for psql, comments) is not data: the migrations made
    // the schema, and the settings only matter to psql.
  }
  if (target) throw invalid(`is truncated inside the rows of ${target.table.name}`);
  for (const { table, column, value } of sequences) {
    await tx.query("SELECT setval(pg_get_serial_sequence($1, $2), $3::bigint, true)", [table, column, value]);
  }
  return summary;
}
