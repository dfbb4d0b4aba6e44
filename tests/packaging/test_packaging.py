"""Static and live checks of packaging/ (issue 9): the Kubernetes manifests, the
Dockerfile and the systemd units agree with each other and with what hearthd
really serves. Docker and a cluster are not needed: the YAML is parsed with
python3-yaml, the TOML files go through `hearthd --check-config`, and a real
hearthd started with the ConfigMap's settings (binds moved to 127.0.0.1:0)
answers the probes' paths. `kubectl kustomize` and `systemd-analyze verify` run
when they are installed.

    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/packaging
"""
import configparser
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time
import tomllib
import urllib.error
import urllib.request

import pytest

yaml = pytest.importorskip("yaml", reason="python3-yaml (packaging/install-deps.sh test)")

ROOT = pathlib.Path(__file__).resolve().parents[2]
PKG = ROOT / "packaging"
K8S = PKG / "k8s"
HEARTHD = pathlib.Path(os.environ.get("HEARTHD", ROOT / "build" / "bin" / "hearthd"))
HEARTHCTL = HEARTHD.parent / "hearthctl"
HELLO = ROOT / "examples" / "hello"


def need_hearthd():
    if not HEARTHD.exists():
        pytest.skip(f"{HEARTHD} missing: build first")


def load_manifests():
    docs = {}
    for f in sorted(K8S.glob("*.yaml")):
        if f.name == "kustomization.yaml":
            continue
        for d in yaml.safe_load_all(f.read_text()):
            if d:
                docs[d["kind"]] = d
    return docs


def configmap_toml(docs=None):
    """The hearth.toml that kustomization.yaml's configMapGenerator turns into the ConfigMap."""
    return (K8S / "hearth.toml").read_text()


def for_this_machine(toml_text):
    """The image's interpreter (/venv/bin/python) does not exist here: this machine's python3."""
    return toml_text.replace('python = "/venv/bin/python"', 'python = "/usr/bin/python3"')


def seconds(text):
    m = re.fullmatch(r"(\d+)s", text)
    assert m, f"expected a duration like '30s', got {text!r}"
    return int(m.group(1))


def port_of(bind):
    return int(bind.rsplit(":", 1)[1])


