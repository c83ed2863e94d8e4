// `lmm serve [--port N]`: a local static server for the browser app (dist/app, built by
// scripts/build.mjs). It sends the cross-origin isolation headers (COOP same-origin, COEP
// require-corp) under which browsers allow SharedArrayBuffer, which a threaded WebAssembly build needs;
// the app itself also runs from any plain static server.
import { createReadStream, existsSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError, type Command } from "commander";

/** Sent with every response: cross-origin isolation, and no MIME sniffing. */
export const SERVE_HEADERS: Readonly<Record<string, string>> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "X-Content-Type-Options": "nosniff",
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".tsv": "text/tab-separated-values; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
};

/**
 * Where the built app is: dist/app next to the running bundle (dist/node/cli.js → dist/app) or, when
 * this module runs from src/ (tests, tsx), the project's dist/app.
 */
export function defaultAppRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, "../app"), path.resolve(here, "../dist/app")];
  return candidates.find((d) => existsSync(path.join(d, "index.html"))) ?? candidates[0];
}

/** The request handler: GET and HEAD of files under root, "/" and folders as their index.html. */
export function staticHandler(root: string): http.RequestListener {
  const base = path.resolve(root);
  return (req, res) => {
    for (const [k, v] of Object.entries(SERVE_HEADERS)) res.setHeader(k, v);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" }).end("method not allowed\n");
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    } catch {
      res.writeHead(400, { "Content-Type": "text/plain; charset=utf-8" }).end("bad request: malformed URL\n");
      return;
    }
    let file = path.resolve(base, "." + pathname);
    // Only files under root: "..", encoded or not, must not reach the rest of the disk.
    if (pathname.includes("\0") || (file !== base && !file.startsWith(base + path.sep))) {
      res.writeHead(403, { "Content-Type": "text/plain; charset=utf-8" }).end("forbidden\n");
      return;
    }
    let stat = existsSync(file) ? statSync(file) : null;
    if (stat?.isDirectory()) {
      file = path.join(file, "index.html");
      stat = existsSync(file) ? statSync(file) : null;
    }
    if (!stat?.isFile()) {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end(`not found: ${pathname}\n`);
      return;
    }
    res.writeHead(200, {
      "Content-Type": TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream",
      "Content-Length": stat.size,
      // Always revalidate: after a rebuild the page must not mix old and new bundles.
      "Cache-Control": "no-cache",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    createReadStream(file)
      .on("error", () => res.destroy())
      .pipe(res);
  };
}

export interface ServeOptions {
  /** The folder to serve (default: the built app, defaultAppRoot()). */
  root?: string;
  /** 0 picks a free port. Default 8000. */
  port?: number;
  /** Default 127.0.0.1: only this machine can connect. */
  host?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  root: string;
  server: http.Server;
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens (rejects with a clear message if it cannot). */
export async function serveApp(opts: ServeOptions = {}): Promise<RunningServer> {
  const root = path.resolve(opts.root ?? defaultAppRoot());
  if (!existsSync(path.join(root, "index.html"))) {
    throw new Error(`${root} has no index.html${opts.root ? "" : ": build the app first (npm run build)"}`);
  }
  const port = opts.port ?? 8000;
  const host = opts.host ?? "127.0.0.1";
  const server = http.createServer(staticHandler(root));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EADDRINUSE") reject(new Error(`port ${port} on ${host} is already in use: choose another with --port`));
      else if (e.code === "EACCES") reject(new Error(`no permission to listen on port ${port}: choose a port above 1023 with --port`));
      else reject(e);
    });
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actual}/`,
    port: actual,
    root,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!(/^\d+$/.test(v.trim()) && n >= 0 && n <= 65535)) throw new InvalidArgumentError(`expected a port number from 0 to 65535, got '${v}'`);
  return n;
}

/** Adds `serve` to the lmm command. */
export function registerServe(cli: Command): void {
  cli
    .command("serve")
    .description("serve the browser app (dist/app) on localhost, with the cross-origin isolation headers")
    .option("-p, --port <n>", "port (0: any free port)", parsePort, 8000)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--root <dir>", "folder to serve instead of the built app")
    .action(async (o: { port: number; host: string; root?: string }) => {
      const s = await serveApp({ port: o.port, host: o.host, root: o.root });
      process.stdout.write(`mixedmodels app: ${s.url}  (serving ${s.root}; Ctrl-C to stop)\n`);
      // The server keeps the process alive after the command returns.
    });
}
