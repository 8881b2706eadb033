interface Waiting<T, R> {
  item: T;
  resolve: (result: R | PromiseLike<R>) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for log writes: the first item goes out at once, alone; items submitted
 * while a write is in flight wait for it and then go out together in the next write. So
 * one statement (and one durable flush) serves every transaction that decided meanwhile,
 * with no timer and no added delay when nothing runs concurrently.
 */
export class WriteGroup<T, R> {
  readonly #write: (items: T[]) => Promise<ReadonlyArray<R | PromiseLike<R>>>;
  readonly #maxItems: number;
  #queue: Array<Waiting<T, R>> = [];
  #writing = false;

  /**
   * `write` gets the items in submission order and answers one result per item, in that
   * order; a result may be a promise (an item that failed alone rejects alone).
   */
  constructor(write: (items: T[]) => Promise<ReadonlyArray<R | PromiseLike<R>>>, maxItems: number) {
    this.#write = write;
    this.#maxItems = maxItems;
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
