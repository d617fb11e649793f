// The text of a batch, decoded a window at a time (issue 7, target 1a). Decoding a 4 MiB batch in one
// `toString` made one string of up to 8 MiB (two bytes per character as soon as one is not Latin-1): V8
// puts a string that large in its large-object space, fresh pages from the kernel each batch — ~2,000 minor
// page faults per 4 MiB batch, 82% of a batch thread's faults (perf, bench/README.md) — and it lived through
// the whole batch into the old generation. Windows of ~32 KiB decode into strings of at most ~64 KiB,
// allocated in the young generation and dead a window later: the same decode took 10.6 → 6.5 ms of CPU per
// 4 MiB batch of the orders data (in a worker thread, no page faults left).
//
// A window ends after a newline (a UTF-8 newline byte is never part of a multi-byte character, so a window
// decodes as its bytes would inside the whole text). A newline inside a quoted CSV field may be where a
// window ends: the reader then sees the record still open at the window's end and widens the window (the
// same start, twice the bytes), so its positions stay valid and records never depend on where windows fall.

/** Bytes decoded at a time: a two-byte string of this many characters stays below V8's large-object size. */
export const WINDOW_BYTES = 32 * 1024;

const LF = 10;

export class TextWindow {
  /** The window's text. */
  s = '';
  /** True when no text follows this window. */
  final = true;
  private start = 0;
  private end = 0;

  /**
   * @param bytes the whole text; a string is one window.
   * @param size bytes per window (a window grows to the next newline when it holds none). @default WINDOW_BYTES
   */
  constructor(
    private readonly bytes: Buffer | string,
    private readonly size = WINDOW_BYTES,
  ) {
    if (!(size >= 1)) throw new RangeError('window size must be at least 1 byte');
    if (typeof bytes === 'string') this.s = bytes;
    else this.load(0, 0, size);
  }

  /** Moves to the window after this one (only when !final): its text starts at position 0. */
  next(): void {
    this.load(this.end, this.end, this.end + this.size);
  }

  /** The same window with at least twice its bytes (only when !final): a record is still open at its end. */
  widen(): void {
    this.load(this.start, this.end, this.end + (this.end - this.start));
  }

  /** Decodes from `start` to the last newline before `target` that lies at or after `after` (else the first after). */
  private load(start: number, after: number, target: number): void {
    const bytes = this.bytes as Buffer;
    const length = bytes.length;
    let end = length;
    if (target < length) {
      let nl = bytes.lastIndexOf(LF, target - 1);
      if (nl < after) nl = bytes.indexOf(LF, target);
      end = nl < 0 ? length : nl + 1;
    }
    this.start = start;
    this.end = end;
    this.final = end >= length;
    this.s = bytes.toString('utf8', start, end);
  }
}
