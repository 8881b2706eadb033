/**
 * What one `npm run bench` run covers, read from the environment.
 *
 * - `BENCH_DIALECTS=sqlite,postgresql,mysql`: which databases (default: SQLite, plus
 *   PostgreSQL / MySQL when `POLYRECORD_PG_URL` / `POLYRECORD_MYSQL_URL` are set).
 * - `BENCH_ONLY=W1,W3`: which workloads (default: all), R1–R5 included (relations, warm mode only).
 * - `BENCH_CONTENDERS=raw,polyrecord`: which contenders (default: all four).
 * - `BENCH_ORMS=objection,lucid`: which other ORMs run the relation workloads (default: both;
 *   `none` for neither, e.g. while profiling polyrecord against knex).
 * - `BENCH_MODE=warm|cold|both`: long warmed-up runs per contender, short interleaved
 *   runs of all contenders together, or both (default; cold first, per dialect).
 * - `BENCH_COLD_RUNS=5`: cold mode runs this many times, each in a fresh process, and reports
 *   per workload the median run (1: once, in this process).
 * - `BENCH_WARM_ROUNDS=5`: warm mode measures each contender this many times per workload,
 *   interleaved with the others, and reports its median round (see `medianOfRounds`).
 * - `BENCH_WARM_RUNS=1`: warm mode runs this many times, each in a fresh process, relation
 *   workloads included, and reports per workload the median run.
 * - `BENCH_JSON=path`: also write the measurements there as JSON.
 * - `BENCH_CPU_PROFILE=dir`: write a CPU profile of each timed section there.
 */
export type Dialect = 'sqlite' | 'postgresql' | 'mysql';
export type ContenderName = 'raw' | 'prepared' | 'knex' | 'polyrecord';
export const CONTENDER_NAMES: readonly ContenderName[] = ['raw', 'prepared', 'knex', 'polyrecord'];
/** Other ORMs measured on the relation workloads. */
export type OrmName = 'objection' | 'lucid';
const ORM_NAMES: readonly OrmName[] = ['objection', 'lucid'];

/** `warm`: each contender warmed up, then long timed runs interleaved with the others' (`BENCH_WARM_ROUNDS`); `cold`: all contenders at once, short, interleaved in small rounds. */
export type BenchMode = 'warm' | 'cold';
// Cold first: warm mode's long runs would leave the code optimised and the cold run warm.
const MODES: Record<string, readonly BenchMode[]> = { warm: ['warm'], cold: ['cold'], both: ['cold', 'warm'] };

export interface DialectChoice {
  readonly dialect: Dialect;
  /** Server URL whose server gets a fresh database for the run; undefined for SQLite. */
  readonly url: string | undefined;
}

export interface BenchOptions {
  readonly dialects: readonly DialectChoice[];
  /** Workload ids to run, or undefined for all. */
  readonly only: ReadonlySet<string> | undefined;
  readonly contenders: readonly ContenderName[];
  /** Other ORMs on the relation workloads. */
  readonly orms: readonly OrmName[];
  /** The modes to run, in this order. */
  readonly modes: readonly BenchMode[];
  /** Where to write the measurements as JSON, if anywhere. */
  readonly json: string | undefined;
  /** Where to write CPU profiles of the timed sections, if anywhere. */
  readonly cpuProfile: string | undefined;
  /** Fresh processes that measure cold mode (1: this one). */
  readonly coldRuns: number;
  /** Fresh processes that measure warm mode (1: this one). */
  readonly warmRuns: number;
  /** Interleaved timed runs per contender and warm workload (the median is reported). */
  readonly warmRounds: number;
  /** Where a child process writes its relation measurements (set by bench/in-processes.ts). */
  readonly relationsJson: string | undefined;
}

const SPELLINGS: Record<string, Dialect> = {
  sqlite: 'sqlite',
  sqlite3: 'sqlite',
  pg: 'postgresql',
  postgres: 'postgresql',
  postgresql: 'postgresql',
  mysql: 'mysql',
  mariadb: 'mysql',
};

