/** How a user's text file is laid out, so edits can keep it exactly that way. */
export interface TextFormat {
  bom: boolean;
  eol: '\n' | '\r\n';
  /** One level of indentation as found in the file ('\t', '  ', ...). */
  indent: string;
  finalNewline: boolean;
}

export function detectTextFormat(text: string): TextFormat {
  const bom = text.charCodeAt(0) === 0xfeff;
  const body = bom ? text.slice(1) : text;
  const eol = body.includes('\r\n') ? '\r\n' : '\n';
  const indentMatch = /\n([ \t]+)\S/.exec(body);
  const indent = indentMatch?.[1] ?? '  ';
  return { bom, eol, indent, finalNewline: /\r?\n$/.test(body) };
}

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Converts text built with '\n' into the file's own line endings and BOM. */
export function applyTextFormat(lfText: string, format: TextFormat): string {
  const withEol = format.eol === '\r\n' ? lfText.replace(/\r?\n/g, '\r\n') : lfText;
  return (format.bom ? '\ufeff' : '') + withEol;
}
