import { Command } from "commander";
import type { RunCommand } from "../../command.js";
import { printOut } from "../../output.js";
import { modelNameArg, openSession, serverOrStore } from "../../connection.js";

function rmCommand(run: RunCommand): Command {
  return new Command("rm")
    .alias("remove")
    .description("remove models (blobs no other model uses are deleted)")
    .argument("<models...>", "model names", (value: string, previous: string[] = []) => [
      ...previous,
      modelNameArg(value),
    ])
    .action((models: string[]) =>
      run(async () => {
        const session = openSession();
        for (const model of models) {
          await serverOrStore(
            session,
            (client) => client.delete(model),
            (store) => store.delete(model),
          );
          await printOut(`deleted '${model}'`);
        }
        return 0;
      }),
    );
}

function cpCommand(run: RunCommand): Command {
  return new Command("cp")
    .alias("copy")
    .description("copy a model under a new name (shares its blobs)")
    .argument("<source>", "existing model", modelNameArg)
    .argument("<destination>", "new name", modelNameArg)
    .action((source: string, destination: string) =>
      run(async () => {
        await serverOrStore(
          openSession(),
          (client) => client.copy(source, destination),
          (store) => store.copy(source, destination),
        );
        await printOut(`copied '${source}' to '${destination}'`);
        return 0;
      }),
    );
}

function stopCommand(run: RunCommand): Command {
  return new Command("stop")
    .description("unload a running model (needs a running server)")
    .argument("<model>", "model name", modelNameArg)
    .action((model: string) =>
      run(async () => {
        await openSession().client.unload(model);
        return 0;
      }),
    );
}

/** rm, cp, stop */
export function manageCommands(run: RunCommand): Command[] {
  return [rmCommand(run), cpCommand(run), stopCommand(run)];
}
