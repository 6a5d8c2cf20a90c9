// A value outside the component tree (the session, the language, the URL) that components
// follow: each change re-renders them, including one made between their render and their
// subscription (the session's first answer can arrive in that gap).
import { useEffect, useState } from 'preact/hooks';

export class Shared<T> {
  private readonly listeners = new Set<() => void>();
  constructor(private value: T) {}

  get(): T {
    return this.value;
  }

  set(next: T): void {
    this.value = next;
    this.listeners.forEach((l) => l());
  }

  use(): T {
    const [, tick] = useState(0);
    const seen = this.value;
    useEffect(() => {
      const update = () => tick((n) => n + 1);
      this.listeners.add(update);
      if (this.value !== seen) update();
      return () => void this.listeners.delete(update);
      // eslint-disable-next-line react-hooks/exhaustive-deps
    }, []);
    return this.value;
  }
}
