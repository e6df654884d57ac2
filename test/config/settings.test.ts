import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../src/config/duration.js";
import { ENV_SETTINGS, loadConfig } from "../../src/config/load.js";
import { SECRET_SETTINGS, SETTINGS } from "../../src/config/settings.js";
import { ROOT } from "../cli/run-cli.js";

/** The README's settings table: `setting` → [env variable, flag] as the row spells them. */
function readmeRows(): Map<string, [string, string]> {
  const rows = new Map<string, [string, string]>();
  for (const line of readFileSync(join(ROOT, "README.md"), "utf8").split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim());
    const setting =
      /^`([a-z_.]+)`$/.exec(cells[1] ?? "")?.[1] ?? (cells[1] === "(home)" ? "home" : undefined);
    if (setting === undefined || cells.length < 6) continue;
    const word = (cell: string) => /`([^`\s]+)/.exec(cell)?.[1] ?? "—";
    rows.set(setting, [word(cells[2] ?? ""), word(cells[3] ?? "")]);
  }
  return rows;
}

describe("settings declared once in the schema", () => {
  it("lists every setting with a description, and the secrets", () => {
    const paths = SETTINGS.map((s) => s.path);
    expect(paths).toContain("server.port");
    expect(paths).toContain("engine.keep_alive");
    expect(new Set(paths).size).toBe(paths.length);
    for (const setting of SETTINGS) expect(setting.description.length).toBeGreaterThan(10);
    expect([...SECRET_SETTINGS].sort()).toEqual(["auth.api_key", "database.url"]);
  });

  it("sets each setting from its declared environment variable", () => {
    const samples: Record<string, string> = {
      profile: "bld",
      "server.host": "localhost",
      "auth.api": "off",
      "auth.api_key": "0123456789abcdef0123",
      "database.url": "postgres://u:p@127.0.0.1:5432/db",
      "engine.keep_alive": "7m",
      "engine.gpu": "off",
      "engine.kv_cache_type": "q8_0",
      "engine.flash_attention": "on",
      "engine.speculative": "lookup",
      "log.level": "warn",
      "registry.https_proxy": "http://proxy.example:3128",
      "registry.http_proxy": "proxy.example:3128",
    };
    for (const [env, path] of Object.entries(ENV_SETTINGS)) {
      const setting = SETTINGS.find((s) => s.path === path);
      const raw =
        samples[path] ?? (setting?.list ? "a.example, b.example" : path.endsWith(".path") ? "/tmp/x" : "7");
      const config = loadConfig({
        flags: { home: "/tmp/aixcl-settings-test" },
        env: { [env]: raw },
        readFile: false,
      });
      const value = path
        .split(".")
        .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
      const expected = setting?.list
        ? ["a.example", "b.example"]
        : setting?.duration
          ? parseDuration(raw)
          : /^\d+$/.test(raw)
            ? Number(raw)
            : raw;
      expect(value, `${env} sets ${path}`).toEqual(expected);
    }
  });

  it("matches the README's settings table (env variable and flag), so the docs cannot drift", () => {
    const rows = readmeRows();
    for (const setting of SETTINGS) {
      const row = rows.get(setting.path);
      expect(row, `README row for ${setting.path}`).toBeDefined();
      const flag = setting.flag?.split(" ")[0] ?? (setting.path === "auth.api_key" ? "--api-key-file" : "—");
      expect(row, setting.path).toEqual([setting.env ?? "—", flag]);
    }
    expect([...rows.keys()].sort()).toEqual(SETTINGS.map((s) => s.path).sort());
  });

  it("formats durations in the spelling parseDuration reads back", () => {
    for (const ms of [0, 250, 1000, 90_000, 5 * 60_000, 7 * 24 * 3_600_000, Infinity]) {
      const text = formatDuration(ms);
      expect(parseDuration(text), text).toBe(ms);
    }
    expect(formatDuration(90_000)).toBe("90s");
    expect(formatDuration(7 * 24 * 3_600_000)).toBe("168h");
  });
});
