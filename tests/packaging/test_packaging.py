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


def configmap_toml(docs):
    return docs["ConfigMap"]["data"]["hearth.toml"]


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
        "ConfigMap": "v1",
        "Deployment": "apps/v1",
        "Service": "v1",
        "ServiceMonitor": "monitoring.coreos.com/v1",
    }
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kust["resources"]) == sorted(p.name for p in K8S.glob("*.yaml")
                                               if p.name != "kustomization.yaml")


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
    assert c["startupProbe"]["httpGet"]["port"] == "admin"
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
    check_config(configmap_toml(load_manifests()), tmp_path, "configmap.toml")


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except OSError:
        return None, b""


def test_probe_paths_are_served_by_a_real_hearthd(tmp_path):
    """hearthd with the ConfigMap's file (binds moved to 127.0.0.1:0, the example
    app instead of /app) answers every path the manifests probe or scrape."""
    docs = load_manifests()
    cfg = check_config(configmap_toml(docs), tmp_path, "configmap.toml")
    c = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    log = tmp_path / "hearthd.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([str(HEARTHD), "-c", str(cfg), "--chdir", str(HELLO), "-b", "127.0.0.1:0",
                                 "--admin-bind", "127.0.0.1:0", "--control-socket", str(tmp_path / "c.sock")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 30
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
    assert kinds == ["ConfigMap", "Deployment", "Service", "ServiceMonitor"]


# --- Docker -------------------------------------------------------------------------

def dockerfile_stages():
    stages, cur = [], None
    text = (PKG / "docker" / "Dockerfile").read_text()
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
    assert ("RUN", "/src/packaging/install-deps.sh build") in build["lines"]
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
    for word, rest in build["lines"] + runtime["lines"]:
        if word == "COPY" and not rest.startswith("--from"):
            src = rest.split()[0]
            assert src == "." or (ROOT / src).exists(), f"COPY source {src} missing"


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
