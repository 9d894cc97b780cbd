// Preload (node --require) that makes require('cap') fail the way it does when the binding was never
// built (no libpcap): tests use it to check what `shadowim` says then.
'use strict';
const Module = require('module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'cap') {
    const e = new Error("Cannot find module 'cap'");
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }
  return resolve.call(this, request, ...rest);
};
