// A parser for the block-style subset of YAML 1.2 that workflow files need, so the CLI has no dependency.
//
// Supported: block mappings and sequences (including `- key: value` items and sequences at their key's
// indentation), plain scalars typed by the core schema (null, ~, true/false, decimal, 0o/0x integers, floats),
// single- and double-quoted strings (with YAML's escapes), literal `|` and folded `>` block scalars with `-`/`+`
// chomping and indentation indicators, one-line flow collections (`[a, b]`, `{k: v}`, nested), comments, and one document with optional
// `---` / `...` markers.
//
// Refused with the line number: tabs in indentation, anchors and aliases (&, *), tags (!), directives (%),
// complex keys (?), multi-line plain or quoted scalars, flow collections spanning lines, duplicate keys, and
// several documents in one file.

export class YamlError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

interface Line {
  no: number;
  /** Leading spaces. */
  indent: number;
  text: string;
}

export function parseYaml(source: string): unknown {
  return new BlockParser(source).document();
}

/** `|` or `>`, then optionally an indentation indicator and a chomping indicator, in either order. */
const BLOCK_SCALAR_HEADER = /^[|>](?:[1-9]?[-+]?|[-+][1-9])$/;
const DOCUMENT_MARKER = /^(---|\.\.\.)(?=\s|$)/;

/** The text before a comment: `#` at the start or after a blank, outside quotes. */
function stripComment(text: string): string {
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const prev = i === 0 ? ' ' : text[i - 1]!;
    if (quote === '"') {
      if (c === '\\') i++;
      else if (c === '"') quote = undefined;
    } else if (quote === "'") {
      if (c === "'") quote = undefined; // '' re-opens at once: the escape needs no special case
    } else if (c === '#' && /\s/.test(prev)) {
      return text.slice(0, i);
    } else if ((c === '"' || c === "'") && /[\s[{,:-]/.test(prev)) {
      quote = c;
    }
  }
  return text;
}

function setKey(target: Record<string, unknown>, key: string, value: unknown, line: number): void {
  if (Object.prototype.hasOwnProperty.call(target, key)) throw new YamlError(`duplicate key "${key}"`, line);
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A plain scalar under the core schema. */
function resolvePlain(text: string): unknown {
  if (/^(?:~|null|Null|NULL)$/.test(text)) return null;
  if (/^(?:true|True|TRUE)$/.test(text)) return true;
  if (/^(?:false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  return text;
}

const ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\x85',
  _: '\xa0',
  L: '\u2028',
  P: '\u2029',
};
const HEX_ESCAPES: Record<string, number> = { x: 2, u: 4, U: 8 };

/** A quoted scalar starting at `start`; answers its value and the index after the closing quote. */
function readQuoted(text: string, start: number, line: number): { value: string; end: number } {
  const quote = text[start];
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c !== "'") value += c;
      else if (text[i + 1] === "'") {
        value += "'";
        i++;
      } else return { value, end: i + 1 };
    } else if (c === '"') {
      return { value, end: i + 1 };
    } else if (c === '\\') {
      const e = text[i + 1];
      if (e === undefined) break;
      const hexLength = HEX_ESCAPES[e];
      if (hexLength !== undefined) {
        const hex = text.slice(i + 2, i + 2 + hexLength);
        if (!new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(hex)) throw new YamlError(`bad escape \\${e}${hex}`, line);
        value += String.fromCodePoint(parseInt(hex, 16));
        i += 1 + hexLength;
      } else if (ESCAPES[e] !== undefined) {
        value += ESCAPES[e];
        i++;
      } else {
        throw new YamlError(`unknown escape \\${e}`, line);
      }
    } else {
      value += c;
    }
  }
  throw new YamlError('unterminated quoted string (quoted strings must end on their line)', line);
}

