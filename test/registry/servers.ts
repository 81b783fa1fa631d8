import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface LocalServer {
  port: number;
  url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that accepts every connection and never sends a byte. */
export async function startSilentServer(): Promise<LocalServer> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const srv = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

/** An HTTPS server with a fresh self-signed certificate (so the client's TLS check fails). */
export async function startSelfSignedServer(): Promise<LocalServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dp-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const key = readFileSync(path.join(dir, 'key.pem'));
    const cert = readFileSync(path.join(dir, 'cert.pem'));
    let connections = 0;
    const srv = https.createServer({ key, cert }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"versions":{}}');
    });
    srv.on('connection', () => connections++);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as net.AddressInfo;
    return {
      port,
      url: `https://127.0.0.1:${port}/`,
      get connections() {
        return connections;
      },
      close: () =>
        new Promise((resolve) => {
          srv.closeAllConnections();
          srv.close(() => resolve());
        }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
