import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, type SecretsConfig } from './config.js';

/**
 * Encryption at rest for the secrets the service must be able to read back (webhook signing
 * secrets): AES-256-GCM under one 32-byte key kept outside the database. A dump, a backup or a
 * copy of the database alone holds only ciphertext; a host where both the database and the key
 * are readable protects nothing, and is not meant to.
 *
 * A sealed value is `v1.<key id>.<iv>.<ciphertext and tag>` (base64url). The key id names the key
 * that sealed it, so a process started with another key says so instead of failing obscurely;
 * the context (e.g. the endpoint id) is bound in as associated data, so a sealed value copied to
 * another row or purpose does not open.
 */
export class SecretBox {
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('a secret key is 32 bytes');
    this.#key = Buffer.from(key);
    this.keyId = createHmac('sha256', this.#key).update('lunipay key id').digest('base64url').slice(0, 8);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `v1.${this.keyId}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
  }

  open(sealed: string, context: string): string {
    const [version, keyId, iv, body] = sealed.split('.');
    if (version !== 'v1' || iv === undefined || body === undefined) throw new Error('not a sealed value');
    if (keyId !== this.keyId) {
      throw new Error(
        `this value was sealed under key ${keyId}, but this process has key ${this.keyId}: ` +
          'every process must use the same LUNIPAY_SECRET_KEY (or key file)',
      );
    }
    const bytes = Buffer.from(body, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString(
      'utf8',
    );
  }

  /** A key of its own for one purpose (e.g. signing the portal's CSRF tokens), from this one. */
  derive(purpose: string): Buffer {
    return createHmac('sha256', this.#key).update(`lunipay derive ${purpose}`).digest();
  }

  /** Never printed by accident: a box in a log line or an error shows its key id only. */
  toJSON(): string {
    return `SecretBox(${this.keyId})`;
  }
}

/** A box with a random key of its own, for tests and tools whose sealed values live no longer than they do. */
export function ephemeralSecretBox(): SecretBox {
  return new SecretBox(randomBytes(32));
}

function decodeKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed) || key.length !== 32) {
    throw new ConfigError(`${where} must hold 32 bytes in base64 (44 characters).`);
  }
  return key;
}

/**
 * Creates the key file unless it exists, atomically: the key is written to a private temporary
 * file that is then linked into place, which fails if another process got there first. Either
 * way every process ends up reading the same complete file.
 */
function createKeyFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
}

/**
 * The key from `LUNIPAY_SECRET_KEY`, or else from the key file, created on first start with
 * mode 0600. A key file that others may read is refused rather than used.
 */
export function loadSecretBox(config: SecretsConfig): SecretBox {
  if (config.key !== undefined) return new SecretBox(decodeKey(config.key, 'LUNIPAY_SECRET_KEY'));
  const where = `The key file ${config.keyFile} (LUNIPAY_SECRET_KEY_FILE)`;
  let stats = statSync(config.keyFile, { throwIfNoEntry: false });
  if (stats === undefined) {
    createKeyFile(config.keyFile);
    stats = statSync(config.keyFile);
  }
  if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
    throw new ConfigError(
      `${where} may be read by other users (mode ${(stats.mode & 0o777).toString(8)}); make it chmod 600.`,
    );
  }
  return new SecretBox(decodeKey(readFileSync(config.keyFile, 'utf8'), where));
}
