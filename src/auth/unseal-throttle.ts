/**
 * The throttle on vault unseal attempts (`POST /api/vault/unseal`). It slows wrong guesses
 * without ever refusing the right passphrase: a refusal that a correct passphrase cannot lift
 * would let any local process keep a passphrase vault sealed by failing on purpose.
 *
 * - Every attempt waits a small fixed delay before its KDF run (argon2id, 64 MiB), and attempts
 *   run one at a time (src/server/routes/vault.ts), so guessing stays slow whoever guesses.
 * - Per caller (the route keys callers by connection: on loopback every process shares
 *   127.0.0.1, and the port is all that tells two apart): after `perCaller` wrong passphrases in
 *   the window, the caller's attempts wait longer and its wrong answers become 429 with
 *   Retry-After. Its attempts are still checked, so the right passphrase still unseals.
 * - Globally: beyond `global` wrong passphrases in the window, every attempt waits a little more
 *   per failure, capped, so a guesser that opens a new connection per attempt is slowed too —
 *   delayed by at most the cap, never refused.
 * - The right passphrase clears every counter.
 */
import { FailureWindow } from "./rate-limit.js";

export interface UnsealThrottleOptions {
  /** Wrong passphrases per caller within the window before it is throttled. Default 5. */
  perCaller?: number;
  /** Wrong passphrases from all callers within the window before everyone is slowed. Default 20. */
  global?: number;
  /** Window length, ms. Default 5 min. */
  windowMs?: number;
  /** Wait before every attempt, ms. Default 100. */
  fixedDelayMs?: number;
  /** Extra wait before each attempt of a throttled caller, ms. Default 1000. */
  callerPenaltyMs?: number;
  /** Extra wait per wrong passphrase beyond `global`, ms. Default 100. */
  globalStepMs?: number;
  /** Cap of the global extra wait, ms. Default 3000. */
  maxGlobalDelayMs?: number;
  /** Clock, ms (tests). Default Date.now. */
  now?: () => number;
}

export interface UnsealThrottle {
  /** How long the caller's next attempt waits before it is checked, ms (always finite). */
  delayMs(caller: string): number;
  /**
   * Records a wrong passphrase. Returns the seconds the caller should wait (its Retry-After)
   * when it is over its limit — answer 429 — or 0 when it is not (answer 401).
   */
  recordFailure(caller: string): number;
  /** The right passphrase: every caller's counter and the global one start again. */
  recordSuccess(): void;
}

/** Callers tracked at most (memory bound: one key per connection). */
const MAX_CALLERS = 10_000;
/** The global window keeps this many failures: enough to reach the cap with the default step. */
const GLOBAL_COUNTED = 100;

export function createUnsealThrottle(options: UnsealThrottleOptions = {}): UnsealThrottle {
  const now = options.now ?? Date.now;
  const windowMs = options.windowMs ?? 5 * 60_000;
  const perCaller = options.perCaller ?? 5;
  const globalFree = options.global ?? 20;
  const fixedDelayMs = options.fixedDelayMs ?? 100;
  const callerPenaltyMs = options.callerPenaltyMs ?? 1000;
  const globalStepMs = options.globalStepMs ?? 100;
  const maxGlobalDelayMs = options.maxGlobalDelayMs ?? 3000;
  let callers = new FailureWindow(perCaller, windowMs, MAX_CALLERS);
  let all = new FailureWindow(Math.max(GLOBAL_COUNTED, globalFree + 1), windowMs, 1);
  const ALL = "all";

  return {
    delayMs(caller) {
      const at = now();
      const throttled = callers.waitSeconds(caller, at) > 0 ? callerPenaltyMs : 0;
      const beyond = Math.max(0, all.count(ALL, at) - globalFree);
      return fixedDelayMs + throttled + Math.min(maxGlobalDelayMs, beyond * globalStepMs);
    },
    recordFailure(caller) {
      const at = now();
      const over = callers.waitSeconds(caller, at) > 0;
      callers.add(caller, at);
      all.add(ALL, at);
      return over ? callers.waitSeconds(caller, at) : 0;
    },
    recordSuccess() {
      callers = new FailureWindow(perCaller, windowMs, MAX_CALLERS);
      all = new FailureWindow(Math.max(GLOBAL_COUNTED, globalFree + 1), windowMs, 1);
    },
  };
}
