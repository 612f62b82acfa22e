/**
 * Wire types of the LuniPay Customers API.
 *
 * GENERATED: every shape here is an alias into src/generated/openapi.ts, which `npm run generate`
 * writes with `openapi-typescript` from the server's committed OpenAPI document (../openapi.json,
 * itself generated from the route schemas by the root's `npm run openapi`). So the SDK's types
 * follow the server's schemas and cannot drift: `npm test` fails when the generated file is older
 * than ../openapi.json (scripts/check-generated.mjs).
 *
 * Never edit src/generated/ by hand; change the server's route schemas, run `npm run openapi` in
 * the root, then `npm run generate` here. Only the aliases below are written by hand; they keep
 * the public names stable whatever openapi-typescript calls things, and nothing else in the SDK
 * imports the generated file directly.
 */
import type { components, operations } from './generated/openapi.js';

/** A customer object: `components['schemas']['Customer']`. */
export type Customer = components['schemas']['Customer'];

/** The answer to a delete: `components['schemas']['DeletedCustomer']`. */
export type DeletedCustomer = components['schemas']['DeletedCustomer'];

/** One page of customers: `components['schemas']['CustomerList']`. */
export type CustomerList = components['schemas']['CustomerList'];

/** An error response body: `components['schemas']['Error']`. */
export type ErrorResponse = components['schemas']['Error'];

/**
 * The error `type`s the API documents, each mapped to an error class. A type this SDK version
 * does not know yet (a newer API) still becomes an error class (see errorFromResponse).
 */
export type ErrorType = ErrorResponse['error']['type'];

/** Parameters of `customers.create`: `components['schemas']['CreateCustomerParams']`. */
export type CustomerCreateParams = components['schemas']['CreateCustomerParams'];

/**
 * Parameters of `customers.update`: `components['schemas']['UpdateCustomerParams']`, the body of
 * `updateCustomer` (PATCH, what the SDK sends).
 */
export type CustomerUpdateParams = components['schemas']['UpdateCustomerParams'];

/** Parameters of `customers.list`: the query of `listCustomers` (filters and cursors). */
export type CustomerListParams = NonNullable<operations['listCustomers']['parameters']['query']>;

/** A webhook endpoint as retrieve, list and update show it: `components['schemas']['WebhookEndpoint']`. */
export type WebhookEndpoint = components['schemas']['WebhookEndpoint'];

/** A webhook endpoint with its signing `secret`: what create and rollSecret answer, and only they. */
export type WebhookEndpointWithSecret = components['schemas']['WebhookEndpointWithSecret'];

/** The answer to deleting a webhook endpoint. */
export type DeletedWebhookEndpoint = components['schemas']['DeletedWebhookEndpoint'];

/** One page of webhook endpoints. */
export type WebhookEndpointList = components['schemas']['WebhookEndpointList'];

/** Parameters of `webhookEndpoints.create`. */
export type WebhookEndpointCreateParams = NonNullable<
  operations['createWebhookEndpoint']['requestBody']
>['content']['application/json'];

/** Parameters of `webhookEndpoints.update` (PATCH, what the SDK sends). */
export type WebhookEndpointUpdateParams = NonNullable<
  operations['updateWebhookEndpoint']['requestBody']
>['content']['application/json'];

/** Parameters of `webhookEndpoints.rollSecret`. */
export type WebhookEndpointRollSecretParams = NonNullable<
  operations['rollWebhookEndpointSecret']['requestBody']
>['content']['application/json'];

/** Parameters of `webhookEndpoints.list`: the cursors and `limit`. */
export type WebhookEndpointListParams = NonNullable<
  operations['listWebhookEndpoints']['parameters']['query']
>;

/** An event: one change to a customer, `components['schemas']['Event']`. */
export type Event = components['schemas']['Event'];

/** One page of events, of the list or of the feed. */
export type EventList = components['schemas']['EventList'];

/**
 * Parameters of `events.list`: the query of `listEvents` without `sequence_after`, which turns
 * the list into the feed and does not combine with the cursors (`events.feed` reads the feed).
 */
export type EventListParams = Omit<
  NonNullable<operations['listEvents']['parameters']['query']>,
  'sequence_after'
>;

/**
 * A page of any list endpoint (all lists share this shape). Generic and hand-written because the
 * document has one list schema per resource (`CustomerList`, whose `url` is a literal); a
 * `CustomerList` is a `ListPage<Customer>`, which the check below keeps true.
 */
export interface ListPage<T> {
  object: 'list';
  url: string;
  has_more: boolean;
  data: T[];
}

// Compile-time guard: if the generated CustomerList ever stops fitting ListPage<Customer> (a
// renamed field, say), the build fails here instead of the pagination silently misreading pages.
type Assert<T extends true> = T;
type _CustomerListIsAListPage = Assert<CustomerList extends ListPage<Customer> ? true : false>;
type _EventListIsAListPage = Assert<EventList extends ListPage<Event> ? true : false>;
type _WebhookEndpointListIsAListPage = Assert<
  WebhookEndpointList extends ListPage<WebhookEndpoint> ? true : false
>;

/** One page of a search: `components['schemas']['CustomerSearchResult']`. */
export type CustomerSearchResult = components['schemas']['CustomerSearchResult'];

/** Parameters of `customers.search`: `query`, `limit`, and the `page` the iterator fills in. */
export type CustomerSearchParams = NonNullable<operations['searchCustomers']['parameters']['query']> & {
  query: string;
};

/** Filters of `customers.export` (`email`, `created`); the SDK reads the NDJSON format. */
export type CustomerExportParams = Omit<
  NonNullable<operations['exportCustomers']['parameters']['query']>,
  'format'
>;
/** A portal session as retrieve, list and revoke show it: `components['schemas']['PortalSession']`. */
export type PortalSession = components['schemas']['PortalSession'];

/** A portal session with its `url`: what create answers, and only it. */
export type PortalSessionWithUrl = components['schemas']['PortalSessionWithUrl'];

/** One page of a customer's portal sessions: `components['schemas']['PortalSessionList']`. */
export type PortalSessionList = components['schemas']['PortalSessionList'];

/** Parameters of `portalSessions.create`: the body of `createPortalSession`. */
export type PortalSessionCreateParams = NonNullable<
  operations['createPortalSession']['requestBody']
>['content']['application/json'];

/** Parameters of `portalSessions.list`: the query of `listPortalSessions` (`customer` and cursors). */
export type PortalSessionListParams = operations['listPortalSessions']['parameters']['query'];
