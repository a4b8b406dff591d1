/**
 * `npm run simulate`: how the real coordinator scales with the number of
 * volunteers (docs/scale.md). N protocol-level clients (sim/sim-client.ts)
 * in this process, against server/main.ts in its own process on loopback,
 * for each N and payload size; prints a table and writes a JSON report.
 *
 *   npm run simulate -- --clients 10,50,100,200,500 --payload tinyDemo,bpe-100m \
 *     --rounds 10 --warmup 4 --budget-s 300
 *
 * Flags (defaults in brackets):
 *   --clients LIST         client counts [10,50,100,200,500]
 *   --payload LIST         tinyDemo, bpe-100m [tinyDemo,bpe-100m]
 *   --store LIST           where payloads go: relay (the coordinator), bucket (s3rver on loopback, presigned URLs) [relay]
 *   --rounds R             measured rounds per configuration [10]
 *   --warmup W             rounds before measuring; the defaults' probation lasts 3 [4]
 *   --budget-s S           wall-clock budget per configuration; over it, the configuration stops with what it measured [300]
 *   --seqs K               sequences per client per round (global batch K·N) [4]
 *   --train-timeout-s T    the run's maxRoundTrainTime [60]
 *   --witness-timeout-s T  the run's roundWitnessTime [60]
 *   --relay-timeout-s T    how long a sim waits for relayed payloads before witnessing with what it has (a tab's default) [10]
 *   --tick MS              the coordinator's tick [250]
 *   --max-rss-gb G         stop a configuration when the coordinator's RSS passes this [10]
 *   --max-relay-gb G       do not run a relay configuration whose all-gather, N·(N−1)·P a round, exceeds this [6]
 *   --out FILE             the JSON report [bench-results/simulate.json]
 *   --work DIR             coordinator databases [test-results/simulate]
 *   --quiet-wait-s S       before each configuration, wait up to S s for the machine to be idle (other processes under 0.25 cores) [120]
 *   --profile              run the coordinator under node --cpu-prof and report where its CPU went
 *   --report-only          run nothing: print the table and (with --docs) write the charts from the existing --out report
 *   --append               keep the configurations of the existing --out report that this run does not repeat
 *   --docs                 also write the report to --docs-json and redraw the charts docs/bench/scale-*.svg
 *                          from every report in CHART_REPORTS (this run's in place of its file)
 *   --docs-json FILE       [docs/bench/scale-results.json]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { emptyResult, payloadBytesOf, runBench, type BenchResult, type PayloadName, type StoreName } from '../sim/bench';
import { systemCpuSeconds } from '../sim/proc-sampler';
import { charts, egressTable, fmtBytes, markdownTable, reasons, scaleLimit, storeOf, textTable, type ChartSet } from '../sim/report';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    clients: { type: 'string', default: '10,50,100,200,500' },
    payload: { type: 'string', default: 'tinyDemo,bpe-100m' },
    store: { type: 'string', default: 'relay' },
    rounds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '4' },
    'budget-s': { type: 'string', default: '300' },
    seqs: { type: 'string', default: '4' },
    'train-timeout-s': { type: 'string', default: '60' },
    'witness-timeout-s': { type: 'string', default: '60' },
    'relay-timeout-s': { type: 'string', default: '10' },
    tick: { type: 'string', default: '250' },
    'max-rss-gb': { type: 'string', default: '10' },
    'max-relay-gb': { type: 'string', default: '6' },
    out: { type: 'string', default: 'bench-results/simulate.json' },
    work: { type: 'string', default: 'test-results/simulate' },
    docs: { type: 'boolean', default: false },
    'docs-json': { type: 'string', default: 'docs/bench/scale-results.json' },
    append: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'report-only': { type: 'boolean', default: false },
    'quiet-wait-s': { type: 'string', default: '120' },
  },
  strict: true,
});

function num(name: keyof typeof values, min: number): number {
  const v = Number(values[name]);
  if (!Number.isFinite(v) || v < min) throw new Error(`--${name} must be a number ≥ ${min}, got ${values[name]}`);
  return v;
}

const PAYLOADS: PayloadName[] = ['tinyDemo', 'bpe-100m'];
const clientCounts = String(values.clients)
  .split(',')
  .map((c) => Number(c.trim()))
  .filter((c) => c > 0);
if (clientCounts.length === 0 || clientCounts.some((c) => !Number.isInteger(c) || c < 2)) throw new Error('--clients must list integers ≥ 2');
const payloads = String(values.payload)
  .split(',')
  .map((p) => p.trim()) as PayloadName[];
for (const p of payloads) if (!PAYLOADS.includes(p)) throw new Error(`--payload: unknown ${p}; known: ${PAYLOADS.join(', ')}`);
const STORES: StoreName[] = ['relay', 'bucket'];
const stores = String(values.store)
  .split(',')
  .map((x) => x.trim()) as StoreName[];
for (const x of stores) if (!STORES.includes(x)) throw new Error(`--store: unknown ${x}; known: ${STORES.join(', ')}`);

/** The reports the docs' charts draw, oldest first, and how their lines are named. */
const CHART_REPORTS = [
  { file: 'docs/bench/scale-results.json', label: 'before' },
  { file: 'docs/bench/scale-results-after.json', label: 'after' },
  { file: 'docs/bench/scale-results-store.json', label: 'latest' },
];

