/**
 * Model names by Ollama's rules (types/model/name.go): `[host/][namespace/]model[:tag]`, defaults
 * `registry.ollama.ai`, `library`, `latest`. Every part is checked against a strict charset before
 * it becomes a path component, so a name can never walk out of the manifests directory.
 */
import { join, resolve, sep } from "node:path";
import { AppError } from "../errors.js";
import type { ModelName } from "./types.js";

const DEFAULT_HOST = "registry.ollama.ai";
const DEFAULT_NAMESPACE = "library";
const DEFAULT_TAG = "latest";

type PartKind = "host" | "namespace" | "model" | "tag";

/** Longest accepted part, in bytes (Ollama: host 350, every other part 80). */
const MAX_LENGTH: Record<PartKind, number> = { host: 350, namespace: 80, model: 80, tag: 80 };

function isWordChar(c: string): boolean {
  return (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c === "_";
}

/**
 * First character alphanumeric or `_` (so never `.`, `..` or `-x`, which a CLI would read as a
 * flag); then `-`, `_`, plus `.` outside namespaces and `:` only in hosts (a port).
 */
function isValidPart(kind: PartKind, text: string): boolean {
  if (text.length < 1 || text.length > MAX_LENGTH[kind]) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (isWordChar(c)) continue;
    if (i === 0) return false;
    if (c === "-") continue;
    if (c === "." && kind !== "namespace") continue;
    if (c === ":" && kind === "host") continue;
    return false;
  }
  return true;
}

function invalid(text: string): AppError {
  // Bound what we echo back: the name comes from a client and may be huge.
  const shown = text.length > 120 ? `${text.slice(0, 120)}…` : text;
  return new AppError("invalid_model_name", `invalid model name: ${JSON.stringify(shown)}`);
}

/**
 * Parses a client-given name and fills in the defaults. A separator that promises a part (a
 * trailing `:` or `/`, a leading `/`) with nothing around it is an error, like in Ollama.
 * A `scheme://` prefix on the host is accepted (Ollama allows `http://host/ns/model`) and dropped:
 * the store lays names out by host alone.
 */
export function parseModelName(text: string): ModelName {
  if (typeof text !== "string" || text.length === 0 || text.length > 600) throw invalid(String(text));
  let rest = text;
  let tag = DEFAULT_TAG;
  // `/` is illegal in a tag, so a `:` after the last `/` starts the tag; an earlier one is a port.
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (tag === "" || rest === "") throw invalid(text);
  }
  const parts = rest.split("/");
  let host = DEFAULT_HOST;
  let namespace = DEFAULT_NAMESPACE;
  let model: string;
  if (parts.length === 1) {
    model = parts[0] as string;
  } else if (parts.length === 2) {
    [namespace, model] = parts as [string, string];
  } else {
    model = parts.pop() as string;
    namespace = parts.pop() as string;
    host = parts.join("/");
    const scheme = host.indexOf("://");
    if (scheme >= 0) {
      const name = host.slice(0, scheme);
      if (name !== "http" && name !== "https") throw invalid(text);
      host = host.slice(scheme + 3);
    }
  }
  const name: ModelName = { host, namespace, model, tag };
  if (
    !isValidPart("host", host) ||
    !isValidPart("namespace", namespace) ||
    !isValidPart("model", model) ||
    !isValidPart("tag", tag)
  ) {
    throw invalid(text);
  }
  return name;
}

/** Like Ollama's DisplayShortest: `m:tag`, `ns/m:tag`, or `host/ns/m:tag`. */
export function displayName(name: ModelName): string {
  if (name.host.toLowerCase() !== DEFAULT_HOST)
    return `${name.host}/${name.namespace}/${name.model}:${name.tag}`;
  if (name.namespace.toLowerCase() !== DEFAULT_NAMESPACE)
    return `${name.namespace}/${name.model}:${name.tag}`;
  return `${name.model}:${name.tag}`;
}

/** The fully qualified `host/ns/model:tag`. */
export function qualifiedName(name: ModelName): string {
  return `${name.host}/${name.namespace}/${name.model}:${name.tag}`;
}

/** Names compare case-insensitively (as in Ollama): this is the key for equality and locks. */
export function nameKey(name: ModelName): string {
  return qualifiedName(name).toLowerCase();
}

export function sameName(a: ModelName, b: ModelName): boolean {
  return nameKey(a) === nameKey(b);
}

/** `<root>/manifests/<host>/<ns>/<model>/<tag>`; refuses a name whose parts are not valid. */
export function manifestPath(root: string, name: ModelName): string {
  if (
    !isValidPart("host", name.host) ||
    !isValidPart("namespace", name.namespace) ||
    !isValidPart("model", name.model) ||
    !isValidPart("tag", name.tag)
  ) {
    throw invalid(qualifiedName(name));
  }
  const base = resolve(root, "manifests");
  const path = join(base, name.host, name.namespace, name.model, name.tag);
  // Belt and braces: the charset already excludes separators and dot-only parts.
  if (!path.startsWith(base + sep)) throw invalid(qualifiedName(name));
  return path;
}

/** Reads a name back from the four directory levels under `manifests/`; undefined if invalid. */
export function nameFromPathParts(parts: readonly string[]): ModelName | undefined {
  if (parts.length !== 4) return undefined;
  const [host, namespace, model, tag] = parts as [string, string, string, string];
  if (
    !isValidPart("host", host) ||
    !isValidPart("namespace", namespace) ||
    !isValidPart("model", model) ||
    !isValidPart("tag", tag)
  ) {
    return undefined;
  }
  return { host, namespace, model, tag };
}
