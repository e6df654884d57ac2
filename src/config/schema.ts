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

const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** A size in bytes: a number, or a string such as `8GiB`, `512 MB` (decimal and binary units). */
const byteSize = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const match = typeof value === "string" ? /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value) : null;
  const unit = SIZE_UNITS[match?.[2]?.toLowerCase() ?? ""];
  const bytes =
    typeof value === "number" ? value : match && unit !== undefined ? Number(match[1]) * unit : NaN;
  if (!Number.isFinite(bytes) || bytes <= 0) {
    ctx.addIssue({ code: "custom", message: `not a size: ${JSON.stringify(value)} (use e.g. 8GiB, 512MB)` });
    return z.NEVER;
  }
  return Math.floor(bytes);
});

/** Ollama's OLLAMA_FLASH_ATTENTION is a boolean ("1", "true"): read those spellings too. */
const flashAttention = z
  .union([z.boolean(), z.string()])
  .transform((value) => {
    const text = String(value).trim().toLowerCase();
    if (["1", "true", "on"].includes(text)) return "on";
    if (["0", "false", "off"].includes(text)) return "off";
    return text;
  })
  .pipe(z.enum(["auto", "on", "off"], { error: `expected auto, on or off` }));

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
 * What a setting is, declared once beside its type: the description that `config show
 * --describe` and `--help` print, the `AIXCL_*` variable and command-line flag that set it (when
 * any), whether it holds a secret (redacted everywhere it is shown) and whether it is a duration
 * (held in ms, shown in the spelling config.yaml reads back). src/config/settings.ts walks the
 * schema and derives the env table, the flags and the redaction list from these.
 */
export interface SettingMeta {
  description: string;
  /** The environment variable that sets it (lists are comma-separated there). */
  env?: string;
  /** Other variables read when `env` is unset, e.g. Ollama's name for the same setting. */
  envAliases?: string[];
  /**
   * Also read `env` in lower case when the upper-case one is unset: the standard proxy variables,
   * as Ollama (Go's http.ProxyFromEnvironment) reads them.
   */
  envLowerCase?: boolean;
  /** The commander flag spelling that sets it, e.g. `--port <port>`. */
  flag?: string;
  secret?: boolean;
  duration?: boolean;
}

function setting<T extends z.ZodType>(schema: T, meta: SettingMeta): T {
  return schema.meta({ ...meta });
}

/**
 * The whole configuration, in the spelling of `config.yaml` (snake_case). Every field has a
 * default so an empty file is valid. Flags > config.yaml > AIXCL_* env > these defaults.
 */
