// A copy of a string that shares no memory with the string it was cut from.
//
// Why: V8 makes `s.slice(a, b)` of 13 or more characters a view into `s` that keeps all of `s` alive. The
// record readers cut each malformed record's raw text out of the ~32 KiB window being parsed, and a batch
// keeps its rejects until its trailer: each kept reject held its whole window, ~1 in 100 records of the
// orders data pinned a window each, and the batch thread promoted ~3.6 MB of dead window text per 4 MiB
// batch into its old generation (~80 MB per 1M records), which is what grew the executors' peak RSS from a
// 1M- to a 10M-record job (issue 7, target 5; bench/README.md "Executors' RSS growth").
// UTF-16 code units round-trip through a utf16le Buffer exactly, lone surrogates included; rejects are rare,
// so the copy's cost does not show.
export function detachString(s: string): string {
  return Buffer.from(s, 'utf16le').toString('utf16le');
}
