import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blendPose, clampPose, isRigParam, restPose, RIG_PARAM_NAMES } from '../../pipeline/avatar/rig.js';
import { blinkClosure, IdleAnimator } from '../../pipeline/avatar/idle.js';
import { pickMouthShape } from '../../pipeline/avatar/renderer.js';

test('the rig names the parameters the avatar needs', () => {
  for (const name of ['headYawDeg', 'headPitchDeg', 'headRollDeg', 'eyeOpenL', 'eyeOpenR', 'browRaise', 'mouthOpen', 'mouthForm', 'bodyLeanDeg', 'breath']) {
    assert.ok(isRigParam(name), name);
  }
  assert.equal(isRigParam('toString'), false);
});

test('clamp keeps values in range and replaces NaN with rest', () => {
  const pose = restPose();
  pose.headYawDeg = 500;
  pose.mouthOpen = -1;
  pose.eyeOpenL = Number.NaN;
  clampPose(pose);
  assert.equal(pose.headYawDeg, 30);
  assert.equal(pose.mouthOpen, 0);
  assert.equal(pose.eyeOpenL, 1);
});

test('blend layers a partial pose with a weight', () => {
  const pose = restPose();
  blendPose(pose, { headYawDeg: 20, mouthOpen: 1 }, 0.5);
  assert.equal(pose.headYawDeg, 10);
  assert.equal(pose.mouthOpen, 0.5);
  assert.equal(pose.eyeOpenR, 1);
});

test('a blink closes fully and reopens', () => {
  assert.equal(blinkClosure(-5), 0);
  assert.equal(blinkClosure(80), 1);
  assert.ok(blinkClosure(30) > 0 && blinkClosure(30) < 1);
  assert.equal(blinkClosure(400), 0);
});

test('idle motion blinks at irregular intervals, breathes and moves the head', () => {
  const idle = new IdleAnimator(7);
  const pose = restPose();
  const blinkStarts: number[] = [];
  let wasClosed = false;
  let minBreath = 1, maxBreath = 0, minYaw = 99, maxYaw = -99;
  for (let frame = 0; frame < 30 * 120; frame++) {
    const t = frame / 30;
    idle.poseAt(t, pose);
    for (const name of RIG_PARAM_NAMES) assert.ok(Number.isFinite(pose[name]), name);
    const closed = pose.eyeOpenL < 0.3;
    if (closed && !wasClosed) blinkStarts.push(t);
    wasClosed = closed;
    minBreath = Math.min(minBreath, pose.breath);
    maxBreath = Math.max(maxBreath, pose.breath);
    minYaw = Math.min(minYaw, pose.headYawDeg);
    maxYaw = Math.max(maxYaw, pose.headYawDeg);
  }
  // People blink 10-30 times a minute.
  assert.ok(blinkStarts.length >= 20 && blinkStarts.length <= 60, `blinks in 2 min: ${blinkStarts.length}`);
  const gaps = blinkStarts.slice(1).map((t, i) => t - (blinkStarts[i] as number));
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
  assert.ok(sd / mean > 0.3, `blink intervals should vary (cv ${(sd / mean).toFixed(2)})`);
  assert.ok(maxBreath - minBreath > 0.9, 'breathing spans its range');
  assert.ok(maxYaw - minYaw > 3 && maxYaw < 12 && minYaw > -12, `head drifts a few degrees (${minYaw.toFixed(1)}..${maxYaw.toFixed(1)})`);
});

test('two seeds give different motion; one seed repeats exactly', () => {
  const a = restPose(), b = restPose(), c = restPose();
  new IdleAnimator(1).poseAt(3.3, a);
  new IdleAnimator(2).poseAt(3.3, b);
  new IdleAnimator(1).poseAt(3.3, c);
  assert.notEqual(a.headYawDeg, b.headYawDeg);
  assert.deepEqual(a, c);
});

test('mouth shape choice follows openness first', () => {
  const shapes = [
    { shape: { src: 'closed', open: 0, form: 0.4, round: 0 } },
    { shape: { src: 'o', open: 0.55, form: -0.3, round: 0.9 } },
    { shape: { src: 'wide', open: 1, form: 0, round: 0.3 } },
  ];
  assert.equal(pickMouthShape(shapes, 0, 0.4, 0).shape.src, 'closed');
  assert.equal(pickMouthShape(shapes, 0.5, 0, 1).shape.src, 'o');
  assert.equal(pickMouthShape(shapes, 0.95, 0, 0).shape.src, 'wide');
});
