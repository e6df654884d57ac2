import { Command } from "commander";
import type { StatusWire } from "../../../api/ollama/responses.js";
import type { RunCommand } from "../../command.js";
import { createProgressView } from "../../progress.js";
import { modelNameArg, openSession, openStore } from "../../connection.js";

/**
 * `aixcl models add NAME [--insecure]`: pulls from the Ollama registry or `hf.co/...`. Through
 * the server's /api/pull when one runs (so two clients share one download), else with the
 * puller on the store directly. Progress goes to stderr.
 */
export function addCommand(run: RunCommand): Command {
  return new Command("add")
    .alias("pull")
    .description("download a model from a registry (registry.ollama.ai, hf.co/<user>/<repo>[:<quant>])")
    .argument("<model>", "model name", modelNameArg)
    .option("--insecure", "allow plain http to the registry (it must also be in registry.insecure)")
    .action((model: string, options: { insecure?: boolean }) =>
      run(async () => {
        const session = openSession();
        const insecure = options.insecure === true;
        const view = createProgressView();
        try {
          if (await session.client.reachable()) {
            for await (const status of session.client.pull({ model, insecure })) view.update(status);
          } else {
            await pullOffline(session.config, model, insecure, (status) => view.update(status));
          }
        } finally {
          view.stop();
        }
        return 0;
      }),
    );
}

async function pullOffline(
  config: ReturnType<typeof openSession>["config"],
  model: string,
  insecure: boolean,
  onProgress: (status: StatusWire) => void,
): Promise<void> {
  // Loaded only here: the registry client is not needed by any other command.
  const [{ createPuller }, { silentLogger }] = await Promise.all([
    import("../../../models/pull/puller.js"),
    import("../../../logger.js"),
  ]);
  const store = await openStore(config);
  const puller = createPuller({ store, config, logger: silentLogger() });
  try {
    await puller.pull(model, { insecure }, onProgress);
  } finally {
    puller.close();
    await store.close();
  }
}
