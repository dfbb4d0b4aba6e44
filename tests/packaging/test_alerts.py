"""The Prometheus alerting rules (packaging/prometheus/hearth-alerts.yaml) and
their PrometheusRule twin (packaging/k8s/prometheusrule.yaml): valid for
promtool, equal to each other, built on metric names hearthd really exports,
and firing on the situations they name (promtool's rule unit tests,
packaging/prometheus/hearth-alerts.test.yaml).

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/packaging/test_alerts.py
"""
import importlib.util
import pathlib
import re
import shutil
import subprocess

import pytest

yaml = pytest.importorskip("yaml", reason="python3-yaml (packaging/install-deps.sh test)")

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROM = ROOT / "packaging" / "prometheus"
RULES = PROM / "hearth-alerts.yaml"
OPERATOR_RULES = ROOT / "packaging" / "k8s" / "prometheusrule.yaml"

# The situations the rules must cover (issue 21), by alert name.
EXPECTED_ALERTS = {
    "HearthWorkersCrashLooping", "HearthQueueSaturated", "HearthRequestsRejected", "HearthHigh5xxRatio",
    "HearthHighP99Latency", "HearthMemoryNearLimit", "HearthKeepWarmFailing",
}


def promtool():
    tool = shutil.which("promtool")
    if not tool:
        pytest.skip("promtool is missing (packaging/install-deps.sh test installs prometheus)")
    return tool


def groups(path):
    doc = yaml.safe_load(path.read_text())
    return doc["spec"]["groups"] if doc.get("kind") == "PrometheusRule" else doc["groups"]


def rules(path):
    return [r for g in groups(path) for r in g["rules"]]


def test_promtool_check_rules_on_both_files(tmp_path):
    tool = promtool()
    # The PrometheusRule's spec is a rules file of its own.
    extracted = tmp_path / "prometheusrule-groups.yaml"
    extracted.write_text(yaml.safe_dump({"groups": groups(OPERATOR_RULES)}))
    for f in (RULES, extracted):
        r = subprocess.run([tool, "check", "rules", str(f)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "SUCCESS" in r.stdout and "WARNING" not in (r.stdout + r.stderr), r.stdout + r.stderr


def test_promtool_rule_unit_tests_pass():
    tool = promtool()
    r = subprocess.run([tool, "test", "rules", str(PROM / "hearth-alerts.test.yaml")],
                       capture_output=True, text=True, timeout=120, cwd=PROM)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


def test_every_alert_has_a_unit_test():
    tests = yaml.safe_load((PROM / "hearth-alerts.test.yaml").read_text())["tests"]
    tested = {a["alertname"] for t in tests for a in t.get("alert_rule_test", []) if a.get("exp_alerts")}
    alerts = {r["alert"] for r in rules(RULES) if "alert" in r}
    assert alerts == EXPECTED_ALERTS
    assert tested == alerts


def test_prometheusrule_carries_the_same_groups_as_the_rules_file():
    doc = yaml.safe_load(OPERATOR_RULES.read_text())
    assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule"
    assert groups(OPERATOR_RULES) == groups(RULES)
    # And it is exactly what the generator writes (no hand edits to drift).
    spec = importlib.util.spec_from_file_location("gen_prometheusrule", PROM / "gen_prometheusrule.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.render() == OPERATOR_RULES.read_text()


def daemon_metric_names():
    names = set()
    for f in (ROOT / "daemon" / "src").rglob("*.cc"):
        names.update(re.findall(r'"(hearth_[a-z0-9_]+)"', f.read_text()))
    return names


def test_alerts_use_metric_names_hearthd_exports():
    exported = daemon_metric_names()
    documented = set(re.findall(r"`(hearth_[a-z0-9_]+)`", (ROOT / "docs" / "metrics.md").read_text()))
    assert "hearth_busy_ratio" in exported  # the scan itself works
    recorded = {r["record"] for r in rules(RULES) if "record" in r}
    for r in rules(RULES):
        for name in set(re.findall(r"\b(hearth_[a-z0-9_]+)", r["expr"])):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert base in exported, f"{r.get('alert') or r.get('record')}: {name} is not a hearthd metric"
            assert base in documented, f"{name} is not in docs/metrics.md"
        for name in set(re.findall(r"\b(hearth:[a-z0-9_:]+)", r["expr"])):
            assert name in recorded, f"{name} is used but never recorded"
    # Label values the rules match on are the ones hearthd uses.
    text = RULES.read_text()
    assert 'status="5xx"' in text and 'result="failed"' in text and 'kind="pss"' in text
    for reason in re.search(r'reason=~"([^"]+)"', text).group(1).split("|"):
        assert f"`{reason}`" in (ROOT / "docs" / "metrics.md").read_text(), reason


def test_every_alert_has_severity_summary_and_a_for_duration():
    for r in rules(RULES):
        if "alert" not in r:
            continue
        assert r["labels"]["severity"] in ("warning", "critical"), r["alert"]
        assert r["annotations"]["summary"] and r["annotations"]["description"], r["alert"]
        assert re.fullmatch(r"\d+m", r["for"]), r["alert"]
