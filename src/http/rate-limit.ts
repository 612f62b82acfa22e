import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';

export interface RateLimitOptions {
  /** Requests per second per API key; 0 turns limiting off. */
  perSecond: number;
  /** Shared counters, so several processes enforce one limit; in memory when absent. */
  redis?: Redis;
}

/**
 * Per-key limits on the authenticated routes. Registered after the auth hook, so the counter is
 * the key that was checked (its id, not the secret); every process sharing the Redis counts
 * into the same window. When Redis does not answer, requests are let through rather than
 * refused: a cache outage must not become an API outage.
 */
export async function registerRateLimit(api: FastifyInstance, options: RateLimitOptions): Promise<void> {
  if (options.perSecond === 0) return;
  await api.register(rateLimit, {
    max: options.perSecond,
    timeWindow: 1000,
    keyGenerator: (request) => request.auth?.keyId ?? request.ip,
    nameSpace: 'lunipay-rate:',
    skipOnError: true,
    ...(options.redis ? { redis: options.redis } : {}),
    // The standard headers only where they matter: on the 429 itself.
    addHeadersOnExceeding: {
      'x-ratelimit-limit': false,
      'x-ratelimit-remaining': false,
      'x-ratelimit-reset': false,
    },
    addHeaders: {
      'x-ratelimit-limit': true,
      'x-ratelimit-remaining': false,
      'x-ratelimit-reset': false,
      'retry-after': true,
    },
    errorResponseBuilder: (_request, context) => {
      const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
      return new AppError(
        'rate_limited',
        `Too many requests: this API key may make ${options.perSecond} per second. Retry after ${seconds} s.`,
        undefined,
        { 'Retry-After': String(seconds) },
      );
    },
  });
}
