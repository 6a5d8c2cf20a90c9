import { useState } from 'preact/hooks';
import { api, ApiError, type SignedIn } from '../api';
import { LanguageSwitch } from '../app';
import { useI18n } from '../i18n';
import { signedIn } from '../session';
import { Alert, Field, useSubmit } from '../ui';

export function SignIn() {
  const { t } = useI18n();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
  const { error, busy, submit, setError } = useSubmit(async () => {
    const body: Record<string, string> = { username, password };
    // Six digits are the app's code; anything else is taken as a recovery code.
    if (needsCode) body[/^\d{6}$/.test(code.trim()) ? 'totp_code' : 'recovery_code'] = code.trim();
    try {
      signedIn(await api<SignedIn>('POST', '/api/auth/login', body));
    } catch (e) {
      if (e instanceof ApiError && e.code === 'totp_required') {
        setNeedsCode(true);
        setError(null);
        return;
      }
      throw e;
    }
  });
  document.title = `${t('signIn.title')} · nexus-api`;
  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">{t('signIn.title')}</h1>
        <Field label={t('signIn.username')}>
          <input
            name="username"
            autocomplete="username"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </Field>
        <Field label={t('signIn.password')}>
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
        {needsCode && (
          <Field label={t('signIn.code')} hint={t('signIn.codeHint')}>
            <input
              name="code"
              autocomplete="one-time-code"
              required
              autoFocus
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
          </Field>
        )}
        <Alert error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {t('signIn.submit')}
        </button>
        <LanguageSwitch />
      </form>
    </main>
  );
}
