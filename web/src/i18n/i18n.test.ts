import { describe, expect, it } from 'vitest';
import { catalogs, initialLang, translate } from './index';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('the catalogs', () => {
  it('name the same keys in 中文 and English', () => {
    expect(Object.keys(catalogs.zh).sort()).toEqual(Object.keys(catalogs.en).sort());
  });
  it('give every key a text with the same placeholders', () => {
    for (const key of Object.keys(catalogs.en) as (keyof typeof catalogs.en)[]) {
      expect(catalogs.zh[key].trim(), key).not.toBe('');
      expect(placeholders(catalogs.zh[key]), key).toEqual(placeholders(catalogs.en[key]));
    }
  });
  it('fill the placeholders', () => {
    expect(translate('en', 'common.pageOf', { page: 2, pages: 5, total: 90 })).toBe('Page 2 of 5 (90 in all)');
    expect(translate('zh', 'common.pageOf', { page: 2, pages: 5, total: 90 })).toBe('第 2 / 5 页（共 90 条）');
  });
});

describe('the language', () => {
  it('is the remembered one, else the browser’s, else English', () => {
    expect(initialLang('en', ['zh-CN'])).toBe('en');
    expect(initialLang(null, ['zh-TW', 'en'])).toBe('zh');
    expect(initialLang(null, ['fr-FR', 'en-US'])).toBe('en');
    expect(initialLang(null, ['de-DE'])).toBe('en');
    expect(initialLang('xx', ['zh'])).toBe('zh');
  });
});
