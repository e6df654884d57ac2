/**
 * `npm run bench:web`: the web app's data routes on a full database — 10,000 conversations of
 * 50 messages each (AIXCL_BENCH_CONVERSATIONS, AIXCL_BENCH_MESSAGES), plus one of 200 messages —
 * on PGlite, and on PostgreSQL too when AIXCL_BENCH_DATABASE_URL names an (empty) database.
 *
 * Prints, as medians of AIXCL_BENCH_ROUNDS requests (default 30) over real HTTP on loopback:
 * the conversation list page (first and a later one), opening the 200-message chat, and a search;
 * the SQL statements each page ran (targets: list ≤ 2, open ≤ 3); the gzip size of the JavaScript
 * the chat page loads (target ≤ 150 KB); and, in Chromium, the time from sending a message to its
 * first token in the page's DOM against the same request on /api/chat (target ≤ 1.1×, see
 * bench/web-ttft.ts). Request times include the HTTP round trip, so they bound the server time
 * from above (target ≤ 20 ms, search ≤ 50 ms).
 */
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { loadConfig } from "../src/config/load.js";
import { createUser } from "../src/auth/users.js";
import { silentLogger } from "../src/logger.js";
import { startPlatform } from "../src/server/start.js";
import { addTermsSql } from "../src/store/conversation-terms.js";
import { openDatabase } from "../src/store/open.js";
import type { Database, Queryable } from "../src/store/types.js";
import { ROOT } from "../test/support/build.js";
import { median } from "./report.js";
import { measureTtft } from "./web-ttft.js";

const CONVERSATIONS = Number(process.env.AIXCL_BENCH_CONVERSATIONS ?? 10_000);
const MESSAGES = Number(process.env.AIXCL_BENCH_MESSAGES ?? 50);
const ROUNDS = Number(process.env.AIXCL_BENCH_ROUNDS ?? 30);
const USERNAME = "bench-web";
const PASSWORD = "bench-web-password";
const WORDS = [
  "llama",
  "pglite",
  "postgres",
  "vector",
  "kernel",
  "garden",
  "violin",
  "harbor",
  "quartz",
  "meadow",
];

/** A database whose statements are counted (each query, and each statement of a transaction). */
function counted(db: Database): { db: Database; count: () => number; reset: () => void } {
  let statements = 0;
  const wrap = (q: Queryable): Queryable => ({
    query(sql, params) {
      statements++;
      return q.query(sql, params);
    },
  });
  return {
    db: {
      ...db,
      engine: db.engine,
      query: wrap(db).query,
      transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
      exec: (sql) => {
        statements++;
        return db.exec(sql);
      },
      close: () => db.close(),
    },
    count: () => statements,
    reset: () => void (statements = 0),
  };
}

/**
 * Fills the user's history in a few set-based statements: message ids are derived from the
 * conversation id and the position, so each message's parent id is known without a lookup.
 */
async function fill(db: Database, userId: string): Promise<string> {
  const words = `ARRAY[${WORDS.map((w) => `'${w}'`).join(",")}]`;
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO conversations (user_id, title, model, created_at, updated_at)
       SELECT $1::uuid, 'Chat ' || i || ' about ' || (${words})[1 + i % 10], 'hello:latest',
              now() - (i || ' minutes')::interval, now() - (i || ' minutes')::interval
         FROM generate_series(1, $2::int) AS i`,
      [userId, CONVERSATIONS],
    );
    await tx.query(
      `INSERT INTO messages (id, conversation_id, user_id, parent_id, seq, role, content, model, created_at)
       SELECT md5(c.id::text || s)::uuid, c.id, c.user_id,
              CASE WHEN s = 1 THEN NULL ELSE md5(c.id::text || (s - 1))::uuid END, s,
              CASE WHEN s % 2 = 1 THEN 'user' ELSE 'assistant' END,
              'Message ' || s || ' on ' || (${words})[1 + (s * 7 + length(c.title)) % 10] ||
                ' and ' || (${words})[1 + s % 10] || ': ' || repeat('some ordinary words ', 8),
              CASE WHEN s % 2 = 1 THEN NULL ELSE 'hello:latest' END, c.created_at
         FROM conversations c, generate_series(1, $2::int) AS s
        WHERE c.user_id = $1::uuid`,
      [userId, MESSAGES],
    );
  });
  // The long chat a user opens: 200 messages.
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO conversations (user_id, title, model, updated_at)
     VALUES ($1::uuid, 'The long one', 'hello:latest', now() - interval '1 year') RETURNING id`,
    [userId],
  );
  const longId = rows[0]?.id ?? "";
  await db.transaction((tx) =>
    tx.query(
      `INSERT INTO messages (id, conversation_id, user_id, parent_id, seq, role, content)
       SELECT md5($1 || s)::uuid, $1::uuid, $2::uuid, CASE WHEN s = 1 THEN NULL ELSE md5($1 || (s - 1))::uuid END, s,
              CASE WHEN s % 2 = 1 THEN 'user' ELSE 'assistant' END, 'Long chat message ' || s
         FROM generate_series(1, 200) AS s`,
      [longId, userId],
    ),
  );
  // The words each conversation is found by, as the app's own writes add them (set-based here).
  await db.query(
    addTermsSql("conversations c", { conversation: "c.id", user: "c.user_id", text: "c.title" }),
  );
  await db.query(
    addTermsSql("messages m", { conversation: "m.conversation_id", user: "m.user_id", text: "m.content" }),
  );
  await db.query("ANALYZE conversations");
  await db.query("ANALYZE messages");
  await db.query("ANALYZE conversation_terms");
  return longId;
}

