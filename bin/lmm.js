#!/usr/bin/env node
// Runs the bundled CLI (built by `npm run build`, which `npm start` and `npm test` run first).
import { existsSync } from "node:fs";

const cli = new URL("../dist/node/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("lmm: dist/node/cli.js is missing: run `npm run build` first\n");
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv);
