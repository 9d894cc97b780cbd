#!/usr/bin/env node
'use strict';
// Entry point: runs the TypeScript sources directly (no build step to forget). bin/register.js loads them
// from a transpile cache checked against each file's contents; SHADOWIM_DEBUG=1 runs through tsx instead,
// whose source maps give stack traces with the TypeScript line numbers.
if (process.env.SHADOWIM_DEBUG || !require('./register').install()) require('tsx/cjs');
require('../cli/main.ts').main(process.argv.slice(2));
