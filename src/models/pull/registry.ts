/**
 * The registry side of a pull (Docker Registry v2 as Ollama's registry and Hugging Face speak it):
 * manifest GET with the right Accept, the `401` bearer challenge (token fetched from a realm on the
 * registry's own host only), and blob GETs whose `307` redirects are followed by hand so each
 * target is re-checked and credentials never leave the registry host.
 */
import { AppError } from "../../errors.js";
import { MAX_MANIFEST_BYTES, MEDIA_TYPE_MANIFEST } from "../manifest.js";
import type { ModelName } from "../types.js";
import { TransientError } from "./connection.js";
import type { HostPolicy } from "./policy.js";
import type { ProxySelector } from "./proxy.js";
import { createTransport, readAll, type RawResponse, type TransportOptions } from "./transport.js";

/** Redirects followed per request (a registry redirects once, to its CDN). */
const MAX_REDIRECTS = 5;
/** Largest token response read, bytes. */
const MAX_TOKEN_BYTES = 64 * 1024;

export interface RegistrySession {
  /** The manifest's raw bytes (size-capped); parsing is the caller's (parseManifest). */
  manifest(signal: AbortSignal): Promise<Buffer>;
  /** GET of one blob (optionally a byte range), redirects followed; status 200 or 206. */
  blob(
    digest: string,
    range: { start: number; end: number } | undefined,
    signal: AbortSignal,
  ): Promise<RawResponse>;
}

export interface RegistryClient {
  session(name: ModelName, insecure: boolean): RegistrySession;
  close(): void;
}

interface Challenge {
  realm: string;
  service?: string;
  scope?: string;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (quoted or bare values). */
function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*Bearer\s+(.*)$/i.exec(header);
  if (!match?.[1]) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g;
  for (let m = re.exec(match[1]); m; m = re.exec(match[1])) {
    params[(m[1] as string).toLowerCase()] = m[2] ?? m[3] ?? "";
  }
  if (!params.realm) return undefined;
  return { realm: params.realm, service: params.service, scope: params.scope };
}

/** One answered request, whichever client made it: what the redirect and auth logic looks at. */
interface Hop {
  response: RawResponse;
  status: number;
  location: string | undefined;
  wwwAuthenticate: string | undefined;
  /** Drops the body. */
  discard(): void;
}

type Fetch = (url: URL, headers: Record<string, string>, signal: AbortSignal) => Promise<Hop>;

function upstreamError(hop: Hop, url: URL, what: string): AppError {
  hop.discard();
  const status = hop.status;
  if (status === 404) return new AppError("model_not_found", `pull ${what}: file does not exist`);
  if (status === 401 || status === 403)
    return new AppError("unauthorized", `pull ${what}: ${url.host} answered ${status}`);
  // A 5xx is the server's trouble of the moment: the downloader tries the part again.
  if (status >= 500) return new TransientError(`pull ${what}: ${url.host} answered ${status}`);
  return new AppError("registry_error", `pull ${what}: ${url.host} answered ${status}`);
}

