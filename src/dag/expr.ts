// A small, safe expression language for decision nodes and edge conditions. Pure: no eval, no I/O.
//
//   expr    := or
//   or      := and ('||' and)*
//   and     := not ('&&' not)*
//   not     := '!' not | compare
//   compare := value (('==' | '!=' | '<' | '<=' | '>' | '>=' | 'in') value)?
//   value   := number | 'string' | "string" | true | false | null | path | '(' expr ')' | '[' (value (',' value)*)? ']'
//   path    := name ('.' name | '[' integer ']')*
//
// Paths read from a scope such as { result: <upstream result.json>, inputs: { <nodeId>: <result> } }.
// A missing path reads as null. Comparisons of different types are false (except == / != which compare strictly).

export type Value = null | boolean | number | string | Value[] | { [k: string]: Value };

type Node =
  | { kind: 'literal'; value: Value }
  | { kind: 'path'; parts: Array<string | number> }
  | { kind: 'list'; items: Node[] }
  | { kind: 'not'; operand: Node }
  | { kind: 'binary'; op: string; left: Node; right: Node };

export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
  }
}

interface Token {
  type: 'num' | 'str' | 'name' | 'op' | 'eof';
  text: string;
  value?: Value;
  pos: number;
}

const MAX_LENGTH = 2000;
const MAX_DEPTH = 32;
const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', '.', ','];

function tokenize(src: string): Token[] {
  if (src.length > MAX_LENGTH) throw new ExpressionError(`expression longer than ${MAX_LENGTH} characters`, MAX_LENGTH);
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(src[i + 1] ?? ''))) {
      i++;
      while (i < src.length && /[0-9.eE+-]/.test(src[i]!) && !(/[+-]/.test(src[i]!) && !/[eE]/.test(src[i - 1]!))) i++;
      const text = src.slice(start, i);
      const value = Number(text);
      if (!Number.isFinite(value)) throw new ExpressionError(`bad number "${text}"`, start);
      tokens.push({ type: 'num', text, value, pos: start });
    } else if (c === '"' || c === "'") {
      i++;
      let out = '';
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        out += src[i];
        i++;
      }
      if (src[i] !== c) throw new ExpressionError('unterminated string', start);
      i++;
      tokens.push({ type: 'str', text: src.slice(start, i), value: out, pos: start });
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_-]/.test(src[i]!)) i++;
      tokens.push({ type: 'name', text: src.slice(start, i), pos: start });
    } else {
      const op = OPERATORS.find((o) => src.startsWith(o, i));
      if (!op) throw new ExpressionError(`unexpected character "${c}"`, i);
      i += op.length;
      tokens.push({ type: 'op', text: op, pos: start });
    }
  }
  tokens.push({ type: 'eof', text: '', pos: src.length });
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i]!;
  }
  private take(): Token {
    return this.tokens[this.i++]!;
  }
  private accept(text: string): boolean {
    const t = this.peek();
    if ((t.type === 'op' || t.type === 'name') && t.text === text) {
      this.i++;
      return true;
    }
    return false;
  }
  private expect(text: string): void {
    if (!this.accept(text)) throw new ExpressionError(`expected "${text}"`, this.peek().pos);
  }

  parse(): Node {
    const node = this.or(0);
    if (this.peek().type !== 'eof') throw new ExpressionError(`unexpected "${this.peek().text}"`, this.peek().pos);
    return node;
  }

  private guard(depth: number): void {
    if (depth > MAX_DEPTH) throw new ExpressionError(`expression nested deeper than ${MAX_DEPTH}`, this.peek().pos);
  }

  private or(d: number): Node {
    this.guard(d);
    let left = this.and(d + 1);
    while (this.accept('||')) left = { kind: 'binary', op: '||', left, right: this.and(d + 1) };
    return left;
  }
  private and(d: number): Node {
    let left = this.not(d + 1);
    while (this.accept('&&')) left = { kind: 'binary', op: '&&', left, right: this.not(d + 1) };
    return left;
  }
  private not(d: number): Node {
    this.guard(d);
    if (this.accept('!')) return { kind: 'not', operand: this.not(d + 1) };
    return this.compare(d + 1);
  }
  private compare(d: number): Node {
    const left = this.value(d + 1);
    const t = this.peek();
    if (
      (t.type === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text)) ||
      (t.type === 'name' && t.text === 'in')
    ) {
      this.take();
      return { kind: 'binary', op: t.text, left, right: this.value(d + 1) };
    }
    return left;
  }
  private value(d: number): Node {
    this.guard(d);
    const t = this.take();
    if (t.type === 'num' || t.type === 'str') return { kind: 'literal', value: t.value! };
    if (t.type === 'op' && t.text === '(') {
      const inner = this.or(d + 1);
      this.expect(')');
      return inner;
    }
    if (t.type === 'op' && t.text === '[') {
      const items: Node[] = [];
      if (!this.accept(']')) {
        do items.push(this.value(d + 1));
        while (this.accept(','));
        this.expect(']');
      }
      return { kind: 'list', items };
    }
    if (t.type === 'name') {
      if (t.text === 'true') return { kind: 'literal', value: true };
      if (t.text === 'false') return { kind: 'literal', value: false };
      if (t.text === 'null') return { kind: 'literal', value: null };
      const parts: Array<string | number> = [t.text];
      for (;;) {
        if (this.accept('.')) {
          const name = this.take();
          if (name.type !== 'name') throw new ExpressionError('expected a field name after "."', name.pos);
          parts.push(name.text);
        } else if (this.accept('[')) {
          const idx = this.take();
          if (idx.type !== 'num' || !Number.isInteger(idx.value))
            throw new ExpressionError('expected an integer index', idx.pos);
          parts.push(idx.value as number);
          this.expect(']');
        } else break;
      }
      return { kind: 'path', parts };
    }
    throw new ExpressionError(t.type === 'eof' ? 'unexpected end of expression' : `unexpected "${t.text}"`, t.pos);
  }
}

