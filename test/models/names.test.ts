import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { MAX_MANIFEST_BYTES, blobPath, parseDigest, parseManifest } from "../../src/models/manifest.js";
import { displayName, manifestPath, parseModelName, sameName } from "../../src/models/names.js";
import { formatParametersText, goFloat, validateParameters } from "../../src/models/params.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof AppError ? error.code : "not-app-error";
  }
  return undefined;
}

const HEX = "a".repeat(64);

describe("model names", () => {
  it("fills Ollama's defaults", () => {
    expect(parseModelName("tiny")).toEqual({
      host: "registry.ollama.ai",
      namespace: "library",
      model: "tiny",
      tag: "latest",
    });
    expect(parseModelName("tiny:q4_K_M")).toMatchObject({ model: "tiny", tag: "q4_K_M" });
    expect(parseModelName("me/tiny:v1.2")).toMatchObject({ namespace: "me", model: "tiny", tag: "v1.2" });
    expect(parseModelName("hf.co/user/repo-GGUF:Q8_0")).toEqual({
      host: "hf.co",
      namespace: "user",
      model: "repo-GGUF",
      tag: "Q8_0",
    });
  });

  it("reads a port in the host and drops an http(s) scheme", () => {
    expect(parseModelName("localhost:5000/ns/m")).toEqual({
      host: "localhost:5000",
      namespace: "ns",
      model: "m",
      tag: "latest",
    });
    expect(parseModelName("https://example.com/ns/m:t")).toMatchObject({ host: "example.com", tag: "t" });
  });

  it("displays names like Ollama's DisplayShortest", () => {
    expect(displayName(parseModelName("tiny"))).toBe("tiny:latest");
    expect(displayName(parseModelName("registry.ollama.ai/library/tiny:v1"))).toBe("tiny:v1");
    expect(displayName(parseModelName("me/tiny"))).toBe("me/tiny:latest");
    expect(displayName(parseModelName("hf.co/me/tiny:x"))).toBe("hf.co/me/tiny:x");
  });

  it("compares case-insensitively", () => {
    expect(sameName(parseModelName("Tiny:Latest"), parseModelName("tiny"))).toBe(true);
    expect(sameName(parseModelName("tiny:v1"), parseModelName("tiny"))).toBe(false);
  });

  it.each([
    "",
    "../x",
    "x/../../y",
    "..",
    "-x",
    "--insecure",
    "x:-t",
    "a:b:c",
    "has space",
    "tab\tname",
    "a".repeat(81),
    `${"h".repeat(351)}/ns/m`,
    `m:${"t".repeat(81)}`,
    "x:",
    ":x",
    "/x",
    "ns/",
    "a/b/",
    "a\\b",
    ".hidden",
    "ns.dot/m",
    "ftp://host/ns/m",
    "x@sha256:abc",
    "ünïcode",
    "m/with/too/many/parts",
  ])("rejects %j with invalid_model_name", (text) => {
    expect(codeOf(() => parseModelName(text))).toBe("invalid_model_name");
  });

  it("accepts parts at the length limits", () => {
    expect(parseModelName("a".repeat(80)).model).toHaveLength(80);
    expect(parseModelName(`${"h".repeat(350)}/ns/m`).host).toHaveLength(350);
  });

  it("maps a name under the manifests directory only", () => {
    expect(manifestPath("/store", parseModelName("me/tiny:v1"))).toBe(
      "/store/manifests/registry.ollama.ai/me/tiny/v1",
    );
    expect(
      codeOf(() => manifestPath("/store", { host: "..", namespace: "..", model: "..", tag: "etc" })),
    ).toBe("invalid_model_name");
  });
});

