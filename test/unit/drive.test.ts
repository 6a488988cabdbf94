import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { createCanvas, loadImage, type Image } from '@napi-rs/canvas';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { readFileSync } from 'node:fs';
import { loadModel } from '../../models/onnxModels.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { MODEL_SOURCES, sourcePath } from '../../models/registry.js';
import { FaceDetector, roiFromDetection } from '../../pipeline/drive/faceDetector.js';
import { OneEuroFilter } from '../../pipeline/drive/oneEuro.js';
import { FaceTracker } from '../../pipeline/drive/faceTracker.js';
import { DEFAULT_NEUTRAL, faceToRig, measureFace, measureGaze } from '../../pipeline/drive/retarget.js';
import { EYE_CORNERS, IrisLandmarker } from '../../pipeline/drive/irisLandmarks.js';
import { armAngles, bodyRoiFromFace, POSE, PoseLandmarker, shoulderTiltDeg } from '../../pipeline/drive/poseLandmarks.js';
import { FaceLandmarker, headRollDeg, MESH, MESH_INPUT, roiFromLandmarks, type FaceRoi, type RgbaFrame } from '../../pipeline/drive/faceLandmarks.js';
import { cropInto } from '../../pipeline/drive/regionModel.js';

// The collage shipped in @vladmandic/human: its top row holds small portraits.
const SAMPLES = join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'human', 'assets', 'samples.jpg');
const FACES: { name: string; roi: FaceRoi }[] = [
  { name: 'woman, three-quarter view', roi: { cx: 236, cy: 42, size: 90, angle: 0 } },
  { name: 'man, frontal', roi: { cx: 452, cy: 38, size: 85, angle: 0 } },
];

/** The photo as a frame: turned by `rotateDeg` about a point, or mirrored left-right. */
function frameOf(image: Image, rotateDeg = 0, about: { x: number; y: number } = { x: 0, y: 0 }, mirrored = false): RgbaFrame {
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  if (mirrored) ctx.setTransform(-1, 0, 0, 1, image.width, 0);
  ctx.translate(about.x, about.y);
  ctx.rotate((rotateDeg * Math.PI) / 180);
  ctx.translate(-about.x, -about.y);
  ctx.drawImage(image, 0, 0);
  return { width: image.width, height: image.height, data: ctx.getImageData(0, 0, image.width, image.height).data };
}

const point = (p: Float32Array, i: number) => ({ x: p[i * 3] as number, y: p[i * 3 + 1] as number });

test('face mesh finds the faces in the sample photos: eyes, nose and mouth where they belong, as tfjs finds them', async () => {
  const image = await loadImage(readFileSync(SAMPLES));
  const frame = frameOf(image);
  const landmarker = new FaceLandmarker(await loadModel('facemesh'));
  const source = MODEL_SOURCES.find((s) => s.id === 'facemesh');
  assert.ok(source);
  const json = JSON.parse(readFileSync(sourcePath(source), 'utf8'));
  const weights = Buffer.concat(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => readFileSync(join(dirname(sourcePath(source)), p)))));
  await tf.setBackend('cpu');
  const reference = await loadGraphModel({ load: async () => ({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights), weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length) }) } as never);
  for (const { name, roi } of FACES) {
    const found = await landmarker.detect(frame, roi);
    assert.ok(found.score > 0.9, `${name}: face score ${found.score}`);
    const [eyeA, eyeB, nose, lip] = [MESH.rightEyeOuter, MESH.leftEyeOuter, MESH.noseTip, MESH.upperLip].map((i) => point(found.points, i)) as [ReturnType<typeof point>, ReturnType<typeof point>, ReturnType<typeof point>, ReturnType<typeof point>];
    assert.ok(eyeA.x < nose.x && nose.x < eyeB.x, `${name}: the nose lies between the eyes`);
    assert.ok(Math.max(eyeA.y, eyeB.y) < nose.y && nose.y < lip.y, `${name}: eyes above the nose above the mouth`);
    assert.ok(Math.abs(nose.x - roi.cx) < roi.size / 3 && Math.abs(nose.y - roi.cy) < roi.size / 3, `${name}: the face is where it is`);
    // The same crop through the tfjs original: landmarks agree to a fraction of a pixel.
    const input = new Float32Array(MESH_INPUT * MESH_INPUT * 3);
    cropInto(frame, roi, input, MESH_INPUT);
    const mesh = tf.tidy(() => (reference.execute(tf.tensor4d(input, [1, MESH_INPUT, MESH_INPUT, 3]), 'Identity_2') as tf.Tensor).dataSync().slice());
    let worst = 0;
    const k = roi.size / MESH_INPUT;
    for (let i = 0; i < 468; i++) {
      const x = roi.cx + ((mesh[i * 3] as number) - MESH_INPUT / 2) * k;
      const y = roi.cy + ((mesh[i * 3 + 1] as number) - MESH_INPUT / 2) * k;
      worst = Math.max(worst, Math.hypot(x - (found.points[i * 3] as number), y - (found.points[i * 3 + 1] as number)));
    }
    assert.ok(worst < 0.05, `${name}: ONNX vs tfjs landmarks differ by ${worst.toFixed(4)} px`);
  }
  reference.dispose();
});

