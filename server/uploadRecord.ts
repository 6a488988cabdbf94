/** An upload as stored and as the API lists it: plain data, shared with the console's code. */
/** A file an operator uploaded for scenes (background, logo, product picture), kept under FENSHEN_DATA/uploads. */
export interface StoredUpload {
  readonly id: string;
  /** The name it was uploaded with (shown, never used as a path). */
  readonly name: string;
  readonly kind: 'image' | 'video';
  readonly mime: string;
  readonly bytes: number;
  /** Path relative to FENSHEN_DATA, as scenes refer to it. */
  readonly file: string;
  readonly createdAt: number;
}
