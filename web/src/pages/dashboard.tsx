import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type Page } from '../api';
import { formatDuration, formatNumber, formatPercent, formatTime } from '../format';
import { useI18n } from '../i18n';
import { isAdmin, useSession } from '../session';
import { DataTable } from '../list';
import { Alert, useLoad } from '../ui';
import type { ChartProps } from './chart';
import { type Channel, ChannelStatus } from './channels';

export interface UsageRow {
  key: string | number;
  calls: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  quota: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
}

type Range = 'day' | 'month';
const RANGES: Record<Range, { group: 'hour' | 'day'; step: number; span: number }> = {
  day: { group: 'hour', step: 3600, span: 24 * 3600 },
  month: { group: 'day', step: 86400, span: 30 * 86400 },
};

/** A row of `calls` calls and nothing else (a bucket without calls when 0). */
export function usageRow(key: string | number, calls = 0): UsageRow {
  return { key, calls, errors: 0, prompt_tokens: 0, completion_tokens: 0, quota: 0, latency_p50_ms: 0, latency_p99_ms: 0 };
}

/** Buckets from `start` to `end` at `step`, each with its row or zeros: a chart without holes. */
export function fillBuckets(rows: UsageRow[], start: number, end: number, step: number): UsageRow[] {
  const byKey = new Map(rows.map((r) => [Number(r.key), r]));
  const out: UsageRow[] = [];
  for (let at = Math.floor(start / step) * step; at <= end; at += step) {
    out.push(byKey.get(at) ?? usageRow(at));
  }
  return out;
}

/** The top `n` rows by calls. */
export function top(rows: UsageRow[], n: number): UsageRow[] {
  return [...rows].sort((a, b) => b.calls - a.calls).slice(0, n);
}

function usage(group: string, start: number) {
  return api<{ data: UsageRow[] }>('GET', `/api/usage?group_by=${group}&start=${start}`).then((r) => r.data);
}

export function Dashboard() {
  const { t, locale } = useI18n();
  const user = useSession();
  const [range, setRange] = useState<Range>('day');
  const [Chart, setChart] = useState<ComponentType<ChartProps> | null>(null);
  // The chart library is its own chunk: the numbers show before it arrives.
  useEffect(() => {
    void import('./chart').then((m) => setChart(() => m.Chart));
  }, []);
  const r = RANGES[range];
  const load = useLoad(async () => {
    const end = Math.floor(Date.now() / 1000);
    const start = end - r.span;
    const [series, models, tokens, channels, health] = await Promise.all([
      usage(r.group, start),
      usage('model', start),
      usage('token', start),
      usage('channel', start),
      isAdmin(user) ? api<Page<Channel>>('GET', '/api/channel?page_size=100') : Promise.resolve(null),
    ]);
    return { series: fillBuckets(series, start, end, r.step), models, tokens, channels, health };
  }, [range]);
  const d = load.data;
  const sum = (f: (x: UsageRow) => number) => (d ? d.series.reduce((a, x) => a + f(x), 0) : 0);
  const calls = sum((x) => x.calls);
  const errors = sum((x) => x.errors);
  const x = d?.series.map((b) => Number(b.key)) ?? [];
  const n = (v: number) => formatNumber(v, locale);

  return (
    <section class="dashboard" data-ready={d && Chart ? 'true' : undefined}>
      <div class="toolbar">
        <label class="field">
          <span class="field-label">{t('dashboard.range')}</span>
          <select value={range} onChange={(e) => setRange(e.currentTarget.value as Range)}>
            <option value="day">{t('dashboard.last24h')}</option>
            <option value="month">{t('dashboard.last30d')}</option>
          </select>
        </label>
      </div>
      <Alert error={load.error} />
      <div class="cards">
        <Card label={t('dashboard.calls')} value={n(calls)} name="calls" />
        <Card label={t('dashboard.tokens')} value={n(sum((b) => b.prompt_tokens + b.completion_tokens))} name="tokens" />
        <Card label={t('dashboard.quota')} value={n(sum((b) => b.quota))} name="quota" />
        <Card label={t('dashboard.errorRate')} value={formatPercent(errors, calls)} name="errors" />
      </div>
      {d && Chart && (
        <div class="charts">
          <Chart
            title={t('dashboard.callsChart')}
            x={x}
            step={r.step}
            series={[
              { label: t('dashboard.calls'), values: d.series.map((b) => b.calls) },
              { label: t('dashboard.errors'), values: d.series.map((b) => b.errors) },
            ]}
          />
          <Chart
            title={t('dashboard.tokensChart')}
            x={x}
            step={r.step}
            series={[
              { label: t('logs.promptTokens'), values: d.series.map((b) => b.prompt_tokens) },
              { label: t('logs.completionTokens'), values: d.series.map((b) => b.completion_tokens) },
            ]}
          />
          <Chart
            title={t('dashboard.quotaChart')}
            x={x}
            step={r.step}
            series={[{ label: t('dashboard.quota'), values: d.series.map((b) => b.quota) }]}
          />
          <Chart
            title={t('dashboard.latencyChart')}
            x={x}
            step={r.step}
            unit="ms"
            series={[
              { label: 'p50', values: d.series.map((b) => b.latency_p50_ms) },
              { label: 'p99', values: d.series.map((b) => b.latency_p99_ms) },
            ]}
          />
        </div>
      )}
      {d && (
        <div class="tops">
          <Top title={t('dashboard.topModels')} rows={d.models} />
          <Top title={t('dashboard.topTokens')} rows={d.tokens} />
          <Top title={t('dashboard.topChannels')} rows={d.channels} />
        </div>
      )}
      {d?.health && (
        <section aria-labelledby="health">
          <h2 id="health">{t('dashboard.health')}</h2>
          <DataTable
            headers={[t('common.name'), t('common.status'), t('channels.lastTest'), t('channels.responseTime')]}
            empty={d.health.data.length === 0}
          >
            {d.health.data.map((c) => (
              <tr key={c.id}>
                <td>{c.name}</td>
                <td>
                  <ChannelStatus c={c} />
                </td>
                <td>{formatTime(c.test_time, locale)}</td>
                <td>{c.test_time ? formatDuration(c.response_time) : '—'}</td>
              </tr>
            ))}
          </DataTable>
        </section>
      )}
    </section>
  );
}

function Card({ label, value, name }: { label: string; value: string; name: string }) {
  return (
    <div class="card" data-card={name}>
      <span class="card-label">{label}</span>
      <span class="card-value">{value}</span>
    </div>
  );
}

function Top({ title, rows }: { title: string; rows: UsageRow[] }) {
  const { t, locale } = useI18n();
  return (
    <section>
      <h2>{title}</h2>
      <DataTable headers={[t('dashboard.name'), t('dashboard.calls'), t('dashboard.quota')]} empty={rows.length === 0}>
        {top(rows, 5).map((r) => (
          <tr key={r.key}>
            <td>{String(r.key)}</td>
            <td>{formatNumber(r.calls, locale)}</td>
            <td>{formatNumber(r.quota, locale)}</td>
          </tr>
        ))}
      </DataTable>
    </section>
  );
}
