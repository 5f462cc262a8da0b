/**
 * A MemoryKV watch. Events are queued and delivered on a later microtask, as a network watch
 * would deliver them after the write returned, so listeners never run inside a writer's call.
 */
import type { KVWatch, KVWatchEvent, KVWatchListener } from "../kv.js";

type Item = { event: KVWatchEvent } | { error: Error };

export class MemoryWatch implements KVWatch {
  private readonly queue: Item[] = [];
  private scheduled = false;
  private ended = false;

  constructor(
    private readonly prefix: string,
    private readonly listener: KVWatchListener,
    private readonly detach: (watch: MemoryWatch) => void,
  ) {}

  offer(key: string, event: KVWatchEvent): void {
    if (this.ended || !key.startsWith(this.prefix)) return;
    this.enqueue({ event });
  }

  fail(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.detach(this);
    this.enqueue({ error });
  }

  private enqueue(item: Item): void {
    this.queue.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const item = this.queue.shift()!;
      if ("error" in item) {
        this.queue.length = 0;
        this.listener.onError(item.error);
        return;
      }
      this.listener.onEvent(item.event);
    }
  }

  async close(): Promise<void> {
    this.ended = true;
    this.queue.length = 0;
    this.detach(this);
  }
}
