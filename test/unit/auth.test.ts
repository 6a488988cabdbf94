import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthThrottle, bearerMatches, OperatorAuth, tokenMatches } from '../../server/auth.js';

test('token check: right and wrong tokens, any length, and bearer headers', () => {
  const token = 'e2e-token-0123456789';
  assert.equal(tokenMatches(token, token), true);
  for (const wrong of ['', 'e', 'e2e-token-012345678', 'e2e-token-01234567890', 'E2E-token-0123456789', `${token}\0`]) assert.equal(tokenMatches(wrong, token), false, JSON.stringify(wrong));
  assert.equal(bearerMatches(`Bearer ${token}`, token), true);
  assert.equal(bearerMatches(token, token), false);
  assert.equal(bearerMatches(undefined, token), false);
});

test('token check: how long a wrong guess takes does not depend on whether its length is the token\'s', () => {
  // A long token makes the work visible: comparing strings of equal length costs a pass over them, a
  // length check first skipped it, which told a guesser the token's length.
  const token = 'a'.repeat(1 << 20);
  const sameLength = 'b'.repeat(1 << 20);
  const longer = 'b'.repeat((1 << 20) + 1);
  let minSame = Number.POSITIVE_INFINITY, minLonger = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 60; i++) {
    let t = process.hrtime.bigint();
    tokenMatches(sameLength, token);
    minSame = Math.min(minSame, Number(process.hrtime.bigint() - t));
    t = process.hrtime.bigint();
    tokenMatches(longer, token);
    minLonger = Math.min(minLonger, Number(process.hrtime.bigint() - t));
  }
  const ratio = minSame / minLonger;
  assert.ok(ratio > 0.8 && ratio < 1.25, `same length ${(minSame / 1000).toFixed(0)} µs, one longer ${(minLonger / 1000).toFixed(0)} µs (ratio ${ratio.toFixed(2)})`);
});

test('auth throttle: five wrong tokens in a minute from one address lock it out for the rest of that minute, right token or not; others are untouched', () => {
  let now = 1000;
  const warnings: string[] = [];
  const token = 'the-right-token-123';
  const auth = new OperatorAuth(token, new AuthThrottle({ nowMs: () => now }), (message) => warnings.push(message));
  assert.deepEqual(auth.check(null, '10.0.0.1'), { ok: false, reason: 'missing', retryAfterS: 0 });
  for (let i = 1; i <= 4; i++) {
    assert.deepEqual(auth.check(`guess-${i}`, '10.0.0.1'), { ok: false, reason: 'wrong', retryAfterS: 0 });
    now += 1000;
  }
  assert.deepEqual(auth.check('guess-5', '10.0.0.1'), { ok: false, reason: 'throttled', retryAfterS: 56 });
  now += 10_000;
  assert.deepEqual(auth.check(token, '10.0.0.1'), { ok: false, reason: 'throttled', retryAfterS: 46 }, 'the right token is refused too: a refusal tells nothing');
  assert.deepEqual(auth.check(token, '10.0.0.2'), { ok: true }, 'another address is not held up');
  now += 46_000;
  assert.deepEqual(auth.check(token, '10.0.0.1'), { ok: true }, 'the window over, the address may try again');
  assert.equal(warnings.length, 5);
  assert.match(warnings[0] ?? '', /wrong operator token from 10\.0\.0\.1 \(1 of 5 allowed in 60 s\)/);
  assert.match(warnings[4] ?? '', /5 in 60 s; its requests are refused \(429\)/);
  for (const warning of warnings) assert.doesNotMatch(warning, /guess|right-token/, 'no token text in the log');
});

test('auth throttle: the addresses it tracks stay bounded and expire', () => {
  let now = 0;
  const throttle = new AuthThrottle({ nowMs: () => now });
  for (let i = 0; i < 12_000; i++) throttle.recordFailure(`10.1.${i >> 8}.${i & 255}`);
  assert.ok(throttle.trackedAddresses <= 10_000, `${throttle.trackedAddresses} tracked`);
  now += 60_000;
  assert.equal(throttle.retryAfterS('10.1.46.223'), 0);
  throttle.recordFailure('10.9.9.9');
  for (let i = 0; i < 10_000; i++) throttle.recordFailure(`10.2.${i >> 8}.${i & 255}`);
  assert.ok(throttle.trackedAddresses <= 10_000);
});
