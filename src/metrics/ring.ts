/**
 * A fixed-capacity ring: pushing past the capacity drops the oldest item, so what the sampler
 * keeps (metrics/sampler.ts) never grows with uptime.
 */
export interface Ring<T> {
  push(item: T): void;
  /** The items, oldest first; the last `count` when given. */
  items(count?: number): T[];
  readonly length: number;
  readonly capacity: number;
}

export function createRing<T>(capacity: number): Ring<T> {
  const slots: (T | undefined)[] = new Array<T | undefined>(capacity);
  let next = 0;
  let length = 0;
  return {
    push(item) {
      slots[next] = item;
      next = (next + 1) % capacity;
      length = Math.min(capacity, length + 1);
    },
    items(count = length) {
      const n = Math.max(0, Math.min(count, length));
      const out: T[] = [];
      for (let i = n; i > 0; i--) out.push(slots[(next - i + capacity) % capacity] as T);
      return out;
    },
    get length() {
      return length;
    },
    capacity,
  };
}
