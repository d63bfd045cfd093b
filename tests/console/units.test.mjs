// The console's pure modules under Node (no browser): the matcher syntax it reads for
// completion and silences, and the metrics text it reads for the receivers page. Run by the
// e2e_console binary (tests/console/main.rs) beside the browser tests. (The package.json beside
// the scripts tells Node they are ES modules; it is not served.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, format, complete, toSilence, fromSilence, ofLabels } from '../../host/src/console/assets/matchers.js';
import { parse as parseMetrics, sum, values, quantile } from '../../host/src/console/assets/metrics.js';

test('matchers are read as Alertmanager writes them', () => {
  assert.deepEqual(parse('{severity=~"crit.*", team="db"}'), [
    { name: 'severity', op: '=~', value: 'crit.*' },
    { name: 'team', op: '=', value: 'db' },
  ]);
  assert.deepEqual(parse('a!=b, c!~"x|y"'), [
    { name: 'a', op: '!=', value: 'b' },
    { name: 'c', op: '!~', value: 'x|y' },
  ]);
  assert.deepEqual(parse(''), []);
  // Alertmanager's unescaping: \n, \" and \\; other backslashes kept (regex escapes survive).
  assert.equal(parse('{i=~"10\\.0\\..*"}')[0].value, '10\\.0\\..*');
  assert.equal(parse('{s="a\\"b\\\\c\\nd"}')[0].value, 'a"b\\c\nd');
  for (const bad of ['{a="b"', 'a', 'a=~"b', '=b']) assert.throws(() => parse(bad), bad);
});

test('matchers are written back quoted, and round-trip', () => {
  const m = { name: 'i', op: '=~', value: '10\\.0\\..*"x"' };
  assert.deepEqual(parse(`{${format(m)}}`), [m]);
  assert.deepEqual(ofLabels({ a: '1' }), [{ name: 'a', op: '=', value: '1' }]);
});

test('a silence matcher keeps its regex and negation both ways', () => {
  for (const op of ['=', '!=', '=~', '!~']) {
    const m = { name: 'n', op, value: 'v' };
    assert.deepEqual(fromSilence(toSilence(m)), m);
  }
  assert.deepEqual(toSilence({ name: 'n', op: '!~', value: 'v' }), { name: 'n', value: 'v', isRegex: true, isEqual: false });
});

test('completion continues the matcher being typed', () => {
  const known = new Map([['severity', new Set(['critical', 'minor'])], ['service', new Set(['web'])], ['team', new Set(['db'])]]);
  assert.deepEqual(complete('{se', known), ['{service=', '{severity=']);
  assert.deepEqual(complete('{team="db", sev', known), ['{team="db", severity=']);
  assert.deepEqual(complete('severity=~"cr', known), ['severity=~"critical"']);
  assert.deepEqual(complete('severity="', known), ['severity="critical"', 'severity="minor"']);
  assert.deepEqual(complete('nothing=', known), []);
});

test('metrics are read and a histogram quantile estimated as Prometheus does', () => {
  const text = [
    '# TYPE campanile_plugin_call_duration_seconds histogram',
    'campanile_plugin_call_duration_seconds_bucket{le="0.001",plugin="p"} 50',
    'campanile_plugin_call_duration_seconds_bucket{le="0.01",plugin="p"} 90',
    'campanile_plugin_call_duration_seconds_bucket{le="+Inf",plugin="p"} 100',
    'campanile_plugin_faults_total{plugin="p",kind="timeout"} 2',
    'campanile_plugin_faults_total{plugin="p",kind="trap"} 1',
    'campanile_notification_queue{receiver="a \\"b\\""} 3',
    '# EOF',
  ].join('\n');
  const m = parseMetrics(text);
  assert.equal(sum(m, 'campanile_plugin_faults_total', { plugin: 'p' }), 3);
  assert.deepEqual(values(m, 'campanile_plugin_faults_total', 'kind'), ['timeout', 'trap']);
  assert.equal(sum(m, 'campanile_notification_queue', { receiver: 'a "b"' }), 3);
  // The 50th observation ends the first bucket; the 70th is halfway through the second.
  assert.equal(quantile(m, 'campanile_plugin_call_duration_seconds', { plugin: 'p' }, 0.5), 0.001);
  assert.ok(Math.abs(quantile(m, 'campanile_plugin_call_duration_seconds', { plugin: 'p' }, 0.7) - 0.0055) < 1e-9);
  // Past the last finite bucket: its bound, as histogram_quantile answers.
  assert.equal(quantile(m, 'campanile_plugin_call_duration_seconds', { plugin: 'p' }, 0.99), 0.01);
  assert.equal(quantile(m, 'campanile_plugin_call_duration_seconds', { plugin: 'q' }, 0.99), null);
});