/** Parses an expression; throws ExpressionError naming the position of the first problem. */
export function parseExpression(src: string): Node {
  return new Parser(tokenize(src)).parse();
}

/** The problem with an expression, or undefined when it parses. */
export function checkExpression(src: string): string | undefined {
  try {
    parseExpression(src);
    return undefined;
  } catch (err) {
    return err instanceof ExpressionError ? err.message : String(err);
  }
}

function read(scope: Value, parts: Array<string | number>): Value {
  let cur: Value = scope;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return null;
    // Own properties only: nothing reachable through prototypes.
    if (!Object.prototype.hasOwnProperty.call(cur, p)) return null;
    cur = (cur as Record<string | number, Value>)[p] ?? null;
  }
  return cur;
}

function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length && ka.every((k) => equal(a[k]!, (b as Record<string, Value>)[k] ?? null))
    );
  }
  return false;
}

function evaluateNode(node: Node, scope: Value): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'path':
      return read(scope, node.parts);
    case 'list':
      return node.items.map((n) => evaluateNode(n, scope));
    case 'not':
      return !truthy(evaluateNode(node.operand, scope));
    case 'binary': {
      if (node.op === '&&') return truthy(evaluateNode(node.left, scope)) && truthy(evaluateNode(node.right, scope));
      if (node.op === '||') return truthy(evaluateNode(node.left, scope)) || truthy(evaluateNode(node.right, scope));
      const l = evaluateNode(node.left, scope);
      const r = evaluateNode(node.right, scope);
      switch (node.op) {
        case '==':
          return equal(l, r);
        case '!=':
          return !equal(l, r);
        case 'in':
          return Array.isArray(r)
            ? r.some((x) => equal(x, l))
            : typeof r === 'string' && typeof l === 'string' && r.includes(l);
        default: {
          const comparable =
            (typeof l === 'number' && typeof r === 'number') || (typeof l === 'string' && typeof r === 'string');
          if (!comparable) return false;
          if (node.op === '<') return l < r;
          if (node.op === '<=') return l <= r;
          if (node.op === '>') return l > r;
          return l >= r;
        }
      }
    }
  }
}

export function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return v !== null && v !== false && v !== 0 && v !== '';
}

export function evaluate(src: string, scope: Record<string, unknown>): Value {
  return evaluateNode(parseExpression(src), scope as Value);
}
