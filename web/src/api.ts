// The console's only way to the server: the documented /api, with the session cookie (sent by
// the browser) and, on writes, the CSRF token from the login answer or /api/auth/me.

export interface ApiErrorBody {
  message: string;
  code: string | null;
  param: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export interface User {
  id: number;
  username: string;
  display_name: string;
  role: 'root' | 'admin' | 'user';
  status: number;
  group: string;
  remain_quota: number;
  used_quota: number;
  created_time: number;
  last_login_time: number;
  totp_enabled: boolean;
}

export interface SignedIn {
  user: User;
  csrf_token: string;
}

export interface Page<T> {
  data: T[];
  total: number;
  page: number;
  page_size: number;
}

let csrfToken = '';
let onSignedOut: (() => void) | null = null;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when the server says the session is gone (401 on a signed-in page). */
export function onSessionEnded(handler: () => void): void {
  onSignedOut = handler;
}

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const h: Record<string, string> = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) h['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, '', 'network_error');
  }
  return read<T>(res);
}

/** A request whose answer is read by the caller (a stream): the session's headers, `signal` to stop it. */
export async function raw(
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<Response> {
  const h: Record<string, string> = { 'Content-Type': 'application/json', ...headers };
  if (csrfToken) h['X-CSRF-Token'] = csrfToken;
  return fetch(path, { method, headers: h, body: JSON.stringify(body), credentials: 'same-origin', signal });
}

/** The JSON of an answer, or the ApiError it carries. */
export async function read<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data as { error?: Partial<ApiErrorBody> } | null)?.error;
    const err = new ApiError(res.status, e?.message ?? res.statusText, e?.code ?? null, e?.param ?? null);
    if (res.status === 401 && (err.code === 'not_signed_in' || err.code === 'session_expired')) onSignedOut?.();
    throw err;
  }
  return data as T;
}

/** A query string from the set values of `params` ("" when none). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
