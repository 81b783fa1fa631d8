import { Command, CommanderError, Option } from 'commander';
import type { CliContext, CommandResult, CommonOptions } from './context.js';
import { exitCodeForKind, ExitCode, SIGNAL_EXIT } from './exit-codes.js';
import { printError, printResult } from './output.js';
import { DockerPrepError, isDockerPrepError } from '../core/errors.js';
import { hooksFromEnv } from './test-hooks.js';

type Runner = (opts: CommonOptions & Record<string, unknown>, args: string[], ctx: CliContext) => Promise<CommandResult>;

/**
 * Each command lives in its own module and is imported only when chosen, so that `check` (run on
 * every commit) never loads the packing code.
 */
const commands: Record<string, () => Promise<{ run: Runner }>> = {
  pack: () => import('./commands/pack.js'),
  restore: () => import('./commands/restore.js'),
  status: () => import('./commands/status.js'),
  check: () => import('./commands/check.js'),
  exec: () => import('./commands/exec.js'),
  ci: () => import('./commands/ci.js'),
  hooks: () => import('./commands/hooks.js'),
  lockfile: () => import('./commands/lockfile.js'),
};

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function common(cmd: Command): Command {
  return cmd
    .option('--cwd <dir>', 'run as if started in <dir>')
    .option('--project <dir>', 'a target project folder (repeatable; default: every project that needs an outside package)', collect)
    .option('--out <dir>', 'output folder for tarballs, relative to the repo root', '.docker-deps')
    .option('--json', 'print one JSON document on stdout and nothing else there');
}

function packOptions(cmd: Command): Command {
  return cmd
    .option('--dry-run', 'print the plan; write nothing at all')
    .option('--force', 're-pack over an active pack (keeps the original backups), or restore over drift')
    .option('--keep', 'on failure, leave the partial state and the journal in place for inspection')
    .option('--lockfile', 'also write a flattened pnpm-lock.yaml into each target')
    .option('--verify', 'with --lockfile: run a real frozen install in a sandbox before declaring success')
    .option('--allow-secrets', 'pack files that look like secrets (.env*, *.pem, id_rsa*, .npmrc)')
    .option('--scripts', 'run the prepack/prepare/postpack lifecycle scripts of packed packages (off by default)');
}

export async function main(argv: string[]): Promise<void> {
  const controller = new AbortController();
  let caught: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (caught) return; // a second Ctrl-C must not interrupt the rollback of the first
    caught = sig;
    controller.abort(new DockerPrepError('INTERRUPTED', `interrupted by ${sig}`, { kind: 'interrupted', hint: 'the repo was restored; run the command again' }));
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);

  let json = argv.includes('--json');
  const io = { stdout: process.stdout, stderr: process.stderr, get json() { return json; } };

  const dispatch = async (name: string, opts: CommonOptions & Record<string, unknown>, args: string[]): Promise<void> => {
    json = Boolean(opts.json);
    const ctx: CliContext = {
      cwd: opts.cwd ? (await import('node:path')).resolve(process.cwd(), opts.cwd) : process.cwd(),
      env: process.env,
      stdout: process.stdout,
      stderr: process.stderr,
      isTTY: Boolean(process.stderr.isTTY),
      json,
      signal: controller.signal,
      signalName: () => caught,
      hooks: hooksFromEnv(process.env),
      argv,
    };
    const mod = await commands[name]!();
    const result = await mod.run(opts, args, ctx);
    printResult(result, io);
    process.exitCode = result.exitCode;
  };

  const program = new Command('docker-prep')
    .description('Make Docker builds of pnpm projects hermetic: pack sibling workspace packages into .docker-deps/')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s), outputError: () => undefined });

  packOptions(common(program))
    .option('--restore', 'undo the last pack (same as `docker-prep restore`)')
    .option('--strip-overrides', 'with --restore: remove every reference into the output folder even without a journal')
    .action((opts: CommonOptions & Record<string, unknown>) => (opts.restore ? dispatch('restore', opts, []) : dispatch('pack', opts, [])));

  packOptions(common(program.command('pack').description('pack the outside packages the targets need and rewrite the targets'))).action((opts) => dispatch('pack', opts, []));

  common(program.command('restore').description('undo the last pack byte-for-byte from the journal'))
    .option('--force', 'restore even over files edited after the pack (the edits are lost)')
    .option('--strip-overrides', 'without a journal: remove every override and file: reference into the output folder, taking the original specifiers from git HEAD')
    .action((opts) => dispatch('restore', opts, []));

  common(program.command('status').description('say whether a pack is active, what it rewrote and whether it drifted')).action((opts) => dispatch('status', opts, []));

  common(program.command('check').description('pre-commit guard: fail when rewritten state would be committed'))
    .option('--staged', 'check what is staged (the index) instead of the working tree')
    .action((opts) => dispatch('check', opts, []));

  for (const name of ['exec', 'ci'] as const) {
    const cmd = packOptions(common(program.command(name)))
      .description(name === 'exec' ? 'pack, run CMD, always restore; exit with CMD’s code' : 'probe the registry; use it when it serves everything, else the tarball path')
      .argument('<cmd...>', 'the command to run, after --')
      .passThroughOptions();
    if (name === 'ci') {
      cmd
        .addOption(new Option('--mode <mode>', 'force a path').choices(['auto', 'registry', 'tarballs']).default('auto'))
        .option('--timeout <ms>', 'registry probe timeout in milliseconds', '3000')
        .option('--token-file <file>', 'read the registry token from a file (e.g. a BuildKit secret)');
    }
    cmd.action((cmdArgs: string[], opts) => dispatch(name, opts, cmdArgs));
  }

  common(program.command('hooks').description('install or uninstall the pre-commit guard'))
    .argument('<action>', 'install | uninstall')
    .option('--add-gitignore', 'also add the output folder and the journal to .gitignore')
    .action((action: string, opts) => dispatch('hooks', opts, [action]));

  common(program.command('lockfile').description('write the flattened Docker-only pnpm-lock.yaml for an active pack'))
    .option('--verify', 'run a real frozen install in a sandbox before declaring success')
    .action((opts) => dispatch('lockfile', opts, []));

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) {
        process.exitCode = ExitCode.ok;
        return;
      }
      printError(new DockerPrepError('USAGE', err.message.replace(/^error: /, ''), { kind: 'usage', hint: 'run `docker-prep --help` for the commands and flags' }), io);
      process.exitCode = ExitCode.usage;
      return;
    }
    printError(err, io);
    process.exitCode = isDockerPrepError(err) ? exitCodeForKind(err.kind, caught) : ExitCode.failed;
    if (caught && (!isDockerPrepError(err) || err.kind !== 'interrupted')) process.exitCode = SIGNAL_EXIT[caught] ?? 130;
  } finally {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, onSignal);
  }
}
