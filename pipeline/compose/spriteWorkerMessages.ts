import type { Affine } from '../avatar/affine.js';
import type { I420SpriteParts } from './i420Sprite.js';

/** To the sprite worker: a layer's pixels (once), a layer no longer needed, a sprite to make from one. */
export type SpriteWorkerIn =
  | { readonly type: 'base'; readonly baseKey: string; readonly width: number; readonly height: number; readonly rgba: Uint8ClampedArray }
  | { readonly type: 'forget'; readonly baseKey: string }
  | { readonly type: 'convert'; readonly key: string; readonly baseKey: string; readonly width: number; readonly height: number; readonly transform: Affine };

/** From the sprite worker: a sprite made (with the milliseconds it took), or why it could not be. */
export type SpriteWorkerOut =
  | { readonly type: 'sprite'; readonly key: string; readonly parts: I420SpriteParts; readonly ms: number }
  | { readonly type: 'failed'; readonly key: string; readonly message: string };
