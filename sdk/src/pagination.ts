import type { ListPage } from './types.js';

/** Cursor parameters shared by every list endpoint. */
export interface CursorParams {
  limit?: number;
  starting_after?: string;
  ending_before?: string;
}

/**
 * What `list()` returns: `await` it for one page, or `for await` over it for every item.
 *
 * - `await list(params)` → one page, `{ object: 'list', data, has_more, url }`, exactly as the API
 *   sent it (newest first).
 * - `for await (const item of list(params))` → every item, page after page, fetching the next page
 *   only when needed. Going forwards (no `ending_before`), each next page starts after the last id
 *   of the previous one, newest to oldest. With `ending_before` the iteration walks backwards in
 *   time: each next page ends before the first id of the previous one, and items are yielded
 *   oldest to newest (like Stripe's SDKs), so the sequence is always in one direction.
 *
 * Awaiting and iterating share the first request: `const page = await list; for await (… of list)`
 * fetches page one only once. Breaking out of the loop stops fetching.
 */
export class ListPromise<T extends { id: string }, P extends CursorParams = CursorParams>
  implements PromiseLike<ListPage<T>>, AsyncIterable<T>
{
  readonly #fetchPage: (params: P) => Promise<ListPage<T>>;
  readonly #params: P;
  #first: Promise<ListPage<T>> | undefined;

  constructor(fetchPage: (params: P) => Promise<ListPage<T>>, params: P) {
    this.#fetchPage = fetchPage;
    this.#params = params;
  }

  /** Sends the first request, once; later calls share it. */
  #firstPage(): Promise<ListPage<T>> {
    this.#first ??= this.#fetchPage(this.#params);
    return this.#first;
  }

  // biome-ignore lint/suspicious/noThenProperty: this object is deliberately a thenable.
  then<R1 = ListPage<T>, R2 = never>(
    onfulfilled?: ((page: ListPage<T>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#firstPage().then(onfulfilled, onrejected);
  }

  /** Like `Promise.prototype.catch`, for the first page. */
  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<ListPage<T> | R> {
    return this.#firstPage().catch(onrejected);
  }

  /** Like `Promise.prototype.finally`, for the first page. */
  finally(onfinally?: (() => void) | null): Promise<ListPage<T>> {
    return this.#firstPage().finally(onfinally);
  }

  /** Iterates over every item of every page, following the cursors. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    const backwards = this.#params.ending_before !== undefined && this.#params.starting_after === undefined;
    let page = await this.#firstPage();
    for (;;) {
      const items = backwards ? [...page.data].reverse() : page.data;
      for (const item of items) yield item;
      if (!page.has_more || page.data.length === 0) return;
      const next: P = { ...this.#params };
      if (backwards) {
        next.ending_before = (page.data[0] as T).id;
      } else {
        delete next.ending_before;
        next.starting_after = (page.data[page.data.length - 1] as T).id;
      }
      page = await this.#fetchPage(next);
    }
  }

  /**
   * Collects items into an array, stopping after `max` of them (required, so that a forgotten
   * filter cannot load an entire account into memory).
   *
   * @example
   * const recent = await lunipay.customers.list({ limit: 100 }).toArray({ max: 500 });
   */
  async toArray({ max }: { max: number }): Promise<T[]> {
    const items: T[] = [];
    if (max <= 0) return items;
    for await (const item of this) {
      items.push(item);
      if (items.length >= max) break;
    }
    return items;
  }

  get [Symbol.toStringTag](): string {
    return 'ListPromise';
  }
}
