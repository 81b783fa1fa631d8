#!/usr/bin/env node
// Thin shim: all behaviour lives in dist/cli (built from src/cli by `npm install` / `npm run build`).
import('../dist/cli/main.js').then(
  (cli) => cli.main(process.argv.slice(2)),
  (err) => {
    process.stderr.write(`docker-prep: ERROR [NOT_BUILT] cannot load the CLI (${err && err.message})\nhint: run \`npm run build\` in the docker-prep package\n`);
    process.exitCode = 2;
  },
);
