/**
 * Login rate limits, per account and per client address, counted in memory: failed attempts in a
 * sliding window. Per account stops guessing one user's password from many addresses; per
 * address stops one client from spraying many accounts. Unknown usernames count like known ones,
 * so the limiter itself never reveals whether an account exists.
 */
import { AppError } from "../errors.js";

export interface LoginRateLimitOptions {
  /** Failures allowed per account within the window before 429. */
  perAccount: number;
  /** Failures allowed per address within the window before 429. */
  perAddress: number;
  /** Window length, ms. */
  windowMs: number;
  /** Keys tracked per kind at most; the oldest are dropped beyond it (memory bound). Default 10000. */
  maxKeys?: number;
  /** Clock, ms (tests). Default Date.now. */
  now?: () => number;
}

export interface LoginRateLimiter {
  /** Throws `rate_limited` (with retryAfter seconds) when the account or the address is over its limit. */
  check(account: string, address: string): void;
  /** Records one failed attempt for both. */
  recordFailure(account: string, address: string): void;
  /** Throws `rate_limited` when the address alone is over its limit (sign-ups). */
  checkAddress(address: string): void;
  /** Counts one costly attempt against the address only (a sign-up hashes a password too). */
  recordAddress(address: string): void;
  /** A successful login clears the account's failures (not the address's: it may be spraying). */
  recordSuccess(account: string): void;
}

/**
 * Failure timestamps per key within a sliding window, at most `limit` kept per key, oldest
 * first; Map order doubles as LRU for the memory bound (`maxKeys`).
 */
export class FailureWindow {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  private live(key: string, now: number): number[] {
    const times = this.hits.get(key);
    if (!times) return [];
    const fresh = times.filter((t) => t > now - this.windowMs);
    if (fresh.length === 0) this.hits.delete(key);
    else this.hits.set(key, fresh);
    return fresh;
  }

  /** Failures of the key still in the window (at most the limit). */
  count(key: string, now: number): number {
    return this.live(key, now).length;
  }

  /** Seconds until the key may try again, or 0 when it is under its limit. */
  waitSeconds(key: string, now: number): number {
    const times = this.live(key, now);
    if (times.length < this.limit) return 0;
    // The attempt that must expire before one more is allowed.
    const oldest = times[times.length - this.limit] ?? now;
    return Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000));
  }

  add(key: string, now: number): void {
    const times = this.live(key, now);
    times.push(now);
    // Re-insert to move the key to the end (most recent).
    this.hits.delete(key);
    this.hits.set(key, times.slice(-this.limit));
    while (this.hits.size > this.maxKeys) {
      const first = this.hits.keys().next();
      if (first.done) break;
      this.hits.delete(first.value);
    }
  }

  clear(key: string): void {
    this.hits.delete(key);
  }
}

export function createLoginRateLimiter(options: LoginRateLimitOptions): LoginRateLimiter {
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 10_000;
  const accounts = new FailureWindow(options.perAccount, options.windowMs, maxKeys);
  const addresses = new FailureWindow(options.perAddress, options.windowMs, maxKeys);
  const accountKey = (account: string) => account.toLowerCase();

  const refuse = (wait: number) => {
    if (wait > 0) {
      throw new AppError("rate_limited", "too many failed attempts; try again later", { retryAfter: wait });
    }
  };

  return {
    check(account, address) {
      const at = now();
      refuse(Math.max(accounts.waitSeconds(accountKey(account), at), addresses.waitSeconds(address, at)));
    },
    checkAddress(address) {
      refuse(addresses.waitSeconds(address, now()));
    },
    recordAddress(address) {
      addresses.add(address, now());
    },
    recordFailure(account, address) {
      const at = now();
      accounts.add(accountKey(account), at);
      addresses.add(address, at);
    },
    recordSuccess(account) {
      accounts.clear(accountKey(account));
    },
  };
}