const URL_VARIABLE: Record<Dialect, string | undefined> = {
  sqlite: undefined,
  postgresql: 'POLYRECORD_PG_URL',
  mysql: 'POLYRECORD_MYSQL_URL',
};

function list(value: string | undefined): string[] | undefined {
  const items = value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items && items.length > 0 ? items : undefined;
}

function urlFor(dialect: Dialect, env: NodeJS.ProcessEnv): string | undefined {
  const variable = URL_VARIABLE[dialect];
  return variable === undefined ? undefined : env[variable] || undefined;
}

function dialectsFrom(env: NodeJS.ProcessEnv): DialectChoice[] {
  const asked = list(env.BENCH_DIALECTS);
  if (!asked) {
    return (['sqlite', 'postgresql', 'mysql'] as const)
      .filter((dialect) => dialect === 'sqlite' || urlFor(dialect, env) !== undefined)
      .map((dialect) => ({ dialect, url: urlFor(dialect, env) }));
  }
  const dialects = [...new Set(asked.map((name) => {
    const dialect = SPELLINGS[name.toLowerCase()];
    if (!dialect) throw new Error(`BENCH_DIALECTS: unknown dialect "${name}"; use sqlite, postgresql or mysql`);
    return dialect;
  }))];
  return dialects.map((dialect) => {
    const url = urlFor(dialect, env);
    const variable = URL_VARIABLE[dialect];
    if (variable !== undefined && url === undefined) throw new Error(`BENCH_DIALECTS includes ${dialect}: set ${variable}`);
    return { dialect, url };
  });
}

export function readOptions(env: NodeJS.ProcessEnv, workloadIds: readonly string[]): BenchOptions {
  const only = list(env.BENCH_ONLY)?.map((id) => id.toUpperCase());
  for (const id of only ?? []) {
    if (!workloadIds.includes(id)) throw new Error(`BENCH_ONLY: unknown workload "${id}"; use ${workloadIds.join(', ')}`);
  }
  const contenders = list(env.BENCH_CONTENDERS)?.map((name) => name.toLowerCase()) ?? CONTENDER_NAMES;
  for (const name of contenders) {
    if (!CONTENDER_NAMES.includes(name as ContenderName)) throw new Error(`BENCH_CONTENDERS: unknown contender "${name}"; use ${CONTENDER_NAMES.join(', ')}`);
  }
  const orms = list(env.BENCH_ORMS)?.map((name) => name.toLowerCase()) ?? ORM_NAMES;
  for (const name of orms) {
    if (name !== 'none' && !ORM_NAMES.includes(name as OrmName)) throw new Error(`BENCH_ORMS: unknown ORM "${name}"; use ${ORM_NAMES.join(', ')} or none`);
  }
  const mode = (env.BENCH_MODE || 'both').trim().toLowerCase();
  const modes = MODES[mode];
  if (!modes) throw new Error(`BENCH_MODE: unknown mode "${env.BENCH_MODE}"; use warm, cold or both`);
  return {
    dialects: dialectsFrom(env),
    modes,
    only: only ? new Set(only) : undefined,
    contenders: CONTENDER_NAMES.filter((name) => contenders.includes(name)),
    orms: ORM_NAMES.filter((name) => orms.includes(name)),
    json: env.BENCH_JSON || undefined,
    cpuProfile: env.BENCH_CPU_PROFILE || undefined,
    coldRuns: runsFrom('BENCH_COLD_RUNS', env.BENCH_COLD_RUNS, 5),
    warmRuns: runsFrom('BENCH_WARM_RUNS', env.BENCH_WARM_RUNS, 1),
    warmRounds: runsFrom('BENCH_WARM_ROUNDS', env.BENCH_WARM_ROUNDS, 5),
    relationsJson: env.BENCH_RELATIONS_JSON || undefined,
  };
}

function runsFrom(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const runs = Number(value);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`${name}: "${value}" is not a whole number of runs (1 or more)`);
  return runs;
}
