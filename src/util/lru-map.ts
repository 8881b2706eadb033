/**
 * A map that holds at most `capacity` entries and forgets the least recently used one
 * when a new key would exceed it. A JS `Map` keeps insertion order, so "use" is a
 * delete and re-insert; the most recent key is remembered so a hot loop on one key
 * costs a single lookup.
 */
export class LruMap<K, V> {
  readonly capacity: number;
  readonly #map = new Map<K, V>();
  #newest: K | undefined;

  /** `capacity` 0 holds nothing: every `set` is evicted at once. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`LruMap capacity must be a non-negative integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, marking the key as just used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined && key !== this.#newest) {
      this.#map.delete(key);
      this.#map.set(key, value);
      this.#newest = key;
    }
    return value;
  }

  /** The value without marking it used. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Stores the value as the most recently used; returns what had to go to make room. */
  set(key: K, value: V): Array<[K, V]> {
    this.#map.delete(key);
    this.#map.set(key, value);
    this.#newest = key;
    const evicted: Array<[K, V]> = [];
    while (this.#map.size > this.capacity) {
      const oldest = this.#map.entries().next().value as [K, V];
      this.#map.delete(oldest[0]);
      if (oldest[0] === this.#newest) this.#newest = undefined;
      evicted.push(oldest);
    }
    return evicted;
  }

  delete(key: K): boolean {
    if (key === this.#newest) this.#newest = undefined;
    return this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
    this.#newest = undefined;
  }

  values(): IterableIterator<V> {
    return this.#map.values();
  }
}
