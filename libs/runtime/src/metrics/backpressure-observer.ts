// How long stream writers waited for `drain`. write() (handlers.ts) reports every wait here; the metrics
// server installs the observer that turns them into counters. Unset (metrics off) it costs one check.
type Observer = (waitMs: number) => void;

let observer: Observer | undefined;

export function setBackpressureObserver(fn: Observer | undefined): void {
  observer = fn;
}

export function reportBackpressureWait(waitMs: number): void {
  observer?.(waitMs);
}
