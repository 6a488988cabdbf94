import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedQueue } from '../../pipeline/queue.js';

test('drop-oldest keeps the newest items and counts what it dropped', () => {
  const dropped: number[] = [];
  const q = new BoundedQueue<number>(3, 'drop-oldest', (n) => dropped.push(n));
  for (let i = 1; i <= 5; i++) q.push(i);
  assert.equal(q.size, 3);
  assert.equal(q.dropped, 2);
  assert.deepEqual(dropped, [1, 2]);
  assert.deepEqual([q.shift(), q.shift(), q.shift(), q.shift()], [3, 4, 5, undefined]);
});

test('drop-newest refuses the offered item when full', () => {
  const q = new BoundedQueue<string>(2, 'drop-newest');
  assert.equal(q.push('a'), true);
  assert.equal(q.push('b'), true);
  assert.equal(q.push('c'), false);
  assert.equal(q.peek(), 'a');
  assert.equal(q.dropped, 1);
});

test('clear empties at once and the ring keeps working after wrap-around', () => {
  const q = new BoundedQueue<number>(4);
  for (let i = 0; i < 11; i++) q.push(i);
  assert.equal(q.clear(), 4);
  assert.equal(q.size, 0);
  q.push(42);
  assert.equal(q.shift(), 42);
});

test('capacity must be positive', () => {
  assert.throws(() => new BoundedQueue(0), TypeError);
});
