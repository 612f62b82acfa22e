import type { HttpClient, RequestOptions } from './http.js';
import { ListPromise } from './pagination.js';
import { SearchPromise } from './search.js';
import type {
  Customer,
  CustomerCreateParams,
  CustomerExportParams,
  CustomerList,
  CustomerListParams,
  CustomerSearchParams,
  CustomerSearchResult,
  CustomerUpdateParams,
  DeletedCustomer,
} from './types.js';

function customerPath(id: string): string {
  // '', '.' and '..' would turn into another route (the list, or /v1/) once the URL is resolved.
  if (typeof id !== 'string' || id === '' || id === '.' || id === '..') {
    throw new TypeError(`A customer id must be a non-empty string like 'cus_…', got ${JSON.stringify(id)}.`);
  }
  return `/v1/customers/${encodeURIComponent(id)}`;
}

/** `lunipay.customers`: create, retrieve, update, list, search, export and delete customers. */
export class Customers {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  /**
   * Creates a customer. `email` is required; everything else is optional.
   * Sent with an `Idempotency-Key` (random unless `options.idempotencyKey` is given), so the
   * automatic retries never create two customers.
   *
   * @example
   * const customer = await lunipay.customers.create({
   *   email: 'ada@example.com',
   *   first_name: 'Ada',
   *   last_name: 'Lovelace',
   *   metadata: { internal_id: 'ACCT-42' },
   * });
   * console.log(customer.id); // 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY'
   */
  create(params: CustomerCreateParams, options?: RequestOptions): Promise<Customer> {
    return this.#http.request<Customer>({ method: 'POST', path: '/v1/customers', body: params }, options);
  }

  /**
   * Retrieves a customer by id. Rejects with an `InvalidRequestError` whose `code` is
   * `resource_missing` (status 404) if there is no such customer.
   *
   * @example
   * const customer = await lunipay.customers.retrieve('cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY');
   * console.log(customer.email);
   */
  async retrieve(id: string, options?: RequestOptions): Promise<Customer> {
    return this.#http.request<Customer>({ method: 'GET', path: customerPath(id) }, options);
  }

  /**
   * Updates the fields given and leaves the others alone; returns the whole updated customer.
   * `null` (or `""`) clears `phone`, `company_name` and `notes`. `metadata` is merged key by key:
   * a key set to `null` or `""` is removed, and `metadata: null` removes them all.
   *
   * @example
   * const customer = await lunipay.customers.update('cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY', {
   *   phone: '+18765551234',
   *   metadata: { plan: 'pro', internal_id: null }, // sets plan, removes internal_id
   * });
   */
  async update(id: string, params: CustomerUpdateParams, options?: RequestOptions): Promise<Customer> {
    return this.#http.request<Customer>({ method: 'PATCH', path: customerPath(id), body: params }, options);
  }

  /**
   * Lists customers, newest first. `await` it for one page, or iterate with `for await` to walk
   * every matching customer, the SDK fetching page after page (`limit` sets the page size).
   * Filters: `email` (exact, case-insensitive) and `created` (`N` or `{ gt, gte, lt, lte }`).
   *
   * @example
   * // one page
   * const page = await lunipay.customers.list({ limit: 10 });
   * console.log(page.data.length, page.has_more);
   *
   * // every customer with this email, 100 per request
   * for await (const customer of lunipay.customers.list({ email: 'ada@example.com', limit: 100 })) {
   *   console.log(customer.id);
   * }
   */
  list(params: CustomerListParams = {}, options?: RequestOptions): ListPromise<Customer, CustomerListParams> {
    return new ListPromise<Customer, CustomerListParams>(
      (pageParams) =>
        this.#http.request<CustomerList>(
          { method: 'GET', path: '/v1/customers', query: pageParams },
          options,
        ),
      { ...params },
    );
  }

  /**
   * Searches customers with Stripe's query language, newest first, and finds a write the moment
   * it has been answered. `await` it for one page, or iterate with `for await` over every match.
   * Substring (`~`, at least 3 characters) and exact (`:`) matches are case-insensitive.
   *
   * @example
   * const page = await lunipay.customers.search({ query: 'email~"lovelace" AND -phone:null' });
   * console.log(page.data.length, page.has_more);
   *
   * for await (const customer of lunipay.customers.search({ query: 'metadata["plan"]:"pro"', limit: 100 })) {
   *   console.log(customer.id);
   * }
   */
  search(params: CustomerSearchParams, options?: RequestOptions): SearchPromise<Customer> {
    return new SearchPromise<Customer>(
      (pageParams) =>
        this.#http.request<CustomerSearchResult>(
          { method: 'GET', path: '/v1/customers/search', query: pageParams },
          options,
        ),
      { ...params },
    );
  }

  /**
   * Every customer matching the filters (`email`, `created`), newest first, as one streamed
   * export: an async iterable that reads the server's NDJSON as you consume it, so memory stays
   * flat however many customers there are. For a Node stream: `Readable.from(customers.export())`.
   *
   * @example
   * for await (const customer of lunipay.customers.export({ created: { gte: 1700000000 } })) {
   *   console.log(customer.id, customer.email);
   * }
   */
  export(params: CustomerExportParams = {}, options?: RequestOptions): AsyncIterable<Customer> {
    const http = this.#http;
    return {
      async *[Symbol.asyncIterator]() {
        const body = await http.stream(
          { method: 'GET', path: '/v1/customers/export', query: { ...params, format: 'ndjson' } },
          options,
        );
        const decoder = new TextDecoder();
        let buffered = '';
        for await (const chunk of body) {
          buffered += decoder.decode(chunk, { stream: true });
          let newline = buffered.indexOf('\n');
          while (newline !== -1) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            if (line !== '') yield JSON.parse(line) as Customer;
            newline = buffered.indexOf('\n');
          }
        }
        buffered += decoder.decode();
        if (buffered.trim() !== '') yield JSON.parse(buffered) as Customer;
      },
    };
  }

  /**
   * Permanently deletes a customer (and its Stripe customer). Later requests for the id get a 404.
   *
   * @example
   * const deleted = await lunipay.customers.del('cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY');
   * console.log(deleted.deleted); // true
   */
  async del(id: string, options?: RequestOptions): Promise<DeletedCustomer> {
    return this.#http.request<DeletedCustomer>({ method: 'DELETE', path: customerPath(id) }, options);
  }
}
