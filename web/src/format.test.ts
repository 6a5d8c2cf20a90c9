import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  formatNumber,
  formatPercent,
  formatQuota,
  fromLocalInput,
  parseList,
  parseWhole,
  sseEvents,
  toLocalInput,
} from './format';
import { fillBuckets, top, usageRow } from './pages/dashboard';
import { chunkParts } from './pages/playground';

describe('numbers and quotas', () => {
  it('writes numbers with the locale’s separators', () => {
    expect(formatNumber(1234567, 'en-GB')).toBe('1,234,567');
    expect(formatNumber(1234567, 'zh-CN')).toBe('1,234,567');
  });
  it('writes −1 quota as unlimited', () => {
    expect(formatQuota(-1, 'en-GB', 'Unlimited')).toBe('Unlimited');
    expect(formatQuota(5000, 'en-GB', 'Unlimited')).toBe('5,000');
  });
  it('writes durations and shares', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(1250)).toBe('1.25 s');
    expect(formatDuration(12500)).toBe('12.5 s');
    expect(formatPercent(1, 8)).toBe('12.5%');
    expect(formatPercent(3, 0)).toBe('0.0%');
  });
});

describe('form fields', () => {
  it('splits lists on commas and lines', () => {
    expect(parseList(' a, b\nc ,, ')).toEqual(['a', 'b', 'c']);
    expect(parseList('')).toEqual([]);
  });
  it('reads whole numbers, with a fallback for empty', () => {
    expect(parseWhole('', -1)).toBe(-1);
    expect(parseWhole(' 42 ', 0)).toBe(42);
    expect(parseWhole('-3', 0)).toBe(-3);
    expect(parseWhole('4.5', 0)).toBeNull();
    expect(parseWhole('many', 0)).toBeNull();
  });
  it('round-trips a time through a datetime-local input', () => {
    const at = 1795822800; // a whole minute
    expect(fromLocalInput(toLocalInput(at), -1)).toBe(at);
    expect(toLocalInput(-1)).toBe('');
    expect(fromLocalInput('', -1)).toBe(-1);
  });
});

describe('the stream reader', () => {
  it('yields each data payload once whole, however the bytes are cut', () => {
    const text = 'data: {"a":1}\n\n: comment\n\ndata: [DONE]\r\n\r\n';
    for (let cut = 0; cut <= text.length; ++cut) {
      const events = sseEvents();
      const got = [...events.push(text.slice(0, cut)), ...events.push(text.slice(cut))];
      expect(got).toEqual(['{"a":1}', '[DONE]']);
    }
  });
  it('takes the text, reasoning and usage of a chunk', () => {
    expect(chunkParts('{"choices":[{"delta":{"content":"hi"}}]}')).toEqual({ text: 'hi', usage: undefined });
    expect(chunkParts('{"choices":[{"delta":{"reasoning_content":"hm ","content":null}}]}').text).toBe('hm ');
    expect(chunkParts('{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}').usage).toEqual({
      prompt_tokens: 5,
      completion_tokens: 9,
    });
  });
});

describe('the dashboard', () => {
  const row = (key: number, calls: number) => usageRow(key, calls);
  it('fills the hours without calls with zeros', () => {
    const filled = fillBuckets([row(7200, 3)], 3600, 3 * 3600 + 10, 3600);
    expect(filled.map((r) => [Number(r.key), r.calls])).toEqual([
      [3600, 0],
      [7200, 3],
      [10800, 0],
    ]);
  });
  it('ranks the top rows by calls', () => {
    expect(top([row(1, 2), row(2, 9), row(3, 5)], 2).map((r) => r.key)).toEqual([2, 3]);
  });
});
