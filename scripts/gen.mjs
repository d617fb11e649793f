#!/usr/bin/env node
// The one way to regenerate contract code: `npm run gen` (or `npm run gen -- --check` in CI, which fails
// when the committed output differs from a fresh generation). Tool versions are pinned in package.json.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, cpSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const buf = join(root, 'node_modules/.bin/buf');
const outGen = 'libs/contracts/src/gen';
const outDesc = 'libs/contracts/descriptors';

function run(args, cwd = root) {
  execFileSync(buf, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
}

function generateInto(base) {
  mkdirSync(join(base, outGen), { recursive: true });
  mkdirSync(join(base, outDesc), { recursive: true });
  run(['generate', '--output', base]);
  // Descriptor sets feed server reflection (re-parsing .proto at run time would invent file names).
  run(['build', '-o', join(base, outDesc, 'flowmesh.binpb')]);
  run(['build', 'node_modules/grpc-health-check/proto', '-o', join(base, outDesc, 'health.binpb')]);
  // The reflection service describes itself too, so `buf curl --list-services` shows it.
  const reflectionProto = 'node_modules/@grpc/reflection/build/proto';
  run(['build', reflectionProto, '--path', `${reflectionProto}/grpc/reflection/v1/reflection.proto`,
    '-o', join(base, outDesc, 'reflection.binpb')]);
}

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

const tmp = mkdtempSync(join(tmpdir(), 'flowmesh-gen-'));
try {
  generateInto(tmp);
  if (check) {
    let drift = [];
    for (const sub of [outGen, outDesc]) {
      const fresh = listFiles(join(tmp, sub));
      let have = [];
      try { have = listFiles(join(root, sub)); } catch { /* missing dir: everything drifts */ }
      const all = new Set([...fresh, ...have]);
      for (const f of all) {
        let a = null, b = null;
        try { a = readFileSync(join(tmp, sub, f)); } catch {}
        try { b = readFileSync(join(root, sub, f)); } catch {}
        if (!a || !b || !a.equals(b)) drift.push(join(sub, f));
      }
    }
    if (drift.length) {
      console.error(`generated contract code is stale; run \`npm run gen\`:\n  ${drift.join('\n  ')}`);
      process.exit(1);
    }
    console.log('generated contract code is up to date');
  } else {
    for (const sub of [outGen, outDesc]) {
      rmSync(join(root, sub), { recursive: true, force: true });
      cpSync(join(tmp, sub), join(root, sub), { recursive: true });
    }
    console.log(`generated ${listFiles(join(root, outGen)).length} files into ${outGen}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
