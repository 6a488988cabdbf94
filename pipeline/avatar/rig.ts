/**
 * The avatar rig: named parameters every avatar understands. Drivers (idle motion, face tracking,
 * lip sync) write poses; the renderer reads one pose per frame.
 */
export const RIG_PARAMS = {
  headYawDeg: { min: -30, max: 30, rest: 0 },
  headPitchDeg: { min: -20, max: 20, rest: 0 },
  headRollDeg: { min: -20, max: 20, rest: 0 },
  eyeOpenL: { min: 0, max: 1, rest: 1 },
  eyeOpenR: { min: 0, max: 1, rest: 1 },
  gazeX: { min: -1, max: 1, rest: 0 },
  gazeY: { min: -1, max: 1, rest: 0 },
  browRaise: { min: -1, max: 1, rest: 0 },
  mouthOpen: { min: 0, max: 1, rest: 0 },
  /** -1 frown, 0 neutral, 1 smile. */
  mouthForm: { min: -1, max: 1, rest: 0 },
  /** 0 spread, 1 rounded lips (o, u). */
  mouthRound: { min: 0, max: 1, rest: 0 },
  bodyLeanDeg: { min: -12, max: 12, rest: 0 },
  /** Upper arms from hanging down, outward positive (R: the picture's right, as for the eyes). */
  armUpperLDeg: { min: -60, max: 180, rest: 8 },
  armUpperRDeg: { min: -60, max: 180, rest: 8 },
  /** Forearms relative to the upper arms, 0 straight. */
  forearmLDeg: { min: -160, max: 160, rest: 0 },
  forearmRDeg: { min: -160, max: 160, rest: 0 },
  /** Breathing phase amplitude: 0 exhaled, 1 inhaled. */
  breath: { min: 0, max: 1, rest: 0 },
} as const satisfies Record<string, { min: number; max: number; rest: number }>;

export type RigParam = keyof typeof RIG_PARAMS;
export type RigPose = Record<RigParam, number>;
export const RIG_PARAM_NAMES = Object.keys(RIG_PARAMS) as RigParam[];

export function restPose(): RigPose {
  const pose = {} as RigPose;
  for (const name of RIG_PARAM_NAMES) pose[name] = RIG_PARAMS[name].rest;
  return pose;
}

export function isRigParam(name: string): name is RigParam {
  return Object.hasOwn(RIG_PARAMS, name);
}

/** Clamps every parameter into its range in place (NaN falls back to rest); returns the pose. */
export function clampPose(pose: RigPose): RigPose {
  for (const name of RIG_PARAM_NAMES) {
    const { min, max, rest } = RIG_PARAMS[name];
    const value = pose[name];
    pose[name] = Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : rest;
  }
  return pose;
}

/**
 * Layers a partial pose over a base in place: `weight` 1 replaces, 0 keeps the base. Used to put a
 * driver (tracking, lip sync) over idle motion without either knowing of the other.
 */
export function blendPose(base: RigPose, over: Partial<RigPose>, weight = 1): RigPose {
  for (const name of RIG_PARAM_NAMES) {
    const value = over[name];
    if (value !== undefined) base[name] = base[name] + (value - base[name]) * weight;
  }
  return base;
}
