// Printing: the header (command line, machine, settings) and the result table.
import { cpus, release, totalmem } from 'node:os';
import type { WrkResult } from './wrk.ts';

export interface TargetReport {
  label: string;
  rounds: WrkResult[];
  rssKiB: number | undefined;
  failure: string | undefined;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function machineLine(): string {
  const cpu = cpus();
  return `${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}, Node ${process.version}`;
}

const fmt = (n: number, digits: number): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/**
 * The result table. "vs bare" is the median rps over the bare proxy's median rps; "vs bare per round"
 * sets each round against the bare proxy's own run of that round (the rounds are interleaved, so a
 * round the machine was slower in is slower for both).
 */
export function table(targets: TargetReport[], bare: TargetReport | undefined): string {
  const bareRps = bare && bare.rounds.length > 0 ? median(bare.rounds.map((r) => r.rps)) : undefined;
  const head = [
    'target',
    'rps (median)',
    'p50 ms',
    'p99 ms',
    'RSS MiB',
    'vs bare',
    'vs bare per round',
    'non-2xx',
    'sock err',
    'rps per round',
  ];
  const rows = targets.map((t) => {
    if (t.rounds.length === 0) return [t.label, 'FAILED', '-', '-', '-', '-', '-', '-', '-', '-'];
    const rps = median(t.rounds.map((r) => r.rps));
    const perRound = t.rounds.map((r, i) => (bare?.rounds[i] ? fmt((r.rps / bare.rounds[i].rps) * 100, 1) : '-')).join(' / ');
    return [
      t.label + (t.failure !== undefined ? ' (FAILED later)' : ''),
      fmt(rps, 0),
      fmt(median(t.rounds.map((r) => r.p50Ms)), 2),
      fmt(median(t.rounds.map((r) => r.p99Ms)), 2),
      t.rssKiB === undefined ? '-' : fmt(t.rssKiB / 1024, 1),
      bareRps ? `${fmt((rps / bareRps) * 100, 1)} %` : '-',
      bare && t !== bare ? `${perRound} %` : '-',
      String(t.rounds.reduce((a, r) => a + r.non2xx, 0)),
      String(t.rounds.reduce((a, r) => a + r.socketErrors, 0)),
      t.rounds.map((r) => fmt(r.rps, 0)).join(' / '),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
