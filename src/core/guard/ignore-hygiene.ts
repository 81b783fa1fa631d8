import type { GitClient } from './git-client.js';

/** A file name that stands for "anything docker-prep puts in this folder" when asking git. */
const PROBE = 'docker-prep-probe.tgz';

/**
 * Which of the folders `dirs` (relative to the client's folder, ending in `/`) git does not ignore.
 * git is asked about a file inside each, so a `.gitignore` inside the folder counts too; `--no-index`
 * judges the ignore rules alone, so an already tracked tarball still counts as "not ignored".
 * Folders git refuses to judge (outside the repository) are left out.
 */
export async function findNotIgnored(git: GitClient, dirs: string[]): Promise<string[]> {
  const probes = dirs.map((d) => d + PROBE);
  const ignored = await checkIgnore(git, probes);
  if (ignored !== null) return dirs.filter((_d, i) => !ignored.has(probes[i]!));
  // git refused the batch (a path outside the repository): judge each folder alone.
  const judged = await Promise.all(
    probes.map(async (p, i) => {
      const one = await checkIgnore(git, [p]);
      return one === null || one.has(p) ? [] : [dirs[i]!];
    }),
  );
  return judged.flat();
}

/** The ignored subset of `paths`, or null when git would not judge them. */
async function checkIgnore(git: GitClient, paths: string[]): Promise<Set<string> | null> {
  let out: string;
  try {
    // -v -n prints one line per path, in order, with an empty source for the non-ignored ones, so
    // the answer never depends on how git quotes a path.
    out = await git.raw(['check-ignore', '--no-index', '--verbose', '--non-matching', '--', ...paths]);
  } catch {
    return null;
  }
  const lines = out.split('\n').filter((l) => l !== '');
  if (lines.length !== paths.length) return null;
  return new Set(paths.filter((_p, i) => !lines[i]!.startsWith('::\t')));
}
