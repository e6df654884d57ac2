/**
 * A granted slot on a runner, and the abort helper the scheduler uses while waiting.
 */
import { AppError } from "../errors.js";
import type { RunnerProcess } from "./runner/client.js";

/** A granted slot on a runner. `release` is idempotent. */
export interface Lease {
  readonly runner: RunnerProcess;
  /** ns spent waiting for the model to load (0 when it was loaded). */
  loadNs: number;
  release(): void;
}

/** What a lease needs from its runner entry. */
export interface LeaseHolder {
  readonly runner: RunnerProcess;
}

/**
 * Why an aborted request ends: the reason it was aborted with when that is an AppError (a closing
 * server's `shutting_down`, which its stream ends with as an error record), else `client_closed`.
 */
export function abortError(signal?: AbortSignal): AppError {
  const reason: unknown = signal?.reason;
  return reason instanceof AppError ? reason : new AppError("client_closed", "the client closed the request");
}

export class LeaseImpl<E extends LeaseHolder = LeaseHolder> implements Lease {
  loadNs = 0;
  private released = false;

  constructor(
    readonly entry: E,
    private readonly onRelease: () => void,
  ) {}

  get runner(): RunnerProcess {
    return this.entry.runner;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }
}

/** Resolves like `promise`, or rejects with `client_closed` as soon as `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes the original rejection through
        reject(error);
      },
    );
  });
}
