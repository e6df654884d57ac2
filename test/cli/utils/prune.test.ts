/**
 * `aixcl utils prune` on real files in temp homes: what it removes, what it keeps (referenced
 * blobs, recent files, anything reached through a symbolic link, files outside the home), and
 * when it refuses (a live server process named by run/server.json, `--all` without a terminal or
 * with the wrong path typed).
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { runAixcl } from "../../../src/cli/program.js";
import { cliEnv, closedPort, runCli } from "../run-cli.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "aixcl-prune-"));
  dirs.push(dir);
  return dir;
}

/** A temp dir that is an aixcl home: prune refuses any other. */
function homeDir(): string {
  const home = tempDir();
  writeFileSync(join(home, "config.yaml"), "");
  return home;
}

/** An hour ago: older than prune's 15 min guard. */
const OLD = new Date(Date.now() - 60 * 60 * 1000);

function file(path: string, content: string | Buffer, old = true): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, content);
  if (old) utimesSync(path, OLD, OLD);
  return path;
}

const hex = (data: string) => createHash("sha256").update(data).digest("hex");

/** A model store with one manifest naming two blobs. Returns the blob paths. */
function store(models: string) {
  const config = "{}";
  const weights = "weights";
  const used = [config, weights].map((d) => file(join(models, "blobs", `sha256-${hex(d)}`), d));
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: {
      mediaType: "application/vnd.docker.container.image.v1+json",
      digest: `sha256:${hex(config)}`,
      size: 2,
    },
    layers: [{ mediaType: "application/vnd.ollama.image.model", digest: `sha256:${hex(weights)}`, size: 7 }],
  };
  file(join(models, "manifests", "registry.ollama.ai", "library", "m", "latest"), JSON.stringify(manifest));
  return used;
}

async function env(home: string) {
  return cliEnv(home, { AIXCL_PORT: String(await closedPort()) });
}

/** Runs `aixcl <args>` with a stdin that says it is a terminal and gets `typed`. */
async function runOnTerminal(args: string[], environment: NodeJS.ProcessEnv, typed: string) {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on("data", (c: Buffer) => chunks.out.push(c));
  err.on("data", (c: Buffer) => chunks.err.push(c));
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  stdin.end(typed);
  const code = await runAixcl(["node", "aixcl", ...args], {
    stdin,
    stdout: out,
    stderr: err,
    env: environment,
  });
  return { code, stdout: Buffer.concat(chunks.out).toString(), stderr: Buffer.concat(chunks.err).toString() };
}

