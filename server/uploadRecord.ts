/**
 * A file an operator uploaded for scenes (background, logo, product picture), kept under
 * FENSHEN_DATA/uploads, as the database stores it. The API lists it with its URL (api/contract.ts,
 * uploadSchema; api/contractChecks.ts keeps the two the same).
 */
export interface StoredUpload {
  readonly id: string;
  /** The name it was uploaded with (shown, never used as a path). */
  readonly name: string;
  readonly kind: 'image' | 'video' | 'audio';
  readonly mime: string;
  readonly bytes: number;
  /** Path relative to FENSHEN_DATA, as scenes refer to it. */
  readonly file: string;
  readonly createdAt: number;
}
