/**
 * The deployment files in deploy/: promtool checks the alert rules and the scrape config and runs the
 * alert unit tests; every alert has a test case where it fires and one where it does not; and the Grafana
 * dashboard only queries metrics that wisdom (src/shared/observe/metrics.ts) or prom-client's defaults
 * export. promtool comes from Debian's `prometheus` package; without it these tests fail, they never skip.
 * PROMTOOL=/path/to/promtool picks another binary.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { Metrics } from "../../src/shared/observe/metrics.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const read = (rel: string) => readFileSync(`${root}${rel}`, "utf8");

const ALERTS = "deploy/prometheus/alerts.yml";
const ALERT_TESTS = "deploy/prometheus/alerts.test.yml";
const PROM_CONFIG = "deploy/prometheus/prometheus.yml";
const DASHBOARD = "deploy/grafana/dashboard.json";

/** Runs promtool from the repository root; fails (never skips) when it is not installed. */
function promtool(...args: string[]): { code: number; out: string } {
  const bin = process.env.PROMTOOL || "promtool";
  const r = spawnSync(bin, args, { cwd: root, encoding: "utf8", timeout: 60_000 });
  if (r.error || r.status === null) {
    const why = r.error ? r.error.message : `killed by ${r.signal}`;
    assert.fail(
      `promtool is required and could not be run (${bin}: ${why}). Install Debian's \`prometheus\` package, which provides /usr/bin/promtool: sudo apt-get install prometheus`,
    );
  }
  return { code: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

// ---------------------------------------------------------------------------------------- YAML shapes

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}
interface ExpAlert {
  exp_labels?: Record<string, string>;
  exp_annotations?: Record<string, string>;
}
interface RuleTestFile {
  rule_files: string[];
  tests: { name?: string; input_series: unknown[]; alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: ExpAlert[] | null }[] }[];
}

const rules = (): RuleFile => parseYaml(read(ALERTS)) as RuleFile;
const alerts = (): AlertRule[] => rules().groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined));

// ---------------------------------------------------------------------------------------- metric names

/**
 * Names of the metrics metrics.ts defines (prom-client's process_* and nodejs_* are known by their
 * prefix: unknownMetrics), and which of them are histograms (they also have _bucket, _sum, _count).
 */
const DEFINED = await (async () => {
  const all = await new Metrics({ version: "test", commit: "test", runtime: "test" }).snapshot();
  return { names: new Set(all.map((m) => m.name)), histograms: new Set(all.filter((m) => String(m.type) === "histogram" && m.name.startsWith("wisdom_")).map((m) => m.name)) };
})();
const definedMetrics = (): { names: Set<string>; histograms: Set<string> } => DEFINED;

const PROMQL_KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"]);

/** Metric names a PromQL expression selects (Grafana variables, label matchers, ranges and grouping lists removed). */
function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{[^}]*\}|\$\w+/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, " ");
  const out: string[] = [];
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const at = m.index!;
    if (at > 0 && /[0-9.]/.test(s[at - 1]!)) continue; // a duration or exponent: 5m, 1e3
    if (/^\s*\(/.test(s.slice(at + m[0].length))) continue; // a function or an aggregation
    if (PROMQL_KEYWORDS.has(m[0].toLowerCase())) continue;
    out.push(m[0]);
  }
  return out;
}

function unknownMetrics(exprNames: string[]): string[] {
  const { names, histograms } = definedMetrics();
  const known = (n: string) => {
    if (names.has(n) || n === "up" || n.startsWith("process_") || n.startsWith("nodejs_")) return true;
    const h = /^(.+)_(bucket|sum|count)$/.exec(n);
    return h !== null && histograms.has(h[1]!);
  };
  return exprNames.filter((n) => !known(n));
}

// ---------------------------------------------------------------------------------------- dashboard

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  schemaVersion: number;
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown }[] };
}

const dashboard = (): Dashboard => JSON.parse(read(DASHBOARD)) as Dashboard;
const allPanels = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);

// ---------------------------------------------------------------------------------------- tests