describe.concurrent("aixcl utils prune", () => {
  it("removes stale run files, partial downloads, unreferenced blobs and temp files; keeps the rest", async () => {
    const home = homeDir();
    const models = join(home, "models");
    const used = store(models);
    const orphan = file(join(models, "blobs", `sha256-${hex("orphan")}`), "orphan");
    const partial = file(join(models, "blobs", `sha256-${hex("p")}-partial`), Buffer.alloc(1000));
    const partialState = file(join(models, "blobs", `sha256-${hex("p")}-partial.json`), "{}");
    const recentPartial = file(join(models, "blobs", `sha256-${hex("r")}-partial`), "r", false);
    const temp = file(join(home, "vault", ".secret.abc123.tmp"), "t");
    const manifestTemp = file(
      join(models, "manifests", "registry.ollama.ai", "library", "m", ".latest.x.tmp"),
      "t",
    );
    const dead = 2 ** 22 + 12345; // above Linux's default pid_max: no such process
    const record = file(
      join(home, "run", "server.json"),
      JSON.stringify({
        pid: dead,
        url: "http://127.0.0.1:1",
        host: "127.0.0.1",
        port: 1,
        started_at: "x",
        identity: "hmac-sha256-port/1",
        instance: "i",
      }),
    );
    const token = file(join(home, "run", "admin.token"), "secret");
    const lock = file(join(home, "db.lock"), `${dead}\n`);
    const config = join(home, "config.yaml");
    const environment = await env(home);

    const dry = await runCli(["utils", "prune", "--dry-run"], environment);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would remove models/blobs/sha256-${hex("orphan")}`);
    expect(dry.stdout).toMatch(/would free .* in 8 item\(s\)/);
    const removed = [orphan, partial, partialState, temp, manifestTemp, record, token, lock];
    for (const path of removed) expect(existsSync(path)).toBe(true);

    const result = await runCli(["utils", "prune"], environment);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("(partial download)");
    expect(result.stdout).toContain("(blob no manifest references)");
    expect(result.stdout).toContain("(temp file)");
    expect(result.stdout).toContain("run/server.json");
    expect(result.stdout).toMatch(/freed 1\.\d KB in 8 item\(s\)/);
    expect(result.stderr).toContain("kept 1 file(s) changed in the last 15 min");
    for (const path of removed) expect(existsSync(path)).toBe(false);
    for (const path of [...used, recentPartial, config]) expect(existsSync(path)).toBe(true);

    const again = await runCli(["utils", "prune"], environment);
    expect(again.stdout).toBe("nothing to prune\n");
  });

  it("never touches what a symbolic link reaches outside the home", async () => {
    const outside = tempDir();
    const outsideFiles = [
      file(join(outside, "store", "blobs", `sha256-${hex("x")}-partial`), "x"),
      file(join(outside, "store", "blobs", `sha256-${hex("y")}`), "y"),
      file(join(outside, "junk", ".left.abc.tmp"), "z"),
      file(join(outside, `sha256-${hex("z")}`), "z"),
    ];
    // Home 1: models/ itself is a link to a store outside.
    const home1 = homeDir();
    symlinkSync(join(outside, "store"), join(home1, "models"));
    symlinkSync(join(outside, "junk"), join(home1, "junk"));
    // Home 2: a real store whose blobs/ holds a link to a file outside, and a link named like a temp file.
    const home2 = homeDir();
    store(join(home2, "models"));
    symlinkSync(join(outside, `sha256-${hex("z")}`), join(home2, "models", "blobs", `sha256-${hex("z")}`));
    symlinkSync(join(outside, "junk", ".left.abc.tmp"), join(home2, ".link.abc.tmp"));

    const first = await runCli(["utils", "prune"], await env(home1));
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(
      `(models) resolves to ${join(outside, "store")}, outside ${home1}: left alone`,
    );
    expect(first.stdout).toBe("nothing to prune\n");
    const second = await runCli(["utils", "prune"], await env(home2));
    expect(second.code).toBe(0);
    expect(second.stdout).toBe("nothing to prune\n");
    for (const path of outsideFiles) expect(existsSync(path)).toBe(true);
    expect(readdirSync(join(home2, "models", "blobs"))).toHaveLength(3);
    expect(existsSync(join(home2, ".link.abc.tmp"))).toBe(true);

    // --all too: the linked store is outside, so only what is really inside goes.
    const all = await runOnTerminal(["utils", "prune", "--all"], await env(home1), `${home1}\n`);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe("nothing to prune\n");
    for (const path of outsideFiles) expect(existsSync(path)).toBe(true);
  });

  it("an unreadable manifest keeps every blob (the ones it names are unknown); temp manifests do not count", async () => {
    const home = homeDir();
    const models = join(home, "models");
    const used = store(models);
    const orphan = file(join(models, "blobs", `sha256-${hex("orphan")}`), "orphan");
    const broken = file(
      join(models, "manifests", "registry.ollama.ai", "library", "b", "latest"),
      "{not json",
    );
    const result = await runCli(["utils", "prune"], await env(home));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `${broken} cannot be read as a manifest: no blob is removed as unreferenced`,
    );
    expect(result.stdout).toBe("nothing to prune\n");
    for (const path of [...used, orphan]) expect(existsSync(path)).toBe(true);

    rmSync(broken);
    file(join(models, "manifests", "registry.ollama.ai", "library", "m", ".latest.x.tmp"), "{torn");
    const after = await runCli(["utils", "prune"], await env(home));
    expect(after.stdout).toContain("(blob no manifest references)");
    expect(existsSync(orphan)).toBe(false);
    for (const path of used) expect(existsSync(path)).toBe(true);
  });

  it("--all refuses while a live process holds the PGlite lock", async () => {
    const home = homeDir();
    const data = file(join(home, "db", "PG_VERSION"), "17");
    file(join(home, "db.lock"), `${process.pid}\n`);
    const result = await runOnTerminal(["utils", "prune", "--all"], await env(home), `${home}\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the database is open in process ${process.pid}`);
    expect(existsSync(data)).toBe(true);
  });

  it("refuses while the process run/server.json names is alive", async () => {
    const home = homeDir();
    const temp = file(join(home, ".x.abc.tmp"), "t");
    file(
      join(home, "run", "server.json"),
      JSON.stringify({
        pid: process.pid,
        url: "http://127.0.0.1:1",
        host: "127.0.0.1",
        port: 1,
        started_at: "x",
        identity: "hmac-sha256-port/1",
        instance: "i",
      }),
    );
    const result = await runCli(["utils", "prune"], await env(home));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`process ${process.pid}, which is alive`);
    expect(existsSync(temp)).toBe(true);
  });

  it("--all removes models and data only after the home path is typed on a terminal", async () => {
    const home = homeDir();
    const used = store(join(home, "models"));
    const data = file(join(home, "db", "PG_VERSION"), "17");
    const vault = file(join(home, "vault", "keys.json"), "{}");
    const log = file(join(home, "logs", "aixcl.log"), "{}\n");
    const config = join(home, "config.yaml");
    const environment = await env(home);
    const all = [...used, data, vault, log];

    const piped = await runCli(["utils", "prune", "--all"], environment);
    expect(piped.code).toBe(1);
    expect(piped.stderr).toContain("stdin is not one");
    const wrong = await runOnTerminal(["utils", "prune", "--all"], environment, `${home}/\n`);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("not confirmed");
    const empty = await runOnTerminal(["utils", "prune", "--all"], environment, "");
    expect(empty.code).toBe(1);
    for (const path of all) expect(existsSync(path)).toBe(true);

    const dry = await runCli(["utils", "prune", "--all", "--dry-run"], environment);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("would remove models");
    expect(dry.stdout).toContain("would remove db");

    const confirmed = await runOnTerminal(["utils", "prune", "--all"], environment, `${home}\n`);
    expect(confirmed.stderr).toContain(`Type the home path (${home}) to confirm`);
    expect(confirmed.code).toBe(0);
    expect(confirmed.stdout).toMatch(/freed .* in 4 item\(s\)/);
    for (const path of all) expect(existsSync(path)).toBe(false);
    expect(existsSync(config)).toBe(true);
    expect(existsSync(home)).toBe(true);
  });

  it("refuses a home aixcl did not make, and never looks into other programs' directories in its own", async () => {
    // AIXCL_HOME set to a directory of other programs' files by mistake ($HOME, say).
    const home = tempDir();
    const theirs = [
      file(join(home, "projects", "app", ".settings.a1b2c3d4.tmp"), "theirs"),
      file(join(home, "logs", "other.log"), "theirs"),
      file(join(home, "run", "other.pid"), "1"),
      file(join(home, "models", "notes.txt"), "theirs"),
    ];
    const environment = await env(home);
    for (const args of [
      ["utils", "prune"],
      ["utils", "prune", "--all", "--dry-run"],
    ]) {
      const refused = await runCli(args, environment);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`${home} does not look like an aixcl home`);
    }
    // Made a home: a temp file outside aixcl's own directories is still not its to remove.
    writeFileSync(join(home, "config.yaml"), "");
    const mine = file(join(home, "vault", ".meta.json.b5c6d7e8.tmp"), "mine");
    const pruned = await runCli(["utils", "prune"], environment);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/freed .* in 1 item\(s\)/);
    expect(existsSync(mine)).toBe(false);
    for (const path of theirs) expect(existsSync(path)).toBe(true);
  });
});
