// The frame of every page: navigation by role, language, sign-out; and the page of the URL.
import { Component, type ComponentChildren, type ComponentType } from 'preact';
import { api } from './api';
import { type Key, type Lang, useI18n } from './i18n';
import { Account } from './pages/account';
import { Channels } from './pages/channels';
import { Dashboard } from './pages/dashboard';
import { Logs } from './pages/logs';
import { Playground } from './pages/playground';
import { Prices } from './pages/prices';
import { SignIn } from './pages/sign-in';
import { Tokens } from './pages/tokens';
import { Users } from './pages/users';
import { Link, navigate, usePath } from './router';
import { isAdmin, signedOut, useSession } from './session';
import { Alert } from './ui';

interface PageDef {
  path: string;
  title: Key;
  page: ComponentType;
  admin?: boolean;
}

export const pages: PageDef[] = [
  { path: '/', title: 'nav.dashboard', page: Dashboard },
  { path: '/channels', title: 'nav.channels', page: Channels, admin: true },
  { path: '/tokens', title: 'nav.tokens', page: Tokens },
  { path: '/logs', title: 'nav.logs', page: Logs },
  { path: '/prices', title: 'nav.prices', page: Prices, admin: true },
  { path: '/users', title: 'nav.users', page: Users, admin: true },
  { path: '/playground', title: 'nav.playground', page: Playground },
  { path: '/account', title: 'nav.account', page: Account },
];

export function LanguageSwitch() {
  const { t, lang, setLang } = useI18n();
  return (
    <label class="lang">
      <span class="sr-only">{t('nav.language')}</span>
      <select value={lang} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
        <option value="zh">中文</option>
        <option value="en">English</option>
      </select>
    </label>
  );
}

export function App() {
  const { t } = useI18n();
  const user = useSession();
  const path = usePath();

  if (user === undefined) return <p class="loading">{t('common.loading')}</p>;
  if (user === null) return <SignIn />;

  const admin = isAdmin(user);
  const def = pages.find((p) => p.path === path);
  document.title = `${def ? t(def.title) : t('page.notFound')} · nexus-api`;
  let body;
  if (!def) body = <Notice text={t('page.notFound')} />;
  else if (def.admin && !admin) body = <Notice text={t('page.notAllowed')} />;
  else body = <def.page />;

  return (
    <div class="shell">
      <header>
        <Link href="/" class="brand">
          nexus-api
        </Link>
        <nav aria-label={t('nav.main')}>
          {pages
            .filter((p) => !p.admin || admin)
            .map((p) => (
              <Link key={p.path} href={p.path} aria-current={p.path === path ? 'page' : undefined}>
                {t(p.title)}
              </Link>
            ))}
        </nav>
        <div class="who">
          <LanguageSwitch />
          <span class="user">{user.display_name || user.username}</span>
          <button
            type="button"
            onClick={async () => {
              try {
                await api('POST', '/api/auth/logout');
              } finally {
                signedOut();
                navigate('/', true);
              }
            }}
          >
            {t('nav.signOut')}
          </button>
        </div>
      </header>
      <main>
        <h1>{def ? t(def.title) : t('page.notFound')}</h1>
        <PageBoundary key={path}>{body}</PageBoundary>
      </main>
    </div>
  );
}

function Notice({ text }: { text: string }) {
  return (
    <p class="alert" role="alert">
      {text}
    </p>
  );
}

/** A page that fails while drawing shows the failure, never a blank page. */
class PageBoundary extends Component<{ children: ComponentChildren }, { error: unknown }> {
  state = { error: null as unknown };
  componentDidCatch(error: unknown) {
    this.setState({ error });
  }
  render() {
    return this.state.error ? <Alert error={this.state.error} /> : this.props.children;
  }
}
