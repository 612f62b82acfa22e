import type { Db } from '../db/index.js';
import { NOTIFY_CHANNEL_KEYS } from '../db/index.js';
import type { AuthContext } from './keys.js';

const MAX_ENTRIES = 10_000;

/** The caches in this process reading each database, so a revoke here reaches them all. */
const cachesOf = new WeakMap<Db, Set<KeyCache>>();

/** Evicts a revoked key from every cache in this process that reads `db`. */
export function evictEverywhere(db: Db, keyId: string): void {
  for (const cache of cachesOf.get(db) ?? []) cache.evictKey(keyId);
}

/**
 * Known-good API keys by hash, so most requests authenticate without a query. A cached key is
 * trusted only while this process can tell that no key was revoked since:
 * - a revoke in this process evicts at once;
 * - SQLite: any commit by another process (the CLI revoking a key, say) changes
 *   `outsideChanges()`, and the whole cache is dropped before the next lookup;
 * - PostgreSQL: revokes NOTIFY every process; while the listening connection is down, the
 *   cache is bypassed, since notifications could be missed.
 * Unknown and revoked keys are never cached: they always ask the database.
 */
export class KeyCache {
  private readonly entries = new Map<string, AuthContext>();
  private live: boolean;
  private lastVersion: number | undefined;
  private readonly stopListening: (() => void) | undefined;

  constructor(private readonly db: Db) {
    cachesOf.set(db, (cachesOf.get(db) ?? new Set()).add(this));
    this.live = db.outsideChanges !== undefined;
    this.lastVersion = db.outsideChanges?.();
    this.stopListening = db.listen?.(
      NOTIFY_CHANNEL_KEYS,
      (keyId) => this.evictKey(keyId),
      (live) => {
        this.entries.clear();
        this.live = live;
      },
    );
  }

  get(hash: string): AuthContext | undefined {
    if (!this.live) return undefined;
    if (this.db.outsideChanges) {
      const version = this.db.outsideChanges();
      if (version !== this.lastVersion) {
        this.entries.clear();
        this.lastVersion = version;
      }
    }
    return this.entries.get(hash);
  }

  set(hash: string, auth: AuthContext): void {
    if (!this.live) return;
    if (this.entries.size >= MAX_ENTRIES) {
      // Oldest first: Map keeps insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hash, auth);
  }

  evictKey(keyId: string): void {
    for (const [hash, auth] of this.entries) if (auth.keyId === keyId) this.entries.delete(hash);
  }

  close(): void {
    cachesOf.get(this.db)?.delete(this);
    this.stopListening?.();
    this.entries.clear();
  }
}
