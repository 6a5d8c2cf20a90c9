// Client-side routes on real URLs: every page is an <a href> that opens directly (the server
// answers any page path with the console), and a plain click moves without a reload.
import type { ComponentChildren, JSX } from 'preact';
import { Shared } from './store';

const url = new Shared(location.pathname + location.search);
addEventListener('popstate', () => url.set(location.pathname + location.search));

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  url.set(location.pathname + location.search);
}

/** The current path; re-renders on navigation and on back/forward. */
export function usePath(): string {
  url.use();
  return location.pathname;
}

type AnchorProps = JSX.HTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

export function Link({ href, children, ...rest }: AnchorProps) {
  return (
    <a
      {...rest}
      href={href}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
