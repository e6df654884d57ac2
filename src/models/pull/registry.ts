/**
 * The registry side of a pull (Docker Registry v2 as Ollama's registry and Hugging Face speak it):
 * manifest GET with the right Accept, the `401` bearer challenge (token fetched from a realm on the
 * registry's own host only), and blob GETs whose `307` redirects are followed by hand so each
 * target is re-checked and credentials never leave the registry host.
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import { AppError } from "../../errors.js";
import { MAX_MANIFEST_BYTES, MEDIA_TYPE_MANIFEST } from "../manifest.js";
import type { ModelName } from "../types.js";
import type { HostPolicy } from "./policy.js";

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
  ): Promise<IncomingMessage>;
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
export function parseChallenge(header: string): Challenge | undefined {
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

async function readCapped(response: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    response.destroy();
    throw new AppError("invalid_request", `${what} larger than ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      response.destroy();
      throw new AppError("invalid_request", `${what} larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function upstreamError(response: IncomingMessage, url: URL, what: string): AppError {
  response.resume();
  const status = response.statusCode ?? 0;
  if (status === 404) return new AppError("model_not_found", `pull ${what}: file does not exist`);
  if (status === 401 || status === 403)
    return new AppError("unauthorized", `pull ${what}: ${url.host} answered ${status}`);
  return new AppError("registry_error", `pull ${what}: ${url.host} answered ${status}`);
}

export function createRegistryClient(policy: HostPolicy): RegistryClient {
  // Keep-alive: a large blob is many Range requests to the same CDN host.
  const httpAgent = new HttpAgent({ keepAlive: true });
  const httpsAgent = new HttpsAgent({ keepAlive: true });

  const send = (url: URL, headers: Record<string, string>, signal: AbortSignal) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const https = url.protocol === "https:";
      const req = (https ? httpsRequest : httpRequest)(url, {
        method: "GET",
        headers: { "User-Agent": "aixcl", ...headers },
        agent: https ? httpsAgent : httpAgent,
        lookup: policy.lookupFor(url),
        signal,
      });
      req.on("response", resolve);
      req.on("error", (error) => {
        if (signal.aborted) return reject(signal.reason instanceof Error ? signal.reason : error);
        if (error instanceof AppError) return reject(error);
        reject(
          new AppError("registry_error", `pull: cannot fetch from ${url.host}: ${error.message}`, {
            cause: error,
          }),
        );
      });
      req.end();
    });

  return {
    session(name, insecure) {
      const base = new URL(`https://${name.host}`);
      if (insecure || policy.isInsecureHost(base)) base.protocol = "http:";
      const registryHost = base.host.toLowerCase();
      const repo = `${name.namespace}/${name.model}`;
      let token: string | undefined;

      /** GET with redirects followed by hand; Authorization only ever goes to the registry host. */
      const get = async (url: URL, headers: Record<string, string>, signal: AbortSignal) => {
        let current = url;
        for (let hop = 0; ; hop++) {
          policy.check(current, insecure);
          const sameHost = current.host.toLowerCase() === registryHost;
          const response = await send(
            current,
            { ...headers, ...(sameHost && token ? { Authorization: `Bearer ${token}` } : {}) },
            signal,
          );
          const status = response.statusCode ?? 0;
          const location = response.headers.location;
          if (status >= 300 && status < 400 && location) {
            response.resume();
            if (hop >= MAX_REDIRECTS) throw new AppError("registry_error", "pull: too many redirects");
            current = new URL(location, current);
            continue;
          }
          return { response, url: current };
        }
      };

      const authenticate = async (response: IncomingMessage, signal: AbortSignal) => {
        response.resume();
        const challenge = parseChallenge(response.headers["www-authenticate"] ?? "");
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
        const { response: answer, url } = await get(realm, { Accept: "application/json" }, signal);
        if (answer.statusCode !== 200) throw upstreamError(answer, url, "token");
        const body = await readCapped(answer, MAX_TOKEN_BYTES, "token response");
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
        if (result.response.statusCode === 401) {
          await authenticate(result.response, signal);
          result = await get(url, headers, signal);
        }
        return result;
      };

      return {
        async manifest(signal) {
          const { response, url } = await authorized(
            `/v2/${repo}/manifests/${name.tag}`,
            { Accept: MEDIA_TYPE_MANIFEST },
            signal,
          );
          if (response.statusCode !== 200) throw upstreamError(response, url, "model manifest");
          return readCapped(response, MAX_MANIFEST_BYTES, "manifest");
        },

        async blob(digest, range, signal) {
          const headers: Record<string, string> = range ? { Range: `bytes=${range.start}-${range.end}` } : {};
          const { response, url } = await authorized(`/v2/${repo}/blobs/${digest}`, headers, signal);
          const status = response.statusCode ?? 0;
          if (range ? status !== 206 : status !== 200) {
            if (status === 200 || status === 206) {
              response.resume();
              throw new AppError("registry_error", `pull: ${url.host} ignored the Range request`);
            }
            throw upstreamError(response, url, `blob ${digest}`);
          }
          return response;
        },
      };
    },

    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
