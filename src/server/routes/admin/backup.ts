/**
 * `/api/admin/backup`: a backup of the server's own database and vault, taken while it runs (the
 * admin router has already required an admin principal). This is how `aixcl db backup` works
 * beside a server on embedded PGlite, whose data directory only the server may open. The archive
 * is the one `aixcl db backup` writes (same manifest and checksums), never with the vault's key
 * file: the key does not leave the machine over HTTP.
 */
import { Readable } from "node:stream";
import { dirname } from "node:path";
import { Hono } from "hono";
import { recordAudit } from "../../../auth/users.js";
import { localTokenPath, vaultPath } from "../../../config/load.js";
import { AppError } from "../../../errors.js";
import { openBackupArchive } from "../../../backup/backup.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { actorOf } from "../auth/request-info.js";

/** `GET /` → `application/x-tar`, named `aixcl-backup-<UTC time>.tar`. */
export function backupRoutes(deps: ServerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    const { db } = deps;
    if (db === undefined) {
      throw new AppError("unsupported", "backups need the platform database (profile bld or sys)");
    }
    // Written whole to an unlinked file in run/ before the first byte goes out: the snapshot's
    // transaction (on PGlite, the one connection) is held for the dump alone, not for the download.
    const archive = await openBackupArchive({
      db,
      vaultDir: vaultPath(deps.config),
      dir: dirname(localTokenPath(deps.config)),
      aixclVersion: deps.version,
    });
    try {
      const rows = archive.manifest.tables.reduce((sum, table) => sum + table.rows, 0);
      // Everything a backup holds leaves the server: who took one is worth knowing.
      await recordAudit(db, actorOf(c), "db.backup", archive.name, { size: archive.size, rows });
    } catch (error) {
      await archive.close();
      throw error;
    }
    return c.body(Readable.toWeb(archive.stream()) as ReadableStream<Uint8Array>, 200, {
      "Content-Type": "application/x-tar",
      "Content-Length": String(archive.size),
      "Content-Disposition": `attachment; filename="${archive.name}"`,
      "Cache-Control": "no-store",
    });
  });

  return app;
}
