import { createHash } from 'node:crypto';

/** models/onnx/manifest.json: what was converted, from what, and whether it matched its source. */
export interface ModelManifestEntry {
  readonly id: string;
  /** 'ok', or 'failed: <why>' (a failed model is never loaded). */
  readonly status: string;
  readonly file: string | null;
  readonly sha256: string | null;
  readonly source: { readonly package: string; readonly file: string; readonly sha256: string | null; readonly licence: string };
  readonly purpose: string;
  readonly input: { readonly name: string; readonly shape: number[] } | null;
  readonly outputs: { readonly name: string; readonly shape: number[] }[];
  /** Largest |onnx − tfjs| / max(1, |tfjs|) over all outputs on the same input. */
  readonly check: { readonly maxRelativeError: number; readonly tolerance: number; readonly ortMs: number; readonly tfjsMs: number } | null;
}

export interface ModelManifest {
  readonly format: 'fenshen-models/1';
  readonly built: string;
  readonly models: ModelManifestEntry[];
}

/** The digest the manifest records for sources and converted files. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