const opts = {
  rounds: num('rounds', 1),
  warmup: num('warmup', 0),
  budgetS: num('budget-s', 10),
  seqsPerClient: num('seqs', 1),
  trainTimeoutMs: num('train-timeout-s', 1) * 1000,
  witnessTimeoutMs: num('witness-timeout-s', 1) * 1000,
  relayTimeoutMs: num('relay-timeout-s', 0.1) * 1000,
  tickMs: num('tick', 10),
  maxRssBytes: num('max-rss-gb', 0.1) * 2 ** 30,
  maxRelayBytes: num('max-relay-gb', 0.001) * 1e9,
  workDir: String(values.work),
  profile: Boolean(values.profile),
};

const machine = {
  cpuModel: cpuModel(),
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
};

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

const log = (line: string) => console.log(line);
log(`simulate: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, node ${machine.node}`);
log(`  clients ${clientCounts.join(', ')}; payloads ${payloads.join(', ')}; ${opts.warmup} warm-up + ${opts.rounds} measured rounds; budget ${opts.budgetS} s each`);

/**
 * Whether a configuration is worth starting, from what the smaller ones of
 * the same payload measured: a larger N than one that could not finish a
 * round is not run, nor one whose relay volume passes --max-relay-gb.
 */
function skipReason(payload: PayloadName, store: StoreName, n: number, bytes: number, done: BenchResult[]): string | null {
  const relay = n * (n - 1) * bytes;
  if (store === 'relay' && relay > opts.maxRelayBytes) {
    return `the relay all-gather would carry N·(N−1)·P = ${n}·${n - 1}·${fmtBytes(bytes)} = ${fmtBytes(relay)} a round through the coordinator, over --max-relay-gb ${opts.maxRelayBytes / 1e9}`;
  }
  const smaller = done.filter((r) => r.payload === payload && storeOf(r) === store && r.clients < n).sort((a, b) => a.clients - b.clients);
  const failed = smaller.find((r) => r.measuredRounds === 0 && r.status !== 'not-run');
  if (failed) return `N=${failed.clients} already measured no round within the budget (${failed.reason?.split('\n')[0]})`;
  const measured = smaller.filter((r) => r.measuredRounds > 0 && r.roundMs);
  if (measured.length >= 2) {
    const [a, b] = measured.slice(-2);
    const alpha = Math.min(4, Math.max(1, Math.log(b.roundMs!.p50 / a.roundMs!.p50) / Math.log(b.clients / a.clients)));
    const perRound = (b.roundMs!.p50 / 1000) * (n / b.clients) ** alpha;
    const joinS = b.seconds.join * (n / b.clients) ** alpha;
    const need = joinS + perRound * (opts.warmup + 1);
    if (need > opts.budgetS) {
      return `the measured growth (round p50 ${(a.roundMs!.p50 / 1000).toFixed(2)} s at N=${a.clients}, ${(b.roundMs!.p50 / 1000).toFixed(2)} s at N=${b.clients}: ∝ N^${alpha.toFixed(2)}) predicts ${perRound.toFixed(0)} s a round and ${need.toFixed(0)} s to join and reach the first measured round, over the ${opts.budgetS} s budget`;
    }
  }
  return null;
}

