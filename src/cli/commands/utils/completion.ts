/**
 * `aixcl utils completion bash|zsh|fish`: a completion script generated from the commander tree
 * of this very run, so it lists exactly the commands, options and values this version has
 * (what each value completes to: completion-tree.ts).
 *
 * Every script works the same way: it walks the words typed so far from the root, following
 * those that name a subcommand (or an alias of one) of the command reached so far, skipping
 * options and the value after an option that takes one, and counting the positional arguments
 * given to the command it ends on. Then it offers, for the word under the cursor:
 * - after an option that takes a value, that value's choices, file or directory names, or
 *   nothing (a free value: never the option names);
 * - for a word starting with `-`, the command's options;
 * - where the command expects a positional argument, the argument's choices, file or directory
 *   names, or nothing;
 * - otherwise the command's subcommands and options.
 * A command is keyed by its path (`aixcl models add`).
 */
import { Argument, Command } from "commander";
import type { RunCommand } from "../../command.js";
import { printOut } from "../../output.js";
import { commandTree, type CommandNode, type Values } from "./completion-tree.js";

/** How bash and zsh spell what differs between them in the code they share. */
interface Dialect {
  /** The index of the first word after the program name. */
  first: number;
  /** The index of the word under the cursor. */
  cursor: string;
  /** The array of the words. */
  words: string;
  /** Assigns `words` to `candidates`. */
  list: (words: string[]) => string;
}

const BASH: Dialect = {
  first: 1,
  cursor: "COMP_CWORD",
  words: "COMP_WORDS",
  list: (words) => `candidates="${words.join(" ")}"`,
};

const ZSH: Dialect = {
  first: 2,
  cursor: "CURRENT",
  words: "words",
  list: (words) => `candidates=(${words.join(" ")})`,
};

/** What sets `kind` (and `candidates`) for a value. */
function valueAction(values: Values, dialect: Dialect): string {
  switch (values.kind) {
    case "words":
      return `kind=words ${dialect.list(values.words)}`;
    case "file":
    case "dir":
    case "none":
      return `kind=${values.kind}`;
  }
}

/** `case` arms, one per action, each matching every key with that action. */
function arms(entries: { pattern: string; action: string }[], indent: string): string[] {
  const byAction = new Map<string, string[]>();
  for (const { pattern, action } of entries) byAction.set(action, [...(byAction.get(action) ?? []), pattern]);
  return [...byAction].map(([action, patterns]) => `${indent}${patterns.join("|")}) ${action} ;;`);
}

/** `case` arms for the positional arguments: `"<key> <index>"`, a variadic one's `"<key> "*` last. */
function argumentArms(nodes: CommandNode[], dialect: Dialect, indent: string): string[] {
  return nodes.flatMap((n) =>
    [...n.arguments]
      .sort((a, b) => Number(a.variadic) - Number(b.variadic))
      .map((a) => {
        const pattern = a.variadic ? `"${n.key} "*` : `"${n.key} ${a.index}"`;
        return `${indent}${pattern}) ${valueAction(a.values, dialect)} ;;`;
      }),
  );
}

/** Lines of a shell `case` that map `<key> <word>` to the key of the subcommand it names. */
function transitions(
  nodes: CommandNode[],
  indent: string,
  arm: (from: string, to: string) => string,
): string[] {
  return nodes.flatMap((n) => n.children.map((c) => `${indent}${arm(`${n.key} ${c.name}`, c.key)}`));
}

const optionWords = (n: CommandNode): string[] => n.options.flatMap((o) => o.flags);
const nodeWords = (n: CommandNode): string[] => [...n.children.map((c) => c.name), ...optionWords(n)];

/**
 * The body bash and zsh share: walks the words typed so far into `$at` (the command), `$argc`
 * (its positional arguments so far) and `$valueof` (`<key> <option>` when the cursor is on an
 * option's value), then sets `$kind` (words, file, dir or none) and `$candidates`.
 */
