import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';

const LOCAL = '#/components/schemas/';
const BASE = 'https://lunipay.invalid/schemas/';

type Doc = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components?: { schemas?: Record<string, object> };
};

/**
 * Checks responses against the server's own OpenAPI document: the path and method must be
 * documented, the status must be one the operation declares, and the body must match its schema.
 */
export class OpenApiChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly routes: { method: string; pattern: RegExp; path: string }[] = [];
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(private readonly doc: Doc) {
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
      this.ajv.addSchema({ ...this.absoluteRefs(schema), $id: `${BASE}${name}` });
    }
    for (const [path, ops] of Object.entries(doc.paths)) {
      const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const method of Object.keys(ops))
        this.routes.push({ method: method.toUpperCase(), pattern, path });
    }
  }

  /** Returns a description of what does not match, or null when the response is as documented. */
  check(method: string, url: string, status: number, body: unknown): string | null {
    const path = url.split('?')[0] ?? '';
    // A static path wins over a templated one, as in the router (`/v1/customers/search`).
    const route =
      this.routes.find((r) => r.method === method && r.path === path) ??
      this.routes.find((r) => r.method === method && r.pattern.test(path));
    if (!route) return null; // undocumented routes (405 catch-alls, unknown URLs) are checked by their own tests
    const op = this.doc.paths[route.path]?.[method.toLowerCase()];
    const response = op?.responses[String(status)];
    if (!response) return `${method} ${route.path} does not document status ${status}`;
    const schema = response.content?.['application/json']?.schema;
    // Streams of another type (the export's NDJSON and CSV) are parsed and checked by their tests.
    if (!schema && response.content && Object.keys(response.content).length > 0) return null;
    if (!schema) return `${method} ${route.path} ${status} has no JSON schema`;
    const key = `${method} ${route.path} ${status}`;
    let validate = this.cache.get(key);
    if (!validate) {
      validate = this.ajv.compile(this.absoluteRefs(schema));
      this.cache.set(key, validate);
    }
    if (validate(body)) return null;
    return `${key}: ${this.ajv.errorsText(validate.errors)}`;
  }

  /** Local `#/components/schemas/X` refs made absolute, so each schema compiles on its own. */
  private absoluteRefs(schema: object): object {
    return JSON.parse(JSON.stringify(schema), (k, v) =>
      k === '$ref' && typeof v === 'string' && v.startsWith(LOCAL) ? BASE + v.slice(LOCAL.length) : v,
    );
  }
}