def check_config(toml_text, tmp_path, name):
    need_hearthd()
    f = tmp_path / name
    f.write_text(toml_text)
    r = subprocess.run([str(HEARTHD), "-c", str(f), "--check-config"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, f"{name}: {r.stderr}"
    return f


# --- Kubernetes ---------------------------------------------------------------------

def test_manifest_kinds_and_api_versions():
    docs = load_manifests()
    assert {k: d["apiVersion"] for k, d in docs.items()} == {
        "Deployment": "apps/v1",
        "Service": "v1",
        "ServiceMonitor": "monitoring.coreos.com/v1",
        "HorizontalPodAutoscaler": "autoscaling/v2",
        "PodDisruptionBudget": "policy/v1",
        "NetworkPolicy": "networking.k8s.io/v1",
        "PrometheusRule": "monitoring.coreos.com/v1",
    }
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kust["resources"]) == sorted(p.name for p in K8S.glob("*.yaml")
                                               if p.name != "kustomization.yaml")
    # The config is generated (a hash in the name rolls the pods), not a fixed ConfigMap.
    (gen,) = kust["configMapGenerator"]
    assert gen["name"] == "hearth-config" and gen["files"] == ["hearth.toml"]
    volumes = {v["name"]: v for v in docs["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == gen["name"]


def test_deployment_wiring_is_consistent():
    docs = load_manifests()
    dep, svc, sm = docs["Deployment"], docs["Service"], docs["ServiceMonitor"]
    cfg = tomllib.loads(configmap_toml(docs))
    pod = dep["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert svc["spec"]["selector"].items() <= labels.items()
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()

    (c,) = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    # The container ports are the ones the ConfigMap's hearthd listens on.
    assert ports["http"] == port_of(cfg["bind"][0])
    assert ports["admin"] == port_of(cfg["admin_bind"])
    assert cfg["bind"][0].startswith("0.0.0.0:") and cfg["admin_bind"].startswith("0.0.0.0:")
    # Probes: the admin listener's paths.
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    # /healthz answers while the app is still importing; only /readyz means "workers ready".
    assert c["startupProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    # Service ports target named container ports; the ServiceMonitor scrapes one of them.
    svc_ports = {p["name"]: p for p in svc["spec"]["ports"]}
    assert all(p["targetPort"] in ports for p in svc_ports.values())
    (ep,) = sm["spec"]["endpoints"]
    assert ep["port"] in svc_ports and svc_ports[ep["port"]]["targetPort"] == "admin"
    ann = pod["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert int(ann["prometheus.io/port"]) == ports["admin"]
    assert ann["prometheus.io/path"] == ep["path"] == "/metrics"
    # Shutdown: preStop sleeps (no second signal), then SIGTERM drains within graceful_timeout.
    cmd = c["lifecycle"]["preStop"]["exec"]["command"]
    assert "hearthctl" not in " ".join(cmd)
    sleep = int(re.search(r"sleep (\d+)", " ".join(cmd)).group(1))
    assert pod["spec"]["terminationGracePeriodSeconds"] > sleep + seconds(cfg["graceful_timeout"])
    # Non-root, and the writable /tmp the control socket and spill files need.
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert pathlib.PurePath(cfg["control_socket"]).parent == pathlib.PurePath("/tmp")
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert "/tmp" in mounts and mounts["/etc/hearth"] == "config"
    assert c["args"] == ["-c", "/etc/hearth/hearth.toml"]
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_configmap_toml_passes_check_config(tmp_path):
    check_config(for_this_machine(configmap_toml()), tmp_path, "configmap.toml")


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except OSError:
        return None, b""


def _wait_ready(proc, log, timeout=30):
    """(admin URL, app URL) of a hearthd started with port 0, once /readyz answers 200
    (or whatever the log showed when the deadline passed)."""
    deadline = time.monotonic() + timeout
    admin = app = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        text = log.read_text()
        a = re.search(r"\[admin\] listening on (http://\S+)", text)
        h = re.search(r"\[http\] listening on (http://\S+)", text)
        admin, app = (a.group(1) if a else None), (h.group(1) if h else None)
        if admin and _get(admin + "/readyz")[0] == 200:
            break
        time.sleep(0.1)
    return admin, app


def test_probe_paths_are_served_by_a_real_hearthd(tmp_path):
    """hearthd with the ConfigMap's file (binds moved to 127.0.0.1:0, the example
    app instead of /app) answers every path the manifests probe or scrape."""
    docs = load_manifests()
    cfg = check_config(for_this_machine(configmap_toml(docs)), tmp_path, "configmap.toml")
    c = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    log = tmp_path / "hearthd.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([str(HEARTHD), "-c", str(cfg), "--chdir", str(HELLO), "-b", "127.0.0.1:0",
                                 "--admin-bind", "127.0.0.1:0", "--control-socket", str(tmp_path / "c.sock")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        admin, app = _wait_ready(proc, log)
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert _get(admin + c[probe]["httpGet"]["path"])[0] == 200, probe
        status, body = _get(admin + docs["ServiceMonitor"]["spec"]["endpoints"][0]["path"])
        assert status == 200 and b"hearth_" in body
        status, body = _get(app + "/")
        assert status == 200 and body.startswith(b"Hello from Hearth!")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(15) == 0
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            raise


def test_kubectl_kustomize_builds_the_manifests():
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed (Debian has no package for it)")
    r = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(r.stdout) if d)
    assert kinds == ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy",
                     "PodDisruptionBudget", "PrometheusRule", "Service", "ServiceMonitor"]


def _kustomize_config_names(kubectl, directory):
    r = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(r.stdout) if d}
    cm = docs["ConfigMap"]
    assert cm["data"]["hearth.toml"] == (directory / "hearth.toml").read_text()
    volumes = {v["name"]: v for v in docs["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    return cm["metadata"]["name"], volumes["config"]["configMap"]["name"]


def test_a_config_change_renames_the_configmap_so_the_pods_roll(tmp_path):
    """configMapGenerator: the ConfigMap's name carries a hash of hearth.toml and the
    Deployment's volume follows it, so editing the file changes the pod template."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed (Debian has no package for it)")
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    name, ref = _kustomize_config_names(kubectl, copy)
    assert name == ref and name.startswith("hearth-config-")
    (copy / "hearth.toml").write_text((copy / "hearth.toml").read_text().replace("workers = 2", "workers = 3"))
    name2, ref2 = _kustomize_config_names(kubectl, copy)
    assert name2 == ref2 and name2 != name


def test_hpa_pdb_spread_and_network_policy():
    docs = load_manifests()
    dep, svc = docs["Deployment"], docs["Service"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    (c,) = dep["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    # HPA: the Deployment, a Hearth metric served by prometheus-adapter, and CPU as the fallback.
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": dep["metadata"]["name"]}
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    assert "replicas" not in dep["spec"], "the HPA owns the replica count"
    by_type = {m["type"]: m for m in hpa["metrics"]}
    pods_metric = by_type["Pods"]["pods"]["metric"]["name"]
    assert pods_metric in ("hearth_busy_ratio", "hearth_queue_length")
    assert by_type["Resource"]["resource"]["name"] == "cpu"
    assert c["resources"]["requests"]["cpu"], "CPU utilization needs a CPU request"
    adapter = yaml.safe_load((K8S / "prometheus-adapter" / "rules.yaml").read_text())
    published = {r["name"]["as"] for r in adapter["rules"]["custom"]}
    assert pods_metric in published
    for r in adapter["rules"]["custom"]:
        assert re.match(r"(\w+)\{", r["seriesQuery"]).group(1) in daemon_metric_names()
    # busy_ratio is 0..1: a target above 1 could never be reached.
    if pods_metric == "hearth_busy_ratio":
        target = by_type["Pods"]["pods"]["target"]["averageValue"]
        assert 0 < (int(target[:-1]) / 1000 if target.endswith("m") else float(target)) < 1
    # PDB and topology spread select the pods.
    pdb = docs["PodDisruptionBudget"]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb.get("maxUnavailable") == 1 or pdb.get("minAvailable", 0) < hpa["minReplicas"]
    spread = dep["spec"]["template"]["spec"]["topologySpreadConstraints"]
    keys = {t["topologyKey"]: t for t in spread}
    assert keys["kubernetes.io/hostname"]["labelSelector"]["matchLabels"].items() <= labels.items()
    assert keys["kubernetes.io/hostname"]["maxSkew"] == 1
    # NetworkPolicy: the app port from anywhere, the admin port from pods in the cluster only.
    np = docs["NetworkPolicy"]["spec"]
    assert np["podSelector"]["matchLabels"].items() <= labels.items()
    assert np["policyTypes"] == ["Ingress"]
    rules_by_port = {}
    for rule in np["ingress"]:
        for p in rule["ports"]:
            rules_by_port[p["port"]] = rule
    assert set(rules_by_port) == {"http", "admin"} and set(rules_by_port) <= set(ports)
    assert "from" not in rules_by_port["http"]
    admin_from = rules_by_port["admin"]["from"]
    assert admin_from and all("ipBlock" not in f for f in admin_from)
    assert all("namespaceSelector" in f or "podSelector" in f for f in admin_from)


def daemon_metric_names():
    """Every hearth_* metric name registered in daemon/src (histograms export _bucket etc. too)."""
    names = set()
    for f in (ROOT / "daemon" / "src").rglob("*.cc"):
        names.update(re.findall(r'"(hearth_[a-z0-9_]+)"', f.read_text()))
    return names


# --- Docker -------------------------------------------------------------------------

def dockerfile_stages(path=None):
    stages, cur = [], None
    text = (path or PKG / "docker" / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            cur = {"from": rest.strip(), "lines": []}
            stages.append(cur)
        else:
            cur["lines"].append((word.upper(), rest.strip()))
    return stages


def test_dockerfile_is_multi_stage_debian_non_root():
    build, runtime = dockerfile_stages()
    assert build["from"] == "debian:12 AS build"
    assert runtime["from"] == "debian:12-slim"
    # Only the compiler and the -dev headers hearthd needs (no test frameworks).
    assert ("RUN", "/src/packaging/install-deps.sh image") in build["lines"]
    ins = {}
    for word, rest in runtime["lines"]:
        ins.setdefault(word, []).append(rest)
    user = ins["USER"][-1].split(":")[0]
    assert user not in ("root", "0")
    cfg = tomllib.loads((PKG / "docker" / "hearth.toml").read_text())
    exposed = {int(p) for e in ins["EXPOSE"] for p in e.split()}
    assert exposed == {port_of(cfg["bind"][0]), port_of(cfg["admin_bind"])}
    (hc,) = ins["HEALTHCHECK"]
    assert f"127.0.0.1:{port_of(cfg['admin_bind'])}/healthz" in hc
    assert ins["ENTRYPOINT"] == ['["/usr/bin/hearthd"]']
    # The app-image pattern: a virtualenv the app's requirements go into, which the
    # config runs, first on PATH (pip, python).
    run = " ".join(ins["RUN"])
    assert "python3-venv" in run.split() and "python3 -m venv /venv" in run
    env = " ".join(ins["ENV"])
    assert "VIRTUAL_ENV=/venv" in env and re.search(r"PATH=/venv/bin:", env)
    assert cfg["python"] == "/venv/bin/python"
    for word, rest in build["lines"] + runtime["lines"]:
        if word == "COPY" and not rest.startswith("--from"):
            src = rest.split()[0]
            assert src == "." or (ROOT / src).exists(), f"COPY source {src} missing"


# Packages that only building needs: none may reach the runtime image.
BUILD_ONLY = re.compile(r"(-dev|-dev-\S+)$|^(build-essential|gcc|g\+\+|cmake|pkg-config|libgtest\S*|libgmock\S*|"
                        r"googletest|clang\S*)$")


def apt_installed(run_text):
    """The package names an `apt-get install` in RUN text names."""
    pkgs = []
    for m in re.finditer(r"apt-get install ([^&;|]+)", run_text):
        pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def test_docker_runtime_stage_has_no_build_only_packages():
    build, runtime = dockerfile_stages()
    run = " ".join(rest for word, rest in runtime["lines"] if word == "RUN")
    pkgs = apt_installed(run)
    assert "python3" in pkgs and pkgs
    assert not [p for p in pkgs if BUILD_ONLY.search(p)], pkgs
    assert "install-deps.sh" not in run
    # install-deps.sh's `image` profile (the build stage) leaves the test frameworks out.
    script = (PKG / "install-deps.sh").read_text()
    image = re.search(r"image_pkgs=\(([^)]*)\)", script).group(1)
    assert "gtest" not in image and "gmock" not in image and "python3-dev" not in image


def test_app_image_example_builds_into_the_venv_and_ships_no_compiler():
    ex = PKG / "docker" / "app-example"
    deps, final = dockerfile_stages(ex / "Dockerfile")
    assert deps["from"].startswith("hearth:") and deps["from"].endswith(" AS deps")
    assert final["from"] == deps["from"].split()[0]
    deps_run = " ".join(rest for word, rest in deps["lines"] if word == "RUN")
    assert "/venv/bin/pip install" in deps_run and "-r " in deps_run
    assert {"python3-dev", "libpq-dev"} <= set(apt_installed(deps_run))
    final_pkgs = apt_installed(" ".join(rest for word, rest in final["lines"] if word == "RUN"))
    assert not [p for p in final_pkgs if BUILD_ONLY.search(p)], final_pkgs
    assert "libpq5" in final_pkgs  # psycopg2's runtime library
    copies = [rest for word, rest in final["lines"] if word == "COPY"]
    assert "--from=deps /venv /venv" in copies
    for c in copies:
        if not c.startswith("--from"):
            assert (ex / c.split()[0]).exists(), c
    users = [rest for word, rest in final["lines"] if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    reqs = (ex / "requirements.txt").read_text().lower()
    assert re.search(r"^flask\b", reqs, re.M) and re.search(r"^psycopg2\b", reqs, re.M)
    assert tomllib.loads((ex / "hearth.toml").read_text())["python"] == "/venv/bin/python"


def test_app_example_runs_in_a_virtualenv(tmp_path):
    """The app-image pattern on this machine: a virtualenv (with the system's Flask and
    psycopg2 standing in for the pip-installed ones; no network here), hearthd told
    `--python VENV/bin/python`, the example app answers from that interpreter."""
    need_hearthd()
    pytest.importorskip("flask")
    pytest.importorskip("psycopg2")
    venv = tmp_path / "venv"
    r = subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        pytest.skip(f"python3 -m venv failed (python3-venv missing?): {r.stderr.strip()}")
    ex = PKG / "docker" / "app-example"
    log = tmp_path / "hearthd.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([str(HEARTHD), "-c", str(ex / "hearth.toml"), "--chdir", str(ex),
                                 "--python", str(venv / "bin" / "python"), "-b", "127.0.0.1:0",
                                 "--admin-bind", "127.0.0.1:0", "--control-socket", str(tmp_path / "c.sock")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        admin, app = _wait_ready(proc, log)
        status, body = _get(app + "/")
        assert status == 200, log.read_text()
        info = json.loads(body)
        assert info["app"] == "app-example" and info["psycopg2"]
        assert info["prefix"] == str(venv), info  # the workers run the virtualenv's interpreter
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(15) == 0
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            raise


def test_docker_runtime_stage_installs_every_library_hearthd_links():
    need_hearthd()
    (_, runtime) = dockerfile_stages()
    run = " ".join(rest for word, rest in runtime["lines"] if word == "RUN")
    if not shutil.which("readelf"):
        pytest.skip("readelf (binutils) is not installed")
    # The libraries hearthd names itself (DT_NEEDED); apt brings their own dependencies.
    dyn = subprocess.run(["readelf", "-d", str(HEARTHD)], capture_output=True, text=True, check=True).stdout
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]", dyn))
    if any(n.startswith(("libasan.", "libubsan.")) for n in needed):
        # make test SANITIZE=1: a Debug ASan+UBSan binary links other libraries than the
        # Release build the Dockerfile ships; `make test-deb` runs this suite on that one.
        pytest.skip(f"{HEARTHD} is a sanitizer build, not what the Dockerfile builds")
    ldd = subprocess.run(["ldd", str(HEARTHD)], capture_output=True, text=True, check=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
    assert needed and needed <= paths.keys(), (needed, paths)
    base = {"libc6", "libgcc-s1", "libstdc++6"}  # in debian:12-slim already
    for path in (paths[n] for n in sorted(needed)):
        r = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
        if r.returncode != 0:
            r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        assert r.returncode == 0, f"no Debian package owns {path}"
        pkg = r.stdout.split(":", 1)[0]
        if pkg in base:
            continue
        assert re.search(rf"\b{re.escape(pkg)}\b", run), f"{path} ({pkg}) is not installed in the runtime stage"


def test_docker_toml_passes_check_config(tmp_path):
    check_config((PKG / "docker" / "hearth.toml").read_text(), tmp_path, "docker.toml")


# --- systemd ------------------------------------------------------------------------

def unit(name):
    p = configparser.ConfigParser(strict=True, interpolation=None, delimiters=("=",))
    p.optionxform = str
    p.read_string((PKG / "systemd" / name).read_text())
    return p


def test_systemd_units_agree_with_the_packaged_config():
    svc, sock = unit("hearthd.service"), unit("hearthd.socket")
    s = svc["Service"]
    assert s["Type"] == "notify" and s["NotifyAccess"] == "main"
    assert s["User"] == "hearth" and s["Group"] == "hearth"
    assert s["ExecStart"].split()[0] == "/usr/bin/hearthd"
    assert s["KillMode"] == "mixed"  # SIGTERM to hearthd only: it drains its workers itself
    assert int(s["WatchdogSec"]) > 0
    cfg = tomllib.loads((PKG / "debian" / "hearth.toml").read_text())
    assert int(s["TimeoutStopSec"]) > seconds(cfg["graceful_timeout"])
    assert s["ExecReload"] == f"/usr/bin/hearthctl --socket {cfg['control_socket']} reload"
    assert pathlib.PurePath(cfg["control_socket"]).parent == pathlib.PurePath("/run") / s["RuntimeDirectory"]
    assert s["ExecStart"] == "/usr/bin/hearthd -c /etc/hearth/hearth.toml"
    for hardening in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome"):
        assert hardening in s
    # Socket activation: the socket unit listens where the config binds.
    assert sock["Socket"]["ListenStream"] in cfg["bind"]
    assert "hearthd.socket" in svc["Unit"]["Wants"]


def test_debian_toml_passes_check_config(tmp_path):
    check_config((PKG / "debian" / "hearth.toml").read_text(), tmp_path, "debian.toml")


def test_systemd_analyze_verify(tmp_path):
    tool = shutil.which("systemd-analyze")
    if not tool:
        pytest.skip("systemd-analyze is not installed")
    need_hearthd()
    # The units as installed, with the binaries of this build and without the
    # man: references (man pages are installed only by the package).
    for name in ("hearthd.service", "hearthd.socket"):
        text = (PKG / "systemd" / name).read_text()
        text = text.replace("/usr/bin/hearthd ", f"{HEARTHD} ").replace("/usr/bin/hearthctl ", f"{HEARTHCTL} ")
        text = re.sub(r"^Documentation=.*$", "", text, flags=re.M)
        (tmp_path / name).write_text(text)
    r = subprocess.run([tool, "verify", str(tmp_path / "hearthd.service"), str(tmp_path / "hearthd.socket")],
                       capture_output=True, text=True, timeout=60)
    out = (r.stdout + r.stderr).strip()
    assert r.returncode == 0 and out == "", out
