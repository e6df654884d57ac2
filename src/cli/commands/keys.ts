/**
 * `aixcl keys create|list|revoke`: through the running server's admin API with the local token
 * (run/admin.token) when a server runs — so its open requests are cut on revoke — or directly on
 * the database when none does. The full key is printed once, by `create`, and never again.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import {
  createKeysClient,
  toKeyWire,
  type ApiKeyWire,
  type CreatedKeyWire,
  type CreateKeyRequestWire,
} from "../../api/keys-client.js";
import { cliConfig } from "../io.js";
import type { Config } from "../../config/schema.js";
import type { Database } from "../../store/types.js";
import { serverElseDatabase } from "../admin-session.js";
import type { RunCommand } from "../command.js";
import { printErr, printOut } from "../output.js";
import { relativeTime, table } from "../format.js";

const SCOPE_NAMES = ["inference", "models:write", "admin"];
const DAY_MS = 86_400_000;
const UNIT_MS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: DAY_MS,
  w: 7 * DAY_MS,
  y: 365 * DAY_MS,
};

/** `--expires`: a span from now (`90m`, `12h`, `30d`, `2w`, `1y`) or an RFC 3339 date/time. */
function parseExpiry(value: string, now = Date.now()): Date {
  const span = /^(\d{1,6})([mhdwy])$/.exec(value.trim());
  if (span) return new Date(now + Number(span[1]) * (UNIT_MS[span[2] ?? ""] ?? NaN));
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    const date = new Date(value.trim());
    if (!Number.isNaN(date.getTime())) {
      if (date.getTime() <= now) throw new InvalidArgumentError("the expiry is in the past");
      return date;
    }
  }
  throw new InvalidArgumentError("use a span like 30d, 12h, 2w, 1y or a date like 2030-01-31");
}

function collectScope(value: string, previous: string[] = []): string[] {
  if (!SCOPE_NAMES.includes(value)) throw new InvalidArgumentError(`use one of ${SCOPE_NAMES.join(", ")}`);
  return [...previous, value];
}

/** What the commands do, whichever way they reach the keys. */
interface KeyOps {
  create(request: CreateKeyRequestWire): Promise<CreatedKeyWire>;
  list(user?: string): Promise<ApiKeyWire[]>;
  revoke(idOrPrefix: string): Promise<ApiKeyWire>;
}

function databaseOps(db: Database): KeyOps {
  return {
    async create(request) {
      const { createApiKey, parseScopes, resolveKeyOwner } = await import("../../auth/api-keys.js");
      // No caller identity on the direct path: the CLI's user owns the home, as an admin would.
      const owner = await resolveKeyOwner(db, request.user === undefined ? {} : { username: request.user });
      const { key, record } = await createApiKey(db, {
        userId: owner.id,
        name: request.name,
        ...(request.scopes ? { scopes: parseScopes(request.scopes) } : {}),
        ...(request.expires_at ? { expiresAt: new Date(request.expires_at) } : {}),
      });
      return { ...toKeyWire(record), key };
    },
    async list(user) {
      const { listApiKeys, resolveKeyOwner } = await import("../../auth/api-keys.js");
      const filter = user === undefined ? {} : { userId: (await resolveKeyOwner(db, { username: user })).id };
      return (await listApiKeys(db, filter)).map((record) => toKeyWire(record));
    },
    async revoke(idOrPrefix) {
      const { revokeApiKey } = await import("../../auth/api-keys.js");
      return toKeyWire(await revokeApiKey(db, idOrPrefix));
    },
  };
}

/** Runs `body` through the running server's admin API, else on the database directly. */
function withKeys<T>(config: Readonly<Config>, body: (ops: KeyOps) => Promise<T>): Promise<T> {
  return serverElseDatabase<KeyOps, T>(config, { server: createKeysClient, database: databaseOps }, body);
}

const day = (iso: string | null): string => (iso === null ? "-" : iso.slice(0, 10));

function listTable(keys: readonly ApiKeyWire[]): string {
  const rows = [["ID", "PREFIX", "NAME", "USER", "SCOPES", "STATUS", "CREATED", "EXPIRES", "LAST USED"]];
  for (const key of keys) {
    rows.push([
      key.id,
      key.prefix,
      key.name,
      key.user,
      key.scopes.join(","),
      key.status,
      day(key.created_at),
      day(key.expires_at),
      key.last_used_at === null ? "never" : relativeTime(new Date(key.last_used_at)),
    ]);
  }
  return table(rows);
}

interface CreateOptions {
  name: string;
  user?: string;
  scope?: string[];
  expires?: Date;
  json?: boolean;
}

function createCommand(run: RunCommand): Command {
  return new Command("create")
    .description("create an API key and print it once (stdout); it cannot be shown again")
    .requiredOption("--name <name>", "what the key is for (shown in listings)")
    .option("--user <username>", "the key's owner (default: the first admin account)")
    .addOption(
      new Option(
        "--scope <scope>",
        "grant a scope: inference, models:write, admin (repeatable; default inference)",
      )
        .choices(SCOPE_NAMES)
        .argParser(collectScope),
    )
    .addOption(
      new Option(
        "--expires <when>",
        "expiry: a span (30d, 12h, 2w, 1y) or a date (default: never)",
      ).argParser((value: string) => parseExpiry(value)),
    )
    .option("--json", "print the created key and its details as JSON")
    .action((options: CreateOptions) =>
      run(async () => {
        const config = cliConfig();
        const created = await withKeys(config, (ops) =>
          ops.create({
            name: options.name,
            ...(options.user !== undefined ? { user: options.user } : {}),
            ...(options.scope ? { scopes: options.scope } : {}),
            ...(options.expires ? { expires_at: options.expires.toISOString() } : {}),
          }),
        );
        if (options.json === true) {
          await printOut(JSON.stringify(created, null, 2));
          return 0;
        }
        await printOut(created.key);
        await printErr(
          `created key ${created.prefix} "${created.name}" for ${created.user} (${created.scopes.join(", ")}` +
            `${created.expires_at === null ? "" : `, expires ${created.expires_at}`}); store it now: it is not shown again`,
        );
        return 0;
      }),
    );
}

function listCommand(run: RunCommand): Command {
  return new Command("list")
    .alias("ls")
    .description("list API keys (prefixes and details; never the keys)")
    .option("--user <username>", "only this user's keys")
    .option("--json", "print the keys as JSON")
    .action((options: { user?: string; json?: boolean }) =>
      run(async () => {
        const keys = await withKeys(cliConfig(), (ops) => ops.list(options.user));
        await printOut(options.json === true ? JSON.stringify(keys, null, 2) : listTable(keys));
        return 0;
      }),
    );
}

function revokeCommand(run: RunCommand): Command {
  return new Command("revoke")
    .description("revoke an API key by id or prefix; requests using it stop at once")
    .argument("<id-or-prefix>", "the key's id or its 8-character prefix")
    .option("--json", "print the revoked key as JSON")
    .action((ref: string, options: { json?: boolean }) =>
      run(async () => {
        const key = await withKeys(cliConfig(), (ops) => ops.revoke(ref));
        await printOut(
          options.json === true ? JSON.stringify(key, null, 2) : `revoked ${key.prefix} "${key.name}"`,
        );
        return 0;
      }),
    );
}

/** `aixcl keys`: API keys for the Ollama and OpenAI APIs. */
export function keysCommand(run: RunCommand): Command {
  const keys = new Command("keys").description("manage API keys (create, list, revoke)");
  keys.addCommand(createCommand(run));
  keys.addCommand(listCommand(run));
  keys.addCommand(revokeCommand(run));
  return keys;
}
