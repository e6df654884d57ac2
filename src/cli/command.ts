/** Exit status of a command; the entry point (main.ts) is the only place that exits. */
export type ExitCode = number;

/** Runs a command's body and records its exit status for the entry point. */
export type RunCommand = (body: () => Promise<ExitCode>) => Promise<void>;

/** Exit status for invalid configuration or usage (as commander uses for usage errors). */
export const EXIT_CONFIG = 2;
