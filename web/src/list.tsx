// What every paged list of the console shares: the search bar, the table, a row's actions, the
// delete confirmation and the pager.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, type Page, query } from './api';
import { useI18n } from './i18n';
import { Confirm, Field, Pager, useLoad } from './ui';

/** `path` paged on the server, with `params` as filters; a change of filter goes back to page 1. */
export function usePaged<T>(path: string, pageSize: number, params: Record<string, string | number | undefined> = {}) {
  const [page, setPage] = useState(1);
  const key = JSON.stringify(params);
  const [lastKey, setLastKey] = useState(key);
  if (key !== lastKey) {
    setLastKey(key);
    setPage(1);
  }
  const list = useLoad(() => api<Page<T>>('GET', `${path}${query({ page, page_size: pageSize, ...params })}`), [page, key]);
  const pager = list.data && <Pager page={page} pageSize={pageSize} total={list.data.total} onPage={setPage} />;
  return { ...list, pager };
}

export function SearchBar({
  value,
  onSearch,
  addLabel,
  onAdd,
  children,
}: {
  value: string;
  onSearch: (q: string) => void;
  addLabel: string;
  onAdd: () => void;
  children?: ComponentChildren;
}) {
  const { t } = useI18n();
  return (
    <div class="toolbar">
      <Field label={t('common.search')}>
        <input type="search" value={value} onInput={(e) => onSearch(e.currentTarget.value)} />
      </Field>
      {children}
      <button type="button" class="primary" onClick={onAdd}>
        {addLabel}
      </button>
    </div>
  );
}

export function DataTable({
  headers,
  empty,
  children,
}: {
  headers: (string | false)[];
  empty: boolean;
  children: ComponentChildren;
}) {
  const { t } = useI18n();
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {headers.map((h) => h !== false && <th key={h}>{h}</th>)}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
      {empty && <p class="empty">{t('common.none')}</p>}
    </div>
  );
}

/** A row's buttons: its own (`children`) first, then Edit, Enable/Disable and Delete. */
export function RowActions({
  onEdit,
  enabled,
  onToggle,
  onDelete,
  children,
}: {
  onEdit: () => void;
  enabled?: boolean;
  onToggle?: () => void;
  onDelete?: () => void;
  children?: ComponentChildren;
}) {
  const { t } = useI18n();
  return (
    <td class="actions">
      {children}
      <button type="button" onClick={onEdit}>
        {t('common.edit')}
      </button>
      {onToggle && (
        <button type="button" onClick={onToggle}>
          {enabled ? t('common.disable') : t('common.enable')}
        </button>
      )}
      {onDelete && (
        <button type="button" class="danger" onClick={onDelete}>
          {t('common.delete')}
        </button>
      )}
    </td>
  );
}

/** Asks before DELETE `path`; `onDone` after it went through. */
export function ConfirmDelete({
  title,
  message,
  path,
  onDone,
  onClose,
}: {
  title: string;
  message: string;
  path: string;
  onDone: () => void;
  onClose: () => void;
}) {
  const { t } = useI18n();
  return (
    <Confirm
      title={title}
      message={message}
      action={t('common.delete')}
      onConfirm={async () => {
        await api('DELETE', path);
        onDone();
      }}
      onClose={onClose}
    />
  );
}

/** Runs a row's action (enable, disable) and keeps its error for the list to show. */
export function useRowAction(reload: () => void) {
  const [error, setError] = useState<unknown>(null);
  const run = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
      reload();
    } catch (e) {
      setError(e);
    }
  };
  return { error, run };
}
