/**
 * The backup's `manifest.json`: what the archive holds and the SHA-256 of every file, checked in
 * full before a restore touches anything. `manifest.json.sha256` (sha256sum format) covers the
 * manifest itself, so no byte of an archive can change unnoticed.
 */
import { z } from "zod";
import { AppError } from "../errors.js";

export const MANIFEST_NAME = "manifest.json";
export const MANIFEST_SUM_NAME = "manifest.json.sha256";
export const DATABASE_NAME = "database.sql";
export const VAULT_PREFIX = "vault/";
/** The vault's master key file, relative to the vault directory. */
export const VAULT_KEY = "key";
export const FORMAT_VERSION = 1;

/** `vault/` paths: plain segments only, so a restore can never write outside the vault. */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

export function isSafeVaultName(relative: string): boolean {
  const segments = relative.split("/");
  return segments.length <= 8 && segments.every((segment) => SEGMENT.test(segment) && segment.length <= 128);
}

const entrySchema = z.strictObject({
  name: z
    .string()
    .refine(
      (name) =>
        name === DATABASE_NAME ||
        (name.startsWith(VAULT_PREFIX) && isSafeVaultName(name.slice(VAULT_PREFIX.length))),
      { message: "unexpected file name" },
    ),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const manifestSchema = z.strictObject({
  format: z.literal("aixcl-backup"),
  format_version: z.number().int().positive(),
  aixcl_version: z.string(),
  schema_version: z.number().int().positive(),
  engine: z.enum(["pglite", "postgres"]),
  created_at: z.string(),
  /** Whether `vault/key` is in the archive (`--include-key`). */
  vault_key_included: z.boolean(),
  tables: z.array(z.strictObject({ name: z.string(), rows: z.number().int().nonnegative() })),
  entries: z.array(entrySchema),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestEntry = Manifest["entries"][number];

export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** The `manifest.json.sha256` line for a manifest's digest (readable by `sha256sum -c`). */
export function manifestSumLine(sha256: string): string {
  return `${sha256}  ${MANIFEST_NAME}\n`;
}

export function parseManifest(bytes: Buffer): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new AppError("invalid_request", "not a valid aixcl backup: manifest.json is not JSON");
  }
  const format = (value as { format_version?: unknown } | null)?.format_version;
  if (typeof format === "number" && format > FORMAT_VERSION) {
    throw new AppError(
      "unsupported",
      `backup format version ${format} is newer than this aixcl reads (${FORMAT_VERSION}); upgrade aixcl`,
    );
  }
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError(
      "invalid_request",
      `not a valid aixcl backup: manifest.json ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}
