import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The operators' bearer token: FENSHEN_TOKEN when set, else one made on first start and kept under
 * the data folder (mode 600). `created` tells the caller to print it once.
 */
export function resolveToken(dataDir: string, configured: string | undefined): { token: string; created: boolean } {
  if (configured) return { token: configured, created: false };
  const file = join(dataDir, 'operator-token');
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.length >= 16) return { token: stored, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, created: true };
}

/** Constant-time check of an `Authorization: Bearer <token>` header. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  return header?.startsWith('Bearer ') === true && tokenMatches(header.slice(7).trim(), token);
}

/** Constant-time token comparison (the signaling's operator join uses it too). */
export function tokenMatches(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