describe("digests and manifests", () => {
  const layer = (digest: string) => ({ mediaType: "application/vnd.ollama.image.model", digest, size: 1 });
  const manifest = (digest: string) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config: {
          mediaType: "application/vnd.docker.container.image.v1+json",
          digest: `sha256:${HEX}`,
          size: 2,
        },
        layers: [layer(digest)],
      }),
    );

  it("accepts only sha256 with 64 lowercase hex", () => {
    expect(parseDigest(`sha256:${HEX}`)).toBe(`sha256:${HEX}`);
    for (const bad of [
      "sha256:../../x",
      `sha256:${"a".repeat(63)}`,
      `sha256:${"A".repeat(64)}`,
      `sha256-${HEX}`,
      `sha512:${HEX}`,
      `sha256:${HEX}/../x`,
      `sha256:${HEX}\n`,
      42,
    ]) {
      expect(codeOf(() => parseDigest(bad))).toBe("invalid_digest");
    }
  });

  it("builds a blob path from a checked digest only", () => {
    expect(blobPath("/s", parseDigest(`sha256:${HEX}`))).toBe(`/s/blobs/sha256-${HEX}`);
    expect(codeOf(() => blobPath("/s", "sha256:../../etc/passwd" as never))).toBe("invalid_digest");
  });

  it("rejects a manifest whose layer digest is a path or short hex", () => {
    expect(parseManifest(manifest(`sha256:${HEX}`)).layers[0]?.digest).toBe(`sha256:${HEX}`);
    expect(codeOf(() => parseManifest(manifest("sha256:../../../etc/passwd")))).toBe("invalid_digest");
    expect(codeOf(() => parseManifest(manifest("sha256:abc123")))).toBe("invalid_digest");
    expect(codeOf(() => parseManifest(manifest("../../x")))).toBe("invalid_digest");
  });

  it("rejects malformed and oversized manifests", () => {
    expect(codeOf(() => parseManifest(Buffer.from("{not json")))).toBe("invalid_request");
    expect(codeOf(() => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 1 }))))).toBe(
      "invalid_request",
    );
    expect(codeOf(() => parseManifest(Buffer.alloc(MAX_MANIFEST_BYTES + 1, 32)))).toBe("invalid_request");
  });
});

describe("parameters", () => {
  it("validates names and types, normalising stop to a list", () => {
    expect(
      validateParameters({ stop: "<|im_end|>", temperature: 0.7, num_ctx: 4096, use_mmap: false }),
    ).toEqual({
      stop: ["<|im_end|>"],
      temperature: 0.7,
      num_ctx: 4096,
      use_mmap: false,
    });
    expect(validateParameters({ stop: ["a", "b"], mirostat: 2 })).toEqual({ stop: ["a", "b"] });
    expect(codeOf(() => validateParameters({ bogus: 1 }))).toBe("invalid_request");
    expect(codeOf(() => validateParameters({ num_ctx: 1.5 }))).toBe("invalid_request");
    expect(codeOf(() => validateParameters({ temperature: "hot" }))).toBe("invalid_request");
    expect(codeOf(() => validateParameters({ stop: [1] }))).toBe("invalid_request");
    expect(codeOf(() => validateParameters({ use_mmap: 1 }))).toBe("invalid_request");
    expect(codeOf(() => validateParameters([1]))).toBe("invalid_request");
    // aixcl's draft model for speculative decoding: a model name.
    expect(validateParameters({ draft_model: " tiny:latest " })).toEqual({ draft_model: "tiny:latest" });
    expect(codeOf(() => validateParameters({ draft_model: "" }))).toBe("invalid_request");
    expect(codeOf(() => validateParameters({ draft_model: 3 }))).toBe("invalid_request");
  });

  it("prints parameters as Ollama's show does", () => {
    expect(formatParametersText({ stop: ["<|im_end|>", "</s>"], temperature: 0.7 })).toBe(
      `stop${" ".repeat(27)}"<|im_end|>"\nstop${" ".repeat(27)}"</s>"\ntemperature${" ".repeat(20)}0.7`,
    );
    expect(goFloat(4096)).toBe("4096");
    expect(goFloat(1e6)).toBe("1e+06");
    expect(goFloat(1234567)).toBe("1.234567e+06");
    expect(goFloat(0.00001)).toBe("1e-05");
    expect(goFloat(0.0001)).toBe("0.0001");
  });
});
