/**
 * The repository's Dockerfile, which `aixcl stack export compose` builds. hadolint is not
 * installable here (no Debian or npm package works offline), so this is a checklist of the rules
 * that matter for this image, each checked on the parsed instructions: multi-stage, base images
 * pinned to an exact version, production dependencies only (`npm ci --omit=dev`) beside the built
 * dist/, a non-root USER, no ADD of URLs, a HEALTHCHECK, no secrets in ENV or ARG. The checker
 * is shown each violation on a broken Dockerfile, so it cannot pass everything.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../cli/run-cli.js";

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions in order: comments dropped, `\`-continued lines joined. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

/** The stages: the instructions from each FROM up to the next. */
function stages(all: Instruction[]): Instruction[][] {
  const result: Instruction[][] = [];
  for (const instruction of all) {
    if (instruction.keyword === "FROM") result.push([]);
    result.at(-1)?.push(instruction);
  }
  return result;
}

const PINNED_BASE =
  /^[a-z0-9./_-]+:\d+\.\d+\.\d+(?:-[a-z0-9.-]+)?(?:@sha256:[0-9a-f]{64})?$|^[a-z0-9./_-]+@sha256:[0-9a-f]{64}$/;
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE|CREDENTIAL/i;

function violations(text: string): string[] {
  const all = instructions(text);
  const parts = stages(all);
  const problems: string[] = [];
  if (parts.length < 2) problems.push("not multi-stage");
  const names = new Set<string>();
  for (const stage of parts) {
    const [image = "", as, name] = stage[0]!.args.split(/\s+/);
    if (as?.toUpperCase() === "AS" && name !== undefined) names.add(name);
    if (!names.has(image) && !PINNED_BASE.test(image)) problems.push(`base image not pinned: ${image}`);
  }
  const runtime = parts.at(-1) ?? [];
  const runs = runtime.filter((i) => i.keyword === "RUN").map((i) => i.args);
  if (!runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)))
    problems.push("runtime stage: no npm ci --omit=dev");
  if (runs.some((r) => /\bnpm (install|i)\b/.test(r))) problems.push("runtime stage: npm install");
  if (!runtime.some((i) => i.keyword === "COPY" && /--from=\S+\s+\S*dist\b/.test(i.args))) {
    problems.push("runtime stage: dist/ not copied from the build stage");
  }
  const user = runtime
    .filter((i) => i.keyword === "USER")
    .at(-1)
    ?.args.split(":")[0];
  if (user === undefined || user === "root" || user === "0") problems.push("runtime stage: runs as root");
  if (!runtime.some((i) => i.keyword === "HEALTHCHECK" && !/^NONE$/i.test(i.args))) {
    problems.push("runtime stage: no HEALTHCHECK");
  }
  for (const instruction of all) {
    if (instruction.keyword === "ADD" && /(?:^|\s)(?:https?|git):\/\//.test(instruction.args)) {
      problems.push(`ADD of a URL: ${instruction.args}`);
    }
    if (instruction.keyword === "ENV" || instruction.keyword === "ARG") {
      for (const [, key] of instruction.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)/g)) {
        if (key !== undefined && SECRET_NAME.test(key))
          problems.push(`${instruction.keyword} ${key}: a secret in the image`);
      }
    }
  }
  return problems;
}

const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");

describe("Dockerfile", () => {
  it("passes the checklist", () => {
    expect(violations(dockerfile)).toEqual([]);
  });

  it("builds dist/ and the web app in the build stage, from a Node the package supports", () => {
    const [build] = stages(instructions(dockerfile));
    expect(build?.filter((i) => i.keyword === "RUN").map((i) => i.args)).toContain("npm run build");
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
      scripts: { build: string };
    };
    // npm run build compiles src/ and builds web/: both are copied in.
    expect(pkg.scripts.build).toContain("build:web");
    const copied = build?.filter((i) => i.keyword === "COPY").map((i) => i.args) ?? [];
    expect(copied).toEqual(expect.arrayContaining(["src ./src", "web ./web"]));
    const minimum = /^>=(\d+)\.(\d+)/.exec(pkg.engines.node)!;
    for (const stage of stages(instructions(dockerfile))) {
      const version = /^node:(\d+)\.(\d+)\.\d+/.exec(stage[0]!.args);
      expect(version, stage[0]!.args).not.toBeNull();
      const [major, minor] = [Number(version![1]), Number(version![2])];
      expect(
        major > Number(minimum[1]) || (major === Number(minimum[1]) && minor >= Number(minimum[2])),
      ).toBe(true);
    }
  });

  it("keeps node_modules and dist out of the build context", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
    expect(ignored).toEqual(expect.arrayContaining(["node_modules", "dist", ".git"]));
  });

  it("reports each violation of a broken Dockerfile", () => {
    const broken = [
      "FROM node:latest",
      "ENV DB_PASSWORD=hunter2",
      "ADD https://example.com/app.tgz /app/",
      "RUN npm install",
      "USER root",
      'CMD ["node", "main.js"]',
    ].join("\n");
    expect(violations(broken)).toEqual([
      "not multi-stage",
      "base image not pinned: node:latest",
      "runtime stage: no npm ci --omit=dev",
      "runtime stage: npm install",
      "runtime stage: dist/ not copied from the build stage",
      "runtime stage: runs as root",
      "runtime stage: no HEALTHCHECK",
      "ENV DB_PASSWORD: a secret in the image",
      "ADD of a URL: https://example.com/app.tgz /app/",
    ]);
  });
});