export interface RegistryClientOptions extends Pick<TransportOptions, "maxConnections" | "timeoutMs"> {
  policy: HostPolicy;
  proxyFor?: ProxySelector;
}

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const { policy } = options;
  // One transport for manifests, tokens and blobs: connections are kept alive per host, and a
  // proxy applies to all of them alike.
  const transport = createTransport({
    lookupFor: (url) => policy.lookupFor(url),
    ...(options.proxyFor ? { proxyFor: options.proxyFor } : {}),
    ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });

  const fetch: Fetch = async (url, headers, signal) => {
    const response = await transport.get(url, headers, signal);
    return {
      response,
      status: response.statusCode,
      location: response.headers.location,
      wwwAuthenticate: response.headers["www-authenticate"],
      discard: () => response.discard(),
    };
  };

  return {
    session(name, insecure) {
      const base = new URL(`https://${name.host}`);
      if (insecure || policy.isInsecureHost(base)) base.protocol = "http:";
      const registryHost = base.host.toLowerCase();
      const repo = `${name.namespace}/${name.model}`;
      let token: string | undefined;

      /** GET with redirects followed by hand; Authorization only ever goes to the registry host. */
      const get = async (
        url: URL,
        headers: Record<string, string>,
        signal: AbortSignal,
      ): Promise<{ hop: Hop; url: URL }> => {
        let current = url;
        for (let count = 0; ; count++) {
          policy.check(current, insecure);
          const sameHost = current.host.toLowerCase() === registryHost;
          const hop = await fetch(
            current,
            { ...headers, ...(sameHost && token ? { Authorization: `Bearer ${token}` } : {}) },
            signal,
          );
          if (hop.status >= 300 && hop.status < 400 && hop.location) {
            hop.discard();
            if (count >= MAX_REDIRECTS) throw new AppError("registry_error", "pull: too many redirects");
            current = new URL(hop.location, current);
            continue;
          }
          return { hop, url: current };
        }
      };

      const authenticate = async (answered: Hop, signal: AbortSignal) => {
        answered.discard();
        const challenge = parseChallenge(answered.wwwAuthenticate ?? "");
        if (!challenge) throw new AppError("unauthorized", `pull: ${registryHost} requires authentication`);
        let realm: URL;
        try {
          realm = new URL(challenge.realm);
        } catch {
          throw new AppError("forbidden", "pull: token realm is not a valid URL");
        }
        // A realm elsewhere would let a registry send our client to any host it likes.
        if (realm.host.toLowerCase() !== registryHost) {
          throw new AppError(
            "forbidden",
            `pull: token realm host ${realm.host} does not match registry host ${registryHost}`,
          );
        }
        if (challenge.service) realm.searchParams.set("service", challenge.service);
        if (challenge.scope) realm.searchParams.set("scope", challenge.scope);
        token = undefined;
        const { hop, url } = await get(realm, { Accept: "application/json" }, signal);
        if (hop.status !== 200) throw upstreamError(hop, url, "token");
        const body = await readAll(hop.response, MAX_TOKEN_BYTES, "token response");
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString("utf8"));
        } catch {
          throw new AppError("unauthorized", "pull: token response is not JSON");
        }
        const record = parsed as { token?: unknown; access_token?: unknown } | null;
        const value = record?.token ?? record?.access_token;
        if (typeof value !== "string" || value === "" || /[\r\n]/.test(value)) {
          throw new AppError("unauthorized", "pull: token response has no token");
        }
        token = value;
      };

      /** A GET that answers a bearer challenge once, then retries with the token. */
      const authorized = async (path: string, headers: Record<string, string>, signal: AbortSignal) => {
        const url = new URL(path, base);
        let result = await get(url, headers, signal);
        if (result.hop.status === 401) {
          await authenticate(result.hop, signal);
          result = await get(url, headers, signal);
        }
        return result;
      };
      /**
       * Where each blob's bytes were last served from (the CDN URL the registry redirected to):
       * later parts go there directly, as Ollama does, instead of asking the registry each time.
       */
      const located = new Map<string, URL>();

      return {
        async manifest(signal) {
          const { hop, url } = await authorized(
            `/v2/${repo}/manifests/${name.tag}`,
            { Accept: MEDIA_TYPE_MANIFEST },
            signal,
          );
          if (hop.status !== 200) throw upstreamError(hop, url, "model manifest");
          return readAll(hop.response, MAX_MANIFEST_BYTES, "manifest");
        },

        async blob(digest, range, signal) {
          const headers: Record<string, string> = range ? { Range: `bytes=${range.start}-${range.end}` } : {};
          const cached = located.get(digest);
          let answered = cached ? await get(cached, headers, signal) : undefined;
          if (answered && answered.hop.status !== (range ? 206 : 200)) {
            // Expired or refused: ask the registry for a fresh location.
            answered.hop.discard();
            answered = undefined;
          }
          answered ??= await authorized(`/v2/${repo}/blobs/${digest}`, headers, signal);
          const { hop, url } = answered;
          const status = hop.status;
          if (range ? status !== 206 : status !== 200) {
            if (status === 200 || status === 206) {
              hop.discard();
              throw new AppError("registry_error", `pull: ${url.host} ignored the Range request`);
            }
            throw upstreamError(hop, url, `blob ${digest}`);
          }
          located.set(digest, url);
          return hop.response;
        },
      };
    },

    close() {
      transport.close();
    },
  };
}
