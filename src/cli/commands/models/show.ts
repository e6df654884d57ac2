import { Command } from "commander";
import type { ShowResponseWire } from "../../../api/ollama/responses.js";
import type { RunCommand } from "../../command.js";
import { printOut } from "../../output.js";
import { modelNameArg, openSession, serverOrStore } from "../../connection.js";

/** The sections `ollama show` prints, from the /api/show body. */
function formatShow(info: ShowResponseWire): string {
  const arch = info.model_info["general.architecture"];
  const meta = (key: string): string => {
    const value = typeof arch === "string" ? info.model_info[`${arch}.${key}`] : undefined;
    return typeof value === "number" || typeof value === "string" ? String(value) : "";
  };
  const pairs = (rows: [string, string][]): string[] => {
    const kept = rows.filter(([, value]) => value !== "");
    const width = Math.max(...kept.map(([key]) => key.length));
    return kept.map(([key, value]) => `    ${key.padEnd(width)}    ${value}`);
  };
  const indent = (text: string): string[] => text.split("\n").map((l) => `    ${l}`.trimEnd());
  const out: string[] = ["  Model"];
  out.push(
    ...pairs([
      ["architecture", typeof arch === "string" ? arch : ""],
      ["parameters", info.details.parameter_size],
      ["context length", meta("context_length")],
      ["embedding length", meta("embedding_length")],
      ["quantization", info.details.quantization_level],
    ]),
  );
  if (info.capabilities.length > 0)
    out.push("", "  Capabilities", ...info.capabilities.map((c) => `    ${c}`));
  if (info.parameters.trim() !== "") out.push("", "  Parameters", ...indent(info.parameters.trim()));
  if (info.system.trim() !== "") out.push("", "  System", ...indent(info.system.trim()));
  if (info.template.trim() !== "") out.push("", "  Template", ...indent(info.template.trim()));
  if (info.license.trim() !== "") out.push("", "  License", ...indent(info.license.trim()));
  return `${out.join("\n")}\n`;
}

export function showCommand(run: RunCommand): Command {
  return new Command("show")
    .description("show a model's details: architecture, parameters, quantization, context, template, license")
    .argument("<model>", "model name", modelNameArg)
    .option("--json", "print the /api/show body as JSON")
    .option("--verbose", "include full metadata arrays and the tensor list (with --json)")
    .action((model: string, options: { json?: boolean; verbose?: boolean }) =>
      run(async () => {
        const verbose = options.verbose === true;
        const info = await serverOrStore<ShowResponseWire>(
          openSession(),
          (client) => client.show(model, { verbose }),
          async (store) => {
            const { showInfo } = await import("../../../models/show-info.js");
            return showInfo(await store.get(model), { verbose });
          },
        );
        await printOut(options.json === true ? JSON.stringify(info, null, 2) : formatShow(info));
        return 0;
      }),
    );
}
