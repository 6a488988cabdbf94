/**
 * 2-D affine transforms in the canvas convention: [a, b, c, d, e, f] maps (x, y) to
 * (a·x + c·y + e, b·x + d·y + f). Computing a frame's transforms in JavaScript, instead of through
 * the context's save/restore stack, lets the renderer inspect them (bounds, cacheable rotations).
 */
export type Affine = readonly [number, number, number, number, number, number];

export const IDENTITY: Affine = [1, 0, 0, 1, 0, 0];

/** m·n: apply n first, then m. */
export function multiply(m: Affine, n: Affine): Affine {
  return [
    m[0] * n[0] + m[2] * n[1],
    m[1] * n[0] + m[3] * n[1],
    m[0] * n[2] + m[2] * n[3],
    m[1] * n[2] + m[3] * n[3],
    m[0] * n[4] + m[2] * n[5] + m[4],
    m[1] * n[4] + m[3] * n[5] + m[5],
  ];
}

export function translate(m: Affine, x: number, y: number): Affine {
  return [m[0], m[1], m[2], m[3], m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]];
}

export function scale(m: Affine, sx: number, sy: number): Affine {
  return [m[0] * sx, m[1] * sx, m[2] * sy, m[3] * sy, m[4], m[5]];
}

export function rotate(m: Affine, radians: number): Affine {
  const cos = Math.cos(radians), sin = Math.sin(radians);
  return multiply(m, [cos, sin, -sin, cos, 0, 0]);
}

export function apply(m: Affine, x: number, y: number): [number, number] {
  return [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]];
}

/** Axis-aligned bounds of the rectangle (0, 0)-(w, h) under m. */
export function boundsOf(m: Affine, w: number, h: number): { minX: number; minY: number; maxX: number; maxY: number } {
  const xs = [m[4], m[0] * w + m[4], m[2] * h + m[4], m[0] * w + m[2] * h + m[4]];
  const ys = [m[5], m[1] * w + m[5], m[3] * h + m[5], m[1] * w + m[3] * h + m[5]];
  return { minX: Math.min(...xs), minY: Math.min(...ys), maxX: Math.max(...xs), maxY: Math.max(...ys) };
}

/**
 * Splits the linear part into rotation·diag(kx, ky) (no shear, which the renderer never makes).
 * Returns the angle in radians and the two scales.
 */
export function decompose(m: Affine): { angle: number; kx: number; ky: number } {
  const kx = Math.hypot(m[0], m[1]);
  const angle = Math.atan2(m[1], m[0]);
  const ky = kx === 0 ? 0 : (m[0] * m[3] - m[1] * m[2]) / kx;
  return { angle, kx, ky };
}
