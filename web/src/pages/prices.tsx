import { useState } from 'preact/hooks';
import { api } from '../api';
import { formatNumber, formatTime, parseWhole } from '../format';
import { useI18n } from '../i18n';
import { ConfirmDelete, DataTable, RowActions } from '../list';
import { Alert, Dialog, Field, fieldError, FormFooter, LocalError, useLoad, useSubmit } from '../ui';

interface Price {
  model: string;
  input: number;
  output: number;
  cached_input: number;
  per_request: number;
  updated_time: number;
}

const PRICE_FIELDS = ['model', 'input', 'output', 'cached_input', 'per_request'] as const;

export function Prices() {
  const { t, locale } = useI18n();
  const [editing, setEditing] = useState<Price | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Price | null>(null);
  const list = useLoad(() => api<{ data: Price[] }>('GET', '/api/price'), []);
  const n = (x: number) => formatNumber(x, locale);
  return (
    <section>
      <p class="field-hint">{t('prices.unitHint')}</p>
      <div class="toolbar">
        <button type="button" class="primary" onClick={() => setEditing('new')}>
          {t('prices.add')}
        </button>
      </div>
      <Alert error={list.error} />
      <DataTable
        headers={[t('prices.model'), t('prices.input'), t('prices.output'), t('prices.cachedInput'), t('prices.perRequest'),
          t('prices.updated'), t('common.actions')]}
        empty={list.data?.data.length === 0}
      >
        {list.data?.data.map((p) => (
          <tr key={p.model}>
            <td>{p.model}</td>
            <td>{n(p.input)}</td>
            <td>{n(p.output)}</td>
            <td>{n(p.cached_input)}</td>
            <td>{n(p.per_request)}</td>
            <td>{formatTime(p.updated_time, locale)}</td>
            <RowActions onEdit={() => setEditing(p)} onDelete={() => setDeleting(p)} />
          </tr>
        ))}
      </DataTable>
      {editing && (
        <PriceForm
          price={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => (setEditing(null), list.reload())}
        />
      )}
      {deleting && (
        <ConfirmDelete
          title={t('prices.deleteTitle')}
          message={t('prices.deleteMessage', { model: deleting.model })}
          path={`/api/price/${encodeURIComponent(deleting.model)}`}
          onDone={list.reload}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}

function PriceForm({ price, onClose, onSaved }: { price: Price | null; onClose: () => void; onSaved: () => void }) {
  const { t } = useI18n();
  const [values, setValues] = useState<Record<string, string>>({
    model: price?.model ?? '',
    input: String(price?.input ?? 0),
    output: String(price?.output ?? 0),
    cached_input: String(price?.cached_input ?? 0),
    per_request: String(price?.per_request ?? 0),
  });
  const { error, busy, submit, setError } = useSubmit(async () => {
    const model = values.model.trim();
    if (!model) return setError(new LocalError('model', t('prices.modelRequired')));
    const body: Record<string, number> = {};
    for (const f of PRICE_FIELDS.slice(1)) {
      const v = parseWhole(values[f], 0);
      if (v === null || v < 0) return setError(new LocalError(f, t('common.wholeNumber')));
      body[f] = v;
    }
    await api('PUT', `/api/price/${encodeURIComponent(model)}`, body);
    onSaved();
  });
  const labels: Record<(typeof PRICE_FIELDS)[number], string> = {
    model: t('prices.model'),
    input: t('prices.input'),
    output: t('prices.output'),
    cached_input: t('prices.cachedInput'),
    per_request: t('prices.perRequest'),
  };
  return (
    <Dialog title={price ? t('prices.editTitle', { model: price.model }) : t('prices.add')} onClose={onClose}>
      <form onSubmit={submit}>
        {PRICE_FIELDS.map((f) => (
          <Field key={f} label={labels[f]} error={fieldError(error, f)}>
            <input
              name={f}
              inputMode={f === 'model' ? undefined : 'numeric'}
              readOnly={f === 'model' && !!price}
              required={f === 'model'}
              value={values[f]}
              onInput={(e) => setValues({ ...values, [f]: e.currentTarget.value })}
            />
          </Field>
        ))}
        <FormFooter error={error} busy={busy} onClose={onClose} fields={[...PRICE_FIELDS]} />
      </form>
    </Dialog>
  );
}
