/**
 * `aixcl monitoring export` against the real Prometheus tools (Debian's `prometheus` package,
 * installed by .ci/run): promtool checks the exported configuration, rules and a real scrape,
 * and a real Prometheus scrapes a test server with the exported configuration.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  exportedSeriesNames,
  METRIC_DEFINITIONS,
  PROCESS_METRIC_PREFIXES,
} from "../../src/metrics/definitions.js";
import { closedPort, runCli, startHelloPlatform } from "../cli/run-cli.js";
import { onPath, runBinary } from "../support/binaries.js";
import type { TestPlatform } from "../support/platform.js";

/**
 * The metric names a PromQL expression reads: identifiers left once string literals, label
 * matchers, range selectors and `by (…)`-style label lists are removed, other than function
 * calls and keywords.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const keywords = new Set(["and", "or", "unless", "bool", "offset", "by", "without"]);
  const names: string[] = [];
  for (const match of stripped.matchAll(/([A-Za-z_:][\w:]*)\s*(\()?/g)) {
    const [, name, call] = match;
    if (name !== undefined && call === undefined && !keywords.has(name)) names.push(name);
  }
  return names;
}

let platform: TestPlatform;
let env: NodeJS.ProcessEnv;
let work: string;
let dir: string;
let scrape: string;
let generated: number;
const promtool = onPath("promtool", "prometheus");
const prometheusBinary = onPath("prometheus", "prometheus");

beforeAll(async () => {
  ({ platform, env } = await startHelloPlatform());
  work = await mkdtemp(join(tmpdir(), "aixcl-monitoring-"));
  dir = join(work, "export");
  const response = await fetch(`${platform.url}/api/generate`, {
    method: "POST",
    body: JSON.stringify({ model: "hello", prompt: "hi", stream: false, options: { num_predict: 4 } }),
  });
  expect(response.status).toBe(200);
  generated = ((await response.json()) as { eval_count: number }).eval_count;
  expect(generated).toBeGreaterThan(0);
  scrape = await (await fetch(`${platform.url}/metrics`)).text();
  // The real Prometheus below scrapes every second: the test should not wait 15 s.
  const exported = await runCli(["monitoring", "export", dir, "--scrape-interval", "1s"], env);
  expect(exported, exported.stderr).toMatchObject({ code: 0 });
});
afterAll(async () => {
  await platform?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("aixcl monitoring export", () => {
  it("writes the scrape config, the rules and three dashboards, aimed at the configured server", async () => {
    const config = parse(await readFile(join(dir, "prometheus.yml"), "utf8")) as {
      global: { scrape_interval: string };
      rule_files: string[];
      scrape_configs: {
        job_name: string;
        static_configs: { targets: string[] }[];
        authorization?: unknown;
      }[];
    };
    expect(config.global.scrape_interval).toBe("1s");
    expect(config.rule_files).toEqual(["aixcl-alerts.yml"]);
    expect(config.scrape_configs).toHaveLength(1);
    expect(config.scrape_configs[0]?.job_name).toBe("aixcl");
    expect(config.scrape_configs[0]?.static_configs[0]?.targets).toEqual([`127.0.0.1:${platform.port}`]);
    expect(config.scrape_configs[0]?.authorization).toBeUndefined();
    for (const name of ["aixcl-overview", "aixcl-inference", "aixcl-http"]) {
      const dashboard = JSON.parse(await readFile(join(dir, "grafana", `${name}.json`), "utf8")) as {
        uid: string;
        templating: { list: { name: string; type: string }[] };
        panels: { datasource: { uid: string } }[];
      };
      expect(dashboard.uid).toBe(name);
      expect(dashboard.templating.list[0]).toMatchObject({ name: "datasource", type: "datasource" });
      expect(dashboard.panels.length).toBeGreaterThan(4);
      for (const panel of dashboard.panels) expect(panel.datasource.uid).toBe("${datasource}");
    }
  });

  it("passes promtool check config and check rules without a problem", async () => {
    const config = await runBinary(promtool, ["check", "config", join(dir, "prometheus.yml")]);
    expect(config.code, config.output).toBe(0);
    expect(config.output).toContain("SUCCESS: 1 rule files found");
    expect(config.output).not.toMatch(/WARNING|FAILED|error/i);
    const rules = await runBinary(promtool, ["check", "rules", join(dir, "aixcl-alerts.yml")]);
    expect(rules.code, rules.output).toBe(0);
    expect(rules.output).toContain("SUCCESS: 7 rules found");
    expect(rules.output).not.toMatch(/WARNING|FAILED|error/i);
  });

  it("refuses to overwrite without --force, writing nothing; --force rewrites every file", async () => {
    const other = join(work, "overwrite");
    expect((await runCli(["monitoring", "export", other], env)).code).toBe(0);
    await writeFile(join(other, "grafana", "aixcl-http.json"), "mine");
    const refused = await runCli(["monitoring", "export", other, "--target", "10.0.0.9:9000"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("not overwriting");
    expect(refused.stderr).toContain("use --force");
    expect(await readFile(join(other, "grafana", "aixcl-http.json"), "utf8")).toBe("mine");
    expect(await readFile(join(other, "prometheus.yml"), "utf8")).not.toContain("10.0.0.9:9000");

    const forced = await runCli(["monitoring", "export", other, "--target", "10.0.0.9:9000", "--force"], env);
    expect(forced.code).toBe(0);
    expect(forced.stdout.trim().split("\n")).toHaveLength(5);
    expect(await readFile(join(other, "prometheus.yml"), "utf8")).toContain('"10.0.0.9:9000"');
    expect(await readFile(join(other, "grafana", "aixcl-http.json"), "utf8")).not.toBe("mine");
  });

  it("rejects a bad --target or --scrape-interval", async () => {
    const bad = await runCli(["monitoring", "export", join(work, "bad"), "--target", "http://x"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--target must be host:port");
    const interval = await runCli(
      ["monitoring", "export", join(work, "bad"), "--scrape-interval", "fast"],
      env,
    );
    expect(interval.code).toBe(1);
    expect(interval.stderr).toContain("--scrape-interval");
  });

  it("fails at once on a directory that cannot be made (Node's recursive mkdir spins forever under /proc)", async () => {
    const result = await runCli(["monitoring", "export", "/proc/aixcl-export"], env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("/proc/aixcl-export");
  });

  it("with auth.api required, scrapes with a bearer token file (promtool accepts it once present)", async () => {
    const authDir = join(work, "auth");
    const exported = await runCli(["monitoring", "export", authDir], { ...env, AIXCL_AUTH_API: "required" });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain("aixcl-api-key");
    const text = await readFile(join(authDir, "prometheus.yml"), "utf8");
    expect(text).toContain("auth.api is required");
    const config = parse(text) as { scrape_configs: { authorization?: unknown }[] };
    expect(config.scrape_configs[0]?.authorization).toEqual({
      type: "Bearer",
      credentials_file: "aixcl-api-key",
    });
    await writeFile(join(authDir, "aixcl-api-key"), "aixcl_0123456789abcdef\n", { mode: 0o600 });
    const check = await runBinary(promtool, ["check", "config", join(authDir, "prometheus.yml")]);
    expect(check.code, check.output).toBe(0);
  });

  it("names only metrics the server exports, in every alert rule and dashboard", async () => {
    const rules = parse(await readFile(join(dir, "aixcl-alerts.yml"), "utf8")) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const expressions = rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
    for (const name of ["aixcl-overview", "aixcl-inference", "aixcl-http"]) {
      const dashboard = JSON.parse(await readFile(join(dir, "grafana", `${name}.json`), "utf8")) as {
        panels: { targets: { expr: string }[] }[];
      };
      expressions.push(...dashboard.panels.flatMap((panel) => panel.targets.map((t) => t.expr)));
    }
    const served = new Set(
      [...scrape.matchAll(/^([A-Za-z_:][\w:]*)(?:\{| )/gm)].map((match) => match[1] ?? ""),
    );
    const definitions = exportedSeriesNames();
    const referenced = new Set(expressions.flatMap(metricNames));
    expect(referenced.size).toBeGreaterThan(15);
    for (const name of referenced) {
      if (name === "up") continue; // Prometheus's own, per scrape target.
      if (PROCESS_METRIC_PREFIXES.some((prefix) => name.startsWith(prefix))) {
        expect(served.has(name), `${name} is not in a real scrape`).toBe(true);
      } else {
        expect(definitions.has(name), `${name} is not in METRIC_DEFINITIONS`).toBe(true);
      }
    }
    // Every definition is used somewhere.
    for (const definition of METRIC_DEFINITIONS) {
      expect(
        [...referenced].some((name) => name === definition.name || name.startsWith(`${definition.name}_`)),
        `${definition.name} is in no rule or dashboard`,
      ).toBe(true);
    }
  });
});

describe("the metrics a real server serves", () => {
  it("match the definitions: every name with its type and help (profile sys: the vault gauge too)", () => {
    for (const definition of METRIC_DEFINITIONS) {
      expect(scrape).toContain(`# TYPE ${definition.name} ${definition.type}\n`);
      expect(scrape).toContain(`# HELP ${definition.name} ${definition.help}\n`);
    }
    expect(scrape).toMatch(/^aixcl_vault_sealed 0$/m);
    expect(Number(/^aixcl_models_disk_free_bytes (\S+)$/m.exec(scrape)?.[1])).toBeGreaterThan(0);
  });

  it("pass promtool check metrics without a problem", async () => {
    const checked = await runBinary(promtool, ["check", "metrics"], { input: scrape });
    expect(checked.output).toBe("");
    expect(checked.code).toBe(0);
  });

  it("are scraped by a real Prometheus with the exported configuration", async () => {
    const data = await mkdtemp(join(tmpdir(), "aixcl-prometheus-"));
    const port = await closedPort();
    let child: ChildProcess | undefined;
    let log = "";
    try {
      child = spawn(
        prometheusBinary,
        [
          `--config.file=${join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${data}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      child.stdout?.on("data", (chunk: Buffer) => (log += chunk.toString()));
      child.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
      const api = async <T>(path: string): Promise<T | undefined> => {
        try {
          const response = await fetch(`http://127.0.0.1:${port}${path}`);
          if (!response.ok) return undefined;
          return ((await response.json()) as { data: T }).data;
        } catch {
          return undefined; // not listening yet
        }
      };
      type Vector = { result: { metric: Record<string, string>; value: [number, string] }[] };
      await expect
        .poll(
          async () => {
            // The last error of a poll is what a timeout reports: Prometheus's own words then.
            if (child?.exitCode !== null) throw new Error(`prometheus exited (${child?.exitCode}):\n${log}`);
            return (await api<Vector>("/api/v1/query?query=aixcl_generated_tokens_total"))?.result ?? [];
          },
          { timeout: 15_000, interval: 200 },
        )
        .toEqual([
          {
            metric: expect.objectContaining({
              __name__: "aixcl_generated_tokens_total",
              job: "aixcl",
              instance: `127.0.0.1:${platform.port}`,
              model: "hello:latest",
            }) as Record<string, string>,
            value: [expect.any(Number), String(generated)],
          },
        ]);
      const up = await api<Vector>('/api/v1/query?query=up{job="aixcl"}');
      expect(up?.result[0]?.value[1]).toBe("1");
      // The rules loaded and evaluate without an error.
      type Rules = { groups: { rules: { name: string; health: string }[] }[] };
      await expect
        .poll(async () =>
          ((await api<Rules>("/api/v1/rules"))?.groups ?? []).flatMap((g) => g.rules.map((r) => r.health)),
        )
        .toEqual(Array(7).fill("ok"));
    } finally {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child?.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(data, { recursive: true, force: true });
    }
  });
});