/** A value written on one line after `key:` or `- ` (comment already removed, trimmed, not empty). */
function parseInline(text: string, line: number): unknown {
  const c = text[0]!;
  if (c === '[' || c === '{') return new FlowParser(text, line).whole();
  if (c === '"' || c === "'") {
    const { value, end } = readQuoted(text, 0, line);
    if (text.slice(end).trim())
      throw new YamlError(`unexpected text after the quoted string: ${text.slice(end).trim()}`, line);
    return value;
  }
  if (c === '&' || c === '*') throw new YamlError('anchors and aliases are not supported', line);
  if (c === '!') throw new YamlError('tags are not supported', line);
  if (c === '%' || c === '@' || c === '`') throw new YamlError(`a plain value cannot start with ${c}`, line);
  if (c === '|' || c === '>') {
    throw new YamlError('a block scalar header is | or >, then optionally a digit 1-9 and - or +', line);
  }
  if (/^-(\s|$)/.test(text))
    throw new YamlError('a sequence cannot start on the line of its key; start it on the next line', line);
  if (/:(\s|$)/.test(text)) throw new YamlError('a mapping cannot start on this line; start it on the next line', line);
  return resolvePlain(text);
}

/** One-line flow collections: `[a, "b", {k: v}]`. */
class FlowParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly line: number,
  ) {}

  whole(): unknown {
    const value = this.value();
    this.blanks();
    if (this.pos < this.text.length) {
      const rest = this.text.slice(this.pos);
      throw this.error(`unexpected text after the flow collection: ${rest}`);
    }
    return value;
  }

  private error(message: string): YamlError {
    return new YamlError(message, this.line);
  }

  private blanks(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private value(): unknown {
    this.blanks();
    const c = this.text[this.pos];
    if (c === '[') return this.sequence();
    if (c === '{') return this.mapping();
    if (c === '"' || c === "'") return this.quoted();
    if (c === '&' || c === '*') throw this.error('anchors and aliases are not supported');
    if (c === '!') throw this.error('tags are not supported');
    return resolvePlain(this.plain());
  }

  private quoted(): string {
    const { value, end } = readQuoted(this.text, this.pos, this.line);
    this.pos = end;
    return value;
  }

  /** Up to a flow indicator or a `: `; empty is an error. */
  private plain(): string {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (',[]{}'.includes(c)) break;
      if (c === ':' && /^(\s|[,[\]{}]|$)/.test(this.text.slice(this.pos + 1, this.pos + 2))) break;
      this.pos++;
    }
    const text = this.text.slice(start, this.pos).trim();
    if (!text) {
      throw this.error(
        this.pos < this.text.length
          ? `expected a value before "${this.text[this.pos]}"`
          : 'unclosed flow collection (flow collections must end on their line)',
      );
    }
    return text;
  }

  private sequence(): unknown[] {
    this.pos++;
    const items: unknown[] = [];
    for (;;) {
      this.blanks();
      if (this.text[this.pos] === ']') {
        this.pos++;
        return items;
      }
      if (this.pos >= this.text.length) throw this.error('unclosed [ (flow collections must end on their line)');
      items.push(this.value());
      this.blanks();
      const c = this.text[this.pos];
      if (c === ',') this.pos++;
      else if (c === ':') throw this.error('key: value pairs inside [ ] are not supported; use { }');
      else if (c !== ']')
        throw this.error(
          c === undefined ? 'unclosed [ (flow collections must end on their line)' : `expected , or ] but found "${c}"`,
        );
    }
  }

  private mapping(): Record<string, unknown> {
    this.pos++;
    const result: Record<string, unknown> = {};
    for (;;) {
      this.blanks();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return result;
      }
      if (this.pos >= this.text.length) throw this.error('unclosed { (flow collections must end on their line)');
      const c = this.text[this.pos];
      const key = c === '"' || c === "'" ? this.quoted() : this.plain();
      this.blanks();
      if (this.text[this.pos] !== ':') throw this.error(`expected : after the key "${key}"`);
      this.pos++;
      this.blanks();
      const next = this.text[this.pos];
      setKey(result, key, next === ',' || next === '}' ? null : this.value(), this.line);
      this.blanks();
      const sep = this.text[this.pos];
      if (sep === ',') this.pos++;
      else if (sep !== '}')
        throw this.error(
          sep === undefined
            ? 'unclosed { (flow collections must end on their line)'
            : `expected , or } but found "${sep}"`,
        );
    }
  }
}