function decide(nodes: CommandNode[], d: Dialect): string[] {
  const w = (index: string): string => `"\${${d.words}[${index}]}"`;
  // One line of patterns per command, continued with `|\` up to the last, which closes with `)`.
  const valueFlags = nodes
    .filter((n) => n.valueOptions.length > 0)
    .map((n, index, all) => {
      const patterns = n.valueOptions.map((o) => `"${n.key} ${o.flag}"`).join("|");
      return `      ${patterns}${index < all.length - 1 ? "|\\" : ")"}`;
    });
  return [
    `  for ((i = ${d.first}; i < ${d.cursor}; i++)); do`,
    `    word=${w("i")}`,
    ...(valueFlags.length > 0
      ? [
          `    case "$at $word" in`,
          ...valueFlags,
          `        valueof="$at $word"`,
          // bash splits `--profile=core` into `--profile`, `=`, `core`.
          `        [[ ${w("i + 1")} == "=" ]] && ((i++))`,
          `        ((i++))`,
          `        continue`,
          `        ;;`,
          `    esac`,
        ]
      : []),
    `    case "$word" in`,
    `      -*|=) continue ;;`,
    `    esac`,
    `    next=""`,
    `    case "$at $word" in`,
    ...transitions(nodes, "      ", (from, to) => `"${from}") next="${to}" ;;`),
    `    esac`,
    `    if [[ -n "$next" ]]; then`,
    `      at="$next"`,
    `      argc=0`,
    `    else`,
    `      ((argc++))`,
    `    fi`,
    `  done`,
    `  if ((i > ${d.cursor})); then`,
    `    [[ "$cur" == "=" ]] && cur=""`,
    `    kind=none`,
    `    case "$valueof" in`,
    ...arms(
      nodes.flatMap((n) =>
        n.valueOptions.map((o) => ({ pattern: `"${n.key} ${o.flag}"`, action: valueAction(o.values, d) })),
      ),
      "      ",
    ),
    `    esac`,
    `  elif [[ "$cur" == -* ]]; then`,
    `    kind=words`,
    `    case "$at" in`,
    ...nodes.map((n) => `      "${n.key}") ${d.list(optionWords(n))} ;;`),
    `    esac`,
    `  else`,
    `    case "$at $argc" in`,
    ...argumentArms(nodes, d, "      "),
    `    esac`,
    `    if [[ -z "$kind" ]]; then`,
    `      kind=words`,
    `      case "$at" in`,
    ...nodes.map((n) => `        "${n.key}") ${d.list(nodeWords(n))} ;;`),
    `      esac`,
    `    fi`,
    `  fi`,
  ];
}

function bashScript(nodes: CommandNode[], program: string): string {
  const fn = `_${program.replace(/[^A-Za-z0-9_]/g, "_")}_completion`;
  return [
    `# ${program} bash completion, generated by \`${program} utils completion bash\`.`,
    `# Load it with: source <(${program} utils completion bash)`,
    `${fn}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" at="${program}" argc=0 valueof="" kind="" candidates="" word next i`,
    ...decide(nodes, BASH),
    `  COMPREPLY=()`,
    `  case "$kind" in`,
    `    file)`,
    `      compopt -o filenames 2>/dev/null`,
    `      mapfile -t COMPREPLY < <(compgen -f -- "$cur")`,
    `      ;;`,
    `    dir)`,
    `      compopt -o filenames 2>/dev/null`,
    `      mapfile -t COMPREPLY < <(compgen -d -- "$cur")`,
    `      ;;`,
    `    words) mapfile -t COMPREPLY < <(compgen -W "$candidates" -- "$cur") ;;`,
    `  esac`,
    `}`,
    `complete -F ${fn} ${program}`,
    ``,
  ].join("\n");
}

function zshScript(nodes: CommandNode[], program: string): string {
  const fn = `_${program.replace(/[^A-Za-z0-9_]/g, "_")}`;
  return [
    `#compdef ${program}`,
    `# ${program} zsh completion, generated by \`${program} utils completion zsh\`.`,
    `# Load it with: source <(${program} utils completion zsh), or save it as _${program} in your fpath.`,
    `${fn}() {`,
    `  local cur="\${words[CURRENT]}" at="${program}" argc=0 valueof="" kind="" word next i`,
    `  local -a candidates`,
    ...decide(nodes, ZSH),
    `  case "$kind" in`,
    `    file) _files ;;`,
    `    dir) _files -/ ;;`,
    `    words) compadd -- $candidates ;;`,
    `    *) return 1 ;;`,
    `  esac`,
    `}`,
    `compdef ${fn} ${program}`,
    ``,
  ].join("\n");
}

/** A fish single-quoted string. */
const fishQuote = (text: string): string => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** The `complete` switches that make fish offer a value (after an option, or as an argument). */
function fishValues(values: Values): string {
  switch (values.kind) {
    case "words":
      return `-a ${fishQuote(values.words.join(" "))}`;
    case "file":
      return "-F";
    case "dir":
      return `-a ${fishQuote("(__fish_complete_directories)")}`;
    case "none":
      return "";
  }
}

