#!/usr/bin/env python3
"""helm-render.py - render a Helm chart that uses a small subset of the
template language, where no helm binary is available.

    helm-render.py CHART_DIR [-f VALUES.yaml]... [--set a.b=v]...
                   [--release NAME] [--namespace NS] [--notes]

Prints the rendered manifests (one YAML document per template, each headed
by "# Source: CHART/templates/FILE"), like `helm template`; with --notes,
prints the rendered NOTES.txt instead.

The subset, and nothing else (anything else is an error, so a chart that
would need more fails loudly here instead of rendering wrongly):

  text with actions {{ ... }}; "{{- " and " -}}" trim whitespace
  {{/* comment */}}
  {{ define "name" }} ... {{ end }}       (in any template, usually _helpers.tpl)
  {{ if PIPELINE }} ... [{{ else }} ...] {{ end }}
  {{ range PIPELINE }} ... {{ end }}      (dot becomes each item; maps in key order)
  pipelines: ARG [ARG...] [| FUNC ARG...]...
  arguments: .Values.a.b  .Release.Name  .Chart.Name  $.Values.x  .  "string"  123  true  false
  functions: include NAME CTX, quote, toYaml, indent N, nindent N, default D,
             not, and, or, eq
  .Release: Name Namespace Service IsInstall IsUpgrade Revision
  .Chart:   the fields of Chart.yaml, with capitalised keys (Name, Version, AppVersion, ...)

Missing values are an error (helm would print nothing), so a typo in a
template is caught.  toYaml sorts keys, like helm's.
"""

import argparse
import json
import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.stderr.write("helm-render.py: the python3 yaml module is required\n")
    sys.exit(2)


class RenderError(Exception):
    pass


# ---- lexing ------------------------------------------------------------------

ACTION = re.compile(r"\{\{(.*?)\}\}", re.S)


def lex(src, name):
    """Split src into ('text', s) and ('action', s, line) items, applying
    the trim markers."""
    items = []
    pos = 0
    for m in ACTION.finditer(src):
        body = m.group(1)
        line = src.count("\n", 0, m.start()) + 1
        text = src[pos:m.start()]
        ltrim = body.startswith("- ") or body.startswith("-\n") or body == "-"
        rtrim = body.endswith(" -") or body.endswith("\n-")
        if ltrim:
            text = text.rstrip(" \t\r\n")
            body = body[1:]
        if rtrim:
            body = body[:-1]
        items.append(("text", text))
        items.append(("action", body.strip(), line, rtrim))
        pos = m.end()
    items.append(("text", src[pos:]))
    # apply right trims to the following text
    out = []
    trim_next = False
    for it in items:
        if it[0] == "text":
            t = it[1]
            if trim_next:
                t = t.lstrip(" \t\r\n")
            out.append(("text", t))
            trim_next = False
        else:
            if "{{" in it[1]:
                raise RenderError("%s:%d: unterminated action" % (name, it[2]))
            out.append(("action", it[1], it[2]))
            trim_next = it[3]
    return out


TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+)(?![\w.])|'
    r"(?P<pipe>\|)|(?P<path>\$?\.[A-Za-z0-9_.]*|\$)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*))"
)


def tokenize(s, where):
    toks = []
    pos = 0
    s = s.strip()
    while pos < len(s):
        m = TOKEN.match(s, pos)
        if not m or m.end() == pos:
            raise RenderError("%s: unsupported syntax at %r" % (where, s[pos:]))
        kind = m.lastgroup
        toks.append((kind, m.group(kind)))
        pos = m.end()
        # tokens must be separated by blanks (or be a pipe)
        if pos < len(s) and not s[pos].isspace() and kind != "pipe" and s[pos] != "|":
            raise RenderError("%s: unsupported syntax at %r" % (where, s[pos:]))
    return toks


# ---- parsing -----------------------------------------------------------------


class Node:
    pass


class Text(Node):
    def __init__(self, s):
        self.s = s


class Out(Node):
    def __init__(self, pipe, where):
        self.pipe, self.where = pipe, where


class If(Node):
    def __init__(self, pipe, where):
        self.pipe, self.where = pipe, where
        self.then, self.other = [], []


class Range(Node):
    def __init__(self, pipe, where):
        self.pipe, self.where = pipe, where
        self.body = []


def parse_pipeline(s, where):
    toks = tokenize(s, where)
    if not toks:
        raise RenderError("%s: empty action" % where)
    cmds = [[]]
    for t in toks:
        if t[0] == "pipe":
            if not cmds[-1]:
                raise RenderError("%s: empty command in pipeline" % where)
            cmds.append([])
        else:
            cmds[-1].append(t)
    if not cmds[-1]:
        raise RenderError("%s: pipeline ends with |" % where)
    for c in cmds[1:]:
        if c[0][0] != "ident":
            raise RenderError("%s: a function must follow |" % where)
    return cmds


