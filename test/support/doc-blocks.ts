import { readFileSync } from 'node:fs';

/**
 * A fenced code block from a Markdown file, with the marker comment on the line before it:
 *
 * - `<!-- runnable -->`: a whole program; test/package.test.ts runs it on SQLite against
 *   the installed package. Options after a colon: `standard-decorators` (compile without
 *   `experimentalDecorators`), `commonjs` (a CommonJS project), and `NAME=driver` (the
 *   program reads the URL of a database server from `NAME`: the test gives it a fresh
 *   database on that server, and skips the block when the server is not configured).
 * - `<!-- excerpt: why -->`: part of a program, not run (e.g. it needs a database server).
 *
 * In a runnable block, `console.log(…) // text` promises that the program prints `text`
 * as a line; the test checks those lines appear, in order.
 */
export interface DocBlock {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly language: string;
  readonly code: string;
  readonly marker: 'runnable' | 'excerpt' | undefined;
  readonly options: readonly string[];
}

const FENCE = /^```(\w*)[^\n]*\n([\s\S]*?)^```$/gm;
const MARKER = /<!--\s*(runnable|excerpt)\s*(?::\s*([^>]*?))?\s*-->\s*$/;

/** Every fenced block in a Markdown file (relative to `root`), with its marker if any. */
export function docBlocks(root: string, file: string): DocBlock[] {
  const text = readFileSync(`${root}/${file}`, 'utf8');
  return [...text.matchAll(FENCE)].map((match) => {
    const before = text.slice(0, match.index);
    const marker = MARKER.exec(before.trimEnd().split('\n').pop() ?? '');
    return {
      file,
      line: before.split('\n').length,
      language: match[1]!,
      code: match[2]!,
      marker: marker?.[1] as DocBlock['marker'],
      options: marker?.[1] === 'runnable' && marker[2] ? marker[2].split(/\s+/) : [],
    };
  });
}

const PROMISED_OUTPUT = /console\.log\(.*\)\s*\/\/\s*(.+?)\s*$/;

/** The lines a block's `console.log(…) // text` comments promise it prints, in order. */
export function promisedOutput(code: string): string[] {
  return code.split('\n').flatMap((line) => PROMISED_OUTPUT.exec(line)?.[1] ?? []);
}

/** Whether `expected` appears among `lines` in order (other lines may come between). */
export function inOrder(lines: readonly string[], expected: readonly string[]): boolean {
  let next = 0;
  for (const line of lines) if (next < expected.length && line === expected[next]) next++;
  return next === expected.length;
}
