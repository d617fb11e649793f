// Cancelling one batch attempt without an AbortSignal per attempt (issue 7, target 4). Node's AbortSignal is
// an EventTarget made with a prototype switch and tracked for its timers: creating one cost ~15% of the job
// driver's own CPU per tiny batch in process (services/coordinator/test/driver-ab.bench.ts), and the driver
// made one per attempt only to tell the executor stream to cancel it. An AttemptCancel has the part of the
// AbortController/AbortSignal surface the stream and runAttempt use (aborted, reason, abort listeners,
// throwIfAborted) and makes a real AbortSignal only when one is asked for: the iterable form of a runner
// (inline bytes, local runs) gets `signal`, linked to it.

/** A listener of an attempt's cancel: the executor stream's channel is one (`handleEvent`). */
export interface AbortListener {
  handleEvent(): void;
}

/** What the executor stream and runAttempt read of an attempt's cancel: an AbortSignal, or an AttemptCancel. */
export interface CancelSource {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
  throwIfAborted(): void;
}

export class AttemptCancel implements CancelSource {
  aborted = false;
  reason: unknown = undefined;
  // Nearly always one (the stream's channel, or runAttempt's link); an array only beyond that.
  private listener: AbortListener | undefined;
  private more: AbortListener[] | undefined;
  private controller: AbortController | undefined;

  /** Cancels the attempt: listeners are called once, in the order they were added. */
  abort(reason: unknown = new Error('This operation was aborted')): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const first = this.listener;
    const more = this.more;
    this.listener = undefined;
    this.more = undefined;
    first?.handleEvent();
    if (more) for (const l of more) l.handleEvent();
    this.controller?.abort(reason);
  }

  /** Listeners run once (as with `{ once: true }`); one added after the abort is not called. */
  addEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.aborted) return;
    if (!this.listener) this.listener = listener;
    else (this.more ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.listener === listener) this.listener = this.more?.shift();
    else if (this.more) {
      const at = this.more.indexOf(listener);
      if (at >= 0) this.more.splice(at, 1);
    }
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  /** A real AbortSignal that follows this cancel, made on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}
