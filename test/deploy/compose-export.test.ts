/**
 * `aixcl stack export compose`: the project validates against the Compose specification's JSON
 * schema (bundled, test/fixtures/compose-spec/), and passes the rules `docker compose config`
 * cannot check — no privileged container, every image pinned to an exact version, and every
 * service with a memory limit, a health check, no capabilities, no-new-privileges and a read-only
 * root filesystem. Secrets live only in a 0600 .env; Prometheus and Grafana get the monitoring
 * export's files (checked by promtool) and provisioning that points at them. A non-empty
 * directory is refused; --force replaces the export's files and keeps the secrets.
 */
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Ajv, type AnySchema } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { monitoringFiles } from "../../src/metrics/monitoring.js";
import { VERSION } from "../../src/version.js";
import { cliEnv, ROOT, runCli } from "../cli/run-cli.js";
import { onPath, runBinary } from "../support/binaries.js";

type Service = Record<string, unknown> & {
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  command?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
};
interface ComposeProject {
  services: Record<string, Service>;
}

const schemaFile = join(ROOT, "test", "fixtures", "compose-spec", "compose-spec.json");

/** The Compose schema, compiled. It names draft-07's meta-schema by its https URL: an alias. */
function composeValidator(): (data: unknown) => string[] {
  const schema = JSON.parse(readFileSync(schemaFile, "utf8")) as AnySchema & { $schema: string };
  const draft07 = createRequire(import.meta.url)("ajv/dist/refs/json-schema-draft-07.json") as object;
  // The schema types fields as number-or-string (interpolated values) and leaves out `type`
  // beside object keywords in places: valid JSON Schema that Ajv's strict mode only warns about.
  const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
  ajv.addMetaSchema({ ...draft07, $id: schema.$schema });
  const validate = ajv.compile(schema);
  return (data) =>
    validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`);
}

/**
 * An exact version: `name:1.2.3[-variant]` (PostgreSQL's are `major.minor`), optionally with a
 * digest; never `latest` or a bare major.
 */
const PINNED = /^[a-z0-9./_-]+:v?\d+\.\d+(?:\.\d+)?(?:-[a-z0-9.]+)?(?:@sha256:[0-9a-f]{64})?$/;

/** The rules of this test that the schema does not express; a list of what breaks them. */
function ruleViolations(project: ComposeProject): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(project.services)) {
    const say = (what: string) => problems.push(`${name}: ${what}`);
    if (service.privileged !== undefined && service.privileged !== false) say("privileged");
    if (typeof service.image !== "string" || !PINNED.test(service.image))
      say(`image not pinned: ${String(service.image)}`);
    if (service.mem_limit === undefined) say("no mem_limit");
    const test = service.healthcheck?.test;
    if (
      service.healthcheck?.disable === true ||
      !Array.isArray(test) ||
      test[0] !== "CMD" ||
      test.length < 2
    ) {
      say("no health check");
    }
    if (JSON.stringify(service.cap_drop) !== JSON.stringify(["ALL"])) say("cap_drop is not [ALL]");
    if (service.cap_add !== undefined) say("cap_add");
    if (!(service.security_opt as string[] | undefined)?.includes("no-new-privileges:true")) {
      say("no no-new-privileges");
    }
    if (service.read_only !== true) say("root filesystem not read-only");
    if (service.ports !== undefined) say("publishes ports (host network: listens on loopback itself)");
  }
  return problems;
}

let work: string;
let dir: string;
let env: NodeJS.ProcessEnv;
let project: ComposeProject;
let files: string[];

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "aixcl-compose-"));
  env = cliEnv(join(work, "home"), { AIXCL_PORT: "11500" });
  dir = join(work, "export");
  const result = await runCli(["stack", "export", "compose", dir], env);
  expect(result, result.stderr).toMatchObject({ code: 0 });
  project = parse(await readFile(join(dir, "compose.yaml"), "utf8")) as ComposeProject;
  files = await listFiles(dir);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("aixcl stack export compose", () => {
  it("validates against the Compose specification's schema", () => {
    const validate = composeValidator();
    expect(validate(project)).toEqual([]);
    // The validator is not a pass-everything: a misspelt key and a wrong type are caught.
    const broken = structuredClone(project);
    broken.services.postgres!.mem_limt = "1g";
    broken.services.grafana!.cap_drop = "ALL";
    expect(validate(broken)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/services\/postgres must NOT have additional properties/),
        expect.stringMatching(/^\/services\/grafana\/cap_drop must be array/),
      ]),
    );
  });

  it("runs aixcl, PostgreSQL, Prometheus and Grafana, hardened, pinned, limited and health-checked", () => {
    expect(Object.keys(project.services).sort()).toEqual(["aixcl", "grafana", "postgres", "prometheus"]);
    expect(ruleViolations(project)).toEqual([]);
    for (const service of Object.values(project.services)) expect(service.network_mode).toBe("host");
    // The checks see each way to break them.
    const broken = structuredClone(project);
    broken.services.aixcl!.privileged = true;
    broken.services.postgres!.image = "postgres:latest";
    delete broken.services.prometheus!.mem_limit;
    broken.services.grafana!.healthcheck = { disable: true };
    broken.services.grafana!.cap_drop = ["NET_RAW"];
    broken.services.postgres!.security_opt = [];
    broken.services.prometheus!.read_only = false;
    expect(ruleViolations(broken)).toEqual([
      "aixcl: privileged",
      "postgres: image not pinned: postgres:latest",
      "postgres: no no-new-privileges",
      "prometheus: no mem_limit",
      "prometheus: root filesystem not read-only",
      "grafana: no health check",
      "grafana: cap_drop is not [ALL]",
    ]);
  });

  it("builds aixcl from the repository's Dockerfile and listens on loopback only", () => {
    const aixcl = project.services.aixcl!;
    expect(aixcl.build).toEqual({ context: ROOT.replace(/\/$/, ""), dockerfile: "Dockerfile" });
    expect(aixcl.image).toBe(`aixcl:${VERSION}`);
    expect(aixcl.environment).toMatchObject({
      AIXCL_HOST: "127.0.0.1",
      AIXCL_PORT: "11500",
      AIXCL_PROFILE: "sys",
    });
    expect(aixcl.environment?.AIXCL_DATABASE_URL).toMatch(
      /^postgres:\/\/aixcl:\$\{POSTGRES_PASSWORD:\?[^}]*\}@127\.0\.0\.1:5432\/aixcl$/,
    );
    expect(aixcl.healthcheck?.test?.join(" ")).toContain("http://127.0.0.1:11500/api/version");
    expect(project.services.postgres!.command).toContain("listen_addresses=127.0.0.1");
    expect(project.services.prometheus!.command).toContain("--web.listen-address=127.0.0.1:9090");
    expect(project.services.grafana!.environment?.GF_SERVER_HTTP_ADDR).toBe("127.0.0.1");
  });

  it("keeps the secrets in a 0600 .env that Compose interpolates, never in compose.yaml", async () => {
    const envFile = join(dir, ".env");
    expect((await stat(envFile)).mode & 0o777).toBe(0o600);
    const values = Object.fromEntries(
      (await readFile(envFile, "utf8"))
        .split("\n")
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => line.split("=", 2) as [string, string]),
    );
    expect(Object.keys(values).sort()).toEqual(["GRAFANA_ADMIN_PASSWORD", "POSTGRES_PASSWORD"]);
    for (const value of Object.values(values)) expect(value).toMatch(/^[0-9a-f]{64}$/);
    expect(values.POSTGRES_PASSWORD).not.toBe(values.GRAFANA_ADMIN_PASSWORD);
    const compose = await readFile(join(dir, "compose.yaml"), "utf8");
    for (const value of Object.values(values)) expect(compose).not.toContain(value);
    // Every variable compose.yaml interpolates is one .env defines, and required (`:?`).
    const used = [...compose.matchAll(/\$\{([A-Z_]+)(:\?)?/g)];
    expect(used.length).toBeGreaterThan(0);
    for (const [, name, required] of used) {
      expect(Object.keys(values)).toContain(name);
      expect(required).toBe(":?");
    }
    // A second export makes new secrets.
    const other = join(work, "other");
    expect((await runCli(["stack", "export", "compose", other], env)).code).toBe(0);
    expect(await readFile(join(other, ".env"), "utf8")).not.toBe(await readFile(envFile, "utf8"));
  });

  it("writes every file 0644 but .env, which is 0600", async () => {
    for (const file of files) {
      expect([file, (await stat(join(dir, file))).mode & 0o777]).toEqual([
        file,
        file === ".env" ? 0o600 : 0o644,
      ]);
    }
  });

  it("gives Prometheus the monitoring export's config and rules (promtool checks them)", async () => {
    const expected = monitoringFiles({
      target: "127.0.0.1:11500",
      authRequired: false,
      scrapeInterval: "15s",
    });
    for (const file of expected) {
      const path = file.path.startsWith("grafana/")
        ? file.path.replace("grafana/", "grafana/dashboards/")
        : `prometheus/${file.path}`;
      expect(await readFile(join(dir, path), "utf8")).toBe(file.content);
    }
    expect(project.services.prometheus!.volumes).toContain("./prometheus:/etc/prometheus:ro");
    expect(project.services.prometheus!.command).toContain("--config.file=/etc/prometheus/prometheus.yml");
    const promtool = onPath("promtool", "prometheus");
    const checked = await runBinary(promtool, ["check", "config", join(dir, "prometheus", "prometheus.yml")]);
    expect(checked, checked.output).toMatchObject({ code: 0 });
  });

  it("provisions Grafana with the Prometheus datasource and the dashboards folder it mounts", async () => {
    const grafana = project.services.grafana!;
    const mounts = Object.fromEntries(
      (grafana.volumes ?? []).map((v) => v.split(":").slice(0, 2) as [string, string]),
    );
    expect(mounts["./grafana/provisioning"]).toBe("/etc/grafana/provisioning");
    const datasources = parse(
      await readFile(join(dir, "grafana/provisioning/datasources/aixcl.yml"), "utf8"),
    ) as { datasources: { type: string; url: string; isDefault: boolean }[] };
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ type: "prometheus", url: "http://127.0.0.1:9090", isDefault: true }),
    ]);
    const providers = parse(
      await readFile(join(dir, "grafana/provisioning/dashboards/aixcl.yml"), "utf8"),
    ) as {
      providers: { type: string; options: { path: string } }[];
    };
    expect(providers.providers[0]?.type).toBe("file");
    expect(mounts["./grafana/dashboards"]).toBe(providers.providers[0]?.options.path);
    const dashboards = files.filter((f) => f.startsWith("grafana/dashboards/"));
    expect(dashboards.length).toBe(
      monitoringFiles({ target: "x:1", authRequired: false, scrapeInterval: "15s" }).filter((f) =>
        f.path.startsWith("grafana/"),
      ).length,
    );
    for (const file of dashboards) {
      const dashboard = JSON.parse(await readFile(join(dir, file), "utf8")) as { uid: string };
      expect(file).toBe(`grafana/dashboards/${dashboard.uid}.json`);
    }
  });

  it("refuses a non-empty directory, and --force replaces only its own files and keeps .env", async () => {
    const target = join(work, "taken");
    await mkdir(target);
    await writeFile(join(target, "notes.txt"), "mine\n");
    const refused = await runCli(["stack", "export", "compose", target], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not empty.*--force/);
    expect(await readdir(target)).toEqual(["notes.txt"]);

    const first = await runCli(["stack", "export", "compose", target, "--force"], env);
    expect(first, first.stderr).toMatchObject({ code: 0 });
    const secrets = await readFile(join(target, ".env"), "utf8");
    await writeFile(join(target, "compose.yaml"), "edited\n");
    const again = await runCli(["stack", "export", "compose", target, "--force"], env);
    expect(again, again.stderr).toMatchObject({ code: 0 });
    expect(again.stderr).toContain("kept the existing .env");
    expect(await readFile(join(target, ".env"), "utf8")).toBe(secrets);
    expect(await readFile(join(target, "compose.yaml"), "utf8")).not.toBe("edited\n");
    expect(await readFile(join(target, "notes.txt"), "utf8")).toBe("mine\n");
  });

  it("refuses a build context without a Dockerfile", async () => {
    const result = await runCli(
      ["stack", "export", "compose", join(work, "nodockerfile"), "--build-context", work],
      env,
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("has no Dockerfile");
  });
});
