import assert from 'node:assert/strict';
import { test } from 'node:test';
import { channelSchema } from '../../config/schema.js';
import { PresenceWatch } from '../../pipeline/channel/presence.js';

const liveDriver = (change: Record<string, unknown>) => channelSchema.parse({ liveDriver: change }).liveDriver;

test('a person in the loop: seen on the camera or heard on the microphone within the window; required, nobody past the grace period is away until the person is back', () => {
  const watch = new PresenceWatch(liveDriver({ required: true, windowS: 2, graceS: 5 }));
  const tick = 1 / 30;
  const run = (fromS: number, toS: number, seen: 'camera' | 'microphone' | null, speaking = false) => {
    const changes: boolean[] = [];
    for (let t = fromS; t < toS - 1e-9; t += tick) if (watch.note(t, tick, seen, speaking)) changes.push(watch.away);
    return changes;
  };
  assert.deepEqual(run(0, 5, null, true), [], 'within the grace period from the start');
  assert.equal(watch.driving, false);
  assert.deepEqual(run(5, 6, null, true), [true], 'away once nobody drove for longer than 5 s');
  assert.deepEqual(run(6, 7, 'camera'), [false], 'back as soon as a face is seen');
  assert.equal(watch.status.via, 'camera');
  assert.deepEqual(run(7, 8.5, null), [], 'still driving within the 2 s window');
  assert.equal(watch.driving, true);
  assert.deepEqual(run(8.5, 12.5, null), [true], 'away again 5 s after the face was last seen');
  assert.deepEqual(run(12.5, 13, 'microphone'), [false], 'a voice counts too');
  const { seconds } = watch.status;
  assert.ok(Math.abs(seconds.script - 6) < 0.1, `script-only seconds ${seconds.script}`);
  assert.ok(Math.abs(seconds.person - 3.5) < 0.1, `person seconds ${seconds.person}`);
  // Not required any more: no longer away, at once.
  run(13, 19, null);
  assert.equal(watch.away, true);
  assert.equal(watch.configure(liveDriver({ required: false })), true);
  assert.equal(watch.away, false);
});
