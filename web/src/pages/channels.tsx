import { useState } from 'preact/hooks';
import { api } from '../api';
import { formatDuration, formatTime, parseList, parseWhole } from '../format';
import { useI18n } from '../i18n';
import { ConfirmDelete, DataTable, RowActions, SearchBar, usePaged, useRowAction } from '../list';
import { Alert, Dialog, Field, fieldError, FormFooter, LocalError, useSubmit } from '../ui';

export interface Channel {
  id: number;
  type: string;
  name: string;
  key: string;
  base_url: string;
  models: string[];
  model_mapping: Record<string, string>;
  priority: number;
  weight: number;
  status: number;
  status_reason: string;
  status_time: number;
  test_time: number;
  response_time: number;
}

interface TestResult {
  success: boolean;
  status: number;
  message: string;
  response_time: number;
}

const TYPES = ['SiliconFlow', 'OpenAI', 'OpenAI-Compatible', 'Anthropic'];
const PAGE_SIZE = 20;
const CHANNEL_FIELDS = ['type', 'name', 'base_url', 'key', 'models', 'model_mapping', 'priority', 'weight'];

export function ChannelStatus({ c }: { c: Channel }) {
  const { t, locale } = useI18n();
  if (c.status === 1) return <span class="badge ok">{t('common.enabled')}</span>;
  if (c.status === 3) {
    return (
      <span class="badge warn" title={formatTime(c.status_time, locale)}>
        {t('channels.autoDisabled', { reason: c.status_reason || '—' })}
      </span>
    );
  }
  return <span class="badge off">{t('common.disabled')}</span>;
}

