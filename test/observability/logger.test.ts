// The logger's lines: JSON with one ISO "time" that follows the clock (the string is reused only
// within one millisecond).
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';

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
});
