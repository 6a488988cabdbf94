/** Order statistics for the report: nearest-rank percentiles over a copy, so callers' arrays stay as they are. */

export function percentile(values: readonly number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? null;
}

export interface Spread {
  readonly count: number;
  readonly min: number | null;
  readonly p5: number | null;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly max: number | null;
}

export function spread(values: readonly number[]): Spread {
  return {
    count: values.length,
    min: values.length ? Math.min(...values) : null,
    p5: percentile(values, 5),
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: values.length ? Math.max(...values) : null,
  };
}
