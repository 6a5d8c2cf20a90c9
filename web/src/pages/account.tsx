import { useState } from 'preact/hooks';
import { api, type User } from '../api';
import { formatNumber, formatQuota } from '../format';
import { useI18n } from '../i18n';
import { updateUser, useSession } from '../session';
import { DataTable } from '../list';
import { Alert, Field, fieldError, useLoad, useSubmit } from '../ui';
import type { UsageRow } from './dashboard';

export function Account() {
  const { t, locale } = useI18n();
  const user = useSession()!;
  const since = Math.floor(Date.now() / 1000) - 30 * 86400;
  const usage = useLoad(() => api<{ data: UsageRow[] }>('GET', `/api/usage?group_by=model&start=${since}`), []);
  return (
    <section class="account">
      <Profile user={user} />
      <PasswordChange />
      <SecondFactor user={user} />
      <section aria-labelledby="own-usage">
        <h2 id="own-usage">{t('account.usage')}</h2>
        <p>
          {t('account.quota', {
            remain: formatQuota(user.remain_quota, locale, t('common.unlimited')),
            used: formatNumber(user.used_quota, locale),
          })}
        </p>
        <Alert error={usage.error} />
        <DataTable
          headers={[t('logs.model'), t('dashboard.calls'), t('logs.tokens'), t('logs.cost')]}
          empty={usage.data?.data.length === 0}
        >
          {usage.data?.data.map((r) => (
            <tr key={r.key}>
              <td>{r.key}</td>
              <td>{formatNumber(r.calls, locale)}</td>
              <td>{formatNumber(r.prompt_tokens + r.completion_tokens, locale)}</td>
              <td>{formatNumber(r.quota, locale)}</td>
            </tr>
          ))}
        </DataTable>
      </section>
    </section>
  );
}

function Profile({ user }: { user: User }) {
  const { t } = useI18n();
  const [display, setDisplay] = useState(user.display_name);
  const [saved, setSaved] = useState(false);
  const { error, busy, submit } = useSubmit(async () => {
    setSaved(false);
    updateUser(await api<User>('PUT', '/api/user/self', { display_name: display }));
    setSaved(true);
  });
  return (
    <form onSubmit={submit} aria-labelledby="profile">
      <h2 id="profile">{t('account.profile')}</h2>
      <p>
        {t('account.signedInAs', { name: user.username, role: t(`role.${user.role}`) })}
      </p>
      <Field label={t('users.displayName')} error={fieldError(error, 'display_name')}>
        <input name="display_name" value={display} onInput={(e) => setDisplay(e.currentTarget.value)} />
      </Field>
      {!fieldError(error, 'display_name') && <Alert error={error} />}
      {saved && <p role="status">{t('common.saved')}</p>}
      <button type="submit" class="primary" disabled={busy}>
        {t('common.save')}
      </button>
    </form>
  );
}

function PasswordChange() {
  const { t } = useI18n();
  const [oldPassword, setOld] = useState('');
  const [newPassword, setNew] = useState('');
  const [saved, setSaved] = useState(false);
  const { error, busy, submit } = useSubmit(async () => {
    setSaved(false);
    await api('PUT', '/api/user/self/password', { old_password: oldPassword, new_password: newPassword });
    setOld('');
    setNew('');
    setSaved(true);
  });
  return (
    <form onSubmit={submit} aria-labelledby="password">
      <h2 id="password">{t('account.password')}</h2>
      <Field label={t('account.oldPassword')} error={fieldError(error, 'old_password')}>
        <input type="password" name="old_password" autocomplete="current-password" required value={oldPassword} onInput={(e) => setOld(e.currentTarget.value)} />
      </Field>
      <Field label={t('account.newPassword')} hint={t('users.passwordHint')} error={fieldError(error, 'new_password')}>
        <input type="password" name="new_password" autocomplete="new-password" required value={newPassword} onInput={(e) => setNew(e.currentTarget.value)} />
      </Field>
      {!fieldError(error, 'old_password') && !fieldError(error, 'new_password') && <Alert error={error} />}
      {saved && <p role="status">{t('account.passwordChanged')}</p>}
      <button type="submit" class="primary" disabled={busy}>
        {t('account.changePassword')}
      </button>
    </form>
  );
}

function SecondFactor({ user }: { user: User }) {
  const { t } = useI18n();
  const [setup, setSetup] = useState<{ secret: string; uri: string } | null>(null);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const begin = useSubmit(async () => setSetup(await api('POST', '/api/user/self/totp', {})));
  const enable = useSubmit(async () => {
    const r = await api<{ recovery_codes: string[] }>('POST', '/api/user/self/totp/enable', { totp_code: code.trim() });
    setRecovery(r.recovery_codes);
    setSetup(null);
    updateUser({ ...user, totp_enabled: true });
  });
  const disable = useSubmit(async () => {
    await api('DELETE', '/api/user/self/totp', { password });
    setPassword('');
    updateUser({ ...user, totp_enabled: false });
  });
  return (
    <section aria-labelledby="totp">
      <h2 id="totp">{t('account.totp')}</h2>
      {recovery && (
        <div class="warning">
          <p>{t('account.recoveryCodes')}</p>
          <pre>{recovery.join('\n')}</pre>
        </div>
      )}
      {user.totp_enabled ? (
        <form onSubmit={disable.submit}>
          <p>{t('account.totpOn')}</p>
          <Field label={t('signIn.password')} error={fieldError(disable.error, 'password')}>
            <input type="password" name="totp_password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </Field>
          {!fieldError(disable.error, 'password') && <Alert error={disable.error} />}
          <button type="submit" class="danger" disabled={disable.busy}>
            {t('account.totpDisable')}
          </button>
        </form>
      ) : setup ? (
        <form onSubmit={enable.submit}>
          <p>{t('account.totpScan')}</p>
          <p>
            <code class="secret">{setup.secret}</code>
          </p>
          <p class="field-hint">
            <code>{setup.uri}</code>
          </p>
          <Field label={t('signIn.code')} error={fieldError(enable.error, 'totp_code')}>
            <input name="totp_code" autocomplete="one-time-code" inputMode="numeric" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </Field>
          {!fieldError(enable.error, 'totp_code') && <Alert error={enable.error} />}
          <button type="submit" class="primary" disabled={enable.busy}>
            {t('account.totpEnable')}
          </button>
        </form>
      ) : (
        <>
          <p>{t('account.totpOff')}</p>
          <Alert error={begin.error} />
          <button type="button" class="primary" disabled={begin.busy} onClick={() => begin.submit()}>
            {t('account.totpSetUp')}
          </button>
        </>
      )}
    </section>
  );
}
