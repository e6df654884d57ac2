import { Command } from "commander";
import type { RunCommand } from "../command.js";
import { printOut } from "../output.js";
import { VERSION } from "../../version.js";

export function versionCommand(run: RunCommand): Command {
  return new Command("version").description("print the aixcl version").action(() =>
    run(async () => {
      await printOut(VERSION);
      return 0;
    }),
  );
}
