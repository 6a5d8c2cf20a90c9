// Every string of the console comes from a catalog: English (en.ts) and 中文 (zh.ts), which must
// name the same keys with the same {placeholders} (i18n.test.ts). The language is the one chosen
// and remembered, else the browser's.
import { Shared } from '../store';
import { en, type Key } from './en';
import { zh } from './zh';

export type Lang = 'zh' | 'en';
export const catalogs: Record<Lang, Record<Key, string>> = { en, zh };
const STORAGE_KEY = 'nexus.lang';

export function initialLang(stored: string | null, browser: readonly string[]): Lang {
  if (stored === 'zh' || stored === 'en') return stored;
  for (const l of browser) {
    if (l.toLowerCase().startsWith('zh')) return 'zh';
    if (l.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

function storedLang(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

const current = new Shared<Lang>(
  initialLang(storedLang(), typeof navigator === 'undefined' ? [] : (navigator.languages ?? [])),
);

export function translate(lang: Lang, key: Key, vars?: Record<string, string | number>): string {
  const text = catalogs[lang][key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m)) : text;
}

export function setLang(lang: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // private mode: the choice lasts for this page only
  }
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  current.set(lang);
}

export type T = (key: Key, vars?: Record<string, string | number>) => string;

export function useI18n(): { t: T; lang: Lang; locale: string; setLang: (l: Lang) => void } {
  const lang = current.use();
  return {
    t: (key, vars) => translate(lang, key, vars),
    lang,
    locale: lang === 'zh' ? 'zh-CN' : 'en-GB',
    setLang,
  };
}

export function currentLang(): Lang {
  return current.get();
}

export type { Key };
