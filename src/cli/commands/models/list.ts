import { Command } from "commander";
import type { ModelEntryWire, RunningModelWire } from "../../../api/ollama/responses.js";
import type { RunCommand } from "../../command.js";
import { printOut } from "../../output.js";
import { relativeTime, table } from "../../format.js";
import { formatBytes } from "../../progress.js";
import { openSession, serverOrStore } from "../../connection.js";

const shortId = (digest: string): string => digest.replace(/^sha256[:-]/, "").slice(0, 12);

function listCommand(run: RunCommand): Command {
  return new Command("list")
    .alias("ls")
    .description("list installed models (from the server, or the store when none runs)")
    .option("--json", "print the models as JSON (the /api/tags entries)")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const session = openSession();
        const models = await serverOrStore<ModelEntryWire[]>(
          session,
          async (client) => (await client.tags()).models,
          async (store) =>
            (await store.list()).map((r) => ({
              name: r.name,
              model: r.name,
              modified_at: r.modifiedAt.toISOString(),
              size: r.size,
              digest: r.digest,
              details: r.details,
            })),
        );
        if (options.json === true) {
          await printOut(JSON.stringify(models, null, 2));
          return 0;
        }
        const rows = [["NAME", "ID", "SIZE", "MODIFIED"]];
        for (const m of models) {
          rows.push([m.name, shortId(m.digest), formatBytes(m.size), relativeTime(new Date(m.modified_at))]);
        }
        await printOut(table(rows));
        return 0;
      }),
    );
}

function processor(model: RunningModelWire): string {
  if (model.size_vram <= 0) return "100% CPU";
  if (model.size_vram >= model.size) return "100% GPU";
  const gpu = Math.round((model.size_vram / model.size) * 100);
  return `${100 - gpu}%/${gpu}% CPU/GPU`;
}

function psCommand(run: RunCommand): Command {
  return new Command("ps")
    .description("list loaded models (needs a running server)")
    .option("--json", "print the models as JSON (the /api/ps entries)")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const { client } = openSession();
        const { models } = await client.ps();
        if (options.json === true) {
          await printOut(JSON.stringify(models, null, 2));
          return 0;
        }
        const rows = [["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]];
        for (const m of models) {
          const expires = new Date(m.expires_at);
          // Ollama reports "forever" as a far-future time.
          const until = expires.getFullYear() > 2200 ? "Forever" : relativeTime(expires);
          rows.push([
            m.name,
            shortId(m.digest),
            formatBytes(m.size),
            processor(m),
            String(m.context_length),
            until,
          ]);
        }
        await printOut(table(rows));
        return 0;
      }),
    );
}

/** list, ps */
export function listCommands(run: RunCommand): Command[] {
  return [listCommand(run), psCommand(run)];
}
