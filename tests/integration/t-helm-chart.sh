#!/bin/sh
# t-helm-chart.sh - the Helm chart (infrastructure/helm/sentinel) lints and
# renders to the manifests the sidecar mode needs.
#
# No helm binary is needed: scripts/helm-render.py renders the subset of
# the template language the chart uses (and fails on anything else).
# Exit: 0 pass, 1 fail, 77 skip (no python3 with the yaml module).
set -u

SRC=${SN_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CHART=$SRC/infrastructure/helm/sentinel
RENDER=$SRC/scripts/helm-render.py

PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 &&
	    "$p" -c 'import yaml' >/dev/null 2>&1; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	echo "SKIP: needs python3 with the yaml module (Debian: python3-yaml)"
	exit 77
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/t-helm-chart.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM HUP

fails=0
ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	fails=$((fails + 1))
}

# ---- 1. yamllint the chart's plain YAML files ---------------------------
cat >"$TMP/yamllint.conf" <<'EOF'
extends: default
rules:
  line-length:
    max: 100
EOF
if command -v yamllint >/dev/null 2>&1; then
	YL=yamllint
elif "$PY" -c 'import yamllint' >/dev/null 2>&1; then
	YL="$PY -m yamllint"
else
	YL=
fi
if [ -n "$YL" ]; then
	if $YL -s -c "$TMP/yamllint.conf" "$CHART/Chart.yaml" "$CHART/values.yaml"; then
		ok "yamllint Chart.yaml values.yaml"
	else
		not_ok "yamllint Chart.yaml values.yaml"
	fi
else
	echo "# yamllint not installed: Chart.yaml and values.yaml not linted"
fi

# ---- 2. render with the default values and with every branch flipped ----
render() { # OUT ARGS...
	out=$1
	shift
	if "$PY" "$RENDER" "$CHART" --release t --namespace ns "$@" >"$out" 2>"$out.err"; then
		ok "render $*"
	else
		not_ok "render $*: $(cat "$out.err")"
	fi
}
render "$TMP/default.yaml"
render "$TMP/flipped.yaml" \
    --set serviceAccount.create=false \
    --set workspace.repository.existingClaim=repo-pvc \
    --set sentinel.appArmorUnconfined=true \
    --set podAnnotations.team=agents \
    --set sentinel.resources.limits.memory=1Gi \
    --set agent.resources.limits.cpu=2 \
    --set 'agent.env=[{name: A, value: b}]' \
    --set 'imagePullSecrets=[{name: regcred}]' \
    --set 'nodeSelector={disk: ssd}' \
    --set 'tolerations=[{key: k, operator: Exists}]' \
    --set 'affinity={podAntiAffinity: {}}' \
    --set 'workspace.repository.initContainers=[{name: clone, image: "debian:12-slim"}]' \
    --set workspace.mountPath=/src \
    --set agent.name=codex --set agent.runAsUser=4242 \
    --set api.tokenSecret=agent-token
render "$TMP/notes.txt" --notes

# ---- 3. the manifests parse and hold what the sidecar mode needs --------
if "$PY" - "$TMP" <<'EOF'; then
import sys, yaml

tmp = sys.argv[1]
fails = []

def check(cond, what):
    if not cond:
        fails.append(what)

def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]

def by_kind(ds):
    out = {}
    for d in ds:
        out.setdefault(d.get("kind"), []).append(d)
    return out

