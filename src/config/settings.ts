/**
 * The settings as a flat list, read from the schema's own declarations (src/config/schema.ts):
 * the env table, the CLI flags, the secret list and `config show --describe` all come from here,
 * so a setting is declared once and its env name, flag and description cannot drift apart.
 */
import type { z } from "zod";
import { configSchema, type SettingMeta } from "./schema.js";

export interface SettingInfo extends SettingMeta {
  /** Dotted path as config.yaml nests it (`server.port`). */
  path: string;
  /** A list (comma-separated in its env variable). */
  list: boolean;
  /** The default, when the schema has one (durations in ms). */
  defaultValue?: unknown;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  defaultValue?: unknown;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The schema inside default/prefault/optional wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let def = defOf(current); def.innerType && ["default", "prefault", "optional"].includes(def.type);) {
    current = def.innerType;
    def = defOf(current);
  }
  return current;
}

function collect(schema: z.ZodType, prefix: string, out: SettingInfo[]): void {
  const inner = unwrap(schema);
  const def = defOf(inner);
  const meta = schema.meta() as SettingMeta | undefined;
  if (def.type === "object" && meta === undefined) {
    for (const [key, child] of Object.entries(def.shape ?? {})) {
      collect(child, prefix === "" ? key : `${prefix}.${key}`, out);
    }
    return;
  }
  if (meta?.description === undefined) throw new Error(`setting ${prefix} declares no description`);
  const outer = defOf(schema);
  out.push({
    ...meta,
    path: prefix,
    list: def.type === "array",
    ...(outer.type === "default" ? { defaultValue: outer.defaultValue } : {}),
  });
}

function allSettings(): readonly SettingInfo[] {
  const out: SettingInfo[] = [];
  collect(configSchema, "", out);
  return Object.freeze(out);
}

/** Every setting, in schema order. */
export const SETTINGS: readonly SettingInfo[] = allSettings();

/** Paths of settings that hold secrets: redacted by `config show` and by the logger. */
export const SECRET_SETTINGS: readonly string[] = SETTINGS.filter((s) => s.secret === true).map(
  (s) => s.path,
);
