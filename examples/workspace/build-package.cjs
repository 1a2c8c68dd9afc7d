#!/usr/bin/env node
// The example packages' "build": copy src/ to dist/, as `tsc -p .` would emit it.
// The real monorepo compiles TypeScript here; the example stays free of external
// dependencies so that it builds offline. Run from a package directory (pnpm does).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
fs.rmSync('dist', { recursive: true, force: true });
fs.cpSync('src', 'dist', { recursive: true });
const files = fs.readdirSync('dist').length;
console.log(`${pkg.name}: built ${files} file(s) into ${path.join(path.basename(process.cwd()), 'dist')}`);
