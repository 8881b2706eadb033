/**
 * Per-batch times of a copy run: what the batch-sync benchmark reports at 10%, 50% and
 * 90% of a run, so that a batch time growing with the target table (e.g. a plan that
 * reads the whole table per batch) shows even when the total looks fine.
 */

/** Points of a run, as fractions of its batches, where the batch time is reported. */
export const BATCH_POINTS = [0.1, 0.5, 0.9] as const;
/** Share of a run's batches in each window (centred on the point). */
export const WINDOW_SHARE = 0.02;
/** Batches in a window at least (a 50,000-row run has 50 batches of 1,000). */
export const WINDOW_MIN = 5;
/** Flat: the 90% figure at most this many times the 10% figure. */
export const FLAT_RATIO = 1.5;

/** Durations of the batches, from the times each batch ended and the time the run started. */
export function batchDurations(startedAt: number, endedAt: readonly number[]): number[] {
  return endedAt.map((end, i) => end - (i === 0 ? startedAt : endedAt[i - 1]!));
}

/** Median of the batch times in the window of `WINDOW_SHARE` of the batches centred on `fraction` of the run. */
export function batchTimeAt(durations: readonly number[], fraction: number): number {
  const n = durations.length;
  if (n === 0) return NaN;
  const width = Math.min(n, Math.max(WINDOW_MIN, Math.round(n * WINDOW_SHARE)));
  const start = Math.min(n - width, Math.max(0, Math.floor(n * fraction) - Math.floor(width / 2)));
  const window = durations.slice(start, start + width).sort((a, b) => a - b);
  const middle = Math.floor(width / 2);
  return width % 2 ? window[middle]! : (window[middle - 1]! + window[middle]!) / 2;
}

/** The batch time at each of `BATCH_POINTS`, and the last over the first. */
export function batchProfile(durations: readonly number[]): { at: number[]; growth: number } {
  const at = BATCH_POINTS.map((p) => batchTimeAt(durations, p));
  return { at, growth: at[at.length - 1]! / at[0]! };
}
