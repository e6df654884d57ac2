/**
 * What `aixcl utils completion` knows about the commands, read from the commander tree of this
 * very run (never a list of its own, so it cannot go stale): each command's subcommands, its
 * options, its positional arguments, and what the value of each option or argument completes to.
 *
 * A value completes to:
 * - its choices, when commander declares them (`new Option(…).choices([…])`,
 *   `new Argument(…).choices([…])`);
 * - file names, when its placeholder (`<file>`, `<path>`, `[file]`; for an option also its long
 *   name, `--password-file`) has the word `file` or `path`; directory names when it has `dir` or
 *   `directory` (`<dir>`, `--build-context <dir>`). Choices win over names;
 * - nothing otherwise (a name, a number, a duration…): never the option names.
 */
import { Help, type Argument, type Command, type Option } from "commander";

export type Values =
  { kind: "words"; words: string[] } | { kind: "file" } | { kind: "dir" } | { kind: "none" };

interface OptionNode {
  /** `-n`, `--lines`… */
  flags: string[];
  description: string;
  /** The value of an option that takes one (`--profile <profile>`); undefined for a switch. */
  values: Values | undefined;
}

interface ArgumentNode {
  /** 0 for the first positional argument. */
  index: number;
  /** The last argument, taking every word from `index` on. */
  variadic: boolean;
  values: Values;
}

export interface CommandNode {
  /** `aixcl`, `aixcl models`, `aixcl models add`… */
  key: string;
  /** Subcommands by name and alias, each to its node's key. */
  children: { name: string; key: string; description: string }[];
  /** What `--help` lists: the options offered as completions. */
  options: OptionNode[];
  /**
   * Every option that takes a value and may be typed here, hidden ones included: the command's
   * own and its ancestors' (commander reads a parent's options after a subcommand's name too).
   * The word after one is its value, not a command or an argument.
   */
  valueOptions: { flag: string; values: Values }[];
  arguments: ArgumentNode[];
}

/** commander's own view of what `--help` lists: visible commands (and `help`), visible options (and `--help`). */
const help = new Help();

/** Words a shell can take unquoted: a choice with anything else in it is not offered. */
const SAFE_WORD = /^[\w.:@%+,/-]+$/;

const words = (name: string): string[] => name.toLowerCase().split(/[^a-z]+/);

/** What a value named `names` (placeholder, long flag) with these choices completes to. */
function valuesOf(choices: readonly string[] | undefined, names: string[]): Values {
  if (choices !== undefined) return { kind: "words", words: choices.filter((c) => SAFE_WORD.test(c)) };
  const named = names.flatMap(words);
  if (named.includes("dir") || named.includes("directory")) return { kind: "dir" };
  if (named.includes("file") || named.includes("path")) return { kind: "file" };
  return { kind: "none" };
}

/** `<profile>` of `--profile <profile>`, `path` of `-f, --file [path]`. */
const placeholder = (option: Option): string => /[<[]([^>\]]*)[>\]]/.exec(option.flags)?.[1] ?? "";

function optionValues(option: Option): Values | undefined {
  if (!option.required && !option.optional) return undefined;
  return valuesOf(option.argChoices, [placeholder(option), option.long ?? ""]);
}

const flagsOf = (option: Option): string[] =>
  [option.short, option.long].filter((f): f is string => f !== undefined);

function argumentNode(argument: Argument, index: number): ArgumentNode {
  return { index, variadic: argument.variadic, values: valuesOf(argument.argChoices, [argument.name()]) };
}

function collect(
  command: Command,
  key: string,
  inherited: CommandNode["valueOptions"],
  out: CommandNode[],
): void {
  const visible = help.visibleCommands(command);
  const children = visible.flatMap((c) =>
    [c.name(), ...c.aliases()].map((name) => ({
      name,
      key: `${key} ${c.name()}`,
      description: c.description(),
    })),
  );
  const options = help.visibleOptions(command).map((o) => ({
    flags: flagsOf(o),
    description: o.description,
    values: optionValues(o),
  }));
  const own = command.options.flatMap((o) => {
    const values = optionValues(o);
    return values === undefined ? [] : flagsOf(o).map((flag) => ({ flag, values }));
  });
  // The command's own option wins over an ancestor's of the same spelling.
  const valueOptions = [...own, ...inherited.filter((i) => !own.some((o) => o.flag === i.flag))];
  out.push({
    key,
    children,
    options,
    valueOptions,
    arguments: command.registeredArguments.map(argumentNode),
  });
  for (const c of visible) collect(c, `${key} ${c.name()}`, valueOptions, out);
}

/** The tree under `root`, root first. */
export function commandTree(root: Command): CommandNode[] {
  const out: CommandNode[] = [];
  collect(root, root.name(), [], out);
  return out;
}
