import { render } from 'preact';
import { App } from './app';
import { currentLang } from './i18n';
import { loadSession } from './session';
import './styles.css';

document.documentElement.lang = currentLang() === 'zh' ? 'zh-CN' : 'en';
void loadSession();
render(<App />, document.getElementById('app')!);
