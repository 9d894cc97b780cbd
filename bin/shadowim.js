#!/usr/bin/env node
'use strict';
// Entry point: TypeScript sources run through tsx's require hook (no build step to forget).
require('tsx/cjs');
require('../cli/main.ts').main(process.argv.slice(2));