export function Channels() {
  const { t, locale } = useI18n();
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [editing, setEditing] = useState<Channel | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Channel | null>(null);
  const [tests, setTests] = useState<Record<number, TestResult | 'running' | Error>>({});
  const list = usePaged<Channel>('/api/channel', PAGE_SIZE, { q, status });
  const row = useRowAction(list.reload);

  const runTest = async (c: Channel) => {
    setTests((s) => ({ ...s, [c.id]: 'running' }));
    try {
      const r = await api<TestResult>('POST', `/api/channel/${c.id}/test`);
      setTests((s) => ({ ...s, [c.id]: r }));
      list.reload();
    } catch (e) {
      setTests((s) => ({ ...s, [c.id]: e as Error }));
    }
  };
  const testText = (test: TestResult | 'running' | Error) =>
    test === 'running'
      ? t('channels.testing')
      : test instanceof Error || !test.success
        ? t('channels.testFailed', { message: test.message })
        : t('channels.testOk', { time: formatDuration(test.response_time) });

  return (
    <section>
      <SearchBar value={q} onSearch={setQ} addLabel={t('channels.add')} onAdd={() => setEditing('new')}>
        <Field label={t('common.status')}>
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">{t('common.all')}</option>
            <option value="1">{t('common.enabled')}</option>
            <option value="2">{t('common.disabled')}</option>
            <option value="3">{t('channels.autoDisabledShort')}</option>
          </select>
        </Field>
      </SearchBar>
      <Alert error={list.error ?? row.error} />
      <DataTable
        headers={['ID', t('common.name'), t('channels.type'), t('channels.key'), t('common.status'), t('channels.priority'),
          t('channels.weight'), t('channels.lastTest'), t('common.actions')]}
        empty={list.data?.total === 0}
      >
        {list.data?.data.map((c) => {
          const test = tests[c.id];
          return (
            <tr key={c.id}>
              <td>{c.id}</td>
              <td>{c.name}</td>
              <td>{c.type}</td>
              <td>
                <code>{c.key}</code>
              </td>
              <td>
                <ChannelStatus c={c} />
              </td>
              <td>{c.priority}</td>
              <td>{c.weight}</td>
              <td>
                {c.test_time ? `${formatTime(c.test_time, locale)} · ${formatDuration(c.response_time)}` : '—'}
                {test && (
                  <div class="test-result" role="status">
                    {testText(test)}
                  </div>
                )}
              </td>
              <RowActions
                onEdit={() => setEditing(c)}
                enabled={c.status === 1}
                onToggle={() => row.run(() => api('PATCH', `/api/channel/${c.id}`, { status: c.status === 1 ? 2 : 1 }))}
                onDelete={() => setDeleting(c)}
              >
                <button type="button" onClick={() => runTest(c)} disabled={test === 'running'}>
                  {t('channels.test')}
                </button>
              </RowActions>
            </tr>
          );
        })}
      </DataTable>
      {list.pager}
      {editing && (
        <ChannelForm
          channel={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => (setEditing(null), list.reload())}
        />
      )}
      {deleting && (
        <ConfirmDelete
          title={t('channels.deleteTitle')}
          message={t('channels.deleteMessage', { name: deleting.name })}
          path={`/api/channel/${deleting.id}`}
          onDone={list.reload}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}

function ChannelForm({ channel, onClose, onSaved }: { channel: Channel | null; onClose: () => void; onSaved: () => void }) {
  const { t } = useI18n();
  const [type, setType] = useState(channel?.type ?? 'SiliconFlow');
  const [name, setName] = useState(channel?.name ?? '');
  const [baseUrl, setBaseUrl] = useState(channel?.base_url ?? '');
  const [key, setKey] = useState('');
  const [models, setModels] = useState((channel?.models ?? []).join(', '));
  const [mapping, setMapping] = useState(
    channel && Object.keys(channel.model_mapping).length ? JSON.stringify(channel.model_mapping, null, 2) : '',
  );
  const [priority, setPriority] = useState(String(channel?.priority ?? 0));
  const [weight, setWeight] = useState(String(channel?.weight ?? 1));
  const { error, busy, submit, setError } = useSubmit(async () => {
    let model_mapping: unknown = {};
    try {
      model_mapping = mapping.trim() ? JSON.parse(mapping) : {};
    } catch {
      setError(new LocalError('model_mapping', t('channels.mappingInvalid')));
      return;
    }
    const p = parseWhole(priority, 0);
    const w = parseWhole(weight, 1);
    if (p === null) return setError(new LocalError('priority', t('common.wholeNumber')));
    if (w === null) return setError(new LocalError('weight', t('common.wholeNumber')));
    const body: Record<string, unknown> = { type, name, models: parseList(models), model_mapping, priority: p, weight: w };
    if (baseUrl.trim() || channel) body.base_url = baseUrl.trim();
    if (key) body.key = key;
    if (channel) await api('PUT', `/api/channel/${channel.id}`, body);
    else await api('POST', '/api/channel', body);
    onSaved();
  });
  return (
    <Dialog title={channel ? t('channels.editTitle', { name: channel.name }) : t('channels.add')} onClose={onClose}>
      <form onSubmit={submit}>
        <Field label={t('channels.type')} error={fieldError(error, 'type')}>
          <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            {TYPES.map((x) => (
              <option key={x} value={x}>
                {x}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('common.name')} error={fieldError(error, 'name')}>
          <input name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label={t('channels.baseUrl')} hint={t('channels.baseUrlHint')} error={fieldError(error, 'base_url')}>
          <input name="base_url" type="url" value={baseUrl} onInput={(e) => setBaseUrl(e.currentTarget.value)} />
        </Field>
        <Field
          label={t('channels.key')}
          hint={channel ? t('channels.keyKeep', { key: channel.key }) : t('channels.keyHint')}
          error={fieldError(error, 'key')}
        >
          <input
            name="key"
            type="password"
            autocomplete="off"
            required={!channel}
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
          />
        </Field>
        <Field label={t('channels.models')} hint={t('channels.modelsHint')} error={fieldError(error, 'models')}>
          <textarea name="models" rows={2} value={models} onInput={(e) => setModels(e.currentTarget.value)} />
        </Field>
        <Field label={t('channels.mapping')} hint={t('channels.mappingHint')} error={fieldError(error, 'model_mapping')}>
          <textarea name="model_mapping" rows={3} value={mapping} onInput={(e) => setMapping(e.currentTarget.value)} />
        </Field>
        <div class="row">
          <Field label={t('channels.priority')} error={fieldError(error, 'priority')}>
            <input name="priority" inputMode="numeric" value={priority} onInput={(e) => setPriority(e.currentTarget.value)} />
          </Field>
          <Field label={t('channels.weight')} error={fieldError(error, 'weight')}>
            <input name="weight" inputMode="numeric" value={weight} onInput={(e) => setWeight(e.currentTarget.value)} />
          </Field>
        </div>
        <FormFooter error={error} busy={busy} onClose={onClose} fields={CHANNEL_FIELDS} />
      </form>
    </Dialog>
  );
}
