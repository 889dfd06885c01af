// The logger's lines: JSON with one ISO "time" that follows the clock (the string is reused only
// within one millisecond).
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, linesPerTurn, type LineTarget } from '../../src/observability/logger.ts';

describe('logger', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stamps each line with the ISO time of its own millisecond', () => {
    let out = '';
    const logger = createLogger({ destination: new Writable({ write: (c, _e, cb) => ((out += c), cb()) }) });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-23T10:00:00.000Z'));
    logger.info('one');
    logger.info('two');
    vi.setSystemTime(new Date('2026-11-23T10:00:00.001Z'));
    logger.info('three');
    vi.setSystemTime(new Date('2026-11-24T08:30:15.250Z'));
    logger.info('four');
    const lines = out.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { time: string }).time)).toEqual([
      '2026-11-23T10:00:00.000Z',
      '2026-11-23T10:00:00.000Z',
      '2026-11-23T10:00:00.001Z',
      '2026-11-24T08:30:15.250Z',
    ]);
    for (const l of lines) expect(l.match(/"time":/g)).toHaveLength(1);
  });

  it('writes the lines of one event-loop turn in one write, in order, and loses none on flush', async () => {
    const writes: string[] = [];
    const target: LineTarget = { write: (d) => writes.push(d), flush: (cb) => cb?.(), flushSync: () => {} };
    const logger = createLogger({ destination: linesPerTurn(target) });
    logger.info('one');
    logger.info('two');
    expect(writes).toEqual([]); // not yet: the turn is not over
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    logger.info('three');
    await new Promise((r) => setImmediate(r));
    logger.info('four');
    await new Promise<void>((resolve) => logger.flush(() => resolve())); // what a stop does
    const msgs = (w: string) =>
      w
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(writes.map(msgs)).toEqual([['one', 'two'], ['three'], ['four']]);
  });
});
