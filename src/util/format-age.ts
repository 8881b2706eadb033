/** A duration for people: `850 ms`, `12 s`, `4 min`, `3 h`, `2 d`; empty for null. */
export function formatAge(ms: number | null): string {
  if (ms === null) return '';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000]] as const) if (ms >= size) return `${Math.floor(ms / size)} ${unit}`;
  return `${Math.floor(ms / 1_000)} s`;
}