class BlockParser {
  private readonly lines: Line[];
  private i = 0;

  constructor(source: string) {
    const texts = source.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
    if (texts.length > 1 && texts[texts.length - 1] === '') texts.pop(); // the final line break ends a line, not starts one
    this.lines = texts.map((text, index) => ({ no: index + 1, indent: /^ */.exec(text)![0].length, text }));
  }

  document(): unknown {
    let line = this.peek();
    if (line && /^%/.test(line.text)) throw new YamlError('directives (%) are not supported', line.no);
    if (line && line.indent === 0 && /^---(?=\s|$)/.test(line.text)) {
      if (stripComment(line.text).trim() !== '---') {
        throw new YamlError('put the document on the lines after ---', line.no);
      }
      this.i++;
      line = this.peek();
    }
    const value = line && !DOCUMENT_MARKER.test(line.text) ? this.block(line.indent) : null;
    line = this.peek();
    if (line && line.indent === 0 && /^\.\.\./.test(line.text)) {
      this.i++;
      line = this.peek();
    }
    if (line) {
      if (DOCUMENT_MARKER.test(line.text)) throw new YamlError('only one document per file is supported', line.no);
      throw new YamlError('this line does not fit the structure above it (check its indentation)', line.no);
    }
    return value;
  }

  /** The next line holding something besides blanks and comments (the parser moves past the others). */
  private peek(): Line | undefined {
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      const content = stripComment(line.text).trim();
      if (content) {
        if (line.text[line.indent] === '\t') throw new YamlError('tabs are not allowed in indentation', line.no);
        return line;
      }
      this.i++;
    }
    return undefined;
  }

  private content(line: Line): string {
    return stripComment(line.text.slice(line.indent)).trim();
  }

  private isItem(line: Line): boolean {
    return /^-(\s|$)/.test(line.text.slice(line.indent));
  }

  private atDocumentMarker(line: Line): boolean {
    return line.indent === 0 && DOCUMENT_MARKER.test(line.text);
  }

  /** The node starting at the current line, which is indented `indent`. */
  private block(indent: number): unknown {
    const line = this.peek()!;
    if (this.isItem(line)) return this.sequence(indent);
    if (this.entry(line)) return this.mapping(indent);
    this.i++;
    const content = this.content(line);
    // A block scalar alone on its line: a whole document, or a value under its key.
    if (BLOCK_SCALAR_HEADER.test(content)) return this.blockScalar(content, indent - 1);
    return parseInline(content, line.no);
  }

  /** `key: rest` on this line, or undefined when the line is not a mapping entry. */
  private entry(line: Line): { key: string; rest: string } | undefined {
    const text = stripComment(line.text.slice(line.indent)).trimEnd();
    const c = text[0];
    if (c === '?') throw new YamlError('complex keys (?) are not supported', line.no);
    if (c === '[' || c === '{') return undefined;
    let key: string;
    let after: number;
    if (c === '"' || c === "'") {
      const quoted = readQuoted(text, 0, line.no);
      after = quoted.end;
      while (text[after] === ' ') after++;
      if (text[after] !== ':' || !/^(\s|$)/.test(text.slice(after + 1, after + 2))) return undefined;
      key = quoted.value;
    } else {
      const match = /:(\s|$)/.exec(text);
      if (!match) return undefined;
      after = match.index;
      key = text.slice(0, after).trimEnd();
      if (!key) throw new YamlError('a key is missing before :', line.no);
      if (key[0] === '&' || key[0] === '*') throw new YamlError('anchors and aliases are not supported', line.no);
      if (key[0] === '!') throw new YamlError('tags are not supported', line.no);
    }
    return { key, rest: text.slice(after + 1).trim() };
  }

  private mapping(indent: number): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    for (;;) {
      const line = this.peek();
      if (!line || line.indent < indent || this.atDocumentMarker(line)) return result;
      if (line.indent > indent) throw new YamlError('unexpected indentation', line.no);
      if (this.isItem(line)) throw new YamlError('a sequence item cannot appear among mapping keys', line.no);
      const entry = this.entry(line);
      if (!entry) throw new YamlError('expected "key: value"', line.no);
      this.i++;
      let value: unknown;
      if (entry.rest === '') {
        const next = this.peek();
        if (next && next.indent > indent && !this.atDocumentMarker(next)) value = this.block(next.indent);
        else if (next && next.indent === indent && this.isItem(next)) value = this.sequence(indent);
        else value = null;
      } else if (BLOCK_SCALAR_HEADER.test(entry.rest)) {
        value = this.blockScalar(entry.rest, indent);
      } else {
        value = parseInline(entry.rest, line.no);
      }
      setKey(result, entry.key, value, line.no);
    }
  }

  private sequence(indent: number): unknown[] {
    const items: unknown[] = [];
    for (;;) {
      const line = this.peek();
      if (!line || line.indent < indent || this.atDocumentMarker(line)) return items;
      if (line.indent > indent) throw new YamlError('unexpected indentation', line.no);
      if (!this.isItem(line)) return items; // the mapping this sequence is the value of goes on
      const after = line.text.slice(indent + 1);
      const rest = stripComment(after).trim();
      if (rest === '') {
        this.i++;
        const next = this.peek();
        items.push(next && next.indent > indent && !this.atDocumentMarker(next) ? this.block(next.indent) : null);
      } else if (BLOCK_SCALAR_HEADER.test(rest)) {
        this.i++;
        items.push(this.blockScalar(rest, indent));
      } else {
        // The item's content is a node indented where it starts: `- a: 1` continues with `  b: 2`.
        const itemIndent = indent + 1 + (after.length - after.trimStart().length);
        this.lines[this.i] = { no: line.no, indent: itemIndent, text: `${line.text.slice(0, indent)} ${after}` };
        items.push(this.block(itemIndent));
      }
    }
  }

  /** The lines after a `|` or `>` header, all indented more than `parentIndent`. */
  private blockScalar(header: string, parentIndent: number): string {
    const folded = header[0] === '>';
    const chomp = /[-+]/.exec(header)?.[0];
    const indicator = /[1-9]/.exec(header)?.[0];
    const body: string[] = [];
    // With an indicator the content indentation is stated (content may then start with spaces); else the first line's.
    let contentIndent = indicator ? parentIndent + Number(indicator) : -1;
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.text.trim() === '') {
        body.push('');
        this.i++;
        continue;
      }
      if (line.indent <= parentIndent) break;
      if (contentIndent < 0) contentIndent = line.indent;
      if (line.indent < contentIndent) {
        throw new YamlError(
          indicator
            ? `this block scalar's lines must be indented at least ${contentIndent} spaces`
            : "a block scalar's lines must be indented at least as much as its first line",
          line.no,
        );
      }
      body.push(line.text.slice(contentIndent));
      this.i++;
    }
    let trailing = 0;
    while (body.length && body[body.length - 1] === '') {
      body.pop();
      trailing++;
    }
    const text = folded ? fold(body) : body.join('\n');
    if (chomp === '-') return text;
    if (chomp === '+') return body.length ? `${text}\n${'\n'.repeat(trailing)}` : '\n'.repeat(trailing);
    return body.length ? `${text}\n` : '';
  }
}

/** Folding: a break between two ordinary lines becomes a space; blank and more-indented lines keep theirs. */
function fold(lines: string[]): string {
  let out = '';
  let blanks = 0;
  let prev: 'none' | 'plain' | 'indented' = 'none';
  for (const line of lines) {
    if (line === '') {
      blanks++;
      continue;
    }
    const kind = /^[ \t]/.test(line) ? 'indented' : 'plain';
    if (prev === 'none') out += '\n'.repeat(blanks);
    else if (prev === 'plain' && kind === 'plain') out += blanks ? '\n'.repeat(blanks) : ' ';
    else out += '\n'.repeat(blanks + 1);
    out += line;
    prev = kind;
    blanks = 0;
  }
  return out;
}
