import { constants } from "node:os";
import { join } from "node:path";
import { Command, Option } from "commander";
import { cliConfig, cliIo } from "../io.js";
import { createLogTail } from "../../lib/log-tail.js";
import { createLogger, type Logger } from "../../logger.js";
import type { Platform } from "../../server/start.js";
import type { Database } from "../../store/types.js";
import type { ExitCode, RunCommand } from "../command.js";
import { addConfigFlags, flagsToSettings, isKeyFileShared } from "../config-flags.js";
import { printErr, printOut } from "../output.js";
import { takeDrainHint } from "../drain-hint.js";

export function serveCommand(run: RunCommand): Command {
  return addConfigFlags(new Command("serve").description("run the aixcl server"))
    .addOption(
      // `aixcl stack start` runs the server with this: its log goes to logs/aixcl.log alone (the
      // process's stderr, a file in logs/ too, then holds only what fails before the logger).
      new Option("--detached", "log to $AIXCL_HOME/logs only, not to stderr").hideHelp(),
    )
    .action((options: Record<string, unknown>) => run(() => serve(options)));
}

async function serve(options: Record<string, unknown>): Promise<ExitCode> {
  if (typeof options.apiKeyFile === "string" && isKeyFileShared(options.apiKeyFile)) {
    await printErr(`aixcl: warning: ${options.apiKeyFile} is readable by other users; chmod 600 it`);
  }
  const config = cliConfig({ flags: flagsToSettings(options) });
  const logTail = createLogTail();
  const logger = createLogger({
    level: config.log.level,
    dir: join(config.home, "logs"),
    pretty: cliIo().stderr.isTTY === true,
    stderr: options.detached !== true,
    tail: logTail,
  });

  // Handlers go in before the platform starts so a signal during model-store scanning or
  // listening still shuts down cleanly instead of killing the process mid-write.
  const stopped = waitForSignals(logger);
  let platform: Platform;
  let early: { opening: Promise<Database> } | undefined;
  try {
    // The database opens while the server's modules load (~0.3 s of a PGlite start).
    const { openDatabaseEarly } = await import("../../store/open.js");
    early = await openDatabaseEarly(config);
    // Loaded here, not at the top: `config show` and `version` then start without pulling in
    // the server, the engine and llama.cpp bindings.
    const { startPlatform } = await import("../../server/start.js");
    platform = await startPlatform({ config, logger, logTail, ...early });
  } catch (error) {
    // startPlatform closes what it was given; a failed import never took it.
    await (await early?.opening.catch(() => undefined))?.close();
    stopped.dispose();
    await flush(logger);
    throw error;
  }
  await printOut(`aixcl listening on ${platform.url}`);
  logger.info({ url: platform.url, profile: config.profile }, "aixcl listening");

  const signal = await stopped.first;
  const drainS = await takeDrainHint(config);
  logger.info(
    { signal, ...(drainS === undefined ? {} : { drain_s: drainS }) },
    "shutting down: draining in-flight requests (signal again to force)",
  );
  const code = await Promise.race([
    platform.close(drainS === undefined ? undefined : drainS * 1000).then(
      (): ExitCode => 0,
      (error: unknown): ExitCode => {
        logger.error({ err: error }, "error while shutting down");
        return 1;
      },
    ),
    stopped.second.then((second): ExitCode => {
      logger.warn("second signal: exiting without waiting for in-flight requests");
      // 128 + signal number, as a shell reports a process killed by that signal (SIGINT → 130).
      return 128 + constants.signals[second];
    }),
  ]);
  stopped.dispose();
  if (code === 0) logger.info("stopped");
  await flush(logger);
  return code;
}

interface Signals {
  /** Resolves with the first SIGINT/SIGTERM. */
  first: Promise<NodeJS.Signals>;
  /** Resolves with the one after it. */
  second: Promise<NodeJS.Signals>;
  dispose(): void;
}

function waitForSignals(logger: Logger): Signals {
  let count = 0;
  let onFirst: (signal: NodeJS.Signals) => void = () => {};
  let onSecond: (signal: NodeJS.Signals) => void = () => {};
  const first = new Promise<NodeJS.Signals>((resolve) => (onFirst = resolve));
  const second = new Promise<NodeJS.Signals>((resolve) => (onSecond = resolve));
  const handler = (signal: NodeJS.Signals): void => {
    count += 1;
    if (count === 1) onFirst(signal);
    else onSecond(signal);
    logger.debug({ signal, count }, "signal received");
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    first,
    second,
    dispose() {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}

/** Lets the log transport write its last lines before the process exits (bounded: 2 s). */
async function flush(logger: Logger): Promise<void> {
  await Promise.race([
    new Promise<void>((resolve) => logger.flush(() => resolve())),
    new Promise<void>((resolve) => setTimeout(resolve, 2000).unref()),
  ]);
}
