import { AppError } from '../errors.js';

// The search query language (Stripe's, over LuniPay's fields), parsed by hand: a lexer over
// the query's characters (code points, so a position counts what a person sees) and a
// recursive-descent parser over its tokens. Every error names the character position it is at,
// counting from 1.

export const STRING_FIELDS = ['email', 'first_name', 'last_name', 'name', 'phone', 'company_name'] as const;
export type StringField = (typeof STRING_FIELDS)[number];
export const MAX_CLAUSES = 10;
/** `~` needs a term this long: shorter ones would match almost everything and use no index. */
export const MIN_SUBSTRING = 3;

export type Field =
  | { kind: 'string'; name: StringField }
  | { kind: 'metadata'; key: string }
  | { kind: 'created' };

export type Clause =
  | { field: Field & { kind: 'string' | 'metadata' }; negated: boolean; op: ':' | '~'; value: string }
  | { field: Field & { kind: 'string' | 'metadata' }; negated: boolean; op: ':'; value: null }
  | { field: { kind: 'created' }; negated: boolean; op: ':' | '>' | '>=' | '<' | '<='; value: number };

export interface SearchQuery {
  /** How the clauses are joined; a single clause is an `and`. */
  join: 'and' | 'or';
  clauses: Clause[];
}

type Token =
  | { type: 'word'; text: string; at: number }
  | { type: 'string'; text: string; at: number }
  | { type: 'number'; text: string; at: number }
  | { type: 'op'; text: ':' | '~' | '>' | '>=' | '<' | '<='; at: number }
  | { type: 'punct'; text: '-' | '[' | ']'; at: number }
  | { type: 'space'; at: number }
  | { type: 'end'; at: number };

const fail = (message: string, at: number): AppError =>
  new AppError('parameter_invalid', `Invalid query: ${message} at position ${at + 1}.`, 'query');

const ESCAPES: Record<string, string> = { '"': '"', "'": "'", '\\': '\\' };

function lex(chars: readonly string[]): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const isSpace = (c: string | undefined) => c !== undefined && /\s/u.test(c);
  while (i < chars.length) {
    const c = chars[i] as string;
    const at = i;
    if (isSpace(c)) {
      while (isSpace(chars[i])) i++;
      tokens.push({ type: 'space', at });
    } else if (c === '"' || c === "'") {
      let text = '';
      i++;
      for (;;) {
        const d = chars[i];
        if (d === undefined) throw fail(`the quoted value starting here is never closed`, at);
        if (d === c) break;
        if (d === '\\') {
          const escaped = ESCAPES[chars[i + 1] ?? ''];
          if (escaped === undefined) throw fail('a backslash escapes only ", \' and \\', i);
          text += escaped;
          i += 2;
          continue;
        }
        if (d === '\u0000' || /\p{Cs}/u.test(d))
          throw fail('a value may not hold a NUL or an unpaired surrogate', i);
        text += d;
        i++;
      }
      i++;
      tokens.push({ type: 'string', text, at });
    } else if (/[A-Za-z_]/.test(c)) {
      let text = '';
      while (/[A-Za-z0-9_]/.test(chars[i] ?? '')) text += chars[i++];
      tokens.push({ type: 'word', text, at });
    } else if (/[0-9]/.test(c)) {
      let text = '';
      while (/[0-9]/.test(chars[i] ?? '')) text += chars[i++];
      tokens.push({ type: 'number', text, at });
    } else if (c === '>' || c === '<') {
      const withEquals = chars[i + 1] === '=';
      tokens.push({ type: 'op', text: withEquals ? `${c}=` : c, at } as Token);
      i += withEquals ? 2 : 1;
    } else if (c === ':' || c === '~') {
      tokens.push({ type: 'op', text: c, at });
      i++;
    } else if (c === '-' || c === '[' || c === ']') {
      tokens.push({ type: 'punct', text: c, at });
      i++;
    } else {
      throw fail(`unexpected character '${c}'`, at);
    }
  }
  tokens.push({ type: 'end', at: chars.length });
  return tokens;
}

