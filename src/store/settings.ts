/**
 * Platform settings an admin changes at run time (e.g. `signup`), as JSON values by key. The
 * meaning of each key belongs to the module that uses it; this one only stores and validates.
 */
import { AppError } from "../errors.js";
import type { Queryable } from "./types.js";

/** Anything with zod's `parse` (a schema), to check a stored value's shape on the way out. */
export interface SettingSchema<T> {
  parse(value: unknown): T;
}

/** Longest key, characters. */
const MAX_SETTING_KEY_LENGTH = 256;

function checkKey(key: string): string {
  if (
    typeof key !== "string" ||
    key.length === 0 ||
    key.length > MAX_SETTING_KEY_LENGTH ||
    key.includes("\0")
  ) {
    throw new AppError(
      "invalid_request",
      `setting keys are 1-${MAX_SETTING_KEY_LENGTH} characters without NUL`,
      {
        param: "key",
      },
    );
  }
  return key;
}

/**
 * The value stored under `key`, or `fallback` when none is. With a `schema`, a stored value that
 * does not match is an error (naming the key), never silently replaced by the fallback.
 */
export async function getSetting<T>(
  db: Queryable,
  key: string,
  fallback: T,
  schema?: SettingSchema<T>,
): Promise<T> {
  const { rows } = await db.query<{ value: unknown }>("SELECT value FROM settings WHERE key = $1", [
    checkKey(key),
  ]);
  const row = rows[0];
  if (!row) return fallback;
  if (!schema) return row.value as T;
  try {
    return schema.parse(row.value);
  } catch (error) {
    throw new AppError("internal", `setting ${key} holds a value of the wrong shape`, { cause: error });
  }
}

/** Stores `value` (anything JSON) under `key`, replacing what was there. */
export async function setSetting(db: Queryable, key: string, value: unknown): Promise<void> {
  const json = value === undefined ? undefined : (JSON.stringify(value) as string | undefined);
  if (json === undefined) throw new AppError("invalid_request", `setting ${key}: the value must be JSON`);
  if (json.includes("\\u0000")) {
    throw new AppError("invalid_request", `setting ${key}: the value must not contain NUL characters`);
  }
  await db.query(
    `INSERT INTO settings (key, value) VALUES ($1, $2::jsonb)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [checkKey(key), json],
  );
}

/** Removes `key` (later reads get their fallback). Returns whether it was set. */
export async function deleteSetting(db: Queryable, key: string): Promise<boolean> {
  const { rowCount } = await db.query("DELETE FROM settings WHERE key = $1", [checkKey(key)]);
  return rowCount > 0;
}
