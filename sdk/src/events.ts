import type { HttpClient, RequestOptions } from './http.js';
import { ListPromise } from './pagination.js';
import type { Event, EventList, EventListParams } from './types.js';

function eventPath(id: string): string {
  // '', '.' and '..' would turn into another route (the list, or /v1/) once the URL is resolved.
  if (typeof id !== 'string' || id === '' || id === '.' || id === '..') {
    throw new TypeError(`An event id must be a non-empty string like 'evt_…', got ${JSON.stringify(id)}.`);
  }
  return `/v1/events/${encodeURIComponent(id)}`;
}

/** Parameters of `events.feed`. */
export interface EventFeedParams {
  /** Yield the events after this sequence: 0 for all of them, or the last one you processed. */
  sequenceAfter: number;
  /** One event type, or a prefix wildcard such as `customer.*`. */
  type?: string;
  /** One customer's events only. */
  objectId?: string;
  /**
   * `true` (the default): once caught up, poll again every `pollMs` until `signal` aborts.
   * `false`: stop once caught up.
   */
  follow?: boolean;
  /** How long to wait between polls once caught up, in ms. Default 1000. */
  pollMs?: number;
  /** Events per request, 1–100. Default 100. */
  limit?: number;
  /** Ends the iteration (without an error) when aborted, also in the middle of a poll. */
  signal?: AbortSignal;
}

const wait = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** `lunipay.events`: what happened to your customers, one event per change. */
export class Events {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  /**
   * Retrieves an event by id. Rejects with an `InvalidRequestError` whose `code` is
   * `resource_missing` (404) for an unknown event, or another account's or mode's.
   *
   * @example
   * const event = await lunipay.events.retrieve('evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY');
   */
  async retrieve(id: string, options?: RequestOptions): Promise<Event> {
    return this.#http.request<Event>({ method: 'GET', path: eventPath(id) }, options);
  }

  /**
   * Lists events, newest first, with the filters `type`, `created` and `object_id`: `await` it
   * for one page, or `for await` over it for all. To read in commit order, use `feed`.
   *
   * @example
   * for await (const event of lunipay.events.list({ object_id: 'cus_…' })) console.log(event.type);
   */
  list(params: EventListParams = {}, options?: RequestOptions): ListPromise<Event, EventListParams> {
    return new ListPromise<Event, EventListParams>(
      (pageParams) =>
        this.#http.request<EventList>({ method: 'GET', path: '/v1/events', query: pageParams }, options),
      { ...params },
    );
  }

  /**
   * The events after `sequenceAfter`, oldest first, in commit order without gaps. Store each
   * event's `sequence` once you have handled it, and start from it next time: nothing is missed,
   * whatever happened in between. Follows new events until `signal` aborts, unless `follow` is
   * false. An error the client's own retries could not get past is thrown; resume from the last
   * sequence you stored.
   *
   * @example
   * const stop = new AbortController();
   * for await (const event of lunipay.events.feed({ sequenceAfter: lastSeen, signal: stop.signal })) {
   *   await handle(event);
   *   lastSeen = event.sequence;
   * }
   */
  async *feed(params: EventFeedParams, options: RequestOptions = {}): AsyncGenerator<Event, void, undefined> {
    const { sequenceAfter, type, objectId, follow = true, pollMs = 1000, limit = 100, signal } = params;
    if (!Number.isSafeInteger(sequenceAfter) || sequenceAfter < 0) {
      throw new TypeError(`feed: sequenceAfter must be a whole number >= 0, got ${String(sequenceAfter)}.`);
    }
    if (!Number.isFinite(pollMs) || pollMs < 0) {
      throw new TypeError(`feed: pollMs must be a number >= 0, got ${String(pollMs)}.`);
    }
    const signals = [signal, options.signal].filter((s): s is AbortSignal => s !== undefined);
    const requestOptions: RequestOptions = {
      ...options,
      ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
    };
    let after = sequenceAfter;
    while (!signal?.aborted) {
      const query = {
        sequence_after: after,
        limit,
        ...(type === undefined ? {} : { type }),
        ...(objectId === undefined ? {} : { object_id: objectId }),
      };
      let page: EventList;
      try {
        page = await this.#http.request<EventList>(
          { method: 'GET', path: '/v1/events', query },
          requestOptions,
        );
      } catch (error) {
        // Stopping is not a failure: the loop ends as it would between polls.
        if (signal?.aborted) return;
        throw error;
      }
      for (const event of page.data) {
        yield event;
        after = event.sequence;
        if (signal?.aborted) return;
      }
      if (page.has_more) continue;
      if (!follow) return;
      await wait(pollMs, signal);
    }
  }
}
