// Who is signed in: loaded once from /api/auth/me, set by the sign-in page, cleared on logout or
// when the server says the session ended.
import { api, onSessionEnded, setCsrfToken, type SignedIn, type User } from './api';
import { Shared } from './store';

const user = new Shared<User | null | undefined>(undefined); // undefined: not known yet
const set = (next: User | null) => user.set(next);

export function signedIn(answer: SignedIn): void {
  setCsrfToken(answer.csrf_token);
  set(answer.user);
}

export function signedOut(): void {
  setCsrfToken('');
  set(null);
}

onSessionEnded(signedOut);

export async function loadSession(): Promise<void> {
  try {
    signedIn(await api<SignedIn>('GET', '/api/auth/me'));
  } catch {
    signedOut();
  }
}

export function updateUser(next: User): void {
  set(next);
}

export function useSession(): User | null | undefined {
  return user.use();
}

export const isAdmin = (u: User | null | undefined): boolean => u?.role === 'admin' || u?.role === 'root';
