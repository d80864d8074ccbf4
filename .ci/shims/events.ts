/**
 * `node:events` for commander: an EventEmitter with the methods commander calls (`on`, `emit`,
 * `listenerCount`; `Command extends EventEmitter`), with node:events' semantics for them:
 * listeners run in the order added with the emitter as `this`, over a copy of the list taken when
 * `emit` starts; `newListener` is emitted before a listener is added; an unhandled `error` throws;
 * the 11th listener of one event prints node's MaxListenersExceededWarning, once per event.
 */
import { emitWarning } from "./_warn.ts";

type Listener = (...args: unknown[]) => unknown;

/** node:events' EventEmitter.defaultMaxListeners, which nx never changes. */
const MAX_LISTENERS = 10;

export class EventEmitter {
  #events = new Map<string | symbol, Listener[] & { warned?: boolean }>();

  on(type: string | symbol, listener: Listener): this {
    if (typeof listener !== "function") {
      throw Object.assign(new TypeError('The "listener" argument must be of type function'), {
        code: "ERR_INVALID_ARG_TYPE",
      });
    }
    if (this.#events.has("newListener")) this.emit("newListener", type, listener);
    let listeners = this.#events.get(type);
    if (!listeners) this.#events.set(type, listeners = []);
    listeners.push(listener);
    if (listeners.length > MAX_LISTENERS && !listeners.warned) {
      listeners.warned = true;
      const warning = Object.assign(
        new Error(
          `Possible EventEmitter memory leak detected. ${listeners.length} ${String(type)} ` +
            `listeners added to [${this.constructor.name}]. MaxListeners is ${MAX_LISTENERS}.`,
        ),
        { name: "MaxListenersExceededWarning", emitter: this, type, count: listeners.length },
      );
      emitWarning(warning);
    }
    return this;
  }

  emit(type: string | symbol, ...args: unknown[]): boolean {
    const listeners = this.#events.get(type);
    if (!listeners) {
      if (type === "error") {
        throw args[0] instanceof Error
          ? args[0]
          : new Error(`Unhandled error. (${String(args[0])})`);
      }
      return false;
    }
    for (const listener of [...listeners]) listener.apply(this, args);
    return true;
  }

  listenerCount(type: string | symbol): number {
    return this.#events.get(type)?.length ?? 0;
  }
}

export default EventEmitter;