describe("deploy/prometheus: promtool", () => {
  test("promtool check rules passes on alerts.yml", () => {
    const r = promtool("check", "rules", ALERTS);
    assert.equal(r.code, 0, r.out);
    const n = rules().groups.reduce((a, g) => a + g.rules.length, 0);
    assert.match(r.out, new RegExp(`SUCCESS: ${n} rules found`), r.out);
  });

  test("promtool test rules passes on alerts.test.yml", () => {
    const r = promtool("test", "rules", ALERT_TESTS);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/, r.out);
    assert.doesNotMatch(r.out, /FAILED/, r.out);
  });

  test("promtool check config passes on prometheus.yml, which scrapes both instances and loads alerts.yml", () => {
    const r = promtool("check", "config", PROM_CONFIG);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS: .*prometheus\.yml is valid prometheus config file syntax/, r.out);
    assert.match(r.out, /SUCCESS: 1 rule files found/, r.out);
    const cfg = parseYaml(read(PROM_CONFIG)) as { rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    assert.deepEqual(cfg.rule_files, ["alerts.yml"]);
    const job = cfg.scrape_configs.find((j) => j.job_name === "wisdom");
    assert.ok(job, "a scrape job named wisdom");
    assert.deepEqual(job.static_configs.flatMap((s) => s.targets).sort(), ["127.0.0.1:9077", "127.0.0.1:9078"]);
  });
});

describe("deploy/prometheus: alert rules", () => {
  test("the group is wisdom and every alert has a severity, a summary, a description and its runbook anchor", () => {
    const file = rules();
    assert.deepEqual(file.groups.map((g) => g.name), ["wisdom"]);
    const list = alerts();
    assert.ok(list.length >= 10, `only ${list.length} alerts`);
    for (const a of list) {
      assert.ok(["critical", "warning", "info"].includes(a.labels?.severity ?? ""), `${a.alert}: severity ${a.labels?.severity}`);
      for (const k of ["summary", "description", "runbook"]) assert.ok(a.annotations?.[k], `${a.alert}: annotation ${k}`);
      assert.equal(a.annotations!.runbook, `docs/OPERATIONS.md#${a.alert!.toLowerCase()}`, `${a.alert}: runbook`);
    }
    const names = list.map((a) => a.alert!);
    assert.equal(new Set(names).size, names.length, "alert names are unique");
    for (const want of [
      "WisdomUnderAttack",
      "WisdomReplaySpike",
      "WisdomDifficultyPinned",
      "WisdomNotReady",
      "WisdomDown",
      "WisdomEventLoopDelay",
      "WisdomQuoteSourceFailing",
      "WisdomConnectionsRefused",
      "WisdomStoreDown",
      "WisdomStoreFallback",
    ]) {
      assert.ok(names.includes(want), `missing alert ${want}`);
    }
  });

  test("alert expressions only use metrics wisdom exports", () => {
    for (const a of alerts()) {
      const used = metricNames(a.expr);
      assert.ok(used.length > 0, `${a.alert}: no metric found in ${a.expr}`);
      assert.deepEqual(unknownMetrics(used), [], `${a.alert}: unknown metrics in ${a.expr}`);
    }
  });

  test("every alert has a test case where it fires (labels and annotations checked) and one where it does not", () => {
    const t = parseYaml(read(ALERT_TESTS)) as RuleTestFile;
    assert.deepEqual(t.rule_files, ["alerts.yml"]);
    const firing = new Map<string, number>();
    const quiet = new Map<string, number>();
    for (const group of t.tests) {
      for (const c of group.alert_rule_test ?? []) {
        const exp = c.exp_alerts ?? [];
        const into = exp.length > 0 ? firing : quiet;
        into.set(c.alertname, (into.get(c.alertname) ?? 0) + 1);
        for (const e of exp) {
          assert.ok(e.exp_labels?.severity, `${group.name} / ${c.alertname} @ ${c.eval_time}: exp_labels without severity`);
          for (const k of ["summary", "description", "runbook"]) {
            assert.ok(e.exp_annotations?.[k], `${group.name} / ${c.alertname} @ ${c.eval_time}: exp_annotations without ${k}`);
          }
        }
      }
    }
    const names = alerts().map((a) => a.alert!);
    assert.deepEqual(names.filter((n) => !firing.has(n)), [], "alerts without a firing test case");
    assert.deepEqual(names.filter((n) => !quiet.has(n)), [], "alerts without a non-firing test case");
    const stray = [...firing.keys(), ...quiet.keys()].filter((n) => !names.includes(n));
    assert.deepEqual(stray, [], "test cases for alerts that do not exist");
  });
});

