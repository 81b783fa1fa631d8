/**
 * Lets the event loop poll once, so a signal that arrived during synchronous work (the tree writes
 * are synchronous system calls) is handled before the next decision. Two turns: the first may run
 * in the check phase of the current iteration, before that iteration polls; the second cannot.
 */
export async function pollSignals(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
}
