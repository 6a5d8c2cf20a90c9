// The console's small building blocks: labelled fields, alerts, dialogs, paging, loading.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { type Key, type T, useI18n } from './i18n';

/** An error as the user should read it: ours in his language when we know the code, else the server's words. */
export function errorText(e: unknown, t: T): string {
  if (e instanceof ApiError) {
    if (e.code === 'network_error') return t('error.network');
    const key = `error.${e.code}` as Key;
    const known = e.code ? t(key) : key;
    if (known !== key) return known;
    return e.message || t('error.status', { status: e.status });
  }
  return e instanceof Error ? e.message : String(e);
}

export function Alert({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!error) return null;
  return (
    <p class="alert" role="alert">
      {errorText(error, t)}
    </p>
  );
}

/** A check made in the browser before asking the server, shown like the server's own. */
export class LocalError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

const paramOf = (error: unknown): string | null =>
  error instanceof ApiError || error instanceof LocalError ? error.param : null;

/** The error of a field, when the server (or the browser's check) named that field. */
export function fieldError(error: unknown, name: string): unknown {
  return paramOf(error) === name ? error : null;
}

/** A form's error (unless a field of `fields` shows it) and its Cancel and Save buttons. */
export function FormFooter({
  error,
  busy,
  onClose,
  fields,
  save,
}: {
  error: unknown;
  busy: boolean;
  onClose: () => void;
  fields: string[];
  save?: string;
}) {
  const { t } = useI18n();
  const param = paramOf(error);
  return (
    <>
      {!(param && fields.includes(param)) && <Alert error={error} />}
      <div class="buttons">
        <button type="button" onClick={onClose}>
          {t('common.cancel')}
        </button>
        <button type="submit" class="primary" disabled={busy}>
          {save ?? t('common.save')}
        </button>
      </div>
    </>
  );
}

export function Field({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error?: unknown;
  hint?: string;
  children: ComponentChildren;
}) {
  return (
    <label class={error ? 'field invalid' : 'field'}>
      <span class="field-label">{label}</span>
      {children}
      {hint && <span class="field-hint">{hint}</span>}
      <Alert error={error} />
    </label>
  );
}

export function Dialog({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-label={title}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2>{title}</h2>
      {children}
    </dialog>
  );
}

export function Confirm({
  title,
  message,
  action,
  onConfirm,
  onClose,
}: {
  title: string;
  message: string;
  action: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={title} onClose={onClose}>
      <p>{message}</p>
      <Alert error={error} />
      <div class="buttons">
        <button type="button" onClick={onClose}>
          {t('common.cancel')}
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await onConfirm();
              onClose();
            } catch (e) {
              setError(e);
            } finally {
              setBusy(false);
            }
          }}
        >
          {action}
        </button>
      </div>
    </Dialog>
  );
}

export function Pager({
  page,
  pageSize,
  total,
  onPage,
}: {
  page: number;
  pageSize: number;
  total: number;
  onPage: (p: number) => void;
}) {
  const { t } = useI18n();
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <nav class="pager" aria-label={t('common.pages')}>
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        {t('common.previous')}
      </button>
      <span>{t('common.pageOf', { page, pages, total })}</span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        {t('common.next')}
      </button>
    </nav>
  );
}

/** Loads `load()` when `deps` change; `reload` loads again. Errors are kept, never thrown. */
export function useLoad<R>(load: () => Promise<R>, deps: unknown[]) {
  const [data, setData] = useState<R | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { data, error, loading, reload };
}

export function StatusBadge({ status }: { status: number }) {
  const { t } = useI18n();
  return (
    <span class={status === 1 ? 'badge ok' : 'badge off'}>
      {status === 1 ? t('common.enabled') : t('common.disabled')}
    </span>
  );
}

/** The submit handler of a form: runs `work`, keeps its error, and says when it is busy. */
export function useSubmit(work: () => Promise<void>) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e?: Event) => {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, submit, setError };
}
