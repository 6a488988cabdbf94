/**
 * The drive stage's thread: decodes the video source and runs face/body tracking here, so inference
 * (which onnxruntime-node runs synchronously on the calling thread) never delays the live loop's tick.
 * Messages in: start, calibrate, stop. Messages out: ready, result, error, calibrated.
 */
import { parentPort } from 'node:worker_threads';
import { FaceTracker, type TrackingOptions } from './faceTracker.js';
import { FfmpegVideoSource, type DriveInput } from './videoSource.js';
import type { DriveWorkerIn, DriveWorkerOut } from './driveMessages.js';
import type { RgbaFrame } from './faceLandmarks.js';

const port = parentPort;
if (!port) throw new Error('driveWorker runs as a worker thread');
const send = (message: DriveWorkerOut) => port.postMessage(message);

/** A paced source stops decoding with this many frames waiting to be tracked, and goes on below the second. */
const PACED_PAUSE_AT = 4;
const PACED_RESUME_AT = 2;

let source: FfmpegVideoSource | null = null;
let tracker: FaceTracker | null = null;
let busy = false;
let dropped = 0;

async function start(input: DriveInput, ffmpegPath: string, tracking: TrackingOptions): Promise<void> {
  try {
    source = new FfmpegVideoSource(input, { ffmpegPath });
    source.probe();
    tracker = await FaceTracker.create(tracking, (message) => send({ type: 'log', message }));
  } catch (err) {
    send({ type: 'failed', message: (err as Error).message });
    return;
  }
  const t = tracker;
  const s = source;
  source.on('error', (message: string) => send({ type: 'error', message }));
  const track = (frame: RgbaFrame, timeS: number) => {
    busy = true;
    const frameAt = performance.timeOrigin + performance.now();
    t.track(frame, timeS)
      .then((result) => send({ type: 'result', result, frameAt, dropped, timeS }))
      .catch((err: Error) => send({ type: 'error', message: `tracking failed: ${err.message}` }))
      .finally(() => {
        busy = false;
        const next = waiting.shift();
        if (waiting.length < PACED_RESUME_AT) s.resume();
        if (next) track(next.frame, next.timeS);
      });
  };
  // Live, a frame that comes while one is tracked is dropped (the newest matters); paced, each waits its turn.
  const paced = input.kind === 'file' && input.paced === true;
  const waiting: { frame: RgbaFrame; timeS: number }[] = [];
  source.on('frame', (frame, timeS) => {
    if (!busy) return track(frame, timeS);
    if (!paced) {
      dropped++;
      return;
    }
    waiting.push({ frame, timeS });
    if (waiting.length >= PACED_PAUSE_AT) s.pause();
  });
  source.start();
  send({ type: 'ready' });
}

port.on('message', (message: DriveWorkerIn) => {
  switch (message.type) {
    case 'start':
      void start(message.input, message.ffmpegPath, message.tracking);
      return;
    case 'calibrate':
      send({ type: 'calibrated', ok: tracker?.calibrate() ?? false });
      return;
    case 'stop':
      void (source?.close() ?? Promise.resolve()).then(() => {
        send({ type: 'stopped' });
        port.close();
      });
      return;
  }
});
