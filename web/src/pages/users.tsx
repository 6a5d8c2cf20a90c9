import { useState } from 'preact/hooks';
import { api, type User } from '../api';
import { formatNumber, formatQuota, formatTime, parseWhole } from '../format';
import { useI18n } from '../i18n';
import { useSession } from '../session';
import { ConfirmDelete, DataTable, RowActions, SearchBar, usePaged } from '../list';
import { Alert, Dialog, Field, fieldError, FormFooter, LocalError, StatusBadge, useSubmit } from '../ui';

const PAGE_SIZE = 20;
const USER_FIELDS = ['username', 'password', 'display_name', 'role', 'status', 'remain_quota'];

export function Users() {
  const { t, locale } = useI18n();
  const [q, setQ] = useState('');
  const [editing, setEditing] = useState<User | 'new' | null>(null);
  const [password, setPassword] = useState<User | null>(null);
  const [deleting, setDeleting] = useState<User | null>(null);
  const list = usePaged<User>('/api/user', PAGE_SIZE, { q });
  return (
    <section>
      <SearchBar value={q} onSearch={setQ} addLabel={t('users.add')} onAdd={() => setEditing('new')} />
      <Alert error={list.error} />
      <DataTable
        headers={['ID', t('users.username'), t('users.role'), t('common.status'), t('users.remain'), t('users.used'),
          t('users.lastLogin'), t('common.actions')]}
        empty={list.data?.total === 0}
      >
        {list.data?.data.map((u) => (
          <tr key={u.id}>
            <td>{u.id}</td>
            <td>
              {u.username}
              {u.display_name && <span class="muted"> · {u.display_name}</span>}
            </td>
            <td>{t(`role.${u.role}`)}</td>
            <td>
              <StatusBadge status={u.status} />
            </td>
            <td>{formatQuota(u.remain_quota, locale, t('common.unlimited'))}</td>
            <td>{formatNumber(u.used_quota, locale)}</td>
            <td>{formatTime(u.last_login_time, locale)}</td>
            <RowActions onEdit={() => setEditing(u)} onDelete={u.role === 'root' ? undefined : () => setDeleting(u)}>
              <button type="button" onClick={() => setPassword(u)}>
                {t('users.setPassword')}
              </button>
            </RowActions>
          </tr>
        ))}
      </DataTable>
      {list.pager}
      {editing && (
        <UserForm
          user={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => (setEditing(null), list.reload())}
        />
      )}
      {password && <PasswordForm user={password} onClose={() => setPassword(null)} />}
      {deleting && (
        <ConfirmDelete
          title={t('users.deleteTitle')}
          message={t('users.deleteMessage', { name: deleting.username })}
          path={`/api/user/${deleting.id}`}
          onDone={list.reload}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}

/** A new password, 8–128 characters. */
function NewPassword({ value, onInput, error }: { value: string; onInput: (v: string) => void; error: unknown }) {
  const { t } = useI18n();
  return (
    <Field label={t('users.password')} hint={t('users.passwordHint')} error={fieldError(error, 'password')}>
      <input
        name="password"
        type="password"
        autocomplete="new-password"
        required
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
    </Field>
  );
}

function UserForm({ user, onClose, onSaved }: { user: User | null; onClose: () => void; onSaved: () => void }) {
  const { t } = useI18n();
  const me = useSession();
  const [username, setUsername] = useState(user?.username ?? '');
  const [password, setPassword] = useState('');
  const [display, setDisplay] = useState(user?.display_name ?? '');
  const [role, setRole] = useState(user?.role ?? 'user');
  const [status, setStatus] = useState(String(user?.status ?? 1));
  const [quota, setQuota] = useState(user && user.remain_quota >= 0 ? String(user.remain_quota) : '');
  const { error, busy, submit, setError } = useSubmit(async () => {
    const remain = parseWhole(quota, -1);
    if (remain === null) return setError(new LocalError('remain_quota', t('common.wholeNumber')));
    const body: Record<string, unknown> = { display_name: display, remain_quota: remain };
    if (!user || user.role !== role) body.role = role;
    if (user) {
      if (Number(status) !== user.status) body.status = Number(status);
      await api('PATCH', `/api/user/${user.id}`, body);
    } else {
      await api('POST', '/api/user', { ...body, username, password });
    }
    onSaved();
  });
  const roles = me?.role === 'root' ? ['user', 'admin', 'root'] : ['user'];
  return (
    <Dialog title={user ? t('users.editTitle', { name: user.username }) : t('users.add')} onClose={onClose}>
      <form onSubmit={submit}>
        {!user && (
          <>
            <Field label={t('users.username')} hint={t('users.usernameHint')} error={fieldError(error, 'username')}>
              <input name="username" autocomplete="off" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
            </Field>
            <NewPassword value={password} onInput={setPassword} error={error} />
          </>
        )}
        <Field label={t('users.displayName')} error={fieldError(error, 'display_name')}>
          <input name="display_name" value={display} onInput={(e) => setDisplay(e.currentTarget.value)} />
        </Field>
        <Field label={t('users.role')} error={fieldError(error, 'role')}>
          <select name="role" value={role} disabled={user?.role === 'root'} onChange={(e) => setRole(e.currentTarget.value as User['role'])}>
            {(roles.includes(role) ? roles : [role, ...roles]).map((r) => (
              <option key={r} value={r}>
                {t(`role.${r as User['role']}`)}
              </option>
            ))}
          </select>
        </Field>
        {user && user.role !== 'root' && (
          <Field label={t('common.status')} error={fieldError(error, 'status')}>
            <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
              <option value="1">{t('common.enabled')}</option>
              <option value="2">{t('common.disabled')}</option>
            </select>
          </Field>
        )}
        <Field label={t('users.quota')} hint={t('tokens.quotaHint')} error={fieldError(error, 'remain_quota')}>
          <input name="remain_quota" inputMode="numeric" value={quota} onInput={(e) => setQuota(e.currentTarget.value)} />
        </Field>
        <FormFooter error={error} busy={busy} onClose={onClose} fields={USER_FIELDS} />
      </form>
    </Dialog>
  );
}

function PasswordForm({ user, onClose }: { user: User; onClose: () => void }) {
  const { t } = useI18n();
  const [password, setPassword] = useState('');
  const { error, busy, submit } = useSubmit(async () => {
    await api('POST', `/api/user/${user.id}/password`, { password });
    onClose();
  });
  return (
    <Dialog title={t('users.setPasswordTitle', { name: user.username })} onClose={onClose}>
      <form onSubmit={submit}>
        <NewPassword value={password} onInput={setPassword} error={error} />
        <FormFooter error={error} busy={busy} onClose={onClose} fields={['password']} />
      </form>
    </Dialog>
  );
}