const describe = (token: Token): string =>
  token.type === 'end' ? 'the end of the query' : token.type === 'space' ? 'a space' : `'${token.text}'`;

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }
  private next(): Token {
    return this.tokens[this.i++] as Token;
  }
  private skipSpace(): boolean {
    if (this.peek().type !== 'space') return false;
    this.i++;
    return true;
  }

  query(): SearchQuery {
    this.skipSpace();
    const clauses: Clause[] = [this.clause()];
    let join: 'and' | 'or' | undefined;
    for (;;) {
      const spaced = this.skipSpace();
      const token = this.peek();
      if (token.type === 'end') break;
      let connector: 'and' | 'or' = 'and';
      const word = token.type === 'word' ? token.text.toLowerCase() : undefined;
      if (spaced && (word === 'and' || word === 'or') && this.tokens[this.i + 1]?.type === 'space') {
        connector = word;
        this.i += 2;
        if (join !== undefined && join !== connector) {
          throw fail('a query joins its clauses with AND or with OR, never both', token.at);
        }
        join = connector;
      } else if (!spaced) {
        throw fail(`expected a space, AND or OR between clauses but found ${describe(token)}`, token.at);
      } else if (join === 'or') {
        throw fail('a query joins its clauses with AND or with OR, never both (a space means AND)', token.at);
      } else {
        join = 'and';
      }
      const start = this.peek();
      if (clauses.length === MAX_CLAUSES) throw fail(`a query has at most ${MAX_CLAUSES} clauses`, start.at);
      clauses.push(this.clause());
    }
    return { join: join ?? 'and', clauses };
  }

  private clause(): Clause {
    let token = this.next();
    let negated = false;
    if (token.type === 'punct' && token.text === '-') {
      negated = true;
      token = this.next();
    }
    if (token.type !== 'word') throw fail(`expected a field name but found ${describe(token)}`, token.at);
    const field = this.field(token);
    const op = this.next();
    if (op.type !== 'op')
      throw fail(`expected ':', '~', '>', '>=', '<' or '<=' but found ${describe(op)}`, op.at);
    const value = this.next();
    if (field.kind === 'created') {
      if (op.text === '~') throw fail('created is compared with :, >, >=, < or <=, not ~', op.at);
      if (value.type !== 'number') {
        throw fail(`created takes unix seconds, unquoted, but found ${describe(value)}`, value.at);
      }
      const seconds = Number(value.text);
      if (!Number.isSafeInteger(seconds)) throw fail('that number is too large', value.at);
      return { field, negated, op: op.text, value: seconds };
    }
    if (op.text !== ':' && op.text !== '~') {
      throw fail(`${op.text} compares created only; text fields take : or ~`, op.at);
    }
    if (value.type === 'word' && value.text === 'null') {
      if (op.text !== ':') throw fail('null is matched with :, as in phone:null', value.at);
      return { field, negated, op: ':', value: null };
    }
    if (value.type !== 'string') {
      throw fail(`expected a quoted value or null but found ${describe(value)}`, value.at);
    }
    if (op.text === '~' && Array.from(value.text).length < MIN_SUBSTRING) {
      throw fail(`a substring search (~) needs at least ${MIN_SUBSTRING} characters`, value.at);
    }
    return { field, negated, op: op.text, value: value.text };
  }

  private field(token: Token & { type: 'word' }): Field {
    if (token.text === 'created') return { kind: 'created' };
    if ((STRING_FIELDS as readonly string[]).includes(token.text)) {
      return { kind: 'string', name: token.text as StringField };
    }
    if (token.text !== 'metadata') {
      throw fail(
        `unknown field '${token.text}' (fields: ${STRING_FIELDS.join(', ')}, metadata["KEY"], created)`,
        token.at,
      );
    }
    const open = this.next();
    if (open.type !== 'punct' || open.text !== '[') throw fail(`expected '[' after metadata`, open.at);
    const key = this.next();
    if (key.type !== 'string') throw fail('expected a quoted metadata key', key.at);
    if (key.text === '') throw fail('a metadata key is not empty', key.at);
    const close = this.next();
    if (close.type !== 'punct' || close.text !== ']')
      throw fail(`expected ']' after the metadata key`, close.at);
    return { kind: 'metadata', key: key.text };
  }
}

/** The query, parsed; a 400 `parameter_invalid` for `query` naming the first problem and where it is. */
export function parseSearchQuery(query: string): SearchQuery {
  return new Parser(lex(Array.from(query))).query();
}
