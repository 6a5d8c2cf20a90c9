// How the console writes numbers, times and quotas; the same in both languages but for the
// locale's separators.

export function formatNumber(n: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(n);
}

/** A quota in units; −1 is unlimited. */
export function formatQuota(units: number, locale: string, unlimited: string): string {
  return units < 0 ? unlimited : formatNumber(units, locale);
}

/** Unix seconds as local date and time ("—" for 0, never set). */
export function formatTime(unixSeconds: number, locale: string): string {
  if (!unixSeconds) return '—';
  return new Intl.DateTimeFormat(locale, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(new Date(unixSeconds * 1000));
}

/** Milliseconds, as "850 ms" or "1.25 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/** A share as a percentage with one decimal ("0.0%" for an empty total). */
export function formatPercent(part: number, total: number): string {
  return `${total > 0 ? ((100 * part) / total).toFixed(1) : '0.0'}%`;
}

/** A list field typed as text: comma- or newline-separated, trimmed, no empties. */
export function parseList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** An optional whole number field: "" → fallback; otherwise the integer, or null if it is not one. */
export function parseWhole(text: string, fallback: number): number | null {
  const t = text.trim();
  if (t === '') return fallback;
  if (!/^-?\d+$/.test(t)) return null;
  return Number(t);
}

/** Unix seconds → the value of an <input type="datetime-local"> (local time), "" for none. */
export function toLocalInput(unixSeconds: number): string {
  if (unixSeconds <= 0) return '';
  const d = new Date(unixSeconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The value of an <input type="datetime-local"> → unix seconds, or `none` when empty. */
export function fromLocalInput(value: string, none: number): number {
  if (!value) return none;
  return Math.floor(new Date(value).getTime() / 1000);
}

/** Server-sent events of a fetch body: each `data:` payload, as it arrives. */
export function sseEvents(): { push(chunk: string): string[] } {
  let pending = '';
  return {
    push(chunk: string): string[] {
      pending += chunk;
      const out: string[] = [];
      let end: number;
      while ((end = pending.search(/\r?\n\r?\n/)) >= 0) {
        const block = pending.slice(0, end);
        pending = pending.slice(end + (pending[end] === '\r' ? 4 : 2));
        const data = block
          .split(/\r?\n/)
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        if (data) out.push(data);
      }
      return out;
    },
  };
}