describe("deploy/grafana/dashboard.json", () => {
  test("metricNames finds the selected metrics and nothing else", () => {
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (le) (rate(wisdom_solve_duration_seconds_bucket{job="wisdom", instance=~"$instance"}[$__rate_interval])))'),
      ["wisdom_solve_duration_seconds_bucket"],
    );
    assert.deepEqual(metricNames("sum(rate(a_total[5m] offset 1h)) by (reason) / on (instance) group_left b > bool 1e3"), ["a_total", "b"]);
    assert.deepEqual(unknownMetrics(["wisdom_difficulty", "wisdom_solve_duration_seconds_count", "up", "process_resident_memory_bytes"]), []);
    assert.deepEqual(unknownMetrics(["wisdom_nonexistent", "wisdom_difficulty_bucket", "upstream_x"]), ["wisdom_nonexistent", "wisdom_difficulty_bucket", "upstream_x"]);
  });

  test("is a valid dashboard with a datasource variable and an instance variable", () => {
    const d = dashboard();
    assert.equal(typeof d.title, "string");
    assert.ok(d.uid);
    assert.ok(d.schemaVersion >= 36 && d.schemaVersion <= 41, `schemaVersion ${d.schemaVersion}`);
    const vars = new Map(d.templating.list.map((v) => [v.name, v]));
    assert.equal(vars.get("DS_PROMETHEUS")?.type, "datasource");
    assert.equal(vars.get("DS_PROMETHEUS")?.query, "prometheus");
    assert.equal(vars.get("instance")?.type, "query");
    const panels = allPanels(d.panels);
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
    for (const p of panels.filter((p) => p.type !== "row")) {
      assert.ok(p.targets && p.targets.length > 0, `${p.title}: no queries`);
      assert.equal(p.datasource?.uid, "${DS_PROMETHEUS}", `${p.title}: datasource`);
      for (const t of p.targets) {
        assert.ok(t.expr, `${p.title}: empty expr`);
        assert.match(t.expr, /instance=~"\$instance"/, `${p.title}: ${t.expr} ignores $instance`);
      }
    }
  });

  test("every metric a panel queries is defined in metrics.ts or is a prom-client default (process_*, nodejs_*) or up", () => {
    const used = new Set<string>();
    for (const p of allPanels(dashboard().panels)) {
      for (const t of p.targets ?? []) {
        const names = metricNames(t.expr ?? "");
        assert.ok(names.length > 0, `${p.title}: no metric found in ${t.expr}`);
        assert.deepEqual(unknownMetrics(names), [], `${p.title}: unknown metrics in ${t.expr}`);
        for (const n of names) used.add(n);
      }
    }
    // the panels the dashboard is for
    for (const want of [
      "wisdom_connections_accepted_total",
      "wisdom_connections_open",
      "wisdom_connections_closed_total",
      "wisdom_connections_refused_total",
      "wisdom_challenges_issued_total",
      "wisdom_proofs_verified_total",
      "wisdom_proofs_failed_total",
      "wisdom_difficulty",
      "wisdom_difficulty_floor",
      "wisdom_difficulty_ceiling",
      "wisdom_pressure_ratio",
      "wisdom_handshake_duration_seconds_bucket",
      "wisdom_verification_duration_seconds_bucket",
      "wisdom_solve_duration_seconds_bucket",
      "wisdom_quotes_served_total",
      "wisdom_quote_source_failures_total",
      "wisdom_quote_source_breaker_open",
      "wisdom_event_loop_delay_seconds",
      "process_resident_memory_bytes",
      "wisdom_spent_entries",
      "wisdom_store_up",
      "wisdom_store_fallbacks_total",
      "wisdom_ready",
    ]) {
      assert.ok(used.has(want), `no panel shows ${want}`);
    }
  });

  test("duration panels use histogram_quantile over the _bucket series", () => {
    const exprs = allPanels(dashboard().panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ""));
    for (const h of definedMetrics().histograms) {
      const q = exprs.filter((e) => e.includes(`${h}_bucket`));
      assert.ok(q.length > 0, `no panel for ${h}`);
      for (const e of q) assert.match(e, /histogram_quantile\(\s*0?\.\d+\s*,\s*sum by \(le\)/, e);
    }
  });
});
