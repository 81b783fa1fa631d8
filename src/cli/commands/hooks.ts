import type { CliContext, CommandResult, CommonOptions } from '../context.js';
import { DockerPrepError } from '../../core/errors.js';
import { TreeWriter } from '../../core/fs/tree-writer.js';
import { gitEnvFor } from '../../core/guard/git-env.js';
import { installGuardHook, uninstallGuardHook, type FileChange, type HooksReport } from '../../core/guard/install-guard-hook.js';

export async function run(opts: CommonOptions & Record<string, unknown>, args: string[], ctx: CliContext): Promise<CommandResult<HooksReport>> {
  const action = args[0];
  const base = {
    cwd: ctx.cwd,
    env: gitEnvFor(ctx.env, process.cwd()),
    out: opts.out ?? '.docker-deps',
    writer: new TreeWriter(ctx.hooks),
  };
  let report: HooksReport;
  if (action === 'install') report = await installGuardHook({ ...base, addGitignore: Boolean(opts.addGitignore) });
  else if (action === 'uninstall') report = await uninstallGuardHook(base);
  else {
    throw new DockerPrepError('USAGE', `unknown hooks action "${action ?? ''}"`, { kind: 'usage', hint: 'use `docker-prep hooks install` or `docker-prep hooks uninstall`' });
  }
  return { data: report, text: render(report), exitCode: 0, warnings: report.notes };
}

const VERB: Record<FileChange['result'], string> = {
  created: 'created with the guard',
  added: 'guard added',
  updated: 'guard updated',
  unchanged: 'guard already installed, unchanged',
  removed: 'guard removed',
  deleted: 'removed (docker-prep had created it)',
  absent: 'no guard installed',
};

function render(r: HooksReport): string {
  const lines: string[] = [];
  for (const h of r.hooks) lines.push(`${h.file} (${h.kind === 'husky' ? 'husky' : 'git hook'}): ${VERB[h.result]}`);
  if (r.gitignore) {
    const what = r.action === 'install' ? `ignores ${r.gitignore.entries.join(', ')}` : VERB[r.gitignore.result].replace('guard', 'docker-prep entries');
    lines.push(`${r.gitignore.file}: ${what}`);
  }
  return lines.join('\n');
}
