/**
 * The sprite worker (a thread): draws a layer at a new rotation and converts it to an I420 sprite, the
 * ~20-100 ms of Skia and conversion a big layer costs, so the channel's tick never waits for it.
 */
import { createCanvas, type Canvas } from '@napi-rs/canvas';
import { parentPort } from 'node:worker_threads';
import { I420Sprite } from './i420Sprite.js';
import type { SpriteWorkerIn, SpriteWorkerOut } from './spriteWorkerMessages.js';

const port = parentPort;
if (!port) throw new Error('spriteWorker runs as a worker thread');
const bases = new Map<string, Canvas>();
const send = (message: SpriteWorkerOut, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on('message', (message: SpriteWorkerIn) => {
  switch (message.type) {
    case 'base': {
      const canvas = createCanvas(message.width, message.height);
      const ctx = canvas.getContext('2d');
      const image = ctx.createImageData(message.width, message.height);
      image.data.set(message.rgba);
      ctx.putImageData(image, 0, 0);
      bases.set(message.baseKey, canvas);
      return;
    }
    case 'forget':
      bases.delete(message.baseKey);
      return;
    case 'convert': {
      const t0 = performance.now();
      const base = bases.get(message.baseKey);
      if (!base) {
        send({ type: 'failed', key: message.key, message: `layer ${message.baseKey} was not sent` });
        return;
      }
      try {
        const canvas = createCanvas(message.width, message.height);
        const ctx = canvas.getContext('2d');
        ctx.setTransform(...message.transform);
        ctx.drawImage(base, 0, 0);
        const rgba = ctx.getImageData(0, 0, message.width, message.height).data;
        const { parts, transferables } = I420Sprite.fromRgba(rgba, message.width, message.height).toParts();
        send({ type: 'sprite', key: message.key, parts, ms: performance.now() - t0 }, transferables);
      } catch (err) {
        send({ type: 'failed', key: message.key, message: err instanceof Error ? err.message : String(err) });
      }
    }
  }
});
