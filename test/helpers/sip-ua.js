#!/usr/bin/env node
'use strict';
// A scripted SIP user agent pair (alice, bob) over UDP for the kamailio test: both REGISTER with the
// proxy, then each sends one MESSAGE through it and answers the other's with 200 OK.
// usage: node sip-ua.js PROXY_PORT "alice text" "bob text"
const dgram = require('dgram');
const [proxyPort, aliceText, bobText] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const host = '127.0.0.1';

function ua(user, port) {
  const sock = dgram.createSocket('udp4');
  let cseq = 1;
  const waiters = [];
  sock.on('message', (buf) => {
    const s = buf.toString('utf8');
    if (s.startsWith('MESSAGE ')) {
      const h = (n) => (s.match(new RegExp(`^${n}:.*$`, 'mi')) || [''])[0];
      const vias = s.match(/^Via:.*$/gim) || [];
      const reply = ['SIP/2.0 200 OK', ...vias, h('From'), h('To') + ';tag=' + user, h('Call-ID'), h('CSeq'), 'Content-Length: 0', '', ''].join('\r\n');
      sock.send(reply, proxyPort, host);
      return;
    }
    const w = waiters.shift();
    if (w) w(s);
  });
  const request = (method, ruri, to, extra, body) =>
    new Promise((resolve, reject) => {
      const n = cseq++;
      const msg = [
        `${method} ${ruri} SIP/2.0`,
        `Via: SIP/2.0/UDP ${host}:${port};branch=z9hG4bK${user}${n}${Date.now()}`,
        `From: <sip:${user}@${host}>;tag=${user}${n}`,
        `To: <sip:${to}@${host}>`,
        `Call-ID: ${user}-${n}-${process.pid}@${host}`,
        `CSeq: ${n} ${method}`,
        'Max-Forwards: 70',
        ...extra,
        `Content-Length: ${Buffer.byteLength(body || '')}`,
        '',
        body || '',
      ].join('\r\n');
      const t = setTimeout(() => reject(new Error(`${user}: no answer to ${method}`)), 5000);
      waiters.push((s) => {
        clearTimeout(t);
        resolve(s.split('\r\n')[0]);
      });
      sock.send(msg, proxyPort, host);
    });
  return new Promise((resolve) => sock.bind(port, host, () => resolve({ sock, request })));
}

(async () => {
  const alice = await ua('alice', 5071);
  const bob = await ua('bob', 5072);
  for (const [u, name, port] of [[alice, 'alice', 5071], [bob, 'bob', 5072]]) {
    const r = await u.request('REGISTER', `sip:${host}`, name, [`Contact: <sip:${name}@${host}:${port}>`, 'Expires: 300', 'User-Agent: shadowim-test-ua/1.0'], '');
    if (!r.startsWith('SIP/2.0 200')) throw new Error(`${name} REGISTER: ${r}`);
  }
  const r1 = await alice.request('MESSAGE', `sip:bob@${host}`, 'bob', ['Content-Type: text/plain;charset=UTF-8'], aliceText);
  if (!r1.startsWith('SIP/2.0 200')) throw new Error(`alice MESSAGE: ${r1}`);
  const r2 = await bob.request('MESSAGE', `sip:alice@${host}`, 'alice', ['Content-Type: text/plain;charset=UTF-8'], bobText);
  if (!r2.startsWith('SIP/2.0 200')) throw new Error(`bob MESSAGE: ${r2}`);
  alice.sock.close();
  bob.sock.close();
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
