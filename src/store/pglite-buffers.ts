/**
 * How many shared buffers an embedded PGlite database opens with. PGlite zeroes all of them when
 * it opens (about 5 ms per MiB here) and they stay resident, so a database much smaller than the
 * configured amount would pay for buffers it can never fill: it gets its own size instead, at
 * least MIN_BUFFERS_MB. A database as large as the configured amount or larger gets all of it.
 * The size is read once, at open: a database that grows during a long run keeps its buffers
 * until the next start (its pages beyond them are read from the file system's cache).
 */
import { join } from "node:path";
import { dirEntries } from "../lib/files.js";
import { directoryBytes } from "./database-size.js";

/**
 * Never fewer buffers than this, MiB (unless fewer are configured): a first start's, whose
 * database (the template, under 8 MiB) does not exist yet.
 */
const MIN_BUFFERS_MB = 8;

/** Buffers are sized in steps of this many MiB (a few more rows do not change the start). */
const STEP_MB = 8;

/**
 * Shared buffers, MiB, for the PGlite data directory `dataDir`: the size of its largest database
 * (PostgreSQL keeps one directory per database under `base/`), rounded up to STEP_MB, between
 * MIN_BUFFERS_MB and `configured`. A directory that does not exist yet (a first start) is small.
 */
export async function pgliteBuffersMb(dataDir: string, configured: number): Promise<number> {
  const floor = Math.min(MIN_BUFFERS_MB, configured);
  const largest = await largestDatabaseBytes(join(dataDir, "base"));
  const needed = Math.ceil(largest / 2 ** 20 / STEP_MB) * STEP_MB;
  return Math.max(floor, Math.min(configured, needed));
}

async function largestDatabaseBytes(base: string): Promise<number> {
  // Read before the data directory is locked: a server already running there may drop a file or
  // a database between the listing and its stat (the lock then refuses this open with its own message).
  const databases = await dirEntries(base);
  const sizes = await Promise.all(databases.map((database) => directoryBytes(join(base, database.name))));
  return Math.max(0, ...sizes);
}
