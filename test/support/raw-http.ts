/**
 * Requests through node:http, because fetch does not let a caller forge Host, send a body with
 * DELETE portably, or stream a body without a length.
 */
import { request as httpRequest } from "node:http";

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length), in 16 KiB writes. */
  chunked?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Explicit body framing: node:http only chunks POST/PUT bodies by default, not DELETE ones. */
function framing(options: RawRequestOptions): Record<string, string> {
  const headers = { ...options.headers };
  if (options.body !== undefined) {
    if (options.chunked) headers["Transfer-Encoding"] = "chunked";
    else headers["Content-Length"] = String(Buffer.byteLength(options.body));
  }
  return headers;
}

/** One request to `url`; resolves with the whole response body as UTF-8 text. */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "GET", headers: framing(options) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    if (options.body !== undefined) {
      if (options.chunked) {
        // No Content-Length: a body limit must be enforced while reading.
        const data = Buffer.from(options.body);
        for (let i = 0; i < data.length; i += 16 * 1024) req.write(data.subarray(i, i + 16 * 1024));
      } else req.write(options.body);
    }
    req.end();
  });
}