export const configSchema = z.strictObject({
  profile: setting(z.enum(["core", "bld", "sys"]).default("sys"), {
    description:
      "which parts run: core (inference API), bld (core + database, identity, vault), sys (everything)",
    env: "AIXCL_PROFILE",
    flag: "--profile <profile>",
  }),
  home: setting(z.string().min(1), {
    description: "where config.yaml, models/, db/, vault/, logs/ and run/ live (default ~/.aixcl)",
    env: "AIXCL_HOME",
    flag: "--home <dir>",
  }),
  server: z
    .strictObject({
      host: setting(z.string().min(1).default("127.0.0.1"), {
        description: "address to bind; a non-loopback address requires auth.api: required",
        env: "AIXCL_HOST",
        flag: "--host <address>",
      }),
      port: setting(integer(z.number().int().min(0).max(65535)).default(11434), {
        description: "API port (Ollama's); 0 picks a free port",
        env: "AIXCL_PORT",
        flag: "--port <port>",
      }),
      allowed_hosts: setting(z.array(z.string().min(1)).default([]), {
        description: "extra Host header names accepted besides localhost, 127.0.0.1 and [::1]",
        env: "AIXCL_ALLOWED_HOSTS",
      }),
      cors_origins: setting(z.array(z.string().min(1)).default([]), {
        description:
          "browser origins allowed by CORS (exact scheme://host[:port]); loopback origins always are",
        env: "AIXCL_CORS_ORIGINS",
      }),
      body_limit: setting(positiveInt.default(32 * 1024 * 1024), {
        description: "largest JSON body, bytes (32 MiB: images in chat are base64); blob uploads are exempt",
        env: "AIXCL_BODY_LIMIT",
      }),
      json_depth: setting(positiveInt.default(64), { description: "deepest JSON nesting accepted" }),
      headers_timeout: setting(positiveInt.default(30), {
        description: "seconds allowed to receive a request's headers",
      }),
      body_timeout: setting(positiveInt.default(30), {
        description:
          "seconds a request body may go without a byte arriving (408): a client that declares a body and stops sending is cut off",
      }),
    })
    .prefault({}),
  auth: z
    .strictObject({
      api: setting(z.enum(["off", "required"]).default("off"), {
        description:
          "off: no API auth (loopback only, like Ollama); required: every API call needs a key or session",
        env: "AIXCL_AUTH_API",
        flag: "--auth-api <mode>",
      }),
      api_key: setting(z.string().min(16, "api_key must be at least 16 characters").optional(), {
        description:
          "a static API key (Bearer or x-api-key), at least 16 characters; needed with auth.api: required only in profile core (set it with --api-key-file)",
        env: "AIXCL_API_KEY",
        secret: true,
      }),
      session_ttl: setting(duration.default(7 * 24 * 3_600_000), {
        description: "how long a web session lives without activity",
        duration: true,
      }),
      login_attempts_per_account: setting(positiveInt.default(5), {
        description: "failed logins allowed per account within auth.login_window before 429",
      }),
      login_attempts_per_address: setting(positiveInt.default(20), {
        description: "failed logins allowed per client address within auth.login_window before 429",
      }),
      login_window: setting(duration.default(15 * 60_000), {
        description: "window of the login rate limits",
        duration: true,
      }),
    })
    .prefault({}),
  database: z
    .strictObject({
      url: setting(z.string().min(1).optional(), {
        description:
          "external PostgreSQL (>= 14) postgres://user:pass@host:port/db; unset: embedded PGlite; a non-loopback host needs sslmode=verify-full",
        env: "AIXCL_DATABASE_URL",
        secret: true,
      }),
      path: setting(z.string().min(1).optional(), {
        description: "PGlite data directory (default $AIXCL_HOME/db)",
      }),
      pool_size: setting(positiveInt.default(10), {
        description: "connections in the pool for an external server",
      }),
      // 64, not PGlite's 128: every MiB is touched (resident) from the moment the database
      // opens, and 128 cost ~0.25 s more per start and ~64 MB more idle memory than 64. Not 32:
      // a message search over 10,000 chats of 50 messages (npm run bench:web) took 91 ms at 32
      // against 49 ms at 64 and at 128, its index pages no longer fitting. A smaller database
      // opens with fewer (src/store/pglite-buffers.ts).
      pglite_buffers_mb: setting(integer(z.number().int().min(1).max(4096)).default(64), {
        description:
          "most shared buffers of the embedded PGlite database, MiB: memory it touches when it opens (~5 ms per MiB); a smaller database gets its size (at least 8), one-shot CLI commands at most 4",
      }),
      managed: setting(z.boolean().default(false), {
        description:
          "aixcl owns the URL's role password: kept in the vault (database.password) and changed on the server by `aixcl vault rotate`",
      }),
    })
    .prefault({}),
  vault: z
    .strictObject({
      path: setting(z.string().min(1).optional(), {
        description: "vault directory, 0700 (default $AIXCL_HOME/vault)",
      }),
    })
    .prefault({}),
  models: z
    .strictObject({
      path: setting(z.string().min(1).optional(), {
        description: "model store, Ollama layout (default $AIXCL_HOME/models; may point at ~/.ollama/models)",
        env: "AIXCL_MODELS",
        flag: "--models <dir>",
      }),
    })
    .prefault({}),
  engine: z
    .strictObject({
      num_parallel: setting(auto(positiveInt).default("auto"), {
        description: "parallel requests per loaded model, or auto (from cores and memory)",
        env: "AIXCL_NUM_PARALLEL",
        flag: "--num-parallel <n>",
      }),
      max_queue: setting(integer(z.number().int().min(0)).default(512), {
        description: "requests waiting for a slot before new ones get 503 (Ollama's 512)",
        env: "AIXCL_MAX_QUEUE",
        flag: "--max-queue <n>",
      }),
      max_loaded_models: setting(positiveInt.default(3), {
        description: "models kept loaded at once; idle ones are evicted least recently used first",
        env: "AIXCL_MAX_LOADED_MODELS",
        flag: "--max-loaded-models <n>",
      }),
      keep_alive: setting(duration.default(5 * 60_000), {
        description:
          "how long an idle model stays loaded (30s, 10m, 1h, seconds); 0 unloads at once, negative keeps forever",
        env: "AIXCL_KEEP_ALIVE",
        flag: "--keep-alive <duration>",
        duration: true,
      }),
      threads: setting(auto(positiveInt).default("auto"), {
        description: "compute threads per runner, or auto (the cores really available)",
        env: "AIXCL_THREADS",
        flag: "--threads <n>",
      }),
      gpu: setting(z.enum(["auto", "off"]).default("auto"), {
        description: "GPU offload: auto (use one when present) or off",
        env: "AIXCL_GPU",
      }),
      context_length: setting(positiveInt.default(4096), {
        description: "context tokens when a request sets no num_ctx (capped at the model's)",
        env: "AIXCL_CONTEXT_LENGTH",
        flag: "--context-length <tokens>",
      }),
      max_memory: setting(z.union([z.literal("auto"), byteSize]).default("auto"), {
        description:
          "memory the loaded models may use together (e.g. 12GiB), or auto (free memory plus what loaded models use); a model that cannot fit is refused",
        env: "AIXCL_MAX_MEMORY",
      }),
      kv_cache_type: setting(z.enum(["f16", "q8_0", "q4_0"]).default("f16"), {
        description:
          "KV cache type: f16, q8_0 (about half the memory) or q4_0 (about a quarter); q8_0 and q4_0 need flash attention",
        env: "AIXCL_KV_CACHE_TYPE",
        envAliases: ["OLLAMA_KV_CACHE_TYPE"],
      }),
      flash_attention: setting(flashAttention.default("auto"), {
        description: "flash attention: auto (where the device supports it), on or off",
        env: "AIXCL_FLASH_ATTENTION",
        envAliases: ["OLLAMA_FLASH_ATTENTION"],
      }),
      speculative: setting(z.enum(["off", "draft", "lookup"]).default("off"), {
        description:
          "speculative decoding: off, draft (a model's draft_model parameter names a small model with the same vocabulary) or lookup (proposes what followed the last tokens in the prompt)",
        env: "AIXCL_SPECULATIVE",
      }),
      load_timeout: setting(positiveInt.default(300), {
        description: "seconds a runner may take to load a model before the request fails",
      }),
    })
    .prefault({}),
  registry: z
    .strictObject({
      insecure: setting(z.array(z.string().min(1)).default([]), {
        description: "registry hosts (host or host:port) that may be pulled from over plain http",
        env: "AIXCL_INSECURE_REGISTRIES",
      }),
      allow_private: setting(z.array(z.string().min(1)).default([]), {
        description:
          "registry and CDN hosts allowed to resolve to loopback or private addresses (otherwise refused: SSRF)",
      }),
      https_proxy: setting(proxyUrl.optional(), {
        description:
          "proxy for https registries and CDNs (http://[user:pass@]host:port, a CONNECT tunnel); HTTPS_PROXY or https_proxy",
        env: "HTTPS_PROXY",
        envLowerCase: true,
      }),
      http_proxy: setting(proxyUrl.optional(), {
        description: "proxy for plain-http registries and CDNs; HTTP_PROXY or http_proxy",
        env: "HTTP_PROXY",
        envLowerCase: true,
      }),
      no_proxy: setting(z.array(z.string().min(1)).default([]), {
        description:
          "hosts that bypass the proxy: *, names (their subdomains too), addresses, CIDR ranges, host:port; NO_PROXY or no_proxy",
        env: "NO_PROXY",
        envLowerCase: true,
      }),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      sample_interval: setting(
        duration
          .pipe(
            z
              .number()
              .min(1000, "sample_interval must be at least 1s")
              .max(60_000, "sample_interval must be at most 60s"),
          )
          .default(5000),
        {
          description:
            "how often the built-in dashboards sample the server's metrics (1s to 60s); the admin's live pages refresh as often",
          env: "AIXCL_METRICS_SAMPLE_INTERVAL",
          duration: true,
        },
      ),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: setting(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"), {
        description: "log level: fatal, error, warn, info, debug, trace or silent",
        env: "AIXCL_LOG_LEVEL",
        flag: "--log-level <level>",
      }),
    })
    .prefault({}),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
