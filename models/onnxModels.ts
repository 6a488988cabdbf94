import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { sha256, type ModelManifest, type ModelManifestEntry } from './manifest.js';
import { MANIFEST_PATH, ONNX_DIR } from './registry.js';

/** A model cannot be used: not built, failed its check, corrupt, or its provider is missing. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
}

export type ExecutionProvider = 'cpu' | 'cuda';

export interface LoadedModel {
  readonly entry: ModelManifestEntry;
  readonly session: ort.InferenceSession;
  /** The provider that actually runs it (cuda falls back to cpu when its libraries are absent). */
  readonly provider: ExecutionProvider;
}

export function readManifest(path = MANIFEST_PATH): ModelManifest {
  if (!existsSync(path)) throw new ModelError(`no model manifest at ${path}: run npm run setup (or npm run models:build)`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ModelManifest;
  } catch (err) {
    throw new ModelError(`model manifest ${path} is unreadable: ${(err as Error).message}`);
  }
}

/**
 * Opens one converted model: only if its manifest entry passed the check against tfjs and the file
 * still has the recorded sha256. Sessions are created once and reused per frame, single-threaded
 * (the box has two cores and the encoder needs one).
 */
export async function loadModel(id: string, options: { provider?: ExecutionProvider; dir?: string; manifestPath?: string; log?: (message: string) => void } = {}): Promise<LoadedModel> {
  const dir = options.dir ?? ONNX_DIR;
  const manifest = readManifest(options.manifestPath ?? join(dir, 'manifest.json'));
  const entry = manifest.models.find((m) => m.id === id);
  if (!entry) throw new ModelError(`model ${id} is not in the manifest`);
  if (entry.status !== 'ok' || !entry.file) throw new ModelError(`model ${id} is not usable (${entry.status})`);
  const path = join(dir, entry.file);
  if (!existsSync(path)) throw new ModelError(`model file ${path} is missing: run npm run models:build`);
  const bytes = readFileSync(path);
  if (sha256(bytes) !== entry.sha256) throw new ModelError(`model file ${path} does not match its manifest (corrupt or replaced): run npm run models:build`);
  const wanted = options.provider ?? 'cpu';
  const open = (provider: ExecutionProvider) => ort.InferenceSession.create(bytes, { executionProviders: [provider], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const session = await open(wanted);
    options.log?.(`model ${id}: running on ${wanted}`);
    return { entry, session, provider: wanted };
  } catch (err) {
    if (wanted === 'cpu') throw new ModelError(`model ${id} cannot be loaded: ${(err as Error).message}`);
    options.log?.(`model ${id}: ${wanted} is unavailable (${(err as Error).message.split('\n')[0]}); running on cpu`);
    return { entry, session: await open('cpu'), provider: 'cpu' };
  }
}
