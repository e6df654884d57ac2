import { Command } from "commander";
import type { RunCommand } from "../../command.js";
import { completionCommand } from "./completion.js";
import { doctorCommand } from "./doctor.js";
import { pruneCommand } from "./prune.js";

/** `aixcl utils doctor|completion|prune`: checks, shell completion and cleanup of this home. */
export function utilsCommand(run: RunCommand): Command {
  const utils = new Command("utils").description("utilities: doctor, shell completion, prune");
  for (const command of [doctorCommand(run), completionCommand(run), pruneCommand(run)])
    utils.addCommand(command);
  return utils;
}
