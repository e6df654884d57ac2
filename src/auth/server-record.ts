/**
 * Where this home's server listens: `$AIXCL_HOME/run/server.json` (0600, beside admin.token),
 * written atomically once the server listens and removed when it stops. The CLI reads it to find
 * a server started with `--port` or `--host`; the file is only a hint — before the CLI sends the
 * local token anywhere, the listener must answer an identity challenge only the holder of the
 * token can answer (see identityProof in local-token.ts), so a stale or forged file never leaks
 * the token.
 */
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { z } from "zod";
import { writeRunFile } from "./local-token.js";

/** The identity check a server of this version answers (`GET /api/auth/local/identity`). */
const IDENTITY_SCHEME = "hmac-sha256-port/1";

const serverRecordSchema = z.object({
  pid: z.number().int().positive(),
  url: z.string().url(),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  started_at: z.string(),
  identity: z.string(),
  /** Random per start: close() removes the file only while it is still this server's. */
  instance: z.string().min(1),
});

type ServerRecord = z.infer<typeof serverRecordSchema>;

export interface ServerRecordHandle {
  readonly record: ServerRecord;
  /** Removes the file if it still describes this server (another may have replaced it). Idempotent. */
  close(): Promise<void>;
}

export interface ServerAddress {
  url: string;
  host: string;
  port: number;
}

/** Writes the record of the server listening at `address` (this process). */
export async function writeServerRecord(path: string, address: ServerAddress): Promise<ServerRecordHandle> {
  const record: ServerRecord = {
    pid: process.pid,
    url: address.url,
    host: address.host,
    port: address.port,
    started_at: new Date().toISOString(),
    identity: IDENTITY_SCHEME,
    instance: randomBytes(12).toString("base64url"),
  };
  await writeRunFile(path, `${JSON.stringify(record, null, 2)}\n`);
  let closed: Promise<void> | undefined;
  return {
    record,
    close() {
      closed ??= (async () => {
        const current = await readServerRecord(path);
        if (current.state === "found" && current.record.instance === record.instance) {
          await rm(path, { force: true });
        }
      })();
      return closed;
    },
  };
}

export type ServerRecordRead =
  | { state: "found"; record: ServerRecord }
  | { state: "absent" }
  /** Present but not a record this version understands (torn, edited, another format). */
  | { state: "invalid" };

/** The record in `path`; never throws (an unreadable file is "absent"). */
export async function readServerRecord(path: string): Promise<ServerRecordRead> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return { state: "absent" };
  }
  try {
    const parsed = serverRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? { state: "found", record: parsed.data } : { state: "invalid" };
  } catch {
    return { state: "invalid" };
  }
}
