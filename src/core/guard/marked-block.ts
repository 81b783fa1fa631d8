/**
 * A block of lines docker-prep adds to a user's file (a hook, .gitignore) between two marker lines,
 * so that a later run finds it, replaces it, or removes exactly it, and nothing else of the file.
 * What the insert had to change outside the block (a missing final newline, a file that did not
 * exist) is recorded on the begin line, so removal can undo that too.
 */
export interface BlockMarkers {
  /** Begin marker line prefix, e.g. `# >>> docker-prep guard >>>`. */
  begin: string;
  /** End marker line, e.g. `# <<< docker-prep guard <<<`. */
  end: string;
  /** Words after the begin marker for the reader. */
  note: string;
}

const CREATED = '(created this file)';
const ADDED_NEWLINE = '(added the newline above)';

export interface FoundBlock {
  /** Character offsets of the block: from the begin line's start to just after the end line's EOL. */
  start: number;
  end: number;
  /** The block's own lines, without EOLs. */
  lines: string[];
  created: boolean;
  addedNewline: boolean;
}

export function eolOf(text: string): '\n' | '\r\n' {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** Splits into lines that keep their EOL (the last one may have none). */
function splitKeep(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

const bare = (line: string): string => line.replace(/\r?\n$/, '');

export function findBlock(text: string, m: BlockMarkers): FoundBlock | null {
  const lines = splitKeep(text);
  let offset = 0;
  let start = -1;
  let startOffset = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = bare(lines[i]!);
    if (start < 0 && line.startsWith(m.begin)) {
      start = i;
      startOffset = offset;
    } else if (start >= 0 && line.startsWith(m.end)) {
      const beginLine = bare(lines[start]!);
      return {
        start: startOffset,
        end: offset + lines[i]!.length,
        lines: lines.slice(start, i + 1).map(bare),
        created: beginLine.includes(CREATED),
        addedNewline: beginLine.includes(ADDED_NEWLINE),
      };
    }
    offset += lines[i]!.length;
  }
  return null;
}

function blockText(m: BlockMarkers, body: string[], eol: string, flags: { created: boolean; addedNewline: boolean }): string {
  const marks = [flags.created ? CREATED : '', flags.addedNewline ? ADDED_NEWLINE : ''].filter(Boolean).join(' ');
  const begin = `${m.begin} ${m.note}${marks ? ' ' + marks : ''}`;
  return [begin, ...body, m.end].map((l) => l + eol).join('');
}

/** The text of a file docker-prep creates: `header` (e.g. a shebang line) and the block. */
export function createWithBlock(m: BlockMarkers, body: string[], header: string[] = []): string {
  return header.map((l) => l + '\n').join('') + blockText(m, body, '\n', { created: true, addedNewline: false });
}

/**
 * Adds the block (or replaces an existing one in place, keeping its flags). `at: 'top'` puts it after
 * the leading lines `skipHeader` accepts (shebang, bootstrap lines), so it runs even when the user's
 * script ends in `exec` or `exit`; `at: 'end'` appends it.
 */
export function upsertBlock(text: string, m: BlockMarkers, body: string[], at: 'top' | 'end', skipHeader: (line: string, index: number) => boolean = () => false): string {
  const eol = eolOf(text);
  const found = findBlock(text, m);
  if (found) {
    return text.slice(0, found.start) + blockText(m, body, eol, found) + text.slice(found.end);
  }
  const bom = text.startsWith('\ufeff') ? '\ufeff' : '';
  const body0 = text.slice(bom.length);
  const lines = splitKeep(body0);
  let idx = 0;
  if (at === 'end') idx = lines.length;
  else while (idx < lines.length && skipHeader(bare(lines[idx]!), idx)) idx++;
  const before = lines.slice(0, idx).join('');
  const needsNewline = before !== '' && !before.endsWith('\n');
  return bom + before + (needsNewline ? eol : '') + blockText(m, body, eol, { created: false, addedNewline: needsNewline }) + lines.slice(idx).join('');
}

/**
 * Removes the block and what its insertion changed. `deleteFile` is true when docker-prep created
 * the file and nothing but `header` lines remains of it.
 */
export function removeBlock(text: string, m: BlockMarkers, header: string[] = []): { text: string; deleteFile: boolean } | null {
  const found = findBlock(text, m);
  if (!found) return null;
  let before = text.slice(0, found.start);
  if (found.addedNewline) before = before.replace(/\r?\n$/, '');
  const rest = before + text.slice(found.end);
  const leftover = splitKeep(rest.replace(/^\ufeff/, '')).map(bare).filter((l) => !header.includes(l));
  return { text: rest, deleteFile: found.created && leftover.every((l) => l.trim() === '') };
}
