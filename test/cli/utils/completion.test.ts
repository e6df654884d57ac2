/**
 * `aixcl utils completion`: the scripts are generated from the live command tree. The bash script
 * is sourced by a real bash, which is asked to complete as readline would (COMP_WORDS,
 * COMP_CWORD, then the completion function; COMPREPLY printed).
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cliEnv, runCli } from "../run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "aixcl-completion-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Names for path arguments to complete: `<files>/model.gguf` and the directory `<files>/sub`. */
const files = join(dir, "files");
mkdirSync(join(files, "sub"), { recursive: true });
writeFileSync(join(files, "model.gguf"), "");

async function script(shell: string): Promise<string> {
  const result = await runCli(["utils", "completion", shell], cliEnv(dir));
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return result.stdout;
}

/** What bash's completion function offers for the words of `line` (the last one being completed). */
function bashComplete(file: string, words: string[]): Promise<string[]> {
  const quoted = words.map((w) => `'${w}'`).join(" ");
  const program = [
    `source '${file}'`,
    `COMP_WORDS=(${quoted})`,
    `COMP_CWORD=${words.length - 1}`,
    `COMP_LINE='${words.join(" ")}'`,
    `COMP_POINT=\${#COMP_LINE}`,
    `_aixcl_completion aixcl '${words.at(-1) ?? ""}' '${words.at(-2) ?? ""}'`,
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join("\n");
  return new Promise((resolve, reject) => {
    execFile("bash", ["--norc", "--noprofile", "-c", program], (error, stdout) => {
      if (error) reject(new Error(`bash: ${error.message}`));
      else resolve(stdout.split("\n").filter(Boolean));
    });
  });
}

const TOP = ["serve", "config", "db", "models", "keys", "audit", "run", "users", "vault", "version", "utils"];

describe("aixcl utils completion", () => {
  it("bash: a real bash completes commands, subcommands, aliases and options at each level", async () => {
    const file = join(dir, "aixcl.bash");
    writeFileSync(file, await script("bash"));
    const [mo, modelsA, utilsEmpty, afterFlag, alias, option, utilsP] = await Promise.all([
      bashComplete(file, ["aixcl", "mo"]),
      bashComplete(file, ["aixcl", "models", "a"]),
      bashComplete(file, ["aixcl", "utils", ""]),
      // The value of --home is not a command: `models` after it is still the command.
      bashComplete(file, ["aixcl", "--home", "/x", "models", "l"]),
      bashComplete(file, ["aixcl", "models", "ls", "--j"]),
      bashComplete(file, ["aixcl", "utils", "doctor", "--"]),
      bashComplete(file, ["aixcl", "utils", "p"]),
    ]);
    expect(mo).toEqual(["models", "monitoring"]);
    expect(modelsA).toEqual(["add"]);
    expect(utilsEmpty).toEqual(expect.arrayContaining(["doctor", "completion", "prune", "--help"]));
    expect(afterFlag).toEqual(["list", "ls"]);
    expect(alias).toEqual(["--json"]); // `ls` is `list`'s alias: its options
    expect(option).toEqual(["--json", "--help"]);
    expect(utilsP).toEqual(["prune"]);
  });

  it("bash: option and argument values: declared choices, file and directory names, nothing for free values", async () => {
    const file = join(dir, "aixcl.bash");
    writeFileSync(file, await script("bash"));
    const [
      profile,
      profileB,
      profileEq,
      shells,
      level,
      name,
      lines,
      imported,
      exported,
      home,
      afterValue,
      done,
    ] = await Promise.all([
      bashComplete(file, ["aixcl", "stack", "start", "--profile", ""]),
      bashComplete(file, ["aixcl", "stack", "restart", "--timeout", "5", "--profile", "b"]),
      // bash splits `--profile=s` into `--profile`, `=`, `s`.
      bashComplete(file, ["aixcl", "stack", "start", "--profile", "=", "s"]),
      bashComplete(file, ["aixcl", "utils", "completion", ""]),
      bashComplete(file, ["aixcl", "stack", "logs", "--level", ""]),
      bashComplete(file, ["aixcl", "models", "import", "--name", ""]),
      bashComplete(file, ["aixcl", "stack", "logs", "-n", ""]),
      bashComplete(file, ["aixcl", "models", "import", `${files}/m`]),
      bashComplete(file, ["aixcl", "monitoring", "export", `${files}/`]),
      bashComplete(file, ["aixcl", "serve", "--home", `${files}/`]),
      // The option's value is behind: the command's options again.
      bashComplete(file, ["aixcl", "stack", "start", "--profile", "core", "--t"]),
      // Every argument given: the command's options.
      bashComplete(file, ["aixcl", "utils", "completion", "bash", ""]),
    ]);
    expect(profile).toEqual(["core", "bld", "sys"]);
    expect(profileB).toEqual(["bld"]);
    expect(profileEq).toEqual(["sys"]);
    expect(shells.sort()).toEqual(["bash", "fish", "zsh"]);
    expect(level).toEqual(expect.arrayContaining(["trace", "debug", "info", "warn", "error", "fatal"]));
    // Free values complete to nothing, not to the option names.
    expect(name).toEqual([]);
    expect(lines).toEqual([]);
    expect(imported).toEqual([join(files, "model.gguf")]);
    expect(exported).toEqual([join(files, "sub")]); // <dir>: directories only
    expect(home).toEqual([join(files, "sub")]);
    expect(afterValue).toEqual(["--timeout"]);
    expect(done).toEqual(["-h", "--help"]);
  });

  it("zsh and fish scripts name every top-level command and the utils subcommands", async () => {
    const [zsh, fish] = await Promise.all([script("zsh"), script("fish")]);
    for (const text of [zsh, fish]) {
      for (const name of [...TOP, "doctor", "completion", "prune"]) expect(text).toContain(name);
    }
    expect(zsh).toMatch(/^#compdef aixcl/);
    expect(zsh).toContain("compdef _aixcl aixcl");
    expect(fish).toContain("complete -c aixcl -n 'test (__aixcl_at) = \\'aixcl models\\'' -a 'add'");
  });

  it("zsh -n accepts the zsh script, and its function offers each level's words", async () => {
    const file = join(dir, "_aixcl");
    writeFileSync(file, await script("zsh"));
    execFileSync("zsh", ["-n", file]);
    // Without compinit: compdef is a no-op and compadd prints what it is given (zsh filters by prefix itself).
    const offered = (words: string[]) =>
      execFileSync("zsh", [
        "-f",
        "-c",
        `compdef(){}; source '${file}'; compadd(){ shift; print -l -- "$@" }; words=(${words.join(" ")}); CURRENT=${words.length}; _aixcl`,
      ])
        .toString()
        .split("\n")
        .filter(Boolean);
    expect(offered(["aixcl", "mo"])).toEqual(expect.arrayContaining(["models", "serve", "utils"]));
    const models = offered(["aixcl", "models", "a"]);
    expect(models).toEqual(expect.arrayContaining(["add", "list", "rm"]));
    expect(models).not.toContain("serve");
    // Values: compadd gets the choices, _files (stubbed) the path arguments.
    const values = (words: string[]) =>
      execFileSync("zsh", [
        "-f",
        "-c",
        `compdef(){}; source '${file}'; compadd(){ shift; print -l -- "$@" }; _files(){ print -l -- _files "$@" }; words=(${words.join(" ")}); CURRENT=${words.length}; _aixcl`,
      ])
        .toString()
        .split("\n")
        .filter(Boolean);
    expect(values(["aixcl", "stack", "start", "--profile", "''"])).toEqual(["core", "bld", "sys"]);
    expect(values(["aixcl", "utils", "completion", "''"]).sort()).toEqual(["bash", "fish", "zsh"]);
    expect(values(["aixcl", "models", "import", "''"])).toEqual(["_files"]);
    expect(values(["aixcl", "monitoring", "export", "''"])).toEqual(["_files", "-/"]);
  });

  it("fish -n accepts the fish script, and fish completes from it", async () => {
    const file = join(dir, "aixcl.fish");
    writeFileSync(file, await script("fish"));
    execFileSync("fish", ["-n", file]);
    const complete = (line: string) =>
      execFileSync("fish", ["--no-config", "-c", `source '${file}'; complete -C '${line}'`])
        .toString()
        .split("\n")
        .filter(Boolean)
        .map((row) => row.split("\t")[0]);
    expect(complete("aixcl mo")).toEqual(["models", "monitoring"]);
    expect(complete("aixcl models a")).toEqual(["add"]);
    expect(complete("aixcl --home /x models ls --j")).toEqual(["--json"]);
    expect(complete("aixcl stack start --profile ")).toEqual(["bld", "core", "sys"]);
    expect(complete("aixcl utils completion ")).toEqual(["bash", "fish", "zsh"]);
    expect(complete("aixcl models import --name ")).toEqual([]);
    expect(complete(`aixcl models import ${files}/m`)).toEqual([join(files, "model.gguf")]);
    expect(complete(`aixcl monitoring export ${files}/`)).toEqual([`${join(files, "sub")}/`]);
  });

  it("an unknown shell is a usage error", async () => {
    const result = await runCli(["utils", "completion", "tcsh"], cliEnv(dir));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("tcsh");
  });
});
