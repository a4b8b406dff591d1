/**
 * CPU and memory of a process from Linux's /proc: utime + stime of
 * /proc/PID/stat (in clock ticks, all threads) as a share of one core over
 * each sampling interval, and VmRSS of /proc/PID/status.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

/** sysconf(_SC_CLK_TCK), 100 on every Linux this runs on; asked of getconf once. */
export function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of `pid` in seconds. Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the command name. */
export function cpuSeconds(pid: number | 'self'): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return parseCpuTicks(text) / clockTicks();
}

export function parseCpuTicks(statText: string): number {
  const rest = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** VmRSS of `pid` in bytes. */
export function rssBytes(pid: number | 'self'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return parseRssBytes(text);
}

export function parseRssBytes(statusText: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  if (!m) throw new Error('no VmRSS line in /proc status');
  return Number(m[1]) * 1024;
}

export interface ProcSample {
  /** ms since the epoch. */
  at: number;
  /** Share of one core since the previous sample (1 = one core busy). */
  cpu: number;
  rss: number;
}

/** Samples a process every `intervalMs`; start/stop bound the window that counts. */
export class ProcSampler {
  readonly samples: ProcSample[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private last: { at: number; cpu: number } | null = null;
  private first: { at: number; cpu: number } | null = null;

  constructor(
    readonly pid: number | 'self',
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.samples.length = 0;
    this.last = this.first = { at: performance.now(), cpu: cpuSeconds(this.pid) };
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  sample(): void {
    if (this.last === null) return;
    let cpu: number;
    let rss: number;
    try {
      cpu = cpuSeconds(this.pid);
      rss = rssBytes(this.pid);
    } catch {
      return; // the process is gone
    }
    const at = performance.now();
    const dt = (at - this.last.at) / 1000;
    if (dt <= 0) return;
    this.samples.push({ at: Date.now(), cpu: (cpu - this.last.cpu) / dt, rss });
    this.last = { at, cpu };
  }

  /** Stops sampling; the mean CPU share over the whole window, from the first and last readings. */
  stop(): { cpuMean: number; cpuPeak: number; rssMean: number; rssPeak: number; seconds: number } {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    const first = this.first;
    const last = this.last;
    const seconds = first && last ? (last.at - first.at) / 1000 : 0;
    const cpuMean = first && last && seconds > 0 ? (last.cpu - first.cpu) / seconds : NaN;
    const cpus = this.samples.map((s) => s.cpu);
    const rss = this.samples.map((s) => s.rss);
    return {
      cpuMean,
      cpuPeak: cpus.length ? Math.max(...cpus) : NaN,
      rssMean: rss.length ? rss.reduce((a, b) => a + b, 0) / rss.length : NaN,
      rssPeak: rss.length ? Math.max(...rss) : NaN,
      seconds,
    };
  }
}

/** Busy and total CPU seconds of the whole machine (first line of /proc/stat), all cores together. */
export function systemCpuSeconds(): { busy: number; total: number } {
  return parseSystemCpu(readFileSync('/proc/stat', 'utf8'));
}

export function parseSystemCpu(statText: string): { busy: number; total: number } {
  const f = statText.split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = f[3] + (f[4] ?? 0);
  return { busy: (total - idle) / clockTicks(), total: total / clockTicks() };
}
