#!/usr/bin/env node
// Thin shim: all behaviour lives in src/, bundled into dist/bundle (built by `npm install` / `npm run build`).
import('../dist/bundle/docker-prep.mjs').then(
  (cli) => cli.main(process.argv.slice(2)),
  (err) => {
    process.stderr.write(`docker-prep: ERROR [NOT_BUILT] cannot load the CLI (${err && err.message})\nhint: run \`npm run build\` in the docker-prep package\n`);
    process.exitCode = 2;
  },
);
