import cliProgress from 'cli-progress';
import type { SyncJobProgress } from '../sync/sync-job.js';

/** Shows a job's progress: a bar on a terminal, plain lines (at most one a second) otherwise. */
export interface ProgressView {
  update(progress: SyncJobProgress): void;
  /** Removes nothing: leaves the last state on screen and ends the bar's line. */
  stop(): void;
}

/** How often plain progress lines are written, at most. */
const LINE_INTERVAL_MS = 1_000;

/** A checkpoint value as a person reads it. */
export function formatValue(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value);
}

/** Seconds as `3d04h`, `1h02m03s`, `4m05s`, `6s`; `?` when unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d${pad(h)}h`;
  return h > 0 ? `${h}h${pad(m)}m${pad(s % 60)}s` : m > 0 ? `${m}m${pad(s % 60)}s` : `${s}s`;
}

/** The ETA against the count taken at the start (rows changed since are not in it). */
function eta(progress: SyncJobProgress): number | undefined {
  if (progress.total === undefined || progress.rate <= 0) return undefined;
  return Math.max(0, progress.total - progress.processed) / progress.rate;
}

/**
 * A progress view on `stream` for the job `label` (e.g. `sync orders`): a cli-progress bar
 * (rows done of the estimate, rate, ETA, watermark) when the stream is a terminal, else a
 * plain line for the first batch and then at most one a second, so logs stay readable.
 */
export function progressView(label: string, stream: NodeJS.WriteStream): ProgressView {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: `${label} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {etaText} | watermark {watermark}`, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(progress) {
        const total = Math.max(progress.total ?? progress.processed, progress.processed);
        const payload = { rate: Math.round(progress.rate), etaText: formatDuration(eta(progress)), watermark: formatValue(progress.checkpoint.watermark) };
        if (!started) bar.start(total, progress.processed, payload);
        else {
          bar.setTotal(total);
          bar.update(progress.processed, payload);
        }
        started = true;
      },
      stop: () => started && bar.stop(),
    };
  }
  let last: number | undefined;
  let pending: SyncJobProgress | undefined;
  const write = (progress: SyncJobProgress) => {
    const of = progress.total === undefined ? '' : `/${progress.total} (${progress.total === 0 ? 100 : Math.min(100, Math.floor((progress.processed / progress.total) * 100))}%)`;
    stream.write(`${label}: ${progress.processed}${of} rows, ${Math.round(progress.rate)} rows/s, ETA ${formatDuration(eta(progress))}, watermark ${formatValue(progress.checkpoint.watermark)}\n`);
    last = performance.now();
    pending = undefined;
  };
  return {
    update(progress) {
      if (last === undefined || performance.now() - last >= LINE_INTERVAL_MS) write(progress);
      else pending = progress;
    },
    // The final state, unless it was the last line written.
    stop: () => pending && write(pending),
  };
}
