import { applyEdits, modify, parse, type ParseError } from 'jsonc-parser';
import { detectTextFormat, stripBom } from './text-format.js';

export interface JsonEdit {
  path: (string | number)[];
  /** `undefined` removes the property. */
  value: unknown;
}

/**
 * Applies edits to JSON text by changing only the affected spans, so everything else in the user's
 * file (indentation, inline arrays, key order, CRLF, BOM, final newline) stays byte-for-byte. A full
 * re-serialisation (JSON.stringify, and @pnpm/write-project-manifest, which uses it) would expand
 * `"files": ["dist"]`, drop the BOM and turn CRLF into LF.
 */
export function editJsonText(text: string, edits: JsonEdit[]): string {
  const format = detectTextFormat(text);
  let body = stripBom(text);
  const indentIsTab = format.indent.startsWith('\t');
  const formattingOptions = { insertSpaces: !indentIsTab, tabSize: indentIsTab ? 1 : format.indent.length, eol: format.eol };
  for (const edit of edits) {
    body = applyEdits(body, modify(body, edit.path, edit.value, { formattingOptions }));
  }
  return (format.bom ? '\ufeff' : '') + body;
}

/** Strict JSON parse of a manifest text (BOM allowed); returns errors instead of throwing. */
export function parseJsonText(text: string): { value: unknown; errors: ParseError[] } {
  const errors: ParseError[] = [];
  const value: unknown = parse(stripBom(text), errors, { allowTrailingComma: false, disallowComments: true });
  return { value, errors };
}
