import type { CliContext, CommandResult, CommonOptions } from '../context.js';
import { DockerPrepError } from '../../core/errors.js';

// Placeholder while the command is being built; replaced by its real implementation.
export async function run(_opts: CommonOptions & Record<string, unknown>, _args: string[], _ctx: CliContext): Promise<CommandResult> {
  throw new DockerPrepError('NOT_READY', 'exec is not available yet', { kind: 'usage' });
}