test('head roll follows a rotated photo within 3°', async () => {
  const image = await loadImage(readFileSync(SAMPLES));
  const landmarker = new FaceLandmarker(await loadModel('facemesh'));
  const { roi } = FACES[1] as (typeof FACES)[number];
  const base = headRollDeg((await landmarker.detect(frameOf(image), roi)).points);
  for (const turn of [-25, -15, -8, 8, 15, 25]) {
    const rotated = frameOf(image, turn, { x: roi.cx, y: roi.cy });
    // As the tracker does: the region follows the last landmarks (position, size and roll).
    let region = roi;
    let roll = 0;
    for (let step = 0; step < 3; step++) {
      const found = await landmarker.detect(rotated, region);
      roll = headRollDeg(found.points);
      region = roiFromLandmarks(found.points);
    }
    assert.ok(Math.abs(roll - base - turn) < 3, `turned ${turn}°: roll ${(roll - base).toFixed(1)}°`);
  }
});

test('bad frames: no pixels is an error, a region without a face scores low', async () => {
  const image = await loadImage(readFileSync(SAMPLES));
  const landmarker = new FaceLandmarker(await loadModel('facemesh'));
  await assert.rejects(landmarker.detect({ width: 0, height: 0, data: new Uint8Array(0) }, { cx: 0, cy: 0, size: 10, angle: 0 }), /has no pixels/);
  // The plain wall beside the woman's face.
  const wall = await landmarker.detect(frameOf(image), { cx: 330, cy: 50, size: 60, angle: 0 });
  assert.ok(wall.score < 0.5, `no face there (score ${wall.score})`);
  const outside = await landmarker.detect(frameOf(image), { cx: -500, cy: -500, size: 100, angle: 0 });
  assert.ok(outside.score < 0.5, 'a region off the frame is black and faceless');
  // An 8K frame: the whole tracker (detector on the downscaled frame, then the mesh on its region) finds
  // the portrait drawn large in it.
  const canvas = createCanvas(7680, 4320);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 372, 0, 160, 160, 2000, 500, 2400, 2400);
  const huge = { width: 7680, height: 4320, data: ctx.getImageData(0, 0, 7680, 4320).data };
  const tracker = await FaceTracker.create();
  let result = await tracker.track(huge, 0);
  for (let i = 1; i < 3 && !result.found; i++) result = await tracker.track(huge, i / 30);
  assert.ok(result.found && result.rig, 'the face in the 8K frame is tracked');
  const blank = await (await FaceTracker.create()).track({ width: 7680, height: 4320, data: new Uint8Array(7680 * 4320 * 4) }, 0);
  assert.equal(blank.found, false);
});

test('the detector finds the faces when nothing is tracked, and its regions feed the face mesh', async () => {
  const image = await loadImage(readFileSync(SAMPLES));
  // The top row of the collage (the portraits), as a 560x170 frame.
  const canvas = createCanvas(560, 170);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, -150, 0);
  const frame: RgbaFrame = { width: 560, height: 170, data: ctx.getImageData(0, 0, 560, 170).data };
  const detector = new FaceDetector(await loadModel('blazeface'));
  const faces = await detector.detect(frame);
  const expected = FACES.map((f) => ({ x: f.roi.cx - 150, y: f.roi.cy }));
  for (const want of expected) {
    const hit = faces.find((f) => Math.hypot(f.x + f.width / 2 - want.x, f.y + f.height / 2 - want.y) < 20);
    assert.ok(hit, `a face near ${want.x},${want.y}; found ${faces.map((f) => `${(f.x + f.width / 2).toFixed(0)},${(f.y + f.height / 2).toFixed(0)}`).join(' ')}`);
    const landmarker = new FaceLandmarker(await loadModel('facemesh'));
    const mesh = await landmarker.detect(frame, roiFromDetection(hit));
    assert.ok(mesh.score > 0.9, `mesh on the detected region (score ${mesh.score})`);
  }
  const blank: RgbaFrame = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 4).fill(128) };
  assert.deepEqual(await detector.detect(blank), [], 'a grey frame has no face');
  await assert.rejects(detector.detect({ width: 0, height: 0, data: new Uint8Array(0) }), /has no pixels/);
});

