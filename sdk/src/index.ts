/**
 * @lunipay/sdk — typed client for the LuniPay Customers API.
 *
 * @example
 * import { LuniPay } from '@lunipay/sdk';
 *
 * const lunipay = new LuniPay('sk_test_…', { baseUrl: 'http://127.0.0.1:4242' });
 * for await (const customer of lunipay.customers.list({ limit: 100 })) console.log(customer.email);
 */
export { DEFAULT_BASE_URL, LuniPay, type LuniPayOptions } from './client.js';
export { Customers } from './customers.js';
export {
  APIError,
  AuthenticationError,
  ConnectionError,
  type ErrorCode,
  IdempotencyError,
  InvalidRequestError,
  LuniPayError,
  type LuniPayErrorInit,
  RateLimitError,
  TimeoutError,
} from './errors.js';
export { type EventFeedParams, Events } from './events.js';
export type { FetchLike, RequestOptions, ResponseLike } from './http.js';
export { type CursorParams, ListPromise } from './pagination.js';
export { PortalSessions } from './portal-sessions.js';
export { SearchPromise } from './search.js';
export type {
  Customer,
  CustomerCreateParams,
  CustomerExportParams,
  CustomerList,
  CustomerListParams,
  CustomerSearchParams,
  CustomerSearchResult,
  CustomerUpdateParams,
  DeletedCustomer,
  DeletedWebhookEndpoint,
  ErrorResponse,
  ErrorType,
  Event,
  EventList,
  EventListParams,
  ListPage,
  PortalSession,
  PortalSessionCreateParams,
  PortalSessionList,
  PortalSessionListParams,
  PortalSessionWithUrl,
  WebhookEndpoint,
  WebhookEndpointCreateParams,
  WebhookEndpointList,
  WebhookEndpointListParams,
  WebhookEndpointRollSecretParams,
  WebhookEndpointUpdateParams,
  WebhookEndpointWithSecret,
} from './types.js';
export { WebhookEndpoints } from './webhook-endpoints.js';
export {
  type TestHeadersParams,
  type VerifyOptions,
  type WebhookEvent,
  type WebhookHeaders,
  WebhookVerificationError,
  webhooks,
} from './webhooks.js';

import { LuniPay } from './client.js';
export default LuniPay;
