import { useRef, useState } from 'preact/hooks';
import { api, ApiError, type Page, raw, read } from '../api';
import { formatDuration, sseEvents } from '../format';
import { useI18n } from '../i18n';
import { useSession } from '../session';
import { Alert, Field, useLoad } from '../ui';
import type { Token } from './tokens';

interface Message {
  role: 'user' | 'assistant';
  content: string;
}

interface Stats {
  latency: number;
  ttfb: number;
  prompt?: number;
  completion?: number;
  stopped: boolean;
}

/** The text, reasoning and usage a chat-completion chunk adds. */
export function chunkParts(data: string): { text: string; usage?: { prompt_tokens: number; completion_tokens: number } } {
  const chunk = JSON.parse(data) as {
    choices?: { delta?: { content?: string | null; reasoning_content?: string | null } }[];
    usage?: { prompt_tokens: number; completion_tokens: number } | null;
  };
  const delta = chunk.choices?.[0]?.delta;
  return { text: (delta?.reasoning_content ?? '') + (delta?.content ?? ''), usage: chunk.usage ?? undefined };
}

export function Playground() {
  const { t } = useI18n();
  const me = useSession()!;
  const [tokenId, setTokenId] = useState('');
  const [model, setModel] = useState('');
  const [input, setInput] = useState('');
  const [messages, setMessages] = useState<Message[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [stats, setStats] = useState<Stats | null>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const tokens = useLoad(() => api<Page<Token>>('GET', `/api/token?user_id=${me.id}&page_size=100&status=1`), []);
  const models = useLoad(
    () =>
      tokenId
        ? api<{ data: { id: string }[] }>('GET', '/api/playground/models', undefined, { 'X-Nexus-Token-Id': tokenId })
        : Promise.resolve({ data: [] }),
    [tokenId],
  );

  const send = async (e: Event) => {
    e.preventDefault();
    if (!tokenId || !model || !input.trim() || busy) return;
    const history: Message[] = [...messages, { role: 'user', content: input }];
    setMessages([...history, { role: 'assistant', content: '' }]);
    setInput('');
    setError(null);
    setStats(null);
    setBusy(true);
    const controller = new AbortController();
    abort.current = controller;
    const started = performance.now();
    let ttfb = 0;
    let answer = '';
    let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
    let stopped = false;
    try {
      const res = await raw(
        'POST',
        '/api/playground/chat/completions',
        { model, messages: history, stream: true, stream_options: { include_usage: true } },
        { 'X-Nexus-Token-Id': tokenId },
        controller.signal,
      );
      if (!res.ok || !res.body) await read(res);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      const events = sseEvents();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const data of events.push(value)) {
          if (data === '[DONE]') continue;
          const part = chunkParts(data);
          if (part.usage) usage = part.usage;
          if (part.text) {
            if (!ttfb) ttfb = performance.now() - started;
            answer += part.text;
            setMessages([...history, { role: 'assistant', content: answer }]);
          }
        }
      }
    } catch (err) {
      if (controller.signal.aborted) stopped = true;
      else setError(err instanceof ApiError || err instanceof Error ? err : new Error(String(err)));
    } finally {
      abort.current = null;
      setBusy(false);
      setStats({
        latency: performance.now() - started,
        ttfb,
        prompt: usage?.prompt_tokens,
        completion: usage?.completion_tokens,
        stopped,
      });
    }
  };

  return (
    <section class="playground">
      <div class="toolbar">
        <Field label={t('playground.token')}>
          <select name="token" value={tokenId} onChange={(e) => setTokenId(e.currentTarget.value)}>
            <option value="">{t('playground.pickToken')}</option>
            {tokens.data?.data.map((tk) => (
              <option key={tk.id} value={String(tk.id)}>
                {tk.name} ({tk.key})
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('playground.model')}>
          <input name="model" list="playground-models" value={model} onInput={(e) => setModel(e.currentTarget.value)} />
          <datalist id="playground-models">
            {models.data?.data.map((m) => <option key={m.id} value={m.id} />)}
          </datalist>
        </Field>
        <button type="button" onClick={() => setMessages([])} disabled={busy || messages.length === 0}>
          {t('playground.clear')}
        </button>
      </div>
      <Alert error={tokens.error ?? models.error} />
      {tokens.data && tokens.data.total === 0 && <p class="empty">{t('playground.noTokens')}</p>}
      <ol class="messages" aria-live="polite">
        {messages.map((m, i) => (
          <li key={i} class={m.role} data-role={m.role}>
            <span class="who">{m.role === 'user' ? t('playground.you') : model}</span>
            <div class="content">{m.content}</div>
          </li>
        ))}
      </ol>
      <Alert error={error} />
      {stats && (
        <p class="stats" role="status">
          {stats.stopped ? `${t('playground.stopped')} · ` : ''}
          {t('playground.stats', {
            latency: formatDuration(stats.latency),
            ttfb: stats.ttfb ? formatDuration(stats.ttfb) : '—',
            prompt: stats.prompt ?? '—',
            completion: stats.completion ?? '—',
          })}
        </p>
      )}
      <form onSubmit={send} class="compose">
        <Field label={t('playground.message')}>
          <textarea
            name="message"
            rows={3}
            value={input}
            onInput={(e) => setInput(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send(e);
            }}
          />
        </Field>
        <div class="buttons">
          {busy ? (
            <button type="button" class="danger" onClick={() => abort.current?.abort()}>
              {t('playground.stop')}
            </button>
          ) : (
            <button type="submit" class="primary" disabled={!tokenId || !model || !input.trim()}>
              {t('playground.send')}
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