test('retargeting: a real face at its own neutral is at rest; lids, lips, corners and nose moves drive the rig; size does not matter', async () => {
  const image = await loadImage(readFileSync(SAMPLES));
  const landmarker = new FaceLandmarker(await loadModel('facemesh'));
  const { points } = await landmarker.detect(frameOf(image), (FACES[1] as (typeof FACES)[number]).roi);
  const neutral = measureFace(points);
  const rest = faceToRig(neutral, neutral);
  for (const [key, value] of Object.entries(rest)) assert.ok(Math.abs(value - (key.startsWith('eyeOpen') ? 1 : 0)) < 1e-9, `${key} at rest: ${value}`);
  const edited = (edit: (p: Float32Array) => void) => {
    const copy = Float32Array.from(points);
    edit(copy);
    return faceToRig(measureFace(copy), neutral);
  };
  const move = (p: Float32Array, i: number, dx: number, dy: number) => {
    p[i * 3] = (p[i * 3] as number) + dx;
    p[i * 3 + 1] = (p[i * 3 + 1] as number) + dy;
  };
  const mouthWidth = Math.hypot((points[291 * 3] as number) - (points[61 * 3] as number), (points[291 * 3 + 1] as number) - (points[61 * 3 + 1] as number));
  const eyeDistance = Math.hypot((points[263 * 3] as number) - (points[33 * 3] as number), (points[263 * 3 + 1] as number) - (points[33 * 3 + 1] as number));
  const shut = edited((p) => {
    p[159 * 3 + 1] = p[145 * 3 + 1] as number;
    p[159 * 3] = p[145 * 3] as number;
  });
  assert.ok(shut.eyeOpenR < 0.05 && shut.eyeOpenL === 1, `right lid down: eyes R ${shut.eyeOpenR} L ${shut.eyeOpenL}`);
  assert.ok(edited((p) => move(p, 14, 0, mouthWidth * 0.4)).mouthOpen > 0.7, 'lower lip down opens the mouth');
  const smile = edited((p) => {
    move(p, 61, 0, -mouthWidth * 0.08);
    move(p, 291, 0, -mouthWidth * 0.08);
  });
  assert.ok(smile.mouthForm > 0.6, `corners up smile (${smile.mouthForm})`);
  const turned = edited((p) => move(p, 1, eyeDistance * 0.1, 0));
  assert.ok(Math.abs(turned.headYawDeg + 12) < 1, `nose across turns the head (${turned.headYawDeg})`);
  const bigger = faceToRig(measureFace(points.map((v) => v * 2)), neutral);
  for (const [key, value] of Object.entries(bigger)) assert.ok(Math.abs(value - (rest as Record<string, number>)[key]!) < 1e-6, `${key} does not depend on face size`);
});

test('One-Euro smoothing: steady input stops jittering, a real move is followed quickly', () => {
  const filter = new OneEuroFilter(1.2, 0.05);
  let seed = 5;
  const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2;
  let rawVar = 0, outVar = 0;
  for (let i = 0; i < 300; i++) {
    const raw = 10 + noise();
    const out = filter.filter(raw, i / 30);
    if (i > 30) {
      rawVar += (raw - 10) ** 2;
      outVar += (out - 10) ** 2;
    }
  }
  assert.ok(outVar < rawVar / 4, `jitter reduced (${(outVar / rawVar).toFixed(3)} of the raw variance)`);
  let out = 0;
  for (let i = 300; i < 315; i++) out = filter.filter(30, i / 30);
  assert.ok(out > 28, `a 20-unit step is followed within half a second (${out.toFixed(1)})`);
});

test('body pose from the face region: shoulders where they are, their tilt follows a turned photo', async () => {
  const image = await loadImage(readFileSync(SAMPLES));
  const landmarker = new FaceLandmarker(await loadModel('facemesh'));
  const poser = new PoseLandmarker(await loadModel('blazepose-lite'));
  const { roi } = FACES[1] as (typeof FACES)[number];
  const at = async (turn: number) => {
    const frame = frameOf(image, turn, { x: roi.cx, y: roi.cy + 40 });
    let region = roi;
    for (let step = 0; step < 3; step++) region = roiFromLandmarks((await landmarker.detect(frame, region)).points);
    const face = await landmarker.detect(frame, region);
    return { face, pose: await poser.detect(frame, bodyRoiFromFace(region)) };
  };
  const { face, pose } = await at(0);
  assert.ok(pose.score > 0.9, `a person (score ${pose.score})`);
  const left = pose.points[POSE.leftShoulder], right = pose.points[POSE.rightShoulder];
  assert.ok(left && right && left.visibility > 0.8 && right.visibility > 0.8, 'both shoulders visible');
  const chin = point(face.points, 152);
  assert.ok(right.x < chin.x && chin.x < left.x, 'the shoulders are either side of the chin (the left one on the picture\'s right)');
  assert.ok(left.y > chin.y - 10 && right.y > chin.y - 10, 'and below it');
  const base = shoulderTiltDeg(pose);
  assert.ok(base !== null);
  for (const turn of [-12, 12]) {
    const tilt = shoulderTiltDeg((await at(turn)).pose);
    assert.ok(tilt !== null && Math.abs(tilt - base - turn) < 4, `turned ${turn}°: shoulders ${tilt === null ? 'lost' : (tilt - base).toFixed(1)}°`);
  }
});

