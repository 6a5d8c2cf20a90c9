import { useState } from 'preact/hooks';
import { api } from '../api';
import { formatNumber, formatQuota, formatTime, fromLocalInput, parseList, parseWhole, toLocalInput } from '../format';
import { useI18n } from '../i18n';
import { isAdmin, useSession } from '../session';
import { ConfirmDelete, DataTable, RowActions, SearchBar, usePaged, useRowAction } from '../list';
import { Alert, Dialog, Field, fieldError, FormFooter, LocalError, StatusBadge, useSubmit } from '../ui';

export interface Token {
  id: number;
  name: string;
  key: string;
  status: number;
  user_id: number;
  created_time: number;
  accessed_time: number;
  expired_time: number;
  remain_quota: number;
  used_quota: number;
  models: string[];
  allow_ips: string[];
  rpm: number;
  tpm: number;
  max_concurrency: number;
}

const PAGE_SIZE = 20;
const TOKEN_FIELDS = ['name', 'user_id', 'remain_quota', 'models', 'allow_ips', 'rpm', 'tpm', 'max_concurrency', 'expired_time'];

export function Tokens() {
  const { t, locale } = useI18n();
  const user = useSession();
  const [q, setQ] = useState('');
  const [editing, setEditing] = useState<Token | 'new' | null>(null);
  const [created, setCreated] = useState<Token | null>(null);
  const [deleting, setDeleting] = useState<Token | null>(null);
  const list = usePaged<Token>('/api/token', PAGE_SIZE, { q });
  const row = useRowAction(list.reload);
  const admin = isAdmin(user);
  return (
    <section>
      <SearchBar value={q} onSearch={setQ} addLabel={t('tokens.add')} onAdd={() => setEditing('new')} />
      <Alert error={list.error ?? row.error} />
      <DataTable
        headers={['ID', t('common.name'), t('tokens.key'), admin && t('tokens.owner'), t('common.status'), t('tokens.remain'),
          t('tokens.used'), t('tokens.expires'), t('common.actions')]}
        empty={list.data?.total === 0}
      >
        {list.data?.data.map((tk) => (
          <tr key={tk.id}>
            <td>{tk.id}</td>
            <td>{tk.name}</td>
            <td>
              <code>{tk.key}</code>
            </td>
            {admin && <td>{tk.user_id}</td>}
            <td>
              <StatusBadge status={tk.status} />
            </td>
            <td>{formatQuota(tk.remain_quota, locale, t('common.unlimited'))}</td>
            <td>{formatNumber(tk.used_quota, locale)}</td>
            <td>{tk.expired_time === -1 ? t('tokens.never') : formatTime(tk.expired_time, locale)}</td>
            <RowActions
              onEdit={() => setEditing(tk)}
              enabled={tk.status === 1}
              onToggle={() => row.run(() => api('PATCH', `/api/token/${tk.id}`, { status: tk.status === 1 ? 0 : 1 }))}
              onDelete={() => setDeleting(tk)}
            />
          </tr>
        ))}
      </DataTable>
      {list.pager}
      {editing && (
        <TokenForm
          token={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(made) => {
            setEditing(null);
            if (made) setCreated(made);
            list.reload();
          }}
        />
      )}
      {created && <KeyShown token={created} onClose={() => setCreated(null)} />}
      {deleting && (
        <ConfirmDelete
          title={t('tokens.deleteTitle')}
          message={t('tokens.deleteMessage', { name: deleting.name })}
          path={`/api/token/${deleting.id}`}
          onDone={list.reload}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}

function KeyShown({ token, onClose }: { token: Token; onClose: () => void }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState<boolean | null>(null);
  return (
    <Dialog title={t('tokens.createdTitle', { name: token.name })} onClose={onClose}>
      <p class="warning">{t('tokens.shownOnce')}</p>
      <Field label={t('tokens.key')}>
        <input name="created_key" readOnly value={token.key} onFocus={(e) => e.currentTarget.select()} />
      </Field>
      <div class="buttons">
        <button
          type="button"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(token.key);
              setCopied(true);
            } catch {
              setCopied(false);
            }
          }}
        >
          {t('tokens.copy')}
        </button>
        <button type="button" class="primary" onClick={onClose}>
          {t('common.done')}
        </button>
      </div>
      {copied !== null && <p role="status">{copied ? t('tokens.copied') : t('tokens.copyFailed')}</p>}
    </Dialog>
  );
}

