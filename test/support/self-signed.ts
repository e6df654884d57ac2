/**
 * An https server on 127.0.0.1 whose certificate no client trusts (self-signed by `openssl` into
 * a temp dir), answering every connection with a tiny HTTP 200: for tests that a TLS client
 * refuses it, directly or inside a proxy tunnel.
 */
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";

export interface UntrustedServer {
  port: number;
  close(): Promise<void>;
}

export async function startUntrustedTlsServer(): Promise<UntrustedServer> {
  const dir = await mkdtemp(join(tmpdir(), "aixcl-tls-"));
  const [key, cert] = [join(dir, "key.pem"), join(dir, "cert.pem")];
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1"].concat([
      "-subj",
      "/CN=127.0.0.1",
    ]),
    { stdio: "ignore" },
  );
  const server = createTlsServer({ key: await readFile(key), cert: await readFile(cert) }, (socket) =>
    socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
  );
  server.on("tlsClientError", () => undefined);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return {
    port,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