/** The gzip size of the JavaScript index.html loads (entry and preloaded modules), bytes. */
async function chatPageJsGzip(): Promise<number | undefined> {
  const webRoot = join(ROOT, "dist", "web");
  const html = await readFile(join(webRoot, "index.html"), "utf8").catch(() => undefined);
  if (html === undefined) return undefined;
  const scripts = [
    ...html.matchAll(/<(?:script[^>]*src|link[^>]*rel="modulepreload"[^>]*href)="\/([^"]+\.js)"/g),
  ];
  let total = 0;
  for (const [, path] of scripts) total += gzipSync(await readFile(join(webRoot, path ?? ""))).length;
  return total;
}

interface Timed {
  ms: number[];
  statements: number[];
}

async function time(
  rounds: number,
  counter: ReturnType<typeof counted>,
  request: () => Promise<Response>,
): Promise<Timed> {
  const result: Timed = { ms: [], statements: [] };
  for (let i = 0; i < rounds + 2; i++) {
    counter.reset();
    const start = performance.now();
    const response = await request();
    await response.arrayBuffer();
    const ms = performance.now() - start;
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${response.url}`);
    // The first two warm the caches and the query plans.
    if (i >= 2) {
      result.ms.push(ms);
      result.statements.push(counter.count());
    }
  }
  return result;
}

async function benchEngine(label: string, databaseUrl: string | undefined): Promise<string[]> {
  const home = await mkdtemp(join(tmpdir(), "aixcl-bench-web-"));
  const config = loadConfig({
    flags: { home, "server.port": 0, ...(databaseUrl ? { "database.url": databaseUrl } : {}) },
    env: {},
    readFile: false,
  });
  const opened = await openDatabase(config);
  const counter = counted(opened);
  const platform = await startPlatform({ config, logger: silentLogger(), database: counter.db });
  try {
    const user = await createUser(opened, { username: USERNAME, password: PASSWORD, role: "user" });
    const fillStart = performance.now();
    const longId = await fill(opened, user.id);
    const fillS = (performance.now() - fillStart) / 1000;

    const login = await fetch(`${platform.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: USERNAME, password: PASSWORD }),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    if (!login.ok || cookie === "") throw new Error(`login failed: HTTP ${login.status}`);
    const get = (path: string) => fetch(`${platform.url}${path}`, { headers: { cookie } });

    const first = await get("/api/aixcl/conversations?limit=50");
    const { next_cursor: cursor } = (await first.json()) as { next_cursor: string | null };
    const rows: [string, Timed, number, number][] = [
      [
        "list, first page (50)",
        await time(ROUNDS, counter, () => get("/api/aixcl/conversations?limit=50")),
        20,
        2,
      ],
      [
        "list, next page (50)",
        await time(ROUNDS, counter, () =>
          get(`/api/aixcl/conversations?limit=50&cursor=${encodeURIComponent(cursor ?? "")}`),
        ),
        20,
        2,
      ],
      [
        "open a 200-message chat",
        await time(ROUNDS, counter, () => get(`/api/aixcl/conversations/${longId}`)),
        20,
        3,
      ],
      [
        "search 'violin'",
        await time(ROUNDS, counter, () => get("/api/aixcl/conversations?limit=50&q=violin")),
        50,
        2,
      ],
      [
        "search 'garden kern' (prefix)",
        await time(ROUNDS, counter, () => get("/api/aixcl/conversations?limit=50&q=garden%20kern")),
        50,
        2,
      ],
    ];
    const lines = [
      `${label}: ${CONVERSATIONS} conversations x ${MESSAGES} messages (+1 of 200), filled in ${fillS.toFixed(1)} s`,
      `  ${"route".padEnd(32)} ${"median ms".padStart(10)} ${"target".padStart(8)} ${"SQL".padStart(5)} ${"max".padStart(5)}`,
    ];
    for (const [name, timed, target, maxStatements] of rows) {
      const ms = median(timed.ms);
      const statements = Math.max(...timed.statements);
      lines.push(
        `  ${name.padEnd(32)} ${ms.toFixed(1).padStart(10)} ${`<= ${target}`.padStart(8)} ${String(statements).padStart(5)} ${String(maxStatements).padStart(5)}` +
          (ms > target || statements > maxStatements ? "  OVER" : ""),
      );
    }
    return lines;
  } finally {
    await platform.close();
    await opened.query("DELETE FROM users WHERE username = $1", [USERNAME]).catch(() => undefined);
    await opened.close();
    await rm(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const lines = await benchEngine("PGlite", undefined);
  const pgUrl = process.env.AIXCL_BENCH_DATABASE_URL;
  if (pgUrl) lines.push("", ...(await benchEngine("PostgreSQL", pgUrl)));
  else
    lines.push("", "PostgreSQL: skipped (set AIXCL_BENCH_DATABASE_URL to an empty database to include it)");
  const gzip = await chatPageJsGzip();
  lines.push(
    "",
    gzip === undefined
      ? "chat page JavaScript: dist/web is not built (npm run build)"
      : `chat page JavaScript, gzip: ${(gzip / 1024).toFixed(1)} KB (target <= 150 KB)`,
  );
  lines.push(...(await measureTtft()));
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
