/** A destination request that cannot be served (unknown id, taken id, closed channel). */
export class DestinationError extends Error {
  override readonly name = 'DestinationError';
}

/** A drive request that cannot be served (bad source, no models, camera not available yet). */
export class DriveError extends Error {
  override readonly name = 'DriveError';
}
