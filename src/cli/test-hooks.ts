import type { MutationHooks } from '../core/fs/tree-writer.js';

/**
 * Crash and fault injection for the test-suite, read from the environment by the CLI edge only.
 * Placeholder until the transaction layer lands (issue #3): no variables, no hooks.
 */
export function hooksFromEnv(_env: NodeJS.ProcessEnv): MutationHooks {
  return {};
}
