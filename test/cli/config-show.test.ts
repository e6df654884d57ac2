import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { SETTINGS } from "../../src/config/settings.js";
import { cliEnv, runCli } from "./run-cli.js";

const homes: string[] = [];
afterAll(() => {
  for (const dir of homes) rmSync(dir, { recursive: true, force: true });
});
function home(yaml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "aixcl-cli-"));
  homes.push(dir);
  if (yaml !== undefined) writeFileSync(join(dir, "config.yaml"), yaml);
  return dir;
}

const KEY = "env-key-0123456789abcdef";

describe.concurrent("aixcl config show", () => {
  it("prints YAML with the API key redacted and flags > config.yaml > env precedence", async () => {
    const dir = home("server:\n  port: 2000\nengine:\n  max_queue: 7\n");
    const result = await runCli(
      ["config", "show", "--port", "3000"],
      cliEnv(dir, { AIXCL_API_KEY: KEY, AIXCL_PORT: "1000", AIXCL_MAX_QUEUE: "5", AIXCL_THREADS: "3" }),
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(KEY);
    const shown = parseYaml(result.stdout) as {
      home: string;
      server: { port: number };
      auth: { api_key: string };
      engine: { max_queue: number; threads: number; keep_alive: string };
    };
    expect(shown.home).toBe(dir);
    expect(shown.auth.api_key).toBe("<redacted>");
    expect(shown.server.port).toBe(3000); // flag over file and env
    expect(shown.engine.max_queue).toBe(7); // file over env
    expect(shown.engine.threads).toBe(3); // env over default
    // Durations are shown in the spelling config.yaml reads back (a bare number would mean seconds).
    expect(shown.engine.keep_alive).toBe("5m");
  });

  it("prints JSON with --json, reading the key from --api-key-file", async () => {
    const dir = home();
    const keyFile = join(dir, "api-key");
    const fileKey = "file-key-0123456789abcdef";
    writeFileSync(keyFile, `${fileKey}\n`);
    chmodSync(keyFile, 0o600);
    const result = await runCli(
      ["config", "show", "--json", "--api-key-file", keyFile, "--auth-api", "required", "--keep-alive", "-1"],
      cliEnv(dir),
    );
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(fileKey);
    const shown = JSON.parse(result.stdout) as {
      auth: { api: string; api_key: string; session_ttl: string; login_window: string };
      engine: { keep_alive: string };
    };
    expect(shown.auth).toMatchObject({ api: "required", api_key: "<redacted>" });
    // Durations in the spelling config.yaml reads back, not internal milliseconds.
    expect([shown.auth.session_ttl, shown.auth.login_window]).toEqual(["168h", "15m"]);
    expect(shown.engine.keep_alive).toBe("-1");
  });

  it("names the setting of an invalid value and exits 2", async () => {
    const result = await runCli(["config", "show"], cliEnv(home("server:\n  port: 99999\n")));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^aixcl: .*server\.port/);
  });

  it("describes every setting with --describe (env variable, flag, default, description)", async () => {
    const result = await runCli(["config", "show", "--describe", "--json"], cliEnv(home()));
    expect(result.code).toBe(0);
    const described = JSON.parse(result.stdout) as {
      setting: string;
      env: string | null;
      flag: string | null;
      default: unknown;
      description: string;
    }[];
    expect(described.map((d) => d.setting)).toEqual(SETTINGS.map((s) => s.path));
    expect(described.find((d) => d.setting === "server.port")).toMatchObject({
      env: "AIXCL_PORT",
      flag: "--port <port>",
      default: 11434,
    });
    // Durations in config.yaml's spelling, as `config show` prints values.
    expect(described.find((d) => d.setting === "engine.keep_alive")?.default).toBe("5m");
    const text = await runCli(["config", "show", "--describe"], cliEnv(home()));
    expect(text.stdout).toContain("engine.max_queue (AIXCL_MAX_QUEUE, --max-queue <n>)  default 512");
  });

  it("has no flag that takes a secret on argv", async () => {
    const result = await runCli(["serve", "--api-key", KEY], cliEnv(home()));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("unknown option");
  });
});

describe("aixcl serve with an unsafe address", () => {
  it("refuses --host 0.0.0.0 without auth, naming server.host, before starting anything", async () => {
    const result = await runCli(["serve", "--host", "0.0.0.0", "--port", "0"], cliEnv(home()));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^aixcl: .*server\.host/);
  });
});

describe("aixcl version", () => {
  it("prints the package version, as -v and --version do (which load no command)", async () => {
    const result = await runCli(["version"], cliEnv(home()));
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ["-v", "--version"]) {
      expect(await runCli([flag], cliEnv(home()))).toEqual({ code: 0, stdout: result.stdout, stderr: "" });
    }
  });
});