/** A result with the flags it ran under (an appended report mixes runs). */
type Row = BenchResult & { ranWith?: typeof opts };
const results: Row[] = [];
let loaded: Record<string, unknown> | null = null;
if ((values.append || values['report-only']) && existsSync(String(values.out))) {
  const old = JSON.parse(readFileSync(String(values.out), 'utf8')) as { results: Row[] } & Record<string, unknown>;
  loaded = old;
  results.push(...old.results);
  log(`  appending to ${values.out}: ${old.results.length} configurations kept unless repeated`);
}
const started = Date.now();
const sameConfig = (a: BenchResult, b: BenchResult) => a.payload === b.payload && storeOf(a) === storeOf(b) && a.clients === b.clients;
function keep(r: Row): void {
  const i = results.findIndex((o) => sameConfig(o, r));
  if (i >= 0) results.splice(i, 1);
  results.push(r);
  results.sort((a, b) => PAYLOADS.indexOf(a.payload) - PAYLOADS.indexOf(b.payload) || STORES.indexOf(storeOf(a)) - STORES.indexOf(storeOf(b)) || a.clients - b.clients);
}
for (const payload of values['report-only'] ? [] : payloads) {
  const bytes = payloadBytesOf(payload, opts.seqsPerClient);
  for (const store of stores) {
    for (const n of clientCounts) {
      const name = `${payload} ${store} N=${n}`;
      const config = { payload, store, clients: n, seqsPerClient: opts.seqsPerClient, warmup: opts.warmup };
      const reason = skipReason(payload, store, n, bytes, results.filter((r) => !(r.payload === payload && storeOf(r) === store && r.clients >= n)));
      if (reason) {
        log(`${name}: not run: ${reason}`);
        keep({ ...emptyResult(config, bytes, 'not-run', reason), ranWith: opts });
        continue;
      }
      const idle = await waitForQuiet(num('quiet-wait-s', 0));
      log(`${name}: payload ${fmtBytes(bytes)}; other processes used ${idle.toFixed(2)} cores before the start`);
      let r: BenchResult;
      try {
        r = await runBench({ ...opts, ...config, log });
      } catch (e) {
        r = emptyResult(config, bytes, 'failed', (e as Error).stack ?? String(e));
      }
      keep({ ...r, ranWith: opts });
      if (r.coordinatorProfile) {
        const top = r.coordinatorProfile.paths.filter((x) => x.share >= 0.02).map((x) => `${x.path} ${Math.round(100 * x.share)} %`);
        log(`  coordinator CPU profile (${r.coordinatorProfile.seconds.toFixed(1)} s of samples): ${top.join('; ')}`);
      }
      log(`${name}: ${r.status}${r.reason ? ` (${r.reason.split('\n')[0]})` : ''}; round p50 ${r.roundMs ? (r.roundMs.p50 / 1000).toFixed(2) : '–'} s; ${r.seconds.total} s wall`);
      writeReport();
    }
  }
}
writeReport();
for (const payload of shown()) {
  for (const store of STORES) {
    const rows = results.filter((r) => r.payload === payload && storeOf(r) === store);
    if (rows.length === 0) continue;
    log(`\n${payload}, ${store} (P = ${fmtBytes(rows[0]?.payloadBytes)} a client's update; figures per client per measured round unless said)`);
    log(textTable(rows));
    const limit = scaleLimit(rows);
    log(`largest N with round p50 within 2× of N=${rows[0]?.clients}: ${limit ?? 'none measured'}`);
  }
}
for (const r of reasons(results)) log(r.split('\n')[0]);
log(`\nwrote ${values.out} (${Math.round((Date.now() - started) / 1000)} s)`);

