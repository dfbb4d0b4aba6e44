#!/usr/bin/env python3
"""Writes packaging/k8s/prometheusrule.yaml from packaging/prometheus/hearth-alerts.yaml:
the same rule groups wrapped in the Prometheus Operator's PrometheusRule object.
tests/packaging/test_packaging.py checks that the two files carry equal groups.

    /usr/bin/python3 packaging/prometheus/gen_prometheusrule.py
"""
import pathlib

import yaml

PKG = pathlib.Path(__file__).resolve().parents[1]
SRC = PKG / "prometheus" / "hearth-alerts.yaml"
OUT = PKG / "k8s" / "prometheusrule.yaml"

HEADER = """\
# The alerting rules of packaging/prometheus/hearth-alerts.yaml for the
# Prometheus Operator (the same groups; tests/packaging checks that they are
# equal and runs promtool on them). Edit hearth-alerts.yaml, then regenerate:
#   /usr/bin/python3 packaging/prometheus/gen_prometheusrule.py
# Your Prometheus selects rules by label (ruleSelector); add its label here
# (e.g. `release: prometheus` for kube-prometheus-stack).
"""


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, s):
    return dumper.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None)


_Dumper.add_representer(str, _str)


def render():
    groups = yaml.safe_load(SRC.read_text())["groups"]
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "hearth", "labels": {"app.kubernetes.io/name": "hearth"}},
        "spec": {"groups": groups},
    }
    return HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=110)


if __name__ == "__main__":
    OUT.write_text(render())
