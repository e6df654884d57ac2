import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, modelsPath, redactConfig } from "../../src/config/load.js";
import { isLoopbackHost } from "../../src/lib/addresses.js";
import { isAppError } from "../../src/errors.js";

const homes: string[] = [];
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

/** A fresh $AIXCL_HOME, optionally with a config.yaml. */
function home(yaml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "aixcl-config-"));
  homes.push(dir);
  if (yaml !== undefined) writeFileSync(join(dir, "config.yaml"), yaml);
  return dir;
}

/** The config_invalid error loadConfig throws (fails the test if it does not throw one). */
function invalid(run: () => unknown): { message: string; param: string | undefined } {
  try {
    run();
  } catch (error) {
    if (isAppError(error) && error.code === "config_invalid")
      return { message: error.message, param: error.param };
    throw error;
  }
  throw new Error("expected config_invalid");
}

describe("loadConfig", () => {
  it("fills every default from an empty environment", () => {
    const dir = home();
    const config = loadConfig({ env: { AIXCL_HOME: dir } });
    expect(config.home).toBe(dir);
    expect(config.profile).toBe("sys");
    expect(config.server).toMatchObject({ host: "127.0.0.1", port: 11434, allowed_hosts: [] });
    expect(config.auth.api).toBe("off");
    expect(config.engine).toMatchObject({
      num_parallel: "auto",
      max_queue: 512,
      max_loaded_models: 3,
      keep_alive: 300_000,
      threads: "auto",
      context_length: 4096,
    });
    expect(modelsPath(config)).toBe(join(dir, "models"));
  });

  it("defaults home to ~/.aixcl", () => {
    const fakeHome = home();
    expect(loadConfig({ env: { HOME: fakeHome } }).home).toBe(join(fakeHome, ".aixcl"));
  });

  it("applies flags over config.yaml over AIXCL_* env over defaults, setting by setting", () => {
    const dir = home("server:\n  port: 2000\nengine:\n  max_queue: 7\n  keep_alive: 10m\n");
    const config = loadConfig({
      env: {
        AIXCL_HOME: dir,
        AIXCL_PORT: "1000",
        AIXCL_MAX_QUEUE: "5",
        AIXCL_THREADS: "3",
        AIXCL_KEEP_ALIVE: "1m",
      },
      flags: { "server.port": "3000" },
    });
    expect(config.server.port).toBe(3000); // flag beats file and env
    expect(config.engine.max_queue).toBe(7); // file beats env
    expect(config.engine.keep_alive).toBe(600_000);
    expect(config.engine.threads).toBe(3); // env beats default
    expect(config.engine.max_loaded_models).toBe(3); // default
  });

  it("takes home from the home flag over AIXCL_HOME and reads that home's config.yaml", () => {
    const envHome = home("server:\n  port: 1111\n");
    const flagHome = home("server:\n  port: 2222\n");
    const config = loadConfig({ env: { AIXCL_HOME: envHome }, flags: { home: flagHome } });
    expect(config.home).toBe(flagHome);
    expect(config.server.port).toBe(2222);
  });

  it("splits list settings from the environment", () => {
    const config = loadConfig({
      env: { AIXCL_HOME: home(), AIXCL_ALLOWED_HOSTS: "a.example, b.example,," },
    });
    expect(config.server.allowed_hosts).toEqual(["a.example", "b.example"]);
  });

  it("ignores config.yaml when readFile is false", () => {
    const dir = home("server:\n  port: 2000\n");
    expect(loadConfig({ env: { AIXCL_HOME: dir }, readFile: false }).server.port).toBe(11434);
  });

  it("returns a deeply frozen config", () => {
    const config = loadConfig({ env: { AIXCL_HOME: home() } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(Object.isFrozen(config.server.allowed_hosts)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  describe("durations", () => {
    const keepAlive = (value: unknown) =>
      loadConfig({ env: { AIXCL_HOME: home() }, flags: { "engine.keep_alive": value } }).engine.keep_alive;

    it("reads Go durations, bare seconds and negative as forever", () => {
      expect(keepAlive("5m")).toBe(300_000);
      expect(keepAlive("1h30m")).toBe(5_400_000);
      expect(keepAlive("250ms")).toBe(250);
      expect(keepAlive("30")).toBe(30_000);
      expect(keepAlive(45)).toBe(45_000);
      expect(keepAlive(0)).toBe(0);
      expect(keepAlive("-1")).toBe(Infinity);
      expect(keepAlive("-5m")).toBe(Infinity);
    });

    it("rejects a malformed duration naming the setting", () => {
      const error = invalid(() => keepAlive("5 minutes"));
      expect(error.param).toBe("engine.keep_alive");
      expect(error.message).toContain("engine.keep_alive");
    });
  });

  describe("invalid values name the setting", () => {
    it("server.port out of range in config.yaml", () => {
      const error = invalid(() => loadConfig({ env: { AIXCL_HOME: home("server:\n  port: 99999\n") } }));
      expect(error.param).toBe("server.port");
      expect(error.message).toContain("server.port");
    });

    it("a non-numeric port from the environment", () => {
      const error = invalid(() => loadConfig({ env: { AIXCL_HOME: home(), AIXCL_PORT: "80x" } }));
      expect(error.message).toContain("server.port");
    });

    it("an empty value in config.yaml is an error, not a silent default of 0", () => {
      // `port:` parses as null; coercion used to turn it into port 0 (a random port).
      const error = invalid(() => loadConfig({ env: { AIXCL_HOME: home("server:\n  port:\n") } }));
      expect(error.param).toBe("server.port");
      const queue = invalid(() => loadConfig({ env: { AIXCL_HOME: home("engine:\n  max_queue: true\n") } }));
      expect(queue.param).toBe("engine.max_queue");
    });

    it("an unknown key, nested or top-level", () => {
      const nested = invalid(() => loadConfig({ env: { AIXCL_HOME: home("server:\n  prot: 1\n") } }));
      expect(nested.message).toContain("server.prot");
      const top = invalid(() => loadConfig({ env: { AIXCL_HOME: home("colour: blue\n") } }));
      expect(top.message).toContain("colour");
    });

    it("an enum value", () => {
      const error = invalid(() => loadConfig({ env: { AIXCL_HOME: home(), AIXCL_LOG_LEVEL: "loud" } }));
      expect(error.param).toBe("log.level");
    });

    it("auto-or-integer settings", () => {
      const error = invalid(() =>
        loadConfig({ env: { AIXCL_HOME: home() }, flags: { "engine.threads": "many" } }),
      );
      expect(error.param).toBe("engine.threads");
      const zero = invalid(() =>
        loadConfig({ env: { AIXCL_HOME: home() }, flags: { "engine.num_parallel": 0 } }),
      );
      expect(zero.param).toBe("engine.num_parallel");
    });

    it("config.yaml that is not YAML or not a mapping", () => {
      expect(invalid(() => loadConfig({ env: { AIXCL_HOME: home("server: [\n") } })).message).toContain(
        "config.yaml",
      );
      expect(invalid(() => loadConfig({ env: { AIXCL_HOME: home("- a\n- b\n") } })).message).toContain(
        "config.yaml",
      );
    });

    it("a short api_key", () => {
      const error = invalid(() => loadConfig({ env: { AIXCL_HOME: home(), AIXCL_API_KEY: "short" } }));
      expect(error.param).toBe("auth.api_key");
    });

    it("auth required without a key in profile core (no database, so no API keys)", () => {
      const error = invalid(() =>
        loadConfig({ env: { AIXCL_HOME: home(), AIXCL_AUTH_API: "required", AIXCL_PROFILE: "core" } }),
      );
      expect(error.param).toBe("auth.api_key");
      // With a database (bld, sys) keys from `aixcl keys create` and sessions authenticate instead.
      const config = loadConfig({ env: { AIXCL_HOME: home(), AIXCL_AUTH_API: "required" } });
      expect(config.auth.api_key).toBeUndefined();
    });

    it("a session ttl or login window that is forever or under a second; a sample interval outside 1s-60s", () => {
      for (const [setting, value] of [
        ["auth.session_ttl", "-1"],
        ["auth.login_window", "10ms"],
        ["metrics.sample_interval", "500ms"],
        ["metrics.sample_interval", "2m"],
        ["metrics.sample_interval", "-1"],
      ] as const) {
        const error = invalid(() => loadConfig({ env: { AIXCL_HOME: home() }, flags: { [setting]: value } }));
        expect(error.param).toBe(setting);
      }
    });
  });

  describe("non-loopback hosts", () => {
    it("refuses to bind a non-loopback host without API auth, naming server.host", () => {
      const error = invalid(() =>
        loadConfig({ env: { AIXCL_HOME: home() }, flags: { "server.host": "0.0.0.0" } }),
      );
      expect(error.param).toBe("server.host");
      expect(error.message).toContain("server.host");
    });

    it("accepts a non-loopback host once auth is required with a key", () => {
      const config = loadConfig({
        env: { AIXCL_HOME: home(), AIXCL_API_KEY: "k".repeat(32) },
        flags: { "server.host": "0.0.0.0", "auth.api": "required" },
      });
      expect(config.server.host).toBe("0.0.0.0");
    });
  });

  it("redacts secrets for display without touching the config, and keeps forever durations", () => {
    const key = "s3cret-key-0123456789";
    const config = loadConfig({ env: { AIXCL_HOME: home(), AIXCL_API_KEY: key, AIXCL_KEEP_ALIVE: "-1" } });
    const shown = redactConfig(config);
    expect(JSON.stringify(shown)).not.toContain(key);
    expect((shown.auth as { api_key: string }).api_key).toBe("<redacted>");
    expect((shown.engine as { keep_alive: number }).keep_alive).toBe(Infinity);
    expect(config.auth.api_key).toBe(key);
    // Nothing to redact: the key stays absent rather than appearing as "<redacted>".
    expect(redactConfig(loadConfig({ env: { AIXCL_HOME: home() } })).auth).not.toHaveProperty("api_key");
  });
});

describe("isLoopbackHost", () => {
  it.each(["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"])("%s is loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  it.each(["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "localhost.example.com", "128.0.0.1"])(
    "%s is not loopback",
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

describe("memory settings", () => {
  it("reads engine.max_memory as bytes or a size with a unit, default auto", () => {
    const dir = home();
    expect(loadConfig({ env: { AIXCL_HOME: dir } }).engine.max_memory).toBe("auto");
    expect(loadConfig({ env: { AIXCL_HOME: dir, AIXCL_MAX_MEMORY: "512MiB" } }).engine.max_memory).toBe(
      512 * 2 ** 20,
    );
    expect(loadConfig({ env: { AIXCL_HOME: dir, AIXCL_MAX_MEMORY: "2 GB" } }).engine.max_memory).toBe(2e9);
    expect(
      loadConfig({ env: { AIXCL_HOME: dir }, flags: { "engine.max_memory": 1000 } }).engine.max_memory,
    ).toBe(1000);
    expect(invalid(() => loadConfig({ env: { AIXCL_HOME: dir, AIXCL_MAX_MEMORY: "lots" } })).param).toBe(
      "engine.max_memory",
    );
  });

  it("reads Ollama's OLLAMA_KV_CACHE_TYPE and OLLAMA_FLASH_ATTENTION when the AIXCL_ ones are unset", () => {
    const dir = home();
    const ollama = loadConfig({
      env: { AIXCL_HOME: dir, OLLAMA_KV_CACHE_TYPE: "q8_0", OLLAMA_FLASH_ATTENTION: "1" },
    }).engine;
    expect(ollama).toMatchObject({ kv_cache_type: "q8_0", flash_attention: "on" });
    const both = loadConfig({
      env: {
        AIXCL_HOME: dir,
        AIXCL_KV_CACHE_TYPE: "q4_0",
        OLLAMA_KV_CACHE_TYPE: "q8_0",
        AIXCL_FLASH_ATTENTION: "auto",
        OLLAMA_FLASH_ATTENTION: "0",
      },
    }).engine;
    expect(both).toMatchObject({ kv_cache_type: "q4_0", flash_attention: "auto" });
    expect(
      loadConfig({ env: { AIXCL_HOME: dir, OLLAMA_FLASH_ATTENTION: "false" } }).engine.flash_attention,
    ).toBe("off");
    expect(loadConfig({ env: { AIXCL_HOME: dir } }).engine).toMatchObject({
      kv_cache_type: "f16",
      flash_attention: "auto",
    });
  });

  it("refuses a quantized KV cache with flash attention off (llama.cpp cannot create that context)", () => {
    const dir = home();
    const error = invalid(() =>
      loadConfig({ env: { AIXCL_HOME: dir, AIXCL_KV_CACHE_TYPE: "q8_0", AIXCL_FLASH_ATTENTION: "off" } }),
    );
    expect(error.param).toBe("engine.kv_cache_type");
    expect(error.message).toContain("flash attention");
  });
});
