// Issue 69's acceptance: every EndpointPickerConfig llm-d ships (../shared/llmd-guides/
// beside the checkout, tests/lib/llmd_corpus.mjs) goes through `ringgate --check-config`
// with zero warnings: it loads, or it is refused with errors that name the plugin (or the
// field) and the reason. Skipped (exit 77) where the corpus is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCorpus, corpusPresent, corpusDir } from '../lib/llmd_corpus.mjs';

if (!corpusPresent()) {
  console.log(`skip: no llm-d corpus at ${corpusDir}`);
  process.exit(77);
}

for (const mode of ['epp', 'gateway']) {
  test(`every llm-d config in ${mode} mode: loaded without an ignored part, or refused naming what and why`, async () => {
    const results = await checkCorpus(mode);
    assert.equal(results.length, 127);
    const warned = results.filter((r) => r.warnings.length > 0).map((r) => `${r.file}: ${r.warnings[0]}`);
    assert.deepEqual(warned, [], 'configs with warnings');
    for (const r of results.filter((x) => x.code !== 0)) {
      assert.equal(r.code, 1, `${r.file}: exit ${r.code}`);
      assert.ok(r.errors.length > 0, `${r.file}: refused without an error line`);
      for (const line of r.errors) {
        // FILE:LINE:COL: EndpointPickerConfig: <path>: <why>; a plugin refusal names the plugin and its type.
        assert.match(line, /: EndpointPickerConfig: [A-Za-z][\w.[\]-]*: \S/, `${r.file}: ${line}`);
        if (/refused/.test(line)) assert.match(line, /plugin '[^']+' \(type [a-z0-9-]+\)(:| is) .*refused[:,]? \S+/, line);
      }
    }
    // Configs that use a plugin of llm-d's test harness are refused, naming it.
    for (const r of results.filter((x) => x.entry.harness_only?.length)) {
      assert.equal(r.code, 1, `${r.file} uses ${r.entry.harness_only} and loaded`);
    }
    // The guides a user deploys load (the chart's defaults, the optimized baseline, P/D, flow control).
    for (const name of ['config_charts_routerlib_templates__config__rendered-default-plugins.yaml-chart-defaults',
      'wellknown_configs_test__line-33-optimized-baseline', 'wellknown_configs_test__line-106-pd-disaggregation',
      'wellknown_configs_test__line-260-flow-control']) {
      const r = results.find((x) => x.file.includes(name));
      assert.ok(r, name);
      assert.equal(r.code, 0, `${r.file}: ${r.errors.join('\n')}`);
    }
  });
}
