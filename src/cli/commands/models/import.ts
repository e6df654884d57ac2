import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { Command } from "commander";
import type { StatusWire } from "../../../api/ollama/responses.js";
import type { RunCommand } from "../../command.js";
import { printOut } from "../../output.js";
import { createProgressView } from "../../progress.js";
import { modelNameArg, openSession, serverOrStore } from "../../connection.js";

/** `sha256:<hex>` of a file, read as a stream (model files are gigabytes). */
async function fileDigest(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return `sha256:${hash.digest("hex")}`;
}

/**
 * `aixcl models import ./file.gguf --name my-model`: validates the GGUF (header, metadata,
 * tensor table against the file size) before a byte is stored, then installs it — through the
 * server (HEAD the blob, upload only if missing, /api/create) or on the store directly.
 */
export function importCommand(run: RunCommand): Command {
  return new Command("import")
    .description("install a local GGUF file as a model")
    .argument("<file>", "path of a .gguf file")
    .requiredOption("--name <model>", "name to install it under", modelNameArg)
    .action((file: string, options: { name: string }) =>
      run(async () => {
        const path = resolve(file);
        const { readGgufInfo } = await import("../../../models/gguf/reader.js");
        // Throws AppError invalid_gguf naming the defect (truncated, bad magic, absurd counts...).
        await readGgufInfo(path);
        const digest = await fileDigest(path);
        const files = { [basename(path)]: digest };
        const view = createProgressView();
        const onStatus = (status: StatusWire): void => view.update(status);
        try {
          await serverOrStore(
            openSession(),
            async (client) => {
              if (!(await client.hasBlob(digest))) await client.uploadBlob(digest, path);
              for await (const status of client.create({ model: options.name, files })) onStatus(status);
            },
            async (store) => {
              if (!(await store.hasBlob(digest))) await store.writeBlob(digest, createReadStream(path));
              await store.create({ name: options.name, files }, onStatus);
              onStatus({ status: "success" });
            },
          );
        } finally {
          view.stop();
        }
        await printOut(`imported ${file} as '${options.name}'`);
        return 0;
      }),
    );
}