test('iris: centres land inside the eyes, and a mirrored picture mirrors the measured gaze', async () => {
  // Five portraits ~150 px tall (eyes ~25 px wide), from the human package's face-detection screenshot.
  const image = await loadImage(readFileSync(join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'human', 'assets', 'screenshot-facedetect.jpg')));
  const landmarker = new FaceLandmarker(await loadModel('facemesh'));
  const iris = new IrisLandmarker(await loadModel('iris'));
  const gazeOf = async (mirrored: boolean, x: number) => {
    const frame = frameOf(image, 0, undefined, mirrored);
    let region: FaceRoi = { cx: mirrored ? image.width - x : x, cy: 415, size: 140, angle: 0 };
    region = roiFromLandmarks((await landmarker.detect(frame, region)).points);
    const mesh = await landmarker.detect(frame, region);
    assert.ok(mesh.score > 0.9);
    const centres = await iris.detect(frame, mesh.points);
    for (const side of ['R', 'L'] as const) {
      const a = point(mesh.points, EYE_CORNERS[side].outer), b = point(mesh.points, EYE_CORNERS[side].inner);
      const c = centres[side];
      assert.ok(c.x > Math.min(a.x, b.x) && c.x < Math.max(a.x, b.x) && Math.abs(c.y - (a.y + b.y) / 2) < Math.abs(b.x - a.x) / 3, `${x} ${side}: iris between the corners`);
    }
    return measureGaze(mesh.points, centres);
  };
  for (const x of [80, 240, 395, 555, 715]) {
    const [plain, mirrored] = [await gazeOf(false, x), await gazeOf(true, x)];
    assert.ok(Math.abs(plain.across + mirrored.across) < 0.05, `${x}: gaze across ${plain.across.toFixed(3)} mirrors to ${mirrored.across.toFixed(3)}`);
    assert.ok(Math.abs(plain.down - mirrored.down) < 0.05, `${x}: gaze down ${plain.down.toFixed(3)} stays ${mirrored.down.toFixed(3)}`);
  }
  // Gaze drives the rig only with open eyes, mirrored like the head.
  const open = { ...DEFAULT_NEUTRAL, gaze: { across: 0.075, down: 0.04 } };
  assert.deepEqual([faceToRig(open).gazeX, faceToRig(open).gazeY].map((v) => Math.round((v ?? 9) * 10) / 10), [-0.5, 0.5]);
  assert.equal(faceToRig({ ...open, eyeOpenL: 0.05, eyeOpenR: 0.05 }).gazeX, undefined);
});

test('arms: two-bone angles from BlazePose, the same in a mirror, and a hidden arm is left to the rig', async () => {
  const image = await loadImage(readFileSync(SAMPLES));
  const poser = new PoseLandmarker(await loadModel('blazepose-lite'));
  const at = async (mirrored: boolean, cx: number) => {
    const frame = frameOf(image, 0, undefined, mirrored);
    return armAngles(await poser.detect(frame, { cx: mirrored ? image.width - cx : cx, cy: 80, size: 170, angle: 0 }));
  };
  // The collage's first picture: a figure in an A-pose, both arms ~35° out from the body, nearly straight.
  const plain = await at(false, 80);
  const mirrored = await at(true, 80);
  for (const [name, arm] of [['left', plain.left], ['right', plain.right]] as const) {
    assert.ok(arm && arm.upperDeg > 25 && arm.upperDeg < 50, `${name} upper arm ${arm?.upperDeg.toFixed(1)}° out`);
    assert.ok(arm.forearmDeg !== null && Math.abs(arm.forearmDeg) < 25, `${name} forearm nearly straight (${arm.forearmDeg?.toFixed(1)}°)`);
  }
  // Mirrored, the person's left arm is seen as their right one, at the same outward angle.
  assert.ok(mirrored.right && plain.left && Math.abs(mirrored.right.upperDeg - plain.left.upperDeg) < 6);
  assert.ok(mirrored.left && plain.right && Math.abs(mirrored.left.upperDeg - plain.right.upperDeg) < 6);
  // The man at the dinner table: his left arm is behind the table and the plate.
  const seated = await at(false, 420);
  assert.equal(seated.left, null);
  assert.ok(seated.right && Math.abs(seated.right.upperDeg) < 20, 'his right arm hangs down by his side');
});
