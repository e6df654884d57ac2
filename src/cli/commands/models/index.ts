import { Command } from "commander";
import type { RunCommand } from "../../command.js";
import { addCommand } from "./add.js";
import { importCommand } from "./import.js";
import { listCommands } from "./list.js";
import { manageCommands } from "./manage.js";
import { showCommand } from "./show.js";

/**
 * `aixcl models add|list|show|rm|cp|ps|import|stop`. The server is found from config
 * (server.host/server.port, auth.api_key); add/list/show/rm/cp/import work on the store directly
 * when no server runs, ps/stop need one.
 */
export function modelsCommand(run: RunCommand): Command {
  const models = new Command("models").description(
    "manage models (add, list, show, rm, cp, ps, import, stop)",
  );
  for (const command of [
    addCommand(run),
    ...listCommands(run),
    showCommand(run),
    ...manageCommands(run),
    importCommand(run),
  ]) {
    models.addCommand(command);
  }
  return models;
}