def parse(items, name, defines):
    """Build the node tree; define blocks go into defines."""
    root = []
    stack = [("root", root, None)]  # (kind, list being filled, node)
    for it in items:
        cur = stack[-1][1]
        if it[0] == "text":
            if it[1]:
                cur.append(Text(it[1]))
            continue
        body, line = it[1], it[2]
        where = "%s:%d" % (name, line)
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise RenderError("%s: bad comment" % where)
            continue
        word = body.split(None, 1)[0] if body else ""
        rest = body[len(word):].strip()
        if word == "define":
            m = re.fullmatch(r'"([^"]+)"', rest)
            if not m:
                raise RenderError("%s: define needs a quoted name" % where)
            lst = []
            defines[m.group(1)] = lst
            stack.append(("define", lst, None))
        elif word == "if":
            n = If(parse_pipeline(rest, where), where)
            cur.append(n)
            stack.append(("if", n.then, n))
        elif word == "range":
            if ":=" in rest:
                raise RenderError("%s: range with variables is not supported" % where)
            n = Range(parse_pipeline(rest, where), where)
            cur.append(n)
            stack.append(("range", n.body, n))
        elif word == "else":
            if rest:
                raise RenderError("%s: 'else %s' is not supported" % (where, rest))
            kind, _, node = stack[-1]
            if kind != "if" or stack[-1][1] is not node.then:
                raise RenderError("%s: else outside if" % where)
            stack[-1] = ("if", node.other, node)
        elif word == "end":
            if rest:
                raise RenderError("%s: junk after end" % where)
            if len(stack) == 1:
                raise RenderError("%s: end without a block" % where)
            stack.pop()
        elif word in ("with", "template", "block", "tpl", "else if", "break",
                      "continue") or ":=" in body or "(" in body:
            raise RenderError("%s: unsupported action {{ %s }}" % (where, body))
        else:
            cur.append(Out(parse_pipeline(body, where), where))
    if len(stack) != 1:
        raise RenderError("%s: %s block not closed" % (name, stack[-1][0]))
    return root


# ---- evaluation ----------------------------------------------------------------


def truthy(v):
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0
    if isinstance(v, (str, list, dict)):
        return len(v) > 0
    return True


def to_text(v, where):
    if v is None:
        raise RenderError("%s: value is missing (nil)" % where)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return str(v)
    raise RenderError("%s: cannot print a %s; use toYaml" % (where, type(v).__name__))


def to_yaml(v):
    if v is None:
        return "null"
    s = yaml.safe_dump(v, default_flow_style=False, sort_keys=True, width=1 << 30)
    if s.endswith("...\n"):
        s = s[: -len("...\n")]
    return s.rstrip("\n")


def indent(n, s):
    pad = " " * n
    return pad + s.replace("\n", "\n" + pad)


class Renderer:
    def __init__(self, root_ctx, defines):
        self.root = root_ctx
        self.defines = defines
        self.depth = 0

    def lookup(self, path, dot, where):
        if path == "$":
            return self.root
        if path.startswith("$"):
            base, path = self.root, path[1:]
        else:
            base = dot
        if path == ".":
            return base
        cur = base
        for part in path[1:].split("."):
            if part == "":
                raise RenderError("%s: bad path %r" % (where, path))
            if not isinstance(cur, dict) or part not in cur:
                raise RenderError("%s: %s: no such value" % (where, path))
            cur = cur[part]
        return cur

    def arg(self, tok, dot, where):
        kind, val = tok
        if kind == "str":
            return json.loads(val)
        if kind == "num":
            return int(val)
        if kind == "path":
            return self.lookup(val, dot, where)
        if kind == "ident" and val in ("true", "false"):
            return val == "true"
        if kind == "ident" and val == "nil":
            return None
        raise RenderError("%s: unexpected %r" % (where, val))

    def call(self, fn, args, where):
        def need(n):
            if len(args) != n:
                raise RenderError("%s: %s takes %d argument(s), got %d" % (where, fn, n, len(args)))

        if fn == "include":
            need(2)
            name, ctx = args
            if name not in self.defines:
                raise RenderError("%s: include of undefined template %r" % (where, name))
            self.depth += 1
            if self.depth > 50:
                raise RenderError("%s: include nesting too deep" % where)
            s = self.render(self.defines[name], ctx)
            self.depth -= 1
            return s
        if fn == "quote":
            if not args:
                raise RenderError("%s: quote needs an argument" % where)
            return " ".join(json.dumps(to_text(a, where) if a is not None else "") for a in args)
        if fn == "toYaml":
            need(1)
            return to_yaml(args[0])
        if fn in ("indent", "nindent"):
            need(2)
            if not isinstance(args[0], int):
                raise RenderError("%s: %s needs a number" % (where, fn))
            s = indent(args[0], to_text(args[1], where))
            return "\n" + s if fn == "nindent" else s
        if fn == "default":
            need(2)
            return args[1] if truthy(args[1]) else args[0]
        if fn == "not":
            need(1)
            return not truthy(args[0])
        if fn == "and":
            if len(args) < 2:
                raise RenderError("%s: and needs two arguments" % where)
            for a in args:
                if not truthy(a):
                    return a
            return args[-1]
        if fn == "or":
            if len(args) < 2:
                raise RenderError("%s: or needs two arguments" % where)
            for a in args:
                if truthy(a):
                    return a
            return args[-1]
        if fn == "eq":
            need(2)
            return args[0] == args[1]
        raise RenderError("%s: unsupported function %r" % (where, fn))

    def pipeline(self, cmds, dot, where):
        val = None
        for i, cmd in enumerate(cmds):
            head = cmd[0]
            if head[0] == "ident" and head[1] not in ("true", "false", "nil"):
                args = [self.arg(t, dot, where) for t in cmd[1:]]
                if i > 0:
                    args.append(val)
                val = self.call(head[1], args, where)
            else:
                if i > 0 or len(cmd) != 1:
                    raise RenderError("%s: a value cannot take arguments" % where)
                val = self.arg(head, dot, where)
        return val

    def render(self, nodes, dot):
        out = []
        for n in nodes:
            if isinstance(n, Text):
                out.append(n.s)
            elif isinstance(n, Out):
                out.append(to_text(self.pipeline(n.pipe, dot, n.where), n.where))
            elif isinstance(n, If):
                cond = self.pipeline(n.pipe, dot, n.where)
                out.append(self.render(n.then if truthy(cond) else n.other, dot))
            elif isinstance(n, Range):
                v = self.pipeline(n.pipe, dot, n.where)
                if isinstance(v, dict):
                    seq = [v[k] for k in sorted(v)]
                elif isinstance(v, list):
                    seq = v
                elif v is None:
                    seq = []
                else:
                    raise RenderError("%s: cannot range over a %s" % (n.where, type(v).__name__))
                for item in seq:
                    out.append(self.render(n.body, item))
        return "".join(out)


