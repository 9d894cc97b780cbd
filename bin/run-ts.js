#!/usr/bin/env node
'use strict';
// Runs a TypeScript file (benchmarks, tools) with tsx: node bin/run-ts.js FILE [args]
require('tsx/cjs');
const path = require('path');
const file = process.argv[2];
process.argv.splice(1, 2, path.resolve(file));
require(path.resolve(file));
