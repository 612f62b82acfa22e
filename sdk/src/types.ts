/**
 * Wire types of the LuniPay Customers API.
 *
 * HAND-WRITTEN FROM THE CONTRACT (spec/customers-api.md) UNTIL `openapi.json` EXISTS.
 *
 * This file is the only place the SDK describes the wire format, and it is laid out like the output
 * of `openapi-typescript`: a `components['schemas']` table, and the public names below are plain
 * aliases into it. To switch to generated types (`npm run generate` writes src/generated/openapi.ts):
 *
 *   1. delete the hand-written `components` / `operations` interfaces below (down to the marker),
 *   2. add  `import type { components, operations } from './generated/openapi.js';`
 *   3. fix up the aliases where the generated names differ (each alias says what it should become).
 *
 * Nothing else in the SDK imports anything but the aliases, so no other file changes.
 */

// ----- BEGIN hand-written mirror of the generated types (delete when src/generated/ exists) -----

/** Mirror of openapi-typescript's `components`: the shared schemas of the document. */
export interface components {
  schemas: {
    /** A customer represents a person or business you bill. */
    Customer: {
      /** Unique identifier, prefixed with `cus_`. */
      id: string;
      /** Always `"customer"`. */
      object: 'customer';
      /** True if created with a live-mode key. */
      livemode: boolean;
      /** Customer email. Used for receipts and portal magic links. */
      email: string;
      /** Given name; `""` when not given. */
      first_name: string;
      /** Family name; `""` when not given. */
      last_name: string;
      /** Phone number in any format you prefer to store. */
      phone: string | null;
      /** Business name shown on invoices. */
      company_name: string | null;
      /** Free-form internal notes. Never shown to the customer. */
      notes: string | null;
      /** Up to 20 key/value pairs for your bookkeeping; `null` when it holds no keys. */
      metadata: { [key: string]: string } | null;
      /** The Stripe Customer id provisioned for this record on your connected account. Managed by LuniPay. */
      stripe_customer_id: string | null;
      /** Creation timestamp (unix seconds). */
      created: number;
      /** Last-updated timestamp (unix seconds). */
      updated: number;
    };
    /** What `DELETE /v1/customers/{id}` returns. */
    DeletedCustomer: {
      id: string;
      object: 'customer';
      deleted: true;
    };
    /** One page of `GET /v1/customers`, newest first. */
    CustomerList: {
      object: 'list';
      url: string;
      has_more: boolean;
      data: components['schemas']['Customer'][];
    };
    /** The body of every error response. */
    Error: {
      error: {
        type:
          | 'invalid_request_error'
          | 'idempotency_error'
          | 'authentication_error'
          | 'rate_limit_error'
          | 'api_error';
        code: string;
        message: string;
        param?: string;
      };
    };
  };
}

/** Mirror of openapi-typescript's `operations`, for request parameters and bodies. */
export interface operations {
  createCustomer: {
    requestBody: {
      content: {
        'application/json': {
          email: string;
          first_name?: string;
          last_name?: string;
          phone?: string | null;
          company_name?: string | null;
          notes?: string | null;
          /** Keys whose value is `""` or `null` are dropped. */
          metadata?: { [key: string]: string | null } | null;
        };
      };
    };
  };
  updateCustomer: {
    requestBody: {
      content: {
        'application/json': {
          email?: string;
          first_name?: string;
          last_name?: string;
          /** `null` or `""` clears it. */
          phone?: string | null;
          company_name?: string | null;
          notes?: string | null;
          /** Merged key by key: `""`/`null` removes that key; `metadata: null` removes every key. */
          metadata?: { [key: string]: string | null } | null;
        };
      };
    };
  };
  listCustomers: {
    parameters: {
      query?: {
        /** Page size, 1–100 (default 10). */
        limit?: number;
        /** A customer id: the page of customers older than it. */
        starting_after?: string;
        /** A customer id: the `limit` customers just newer than it (still newest first). */
        ending_before?: string;
        /** Exact match, case-insensitive. */
        email?: string;
        /** Unix seconds: exact, or a range. Sent as `created[gt]=…` etc. */
        created?: number | { gt?: number; gte?: number; lt?: number; lte?: number };
      };
    };
  };
}

// ----- END hand-written mirror -----

/** A customer object. Generated: `components['schemas']['Customer']`. */
export type Customer = components['schemas']['Customer'];

/** The answer to a delete. Generated: `components['schemas']['DeletedCustomer']` (or the 200 body of `deleteCustomer`). */
export type DeletedCustomer = components['schemas']['DeletedCustomer'];

/** One page of customers. Generated: `components['schemas']['CustomerList']` (or the 200 body of `listCustomers`). */
export type CustomerList = components['schemas']['CustomerList'];

/** An error response body. Generated: `components['schemas']['Error']`. */
export type ErrorResponse = components['schemas']['Error'];

/** The error `type`s the API uses. */
export type ErrorType = ErrorResponse['error']['type'];

/** Parameters of `customers.create`. Generated: `operations['createCustomer']['requestBody']['content']['application/json']`. */
export type CustomerCreateParams = operations['createCustomer']['requestBody']['content']['application/json'];

/** Parameters of `customers.update`. Generated: `NonNullable<operations['updateCustomer']['requestBody']>['content']['application/json']`. */
export type CustomerUpdateParams = operations['updateCustomer']['requestBody']['content']['application/json'];

/** Parameters of `customers.list`. Generated: `NonNullable<operations['listCustomers']['parameters']['query']>`. */
export type CustomerListParams = NonNullable<operations['listCustomers']['parameters']['query']>;

/** A page of any list endpoint (all lists share this shape). */
export interface ListPage<T> {
  object: 'list';
  url: string;
  has_more: boolean;
  data: T[];
}
