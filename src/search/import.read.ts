import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { unguardCell } from './export.js';

// Reading an import file, row by row, in the export's two formats. The rows come out as the
// parameters of a create (what the API would have received), plus the `id` they name.

/** Fields a row may set: those of `POST /v1/customers`. */
export const WRITABLE = [
  'email',
  'first_name',
  'last_name',
  'phone',
  'company_name',
  'notes',
  'metadata',
] as const;
/** Fields an export holds that an import reads past: the customer's own, which it cannot set. */
const READ_ONLY = ['id', 'object', 'livemode', 'stripe_customer_id', 'created', 'updated'];
const KNOWN = new Set<string>([...WRITABLE, ...READ_ONLY]);

export type Format = 'csv' | 'ndjson';

/** A file that cannot be imported at all: the command's exit status 2, before anything is written. */
export class ImportFileError extends Error {}

export type Row =
  | { line: number; params: Record<string, unknown>; id?: string }
  | { line: number; error: { param: string | null; message: string } };

const unknownField = (name: string, where: string) =>
  new ImportFileError(
    `${where} names '${name}', which a customer does not have: an import takes ${WRITABLE.join(', ')} (and reads past ${READ_ONLY.join(', ')}).`,
  );

async function* csvRows(path: string): AsyncGenerator<Row> {
  const input = createReadStream(path);
  const parser = input.pipe(
    parse({ bom: true, info: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n', '\r'] }),
  );
  // A read error (the file went away) ends the parse with it rather than going unheard.
  input.on('error', (error) => parser.destroy(error));
  let header: string[] | undefined;
  // csv-parse's `info.lines` is the line a record ends on, but it counts a CRLF inside a quoted
  // cell as two lines. Those are taken off again, and the record's own line breaks too, so a
  // reported line is the one its row starts on.
  let overCounted = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      const breaks = record.reduce((n, cell) => n + (cell.match(/\r\n|\n|\r/g)?.length ?? 0), 0);
      overCounted += record.reduce((n, cell) => n + (cell.match(/\r\n/g)?.length ?? 0), 0);
      const line = info.lines - overCounted - breaks;
      if (header === undefined) {
        header = record;
        for (const name of header) if (!KNOWN.has(name)) throw unknownField(name, 'The header row');
        if (!header.includes('email')) throw new ImportFileError('The header row has no email column.');
        continue;
      }
      const params: Record<string, unknown> = {};
      let id: string | undefined;
      let error: { param: string; message: string } | undefined;
      header.forEach((name, i) => {
        const cell = unguardCell(record[i] ?? '');
        if (name === 'id' && cell !== '') id = cell;
        if (!(WRITABLE as readonly string[]).includes(name) || cell === '') return;
        if (name !== 'metadata') params[name] = cell;
        else {
          try {
            params.metadata = JSON.parse(cell);
          } catch {
            error = { param: 'metadata', message: 'Invalid metadata: the cell is not a JSON object.' };
          }
        }
      });
      yield error ? { line, error } : { line, params, id };
    }
  } catch (error) {
    if (error instanceof ImportFileError) throw error;
    throw new ImportFileError(`The file is not valid CSV: ${(error as Error).message}`);
  }
}

async function* ndjsonRows(path: string): AsyncGenerator<Row> {
  let line = 0;
  for await (const text of createInterface({
    input: createReadStream(path),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield { line, error: { param: null, message: 'The line is not valid JSON.' } };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      yield { line, error: { param: null, message: 'The line is not a JSON object.' } };
      continue;
    }
    const object = value as Record<string, unknown>;
    for (const name of Object.keys(object)) if (!KNOWN.has(name)) throw unknownField(name, `Line ${line}`);
    const params = Object.fromEntries(WRITABLE.filter((f) => f in object).map((f) => [f, object[f]]));
    yield { line, params, id: typeof object.id === 'string' ? object.id : undefined };
  }
}

export function readRows(path: string, format: Format): AsyncGenerator<Row> {
  return format === 'csv' ? csvRows(path) : ndjsonRows(path);
}

/** The format a file's name says, when `--format` does not. */
export function formatOf(path: string, given: string | undefined): Format {
  const format =
    given ?? (/\.csv$/i.test(path) ? 'csv' : /\.(ndjson|jsonl)$/i.test(path) ? 'ndjson' : undefined);
  if (format === 'csv' || format === 'ndjson') return format;
  throw new ImportFileError(
    given === undefined
      ? `Cannot tell the format of ${path} from its name: give --format csv or --format ndjson.`
      : `--format must be csv or ndjson, not '${given}'.`,
  );
}