# ---- values --------------------------------------------------------------------


def merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        else:
            dst[k] = v
    return dst


def set_value(values, expr):
    if "=" not in expr:
        raise RenderError("--set %s: expected key=value" % expr)
    key, raw = expr.split("=", 1)
    val = yaml.safe_load(raw) if raw != "" else ""
    cur = values
    parts = key.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
        if not isinstance(cur, dict):
            raise RenderError("--set %s: %s is not a map" % (expr, p))
    cur[parts[-1]] = val


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        v = yaml.safe_load(f)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise RenderError("%s: not a YAML map" % path)
    return v


def main(argv):
    ap = argparse.ArgumentParser(description="Render a Helm chart (a small subset of helm template).")
    ap.add_argument("chart")
    ap.add_argument("-f", "--values", action="append", default=[])
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--release", default="release")
    ap.add_argument("--namespace", default="default")
    ap.add_argument("--notes", action="store_true", help="print the rendered NOTES.txt")
    a = ap.parse_args(argv)

    chart = load_yaml(os.path.join(a.chart, "Chart.yaml"))
    for k in ("apiVersion", "name", "version"):
        if k not in chart:
            raise RenderError("Chart.yaml: %s is required" % k)
    values = load_yaml(os.path.join(a.chart, "values.yaml"))
    for f in a.values:
        merge(values, load_yaml(f))
    for s in a.set:
        set_value(values, s)

    chart_ctx = {k[:1].upper() + k[1:]: v for k, v in chart.items()}
    ctx = {
        "Values": values,
        "Chart": chart_ctx,
        "Release": {
            "Name": a.release,
            "Namespace": a.namespace,
            "Service": "Helm",
            "IsInstall": True,
            "IsUpgrade": False,
            "Revision": 1,
        },
    }

    tdir = os.path.join(a.chart, "templates")
    names = sorted(os.listdir(tdir))
    defines = {}
    trees = {}
    for n in names:
        p = os.path.join(tdir, n)
        if not os.path.isfile(p):
            continue
        if not (n.endswith(".yaml") or n.endswith(".yml") or n.endswith(".tpl") or n == "NOTES.txt"):
            raise RenderError("templates/%s: unexpected file" % n)
        with open(p, encoding="utf-8") as f:
            src = f.read()
        trees[n] = parse(lex(src, "templates/" + n), "templates/" + n, defines)

    r = Renderer(ctx, defines)
    out = []
    for n in names:
        if n not in trees or n.endswith(".tpl"):
            continue
        if n.startswith("_"):
            continue
        if (n == "NOTES.txt") != a.notes:
            continue
        s = r.render(trees[n], ctx)
        if a.notes:
            out.append(s)
            continue
        if not s.strip():
            continue  # helm skips templates that render to nothing
        out.append("---\n# Source: %s/templates/%s\n%s\n" % (chart["name"], n, s.strip("\n")))
    sys.stdout.write("".join(out))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except RenderError as e:
        sys.stderr.write("helm-render.py: %s\n" % e)
        sys.exit(1)
    except (OSError, yaml.YAMLError) as e:
        sys.stderr.write("helm-render.py: %s\n" % e)
        sys.exit(1)
