import { z } from "zod";
import { parseDuration } from "./duration.js";

const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `not a duration: ${JSON.stringify(value)} (use e.g. 5m, 30s, -1)`,
    });
    return z.NEVER;
  }
  return ms;
});

/**
 * Integers: numbers from config.yaml, digit strings from env vars and flags. Not `z.coerce`:
 * it turns `port:` (null) into 0, `true` into 1 and `[2]` into 2, silently replacing a
 * mistake with a value instead of naming the setting.
 */
const integer = (inner: z.ZodNumber) =>
  z
    .union([z.number(), z.string()], { error: "expected an integer" })
    .transform((value, ctx) => {
      if (typeof value === "number") return value;
      if (/^\s*[+-]?\d+\s*$/.test(value)) return Number(value);
      ctx.addIssue({ code: "custom", message: `expected an integer, got ${JSON.stringify(value)}` });
      return z.NEVER;
    })
    .pipe(inner);
const positiveInt = integer(z.number().int().positive());
const auto = <T extends z.ZodType>(inner: T) =>
  z.union([z.literal("auto"), inner], { error: `expected "auto" or a positive integer` });

/** A proxy URL: http or https scheme (a bare `host:port` means http, as Go reads HTTPS_PROXY). */
const proxyUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
      return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
    } catch {
      return false;
    }
  },
  { message: "expected an http:// or https:// proxy URL" },
);

/**
 * The whole configuration, in the spelling of `config.yaml` (snake_case). Every field has a
 * default so an empty file is valid. Flags > config.yaml > AIXCL_* env > these defaults.
 */
export const configSchema = z.strictObject({
  /** Which parts run: core (inference API), bld (core + data/auth/metrics), sys (everything). */
  profile: z.enum(["core", "bld", "sys"]).default("sys"),
  /** `$AIXCL_HOME`; default `~/.aixcl`. Filled in by the loader. */
  home: z.string().min(1),
  server: z
    .strictObject({
      /** Address to bind. Non-loopback addresses require `auth.api: required`. Default 127.0.0.1. */
      host: z.string().min(1).default("127.0.0.1"),
      /** API port (Ollama's). Default 11434; 0 picks a free port. */
      port: integer(z.number().int().min(0).max(65535)).default(11434),
      /** Extra Host header names accepted besides localhost / 127.0.0.1 / [::1]. */
      allowed_hosts: z.array(z.string().min(1)).default([]),
      /** Browser origins allowed by CORS (exact `scheme://host[:port]`). Loopback origins are always allowed. */
      cors_origins: z.array(z.string().min(1)).default([]),
      /** Largest JSON body, bytes. Default 32 MiB (images in chat are base64). Blob uploads are exempt. */
      body_limit: positiveInt.default(32 * 1024 * 1024),
      /** Deepest JSON nesting accepted. Default 64. */
      json_depth: positiveInt.default(64),
      /** Seconds allowed to receive request headers. Default 30. */
      headers_timeout: positiveInt.default(30),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /** `off`: no API auth (loopback only, like Ollama). `required`: every API call needs a key. */
      api: z.enum(["off", "required"]).default("off"),
      /**
       * A static API key accepted as `Authorization: Bearer` or `x-api-key`. Secret. Optional with
       * `auth.api: required` when a database is enabled (keys from `aixcl keys create` work then).
       */
      api_key: z.string().min(16, "api_key must be at least 16 characters").optional(),
      /** How long a web session lives without activity. Default 7d. */
      session_ttl: duration.default(7 * 24 * 3_600_000),
      /** Failed logins allowed per account and per address in `login_window` before 429. Default 5 / 20. */
      login_attempts_per_account: positiveInt.default(5),
      login_attempts_per_address: positiveInt.default(20),
      /** Window of the login rate limit. Default 15m. */
      login_window: duration.default(15 * 60_000),
    })
    .prefault({}),
  database: z
    .strictObject({
      /**
       * External PostgreSQL (>= 14) URL, `postgres://user:pass@host:port/db?sslmode=...`. Secret.
       * Unset: embedded PGlite in `database.path`. Non-loopback hosts require `sslmode=verify-full`.
       */
      url: z.string().min(1).optional(),
      /** PGlite data directory. Default `$AIXCL_HOME/db`. */
      path: z.string().min(1).optional(),
      /** Connections in the pool for an external server. Default 10. */
      pool_size: positiveInt.default(10),
      /**
       * aixcl owns the URL's role password: it is kept in the vault (`database.password`) and
       * `aixcl vault rotate` changes it on the server. Default false.
       */
      managed: z.boolean().default(false),
    })
    .prefault({}),
  vault: z
    .strictObject({
      /** Vault directory (0700). Default `$AIXCL_HOME/vault`. */
      path: z.string().min(1).optional(),
    })
    .prefault({}),
  models: z
    .strictObject({
      /** Model store (Ollama layout). Default `$AIXCL_HOME/models`; may point at `~/.ollama/models`. */
      path: z.string().min(1).optional(),
    })
    .prefault({}),
  engine: z
    .strictObject({
      /** Parallel requests per loaded model. Default auto (from cores and memory). */
      num_parallel: auto(positiveInt).default("auto"),
      /** Requests waiting for a slot before new ones get 503. Default 512 (Ollama's). */
      max_queue: integer(z.number().int().min(0)).default(512),
      /** Models kept loaded at once; idle ones are evicted LRU. Default 3. */
      max_loaded_models: positiveInt.default(3),
      /** How long an idle model stays loaded. Default 5m; 0 unloads at once; negative keeps forever. */
      keep_alive: duration.default(5 * 60_000),
      /** Compute threads per runner. Default auto (cores really available). */
      threads: auto(positiveInt).default("auto"),
      /** GPU offload: auto (use one when present) or off. */
      gpu: z.enum(["auto", "off"]).default("auto"),
      /** Default context length (tokens) when a request sets no num_ctx; capped at the model's. Default 4096. */
      context_length: positiveInt.default(4096),
      /** Seconds a runner may take to load a model before the request fails. Default 300. */
      load_timeout: positiveInt.default(300),
    })
    .prefault({}),
  registry: z
    .strictObject({
      /** Registry hosts (`host` or `host:port`) that may be pulled from over plain http. Default none. */
      insecure: z.array(z.string().min(1)).default([]),
      /**
       * Registry and CDN hosts allowed to resolve to loopback or private addresses. Default none:
       * a redirect or DNS answer pointing a pull at the local network is refused (SSRF).
       */
      allow_private: z.array(z.string().min(1)).default([]),
      /**
       * Proxy for https registries and CDNs (`http://[user:pass@]host:port`; a CONNECT tunnel).
       * Default from HTTPS_PROXY/https_proxy; none when unset.
       */
      https_proxy: proxyUrl.optional(),
      /** Proxy for plain-http registries and CDNs. Default from HTTP_PROXY/http_proxy. */
      http_proxy: proxyUrl.optional(),
      /**
       * Hosts that bypass the proxy: `*`, names (their subdomains too), IP addresses or CIDR
       * ranges, optionally with `:port`. Default from NO_PROXY/no_proxy.
       */
      no_proxy: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    })
    .prefault({}),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;

/** Paths of settings that hold secrets: redacted by `config show` and by the logger. */
export const SECRET_SETTINGS = ["auth.api_key", "database.url"] as const;