def pod_checks(name, ds, mount, agent, uid, sa_expected, token=None):
    k = by_kind(ds)
    for kind in ("ConfigMap", "Deployment"):
        check(len(k.get(kind, [])) == 1, "%s: one %s" % (name, kind))
    check(("ServiceAccount" in k) == sa_expected,
          "%s: ServiceAccount present: %s" % (name, sa_expected))
    for d in ds:
        check(d.get("apiVersion") and d.get("metadata", {}).get("name"),
              "%s: %s has apiVersion and metadata.name" % (name, d.get("kind")))
    if not k.get("Deployment") or not k.get("ConfigMap"):
        return
    dep = k["Deployment"][0]
    spec = dep["spec"]["template"]["spec"]
    check(dep["spec"]["selector"]["matchLabels"].items()
          <= dep["spec"]["template"]["metadata"]["labels"].items(),
          "%s: selector matches the pod labels" % name)
    vols = {v["name"]: v for v in spec["volumes"]}
    fuse = [v for v in vols.values()
            if v.get("hostPath", {}).get("path") == "/dev/fuse"]
    check(len(fuse) == 1 and fuse[0]["hostPath"].get("type") == "CharDevice",
          "%s: /dev/fuse hostPath CharDevice volume" % name)
    ctrs = {c["name"]: c for c in spec["containers"]}
    check(set(ctrs) == {"sentinel", "agent"}, "%s: containers sentinel and agent" % name)
    sen, ag = ctrs.get("sentinel", {}), ctrs.get("agent", {})
    smounts = {m["name"]: m for m in sen.get("volumeMounts", [])}
    amounts = {m["name"]: m for m in ag.get("volumeMounts", [])}
    check(fuse and fuse[0]["name"] in smounts
          and smounts[fuse[0]["name"]]["mountPath"] == "/dev/fuse",
          "%s: sentinel mounts /dev/fuse" % name)
    caps = sen.get("securityContext", {}).get("capabilities", {}).get("add", [])
    check("SYS_ADMIN" in caps, "%s: sentinel has CAP_SYS_ADMIN" % name)
    bidi = [m for m in smounts.values() if m.get("mountPropagation") == "Bidirectional"]
    check(len(bidi) == 1 and bidi[0]["mountPath"] == mount,
          "%s: sentinel mounts the workspace volume at %s, Bidirectional" % (name, mount))
    if bidi:
        wsname = bidi[0]["name"]
        check("emptyDir" in vols.get(wsname, {}), "%s: the workspace volume is an emptyDir" % name)
        check(sen.get("securityContext", {}).get("privileged") is True,
              "%s: Bidirectional needs a privileged sentinel container" % name)
        am = amounts.get(wsname, {})
        check(am.get("mountPath") == mount and am.get("mountPropagation") == "HostToContainer",
              "%s: agent mounts the workspace at %s, HostToContainer" % (name, mount))
    check("repository" in smounts and "repository" not in amounts,
          "%s: the repository volume is mounted in the sentinel container only" % name)
    want = ({bidi[0]["name"]} if bidi else set()) | ({"api-token"} if token else set())
    check(set(amounts) == want,
          "%s: the agent mounts nothing but the workspace%s" % (name, " and its API token" if token else ""))
    rp = sen.get("readinessProbe", {}).get("httpGet", {})
    ports = {p.get("name"): p.get("containerPort") for p in sen.get("ports", [])}
    check(rp.get("path") == "/readyz" and rp.get("port") == "ops" and ports.get("ops") == 9090,
          "%s: readiness is GET /readyz on the ops port 9090" % name)
    lp = sen.get("livenessProbe", {}).get("httpGet", {})
    check(lp.get("path") == "/healthz" and lp.get("port") == "ops",
          "%s: liveness is GET /healthz on the ops port" % name)
    env = {e["name"]: e.get("value") for e in ag.get("env", [])}
    if token:
        check(vols.get("api-token", {}).get("secret", {}).get("secretName") == token,
              "%s: the token comes from Secret %s" % (name, token))
        check(env.get("SENTINEL_SERVER") == "http://127.0.0.1:8080"
              and env.get("SENTINEL_TOKEN_FILE") == "/run/sentinel/token/token",
              "%s: the agent is told where the API and its token are" % name)
    else:
        check("SENTINEL_SERVER" not in env and "api-token" not in vols,
              "%s: no API token without api.tokenSecret" % name)
    asc = ag.get("securityContext", {})
    check(asc.get("runAsUser") == uid and asc.get("runAsNonRoot") is True
          and asc.get("allowPrivilegeEscalation") is False
          and "ALL" in asc.get("capabilities", {}).get("drop", []),
          "%s: the agent runs as uid %d without privileges" % (name, uid))
    cm = k["ConfigMap"][0]
    conf = cm.get("data", {}).get("sentinel.conf", "")
    cmvol = [v for v in vols.values() if v.get("configMap", {}).get("name") == cm["metadata"]["name"]]
    check(len(cmvol) == 1 and cmvol[0]["name"] in smounts
          and smounts[cmvol[0]["name"]]["mountPath"] == "/etc/sentinel",
          "%s: the config map is mounted at /etc/sentinel" % name)
    lines = [l.strip() for l in conf.splitlines()]
    check('[view "%s"]' % agent in lines, "%s: sentinel.conf has a [view \"%s\"] section" % (name, agent))
    check(any(l.startswith('[workspace "') for l in lines), "%s: sentinel.conf has a [workspace] section" % name)
    check("mountpoint = %s" % mount in lines, "%s: the view is mounted at %s" % (name, mount))
    check("allowed_uids = %d" % uid in lines, "%s: the view admits uid %d" % (name, uid))
    check("ops_listen = 0.0.0.0:9090" in lines and "listen = off" in lines,
          "%s: [api] ops on the pod IP, no mTLS listener" % name)
    check(("plain_listen = 127.0.0.1:8080" in lines) == bool(token)
          and (("plain_agent = %s" % agent) in lines) == bool(token),
          "%s: the plain loopback listener %s" % (name, "for " + agent if token else "is off"))
    check("agents = %s" % agent in lines, "%s: the agent is granted the workspace" % name)
    with open(tmp + "/" + name + ".conf", "w") as cf:
        cf.write(conf)
    rmount = smounts.get("repository", {}).get("mountPath")
    check(rmount and "root = %s" % rmount in lines, "%s: the workspace root is the repository volume" % name)
    return spec

