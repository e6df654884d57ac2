/**
 * `kill -9` during vault writes: a child process rewrites entries in a loop and is SIGKILLed at
 * random moments, many times over. After every kill each entry must read back as one complete
 * value — the last one the child confirmed or the one it was writing — never a torn file.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { createVault } from "../../src/vault/vault.js";
import { compiledModule, ROOT } from "../support/build.js";

const KILLS = 25;
const ROTATING = 8;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-vault-crash-"));
  const vault = createVault({ dir: join(dir, "vault"), logger: silentLogger() });
  await vault.init({ mode: "keyfile" });
  await vault.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Values carry their sequence number and a digest of their padding: a torn or mixed value fails.
// The writer imports the run's compiled source (test/support/build.ts): no tsx in 25 children. Its
// logger is a stand-in that drops the vault's few lines: loading the real one (pino) cost each
// child more than its own writes before the kill.
const writerSource = () => `
import { createHash, randomBytes } from "node:crypto";
const { createVault } = await import(${JSON.stringify(pathToFileURL(compiledModule("vault/vault.ts")).href)});
const quiet = () => {};
const vault = createVault({ dir: process.env.VAULT_DIR, logger: { info: quiet, warn: quiet, error: quiet, debug: quiet } });
const value = (n) => {
  const pad = randomBytes(1 + (n * 7919) % 30000).toString("base64");
  return n + ":" + createHash("sha256").update(pad).digest("hex") + ":" + pad;
};
const current = await vault.get("counter");
let n = current === undefined ? 0 : Number(current.split(":")[0]);
process.stdout.write("ready\\n");
for (;;) {
  n += 1;
  await vault.set("counter", value(n));
  await vault.set("e" + (n % ${ROTATING}), value(n));
  process.stdout.write(n + "\\n");
}
`;

function parseValue(text: string): number {
  const [n, digest, pad, ...rest] = text.split(":");
  expect(rest).toEqual([]);
  expect(
    createHash("sha256")
      .update(pad ?? "")
      .digest("hex"),
  ).toBe(digest);
  return Number(n);
}

/** Runs the writer until it has confirmed at least one write, kills it after a random delay, returns the last n it confirmed. */
function runAndKill(delayMs: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", writerSource()], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, VAULT_DIR: join(dir, "vault") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let armed = false;
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (!armed && out.includes("ready\n")) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), delayMs);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.once("error", reject);
    child.once("close", (_code, signal) => {
      if (signal !== "SIGKILL") {
        reject(new Error(`writer exited on its own: ${err}`));
        return;
      }
      const confirmed = out
        .split("\n")
        .filter((line) => /^\d+$/.test(line))
        .map(Number);
      resolve(confirmed.at(-1));
    });
  });
}

it(
  `every entry is complete (old or new value) after ${KILLS} kill -9 during writes`,
  { timeout: 180_000 },
  async () => {
    let confirmed = 0;
    for (let round = 0; round < KILLS; round++) {
      const last = (await runAndKill(Math.floor(Math.random() * 120))) ?? confirmed;
      const vault = createVault({ dir: join(dir, "vault"), logger: silentLogger() });
      const counter = await vault.get("counter");
      const n = counter === undefined ? 0 : parseValue(counter);
      // The write in flight at the kill may or may not have landed; nothing else is allowed.
      expect([last, last + 1], `round ${round}`).toContain(n);
      for (const name of await vault.list()) {
        const value = await vault.get(name);
        expect(value, name).toBeDefined();
        parseValue(value ?? "");
      }
      await vault.close();
      confirmed = n;
    }
    // The kills really landed mid-loop: the writer got some way, over many rounds.
    expect(confirmed).toBeGreaterThan(KILLS);
    // Leftover temp files (from writes cut before the rename) are never taken for entries.
    const files = await readdir(join(dir, "vault", "entries"));
    expect(files.filter((f) => f.endsWith(".json")).length).toBeLessThanOrEqual(ROTATING + 1);
  },
);
