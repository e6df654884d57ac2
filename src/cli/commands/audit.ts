/**
 * `aixcl audit`: read the audit log, newest first — through the running server's admin API with
 * the local token when one answers, else on the database directly. Read-only either way.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import {
  actionFilter,
  createAuditClient,
  DEFAULT_AUDIT_LIMIT,
  MAX_AUDIT_LIMIT,
  toAuditPageWire,
  type AuditClient,
  type AuditEntryWire,
  type AuditQuery,
} from "../../api/audit-client.js";
import { cliConfig } from "../io.js";
import type { Database } from "../../store/types.js";
import { serverElseDatabase } from "../admin-session.js";
import type { RunCommand } from "../command.js";
import { printErr, printOut } from "../output.js";
import { table } from "../format.js";

function integerIn(min: number, max: number, what: string): (value: string) => number {
  return (value) => {
    const number = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`use ${what}`);
    }
    return number;
  };
}

function databaseOps(db: Database): AuditClient {
  return {
    async list(query) {
      const { listAuditPage } = await import("../../store/audit.js");
      const page = await listAuditPage(db, {
        limit: query.limit ?? DEFAULT_AUDIT_LIMIT,
        ...(query.before !== undefined ? { before: query.before } : {}),
        ...actionFilter(query.action),
      });
      return toAuditPageWire(page);
    },
  };
}

/** `2025-01-31 12:00:00Z`: sortable, unambiguous, and short enough for a table. */
const time = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;

function entriesTable(entries: readonly AuditEntryWire[]): string {
  const rows = [["ID", "TIME", "ACTOR", "ACTION", "TARGET", "ADDRESS"]];
  for (const entry of entries) {
    rows.push([
      String(entry.id),
      time(entry.at),
      entry.actor,
      entry.action,
      entry.target ?? "-",
      entry.address ?? "-",
    ]);
  }
  return table(rows);
}

interface AuditOptions {
  limit?: number;
  action?: string;
  before?: number;
  json?: boolean;
}

/** `aixcl audit`: who did what, from where. */
export function auditCommand(run: RunCommand): Command {
  return new Command("audit")
    .description("show the audit log, newest first (logins, user, key and vault changes)")
    .addOption(
      new Option(
        "--limit <n>",
        `entries to show, 1-${MAX_AUDIT_LIMIT} (default ${DEFAULT_AUDIT_LIMIT})`,
      ).argParser(integerIn(1, MAX_AUDIT_LIMIT, `an integer from 1 to ${MAX_AUDIT_LIMIT}`)),
    )
    .option("--action <action>", "only this action (login.failure), or a prefix ending in . or * (login.)")
    .addOption(
      new Option("--before <id>", "only entries older than this id (the next page)").argParser(
        integerIn(1, Number.MAX_SAFE_INTEGER, "an entry id (a positive integer)"),
      ),
    )
    .option("--json", "print the entries as JSON (the /api/admin/audit wire)")
    .action((options: AuditOptions) =>
      run(async () => {
        const query: AuditQuery = {
          ...(options.limit !== undefined ? { limit: options.limit } : {}),
          ...(options.before !== undefined ? { before: options.before } : {}),
          ...(options.action !== undefined ? { action: options.action } : {}),
        };
        const page = await serverElseDatabase<AuditClient, Awaited<ReturnType<AuditClient["list"]>>>(
          cliConfig(),
          { server: (server) => createAuditClient(server), database: databaseOps },
          (ops) => ops.list(query),
        );
        await printOut(
          options.json === true ? JSON.stringify(page.entries, null, 2) : entriesTable(page.entries),
        );
        // On stderr, so `--json` output stays one JSON document.
        if (page.next_before !== null)
          await printErr(`older entries: aixcl audit --before ${page.next_before}`);
        return 0;
      }),
    );
}