d = docs(tmp + "/default.yaml")
pod_checks("default", d, "/workspace", "agent", 1000, True)
f = docs(tmp + "/flipped.yaml")
spec = pod_checks("flipped", f, "/src", "codex", 4242, False, token="agent-token")
if spec:
    check(spec.get("serviceAccountName") == "default", "flipped: serviceAccountName default")
    repo = [v for v in spec["volumes"] if v["name"] == "repository"][0]
    check(repo.get("persistentVolumeClaim", {}).get("claimName") == "repo-pvc", "flipped: existingClaim used")
    check(spec.get("initContainers", [{}])[0].get("name") == "clone", "flipped: initContainers rendered")
    check(spec.get("nodeSelector") == {"disk": "ssd"}, "flipped: nodeSelector rendered")
    check(spec.get("imagePullSecrets") == [{"name": "regcred"}], "flipped: imagePullSecrets rendered")
    dep = [x for x in f if x["kind"] == "Deployment"][0]
    ann = dep["spec"]["template"]["metadata"].get("annotations", {})
    check(ann.get("container.apparmor.security.beta.kubernetes.io/sentinel") == "unconfined"
          and ann.get("team") == "agents", "flipped: pod annotations rendered")
notes = open(tmp + "/notes.txt").read()
check("/workspace" in notes and "{{" not in notes, "NOTES.txt rendered")

for x in fails:
    print("not ok - manifest check: " + x)
sys.exit(1 if fails else 0)
EOF
	ok "rendered manifests hold the sidecar essentials"
else
	not_ok "rendered manifests hold the sidecar essentials"
fi

# ---- 4. the renderer refuses what it does not support --------------------
mkdir -p "$TMP/bad/templates"
cp "$CHART/Chart.yaml" "$CHART/values.yaml" "$TMP/bad/"
# shellcheck disable=SC2016 # the $ is template text
for t in '{{ tpl "x" . }}' '{{ .Values.image.tag | upper }}' \
    '{{ .Values.no.such.key }}' '{{ if .Values.image }}open' \
    '{{ with .Values.image }}x{{ end }}' '{{ $x := 1 }}'; do
	printf 'a: %s\n' "$t" >"$TMP/bad/templates/bad.yaml"
	if "$PY" "$RENDER" "$TMP/bad" >/dev/null 2>&1; then
		not_ok "renderer refuses $t"
	else
		ok "renderer refuses $t"
	fi
done

if [ "$fails" -ne 0 ]; then
	echo "FAIL: $fails check(s) failed"
	exit 1
fi
echo "PASS"
exit 0