function TokenForm({
  token,
  onClose,
  onSaved,
}: {
  token: Token | null;
  onClose: () => void;
  onSaved: (created: Token | null) => void;
}) {
  const { t } = useI18n();
  const user = useSession();
  const [name, setName] = useState(token?.name ?? '');
  const [owner, setOwner] = useState('');
  const [quota, setQuota] = useState(token && token.remain_quota >= 0 ? String(token.remain_quota) : '');
  const [models, setModels] = useState((token?.models ?? []).join(', '));
  const [ips, setIps] = useState((token?.allow_ips ?? []).join(', '));
  const [rpm, setRpm] = useState(String(token?.rpm ?? 0));
  const [tpm, setTpm] = useState(String(token?.tpm ?? 0));
  const [conc, setConc] = useState(String(token?.max_concurrency ?? 0));
  const [expiry, setExpiry] = useState(toLocalInput(token?.expired_time ?? -1));
  const { error, busy, submit, setError } = useSubmit(async () => {
    const numbers: Record<string, [string, number]> = {
      remain_quota: [quota, -1],
      rpm: [rpm, 0],
      tpm: [tpm, 0],
      max_concurrency: [conc, 0],
    };
    const body: Record<string, unknown> = {
      name,
      models: parseList(models),
      allow_ips: parseList(ips),
      expired_time: fromLocalInput(expiry, -1),
    };
    for (const [field, [text, fallback]] of Object.entries(numbers)) {
      const v = parseWhole(text, fallback);
      if (v === null) return setError(new LocalError(field, t('common.wholeNumber')));
      body[field] = v;
    }
    if (!token && owner.trim()) {
      const id = parseWhole(owner, 0);
      if (!id) return setError(new LocalError('user_id', t('common.wholeNumber')));
      body.user_id = id;
    }
    if (token) {
      await api('PUT', `/api/token/${token.id}`, body);
      onSaved(null);
    } else {
      onSaved(await api<Token>('POST', '/api/token', body));
    }
  });
  return (
    <Dialog title={token ? t('tokens.editTitle', { name: token.name }) : t('tokens.add')} onClose={onClose}>
      <form onSubmit={submit}>
        <Field label={t('common.name')} error={fieldError(error, 'name')}>
          <input name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        {!token && isAdmin(user) && (
          <Field label={t('tokens.ownerId')} hint={t('tokens.ownerHint')} error={fieldError(error, 'user_id')}>
            <input name="user_id" inputMode="numeric" value={owner} onInput={(e) => setOwner(e.currentTarget.value)} />
          </Field>
        )}
        <Field label={t('tokens.quota')} hint={t('tokens.quotaHint')} error={fieldError(error, 'remain_quota')}>
          <input name="remain_quota" inputMode="numeric" value={quota} onInput={(e) => setQuota(e.currentTarget.value)} />
        </Field>
        <Field label={t('tokens.models')} hint={t('tokens.modelsHint')} error={fieldError(error, 'models')}>
          <textarea name="models" rows={2} value={models} onInput={(e) => setModels(e.currentTarget.value)} />
        </Field>
        <Field label={t('tokens.allowIps')} hint={t('tokens.allowIpsHint')} error={fieldError(error, 'allow_ips')}>
          <textarea name="allow_ips" rows={2} value={ips} onInput={(e) => setIps(e.currentTarget.value)} />
        </Field>
        <div class="row">
          <Field label={t('tokens.rpm')} error={fieldError(error, 'rpm')}>
            <input name="rpm" inputMode="numeric" value={rpm} onInput={(e) => setRpm(e.currentTarget.value)} />
          </Field>
          <Field label={t('tokens.tpm')} error={fieldError(error, 'tpm')}>
            <input name="tpm" inputMode="numeric" value={tpm} onInput={(e) => setTpm(e.currentTarget.value)} />
          </Field>
          <Field label={t('tokens.concurrency')} error={fieldError(error, 'max_concurrency')}>
            <input name="max_concurrency" inputMode="numeric" value={conc} onInput={(e) => setConc(e.currentTarget.value)} />
          </Field>
        </div>
        <p class="field-hint">{t('tokens.limitsHint')}</p>
        <Field label={t('tokens.expires')} hint={t('tokens.expiresHint')} error={fieldError(error, 'expired_time')}>
          <input name="expired_time" type="datetime-local" value={expiry} onInput={(e) => setExpiry(e.currentTarget.value)} />
        </Field>
        <FormFooter error={error} busy={busy} onClose={onClose} fields={TOKEN_FIELDS} />
      </form>
    </Dialog>
  );
}
