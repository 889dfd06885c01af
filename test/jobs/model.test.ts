// toIsoTime returns a canonical ISO string as it is only when Date would return the very same string:
// compared with Date's own reading over every edge of the calendar and the clock.
import { describe, expect, it } from 'vitest';
import { toIsoTime } from '../../src/jobs/model.ts';

const viaDate = (s: string): string | undefined => {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
};

const pad = (n: number, width: number) => String(n).padStart(width, '0');

describe('toIsoTime', () => {
  it('reads every canonical-looking timestamp exactly as Date does, rolled-over days and hours included', () => {
    const years = [0, 1, 1900, 1970, 2000, 2023, 2024, 2100, 2400, 9999];
    const months = [0, 1, 2, 4, 6, 9, 11, 12, 13];
    const days = [0, 1, 28, 29, 30, 31, 32];
    const times = ['00:00:00.000', '23:59:59.999', '24:00:00.000', '23:60:00.000', '23:59:60.000', '12:34:56.789'];
    let checked = 0;
    for (const y of years)
      for (const mo of months)
        for (const d of days)
          for (const t of times) {
            const s = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${t}Z`;
            expect(toIsoTime(s), s).toBe(viaDate(s));
            checked++;
          }
    expect(checked).toBe(years.length * months.length * days.length * times.length);
  });

  it('normalises the other forms backends send, and refuses what is not a time', () => {
    expect(toIsoTime('2026-12-07T10:00:00Z')).toBe('2026-12-07T10:00:00.000Z');
    expect(toIsoTime('2026-12-07T11:00:00+01:00')).toBe('2026-12-07T10:00:00.000Z');
    expect(toIsoTime(1_765_101_600)).toBe('2025-12-07T10:00:00.000Z');
    expect(toIsoTime(1_765_101_600_000)).toBe('2025-12-07T10:00:00.000Z');
    expect(toIsoTime('not a time')).toBeUndefined();
    expect(toIsoTime('')).toBeUndefined();
    expect(toIsoTime(-5)).toBeUndefined();
    expect(toIsoTime(null)).toBeUndefined();
  });
});