/**
 * This machine is shared: waits (up to `maxS`) until the other processes
 * leave it nearly idle, so they do not take the cores being measured.
 * Returns the cores they used over the last 3 s.
 */
async function waitForQuiet(maxS: number): Promise<number> {
  const end = Date.now() + maxS * 1000;
  for (;;) {
    const a = systemCpuSeconds();
    const t = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const b = systemCpuSeconds();
    const busy = (b.busy - a.busy) / ((performance.now() - t) / 1000);
    if (busy < 0.25 || Date.now() > end) return busy;
    log(`  waiting for the machine: other processes use ${busy.toFixed(2)} cores`);
  }
}

function shown(): PayloadName[] {
  return PAYLOADS.filter((p) => results.some((r) => r.payload === p));
}

function writeReport(): void {
  const groups = shown().flatMap((p) => STORES.map((x) => [p, x] as const)).filter(([p, x]) => results.some((r) => r.payload === p && storeOf(r) === x));
  const scale = Object.fromEntries(groups.map(([p, x]) => [`${p} ${x}`, scaleLimit(results.filter((r) => r.payload === p && storeOf(r) === x))]));
  const report =
    values['report-only'] && loaded
      ? { ...loaded, scaleLimit: scale, results }
      : {
          generatedAt: new Date().toISOString(),
          machine,
          // An appended report holds several runs: the client counts and payloads of all its rows, this run's flags (each row has its own in ranWith).
          options: { clients: [...new Set(results.map((r) => r.clients))].sort((a, b) => a - b), payloads: shown(), stores: [...new Set(results.map(storeOf))], ...opts },
          scaleLimit: scale,
          results,
        };
  const out = String(values.out);
  mkdirSync(dirname(out), { recursive: true });
  if (!values['report-only']) writeFileSync(out, JSON.stringify(report, null, 2));
  if (values.docs) {
    const docsJson = String(values['docs-json']);
    mkdirSync(dirname(docsJson), { recursive: true });
    writeFileSync(docsJson, JSON.stringify(report, null, 2));
    const c = charts(chartSets(docsJson));
    writeFileSync('docs/bench/scale-round-time.svg', c.roundTime);
    writeFileSync('docs/bench/scale-coordinator-cpu.svg', c.cpu);
    writeFileSync('docs/bench/scale-coordinator-cpu-seconds.svg', c.cpuSeconds);
    const tables = groups.map(([p, x]) => `### ${p}, ${x}\n\n${markdownTable(results.filter((r) => r.payload === p && storeOf(r) === x))}\n`);
    const egress = shown().map((p) => `### ${p}: payload bytes, relay and bucket\n\n${egressTable(results.filter((r) => r.payload === p))}\n`);
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/simulate-tables.md', [...tables, ...egress].join('\n'));
  }
}

/** Every report the charts draw that exists, this run's rows in place of its own file. */
function chartSets(docsJson: string): ChartSet[] {
  const sets = CHART_REPORTS.filter((c) => c.file === docsJson || existsSync(c.file)).map((c) => ({
    label: c.label,
    rows: c.file === docsJson ? results : (JSON.parse(readFileSync(c.file, 'utf8')) as { results: BenchResult[] }).results,
  }));
  if (!CHART_REPORTS.some((c) => c.file === docsJson)) sets.push({ label: 'this run', rows: results });
  return sets;
}
