import type { CustomerSearchParams, CustomerSearchResult } from './types.js';

/**
 * What `customers.search()` returns: `await` it for one page (`{ object: 'search_result', data,
 * has_more, next_page }`), or `for await` over it for every match, the SDK passing each page's
 * `next_page` as the next request's `page`. A page may hold fewer customers than `limit` (even
 * none) while `has_more` is true: the server bounds the work of each page; the iterator simply
 * goes on. Awaiting and iterating share the first request; breaking out of the loop stops it.
 */
export class SearchPromise<T extends CustomerSearchResult['data'][number]>
  implements PromiseLike<CustomerSearchResult>, AsyncIterable<T>
{
  readonly #fetchPage: (params: CustomerSearchParams) => Promise<CustomerSearchResult>;
  readonly #params: CustomerSearchParams;
  #first: Promise<CustomerSearchResult> | undefined;

  constructor(
    fetchPage: (params: CustomerSearchParams) => Promise<CustomerSearchResult>,
    params: CustomerSearchParams,
  ) {
    this.#fetchPage = fetchPage;
    this.#params = params;
  }

  #firstPage(): Promise<CustomerSearchResult> {
    this.#first ??= this.#fetchPage(this.#params);
    return this.#first;
  }

  // biome-ignore lint/suspicious/noThenProperty: this object is deliberately a thenable.
  then<R1 = CustomerSearchResult, R2 = never>(
    onfulfilled?: ((page: CustomerSearchResult) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#firstPage().then(onfulfilled, onrejected);
  }

  catch<R = never>(
    onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null,
  ): Promise<CustomerSearchResult | R> {
    return this.#firstPage().catch(onrejected);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let page = await this.#firstPage();
    for (;;) {
      for (const item of page.data) yield item as T;
      if (!page.has_more || page.next_page === null) return;
      page = await this.#fetchPage({ ...this.#params, page: page.next_page });
    }
  }

  get [Symbol.toStringTag](): string {
    return 'SearchPromise';
  }
}
