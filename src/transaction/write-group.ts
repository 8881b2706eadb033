interface Waiting<T, R> {
  item: T;
  resolve: (result: R | PromiseLike<R>) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for log writes: the first item goes out at once, alone; items submitted
 * while a write is in flight wait for it and then go out together in the next write. So
 * one statement (and one durable flush) serves every transaction that decided meanwhile,
 * with no added delay when nothing runs concurrently. Writes nobody waits for (done marks)
 * may instead gather for `gatherMs` before each write, to serve more items per statement.
 */
export class WriteGroup<T, R> {
  readonly #write: (items: T[]) => Promise<ReadonlyArray<R | PromiseLike<R>>>;
  readonly #maxItems: number;
  readonly #gatherMs: number;
  #queue: Array<Waiting<T, R>> = [];
  #writing = false;

  /**
   * `write` gets the items in submission order and answers one result per item, in that
   * order; a result may be a promise (an item that failed alone rejects alone).
   */
  constructor(write: (items: T[]) => Promise<ReadonlyArray<R | PromiseLike<R>>>, options: { maxItems: number; gatherMs?: number }) {
    this.#write = write;
    this.#maxItems = options.maxItems;
    this.#gatherMs = options.gatherMs ?? 0;
  }

  /** Resolves with this item's result once the write that carried it is done; rejects with that write's error. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#queue.length > 0) {
      // Unref'd: a process that ends meanwhile loses only writes that were allowed to wait (recovery redoes them).
      if (this.#gatherMs > 0 && this.#queue.length < this.#maxItems) await new Promise((resolve) => setTimeout(resolve, this.#gatherMs).unref());
      const batch = this.#queue.splice(0, this.#maxItems);
      try {
        const results = await this.#write(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(results[i]!));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.#writing = false;
  }
}