/** An option's spec: `-s n -l lines` and what its value completes to. */
function fishOption(flags: string[], values: Values | undefined): string {
  const spec = flags
    .map((f) => (f.startsWith("--") ? `-l ${fishQuote(f.slice(2))}` : `-s ${fishQuote(f.slice(1))}`))
    .join(" ");
  if (values === undefined) return spec;
  // -r: takes a value; -x (-r -f): not a file name unless -F says so.
  if (values.kind === "file") return `${spec} -r -F`;
  return [spec, "-x", fishValues(values)].filter(Boolean).join(" ");
}

function fishScript(nodes: CommandNode[], program: string): string {
  const id = program.replace(/[^A-Za-z0-9_]/g, "_");
  const [walk, at, arg] = [`__${id}_walk`, `__${id}_at`, `__${id}_arg`];
  const lines = [
    `# ${program} fish completion, generated by \`${program} utils completion fish\`.`,
    `# Load it with: ${program} utils completion fish | source`,
    `# Prints the command the words typed so far lead to, then how many arguments it has been given.`,
    `function ${walk}`,
    `    set -l at ${program}`,
    `    set -l argc 0`,
    `    set -l skip 0`,
    `    for word in (commandline -opc)[2..-1]`,
    `        if test $skip = 1`,
    `            set skip 0`,
    `            continue`,
    `        end`,
    `        switch "$at $word"`,
    ...nodes.flatMap((n) =>
      n.valueOptions.length > 0
        ? [
            `            case ${n.valueOptions.map((o) => fishQuote(`${n.key} ${o.flag}`)).join(" ")}`,
            `                set skip 1`,
          ]
        : [],
    ),
    `        end`,
    `        test $skip = 1; and continue`,
    `        switch $word`,
    `            case '-*'`,
    `                continue`,
    `        end`,
    `        set -l next`,
    `        switch "$at $word"`,
    ...transitions(
      nodes,
      "            ",
      (from, to) => `case ${fishQuote(from)}\n                set next ${fishQuote(to)}`,
    ),
    `        end`,
    `        if test -n "$next"`,
    `            set at $next`,
    `            set argc 0`,
    `        else`,
    `            set argc (math $argc + 1)`,
    `        end`,
    `    end`,
    `    echo $at`,
    `    echo $argc`,
    `end`,
    `function ${at}`,
    `    set -l state (${walk})`,
    `    echo $state[1]`,
    `end`,
    `# ${arg} KEY INDEX [+]: the command is KEY and the word is its argument INDEX (or later, with +).`,
    `function ${arg}`,
    `    set -l state (${walk})`,
    `    test "$state[1]" = "$argv[1]"; or return 1`,
    `    if set -q argv[3]`,
    `        test $state[2] -ge $argv[2]`,
    `    else`,
    `        test $state[2] -eq $argv[2]`,
    `    end`,
    `end`,
    `complete -c ${program} -f`,
  ];
  for (const n of nodes) {
    const when = `-n ${fishQuote(`test (${at}) = ${fishQuote(n.key)}`)}`;
    for (const c of n.children) {
      lines.push(`complete -c ${program} ${when} -a ${fishQuote(c.name)} -d ${fishQuote(c.description)}`);
    }
    for (const o of n.options) {
      lines.push(
        `complete -c ${program} ${when} ${fishOption(o.flags, o.values)} -d ${fishQuote(o.description)}`,
      );
    }
    for (const a of n.arguments) {
      const values = fishValues(a.values);
      if (values === "") continue;
      const test = `${arg} ${fishQuote(n.key)} ${a.index}${a.variadic ? " +" : ""}`;
      lines.push(`complete -c ${program} -n ${fishQuote(test)} ${values}`);
    }
  }
  lines.push("");
  return lines.join("\n");
}

const SHELLS = { bash: bashScript, zsh: zshScript, fish: fishScript } as const;
type Shell = keyof typeof SHELLS;

export function completionCommand(run: RunCommand): Command {
  return new Command("completion")
    .description("print a shell completion script for aixcl (bash, zsh or fish)")
    .addArgument(new Argument("<shell>", "the shell").choices(Object.keys(SHELLS)))
    .action((shell: Shell, _options: unknown, command: Command) =>
      run(async () => {
        let root = command;
        while (root.parent) root = root.parent;
        await printOut(SHELLS[shell](commandTree(root), root.name()));
        return 0;
      }),
    );
}
