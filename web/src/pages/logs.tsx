import { useState } from 'preact/hooks';
import { formatDuration, formatNumber, formatTime, fromLocalInput } from '../format';
import { useI18n } from '../i18n';
import { isAdmin, useSession } from '../session';
import { DataTable, usePaged } from '../list';
import { Alert, Dialog, Field } from '../ui';

export interface LogRow {
  id: number;
  created_time: number;
  request_id: string;
  token_id: number;
  user_id: number;
  channel_id: number;
  model: string;
  stream: boolean;
  status: number;
  latency_ms: number;
  ttfb_ms: number;
  attempts: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cached_tokens: number;
  quota: number;
  estimated: boolean;
}

const PAGE_SIZE = 50;

export function Logs() {
  const { t, locale } = useI18n();
  const user = useSession();
  const [filters, setFilters] = useState({ start: '', end: '', token_id: '', channel_id: '', model: '', status: '' });
  const [shown, setShown] = useState(filters);
  const [detail, setDetail] = useState<LogRow | null>(null);
  const list = usePaged<LogRow>('/api/log', PAGE_SIZE, {
    start_time: shown.start ? fromLocalInput(shown.start, 0) : undefined,
    end_time: shown.end ? fromLocalInput(shown.end, 0) : undefined,
    token_id: shown.token_id,
    channel_id: shown.channel_id,
    model: shown.model,
    status: shown.status,
  });
  const set = (k: keyof typeof filters) => (e: Event) =>
    setFilters({ ...filters, [k]: (e.currentTarget as HTMLInputElement).value });
  return (
    <section>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setShown(filters);
        }}
      >
        <Field label={t('logs.from')}>
          <input type="datetime-local" value={filters.start} onInput={set('start')} />
        </Field>
        <Field label={t('logs.to')}>
          <input type="datetime-local" value={filters.end} onInput={set('end')} />
        </Field>
        <Field label={t('logs.tokenId')}>
          <input inputMode="numeric" size={6} value={filters.token_id} onInput={set('token_id')} />
        </Field>
        {isAdmin(user) && (
          <Field label={t('logs.channelId')}>
            <input inputMode="numeric" size={6} value={filters.channel_id} onInput={set('channel_id')} />
          </Field>
        )}
        <Field label={t('logs.model')}>
          <input value={filters.model} onInput={set('model')} />
        </Field>
        <Field label={t('logs.status')}>
          <input inputMode="numeric" size={4} value={filters.status} onInput={set('status')} />
        </Field>
        <button type="submit" class="primary">
          {t('common.apply')}
        </button>
      </form>
      <Alert error={list.error} />
      <DataTable
        headers={[t('logs.time'), t('logs.model'), t('logs.status'), t('logs.token'), t('logs.channel'), t('logs.latency'),
          t('logs.tokens'), t('logs.cost')]}
        empty={list.data?.total === 0}
      >
        {list.data?.data.map((r) => (
          <tr key={r.id}>
            <td>
              <button type="button" class="link" onClick={() => setDetail(r)}>
                {formatTime(r.created_time, locale)}
              </button>
            </td>
            <td>{r.model}</td>
            <td>
              <span class={r.status >= 200 && r.status < 300 ? 'badge ok' : 'badge off'}>{r.status}</span>
            </td>
            <td>{r.token_id}</td>
            <td>{r.channel_id || '—'}</td>
            <td>{formatDuration(r.latency_ms)}</td>
            <td>{formatNumber(r.total_tokens, locale)}</td>
            <td>{formatNumber(r.quota, locale)}</td>
          </tr>
        ))}
      </DataTable>
      {list.pager}
      {detail && <LogDetail row={detail} onClose={() => setDetail(null)} />}
    </section>
  );
}

function LogDetail({ row, onClose }: { row: LogRow; onClose: () => void }) {
  const { t, locale } = useI18n();
  const n = (x: number) => formatNumber(x, locale);
  const items: [string, string][] = [
    [t('logs.requestId'), row.request_id],
    [t('logs.time'), formatTime(row.created_time, locale)],
    [t('logs.model'), row.model],
    [t('logs.stream'), row.stream ? t('common.yes') : t('common.no')],
    [t('logs.status'), String(row.status)],
    [t('logs.token'), String(row.token_id)],
    [t('logs.channel'), row.channel_id ? String(row.channel_id) : '—'],
    [t('logs.attempts'), String(row.attempts)],
    [t('logs.latency'), formatDuration(row.latency_ms)],
    [t('logs.ttfb'), row.ttfb_ms ? formatDuration(row.ttfb_ms) : '—'],
    [t('logs.promptTokens'), n(row.prompt_tokens)],
    [t('logs.completionTokens'), n(row.completion_tokens)],
    [t('logs.cachedTokens'), n(row.cached_tokens)],
    [t('logs.cost'), n(row.quota) + (row.estimated ? ` (${t('logs.estimated')})` : '')],
  ];
  return (
    <Dialog title={t('logs.detail')} onClose={onClose}>
      <dl class="detail">
        {items.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <div class="buttons">
        <button type="button" class="primary" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
    </Dialog>
  );
}
