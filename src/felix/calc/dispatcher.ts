/**
 * Fans model updates out to the graph's nodes by type, in registration order (order matters: a
 * node that hears "A matches B" must already know A and B). The local-endpoint filter forwards
 * only this host's endpoints, turning an endpoint that stops being local into a deletion.
 */

import type { ModelEndpoint } from "./model/types.js";
import type { ModelType, ModelUpdate } from "./model/update-processor.js";

export type Handler<T extends ModelType> = (update: Extract<ModelUpdate, { type: T }>) => void;

export class Dispatcher {
  readonly #handlers = new Map<ModelType, ((u: ModelUpdate) => void)[]>();

  on<T extends ModelType>(type: T, handler: Handler<T>): void {
    let list = this.#handlers.get(type);
    if (!list) {
      list = [];
      this.#handlers.set(type, list);
    }
    list.push(handler as (u: ModelUpdate) => void);
  }

  dispatch(update: ModelUpdate): void {
    const list = this.#handlers.get(update.type);
    if (list) for (const h of list) h(update);
  }
}

export type EndpointUpdate = { key: string; value: ModelEndpoint | null };

/** Passes on updates for endpoints whose host is `hostname`. */
export class LocalEndpointFilter {
  readonly #local = new Set<string>();
  readonly #handlers: ((u: EndpointUpdate) => void)[] = [];

  constructor(readonly hostname: string) {}

  on(handler: (u: EndpointUpdate) => void): void {
    this.#handlers.push(handler);
  }

  onEndpoint = (update: EndpointUpdate): void => {
    const isLocal = update.value !== null && update.value.hostname === this.hostname;
    if (isLocal) {
      this.#local.add(update.key);
    } else {
      if (!this.#local.delete(update.key)) return;
      update = { key: update.key, value: null };
    }
    for (const h of this.#handlers) h(update);
  };
}
