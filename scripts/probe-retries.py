#!/usr/bin/env python3
"""Which way of asking again helps a model on the build suite: a probe for the refine loop.

For every task of contrib/bench/build, the model's greedy answer (the loop's first step and
one-shot's only one) is tested; for each task it fails, each variant of a retry is sampled
--seeds times, independently, and tested. The result is the share of retries that pass, per
variant, and which tasks any retry passed: a per-attempt rate that a whole benchmark run
(where each retry follows the last, and the pass count moves by about 2 between runs) cannot
show. Variants:

  P  fresh start, the requirement only (plain resampling) at 1.1
  F  fresh start with the greedy answer's first failure in one line (RefineLoop's fresh start) at 1.1
  E  fresh start with the greedy answer's whole failure report, no code, at 1.1
  C  fresh start asking first for comments that work the requirement's example through, at 1.1
  G  fresh start at 0.6
  R  repair: the greedy code and its failure report (RefineLoop's repair) at 0.8
  T  repair as R, its report also tracing the failing call line by line

The acceptance tests run in bubblewrap with the harness of SandboxTestRunner.swift (read from
the source), the workspace at /workspace as there. The model is served by llama-server
(scripts/llama-tool.sh builds it), which numbers prompts and samples like Anima's engine but
batches them differently, so the greedy pass count differs from anima-bench's by a task or two.

    python3 scripts/probe-retries.py --model ~/.cache/anima/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \\
        --variants P,F,E,R --seeds 1,2
"""
import argparse, collections, concurrent.futures, glob, json, os, re, shutil, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM = ("You are a careful Python programmer. Write the complete Python file solution.py that meets the requirement."
          " Answer with the whole file in one ```python code block and nothing else."
          " The tests import the file: put no tests, examples or calls at its top level.")
TRACE = '''
def trace_of(fn):
    # The failing test again, tracing the last call from the test into the code.
    events, last = [], {}
    def local(frame, event, arg):
        if event == "line":
            now = {k: shown(v, 60) for k, v in frame.f_locals.items() if not k.startswith("__") and data(v)}
            changed = ", ".join("%s=%s" % (k, v) for k, v in now.items() if last.get(id(frame), {}).get(k) != v)
            last[id(frame)] = now
            source = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()[:80]
            events.append("  %s   # line %d%s" % (source, frame.f_lineno, "; " + changed if changed else ""))
        elif event == "return":
            events.append("  return %s" % shown(arg, 80))
        elif event == "exception":
            events.append("  raised %s" % arg[0].__name__)
        return local
    def calls(frame, event, arg):
        if not frame.f_code.co_filename.startswith("/workspace/"):
            return None
        if frame.f_back is None or not frame.f_back.f_code.co_filename.startswith("/workspace/"):
            del events[:]
            last.clear()
        return local
    sys.settrace(calls)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            fn()
    except BaseException:
        pass
    finally:
        sys.settrace(None)
    if len(events) > 40:
        events = events[:25] + ["  ... %d more lines ..." % (len(events) - 40)] + events[-15:]
    return "\\nwhat the code did in that call, line by line (the variables each line changed are shown on the next):\\n" + "\\n".join(events) if events else ""
traced = [False]
'''


def harness(trace):
    source = open(os.path.join(ROOT, "Sources/AnimaAutomation/Tasks/SandboxTestRunner.swift")).read()
    body = source.split('static let harness = #"""\n', 1)[1].split('\n        """#', 1)[0]
    text = "\n".join(line[8:] for line in body.split("\n"))
    if trace:
        call = 'failures.append("%s: %s%s%s" % (attr, tb.strip()[-600:], note(values, e, os.path.join(tests_dir, name)), note(variables, e)))'
        at = text.index(call)
        indent = text[text.rindex("\n", 0, at) + 1:at]
        text = text.replace(call, "extra = '' if traced[0] else note(trace_of, fn)\n" + indent + "traced[0] = True\n" + indent
                            + call.replace('"%s: %s%s%s"', '"%s: %s%s%s%s"').replace("note(variables, e))", "note(variables, e), extra)"))
        text = text.replace("passed, total, failures, problem = 0, 0, [], None", TRACE.strip("\n") + "\npassed, total, failures, problem = 0, 0, [], None")
    return text


HARNESS = {False: harness(False), True: harness(True)}


def run_tests(task, code, trace=False):
    workspace, tests = tempfile.mkdtemp(), tempfile.mkdtemp()
    try:
        open(os.path.join(workspace, task["module"]), "w").write(code)
        open(os.path.join(tests, "test_task.py"), "w").write(task["tests"])
        open(os.path.join(tests, "anima_harness.py"), "w").write(HARNESS[trace])
        command = ["bwrap", "--die-with-parent", "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
                   "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev",
                   "--bind", workspace, "/workspace", "--ro-bind", tests, "/tests", "--chdir", "/workspace",
                   "/usr/bin/python3", "-I", "-B", "/tests/anima_harness.py", "/tests"]
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, env={"ANIMA_VERDICT_NONCE": "n", "PATH": "/usr/bin"})
        found = re.search(r"ANIMA-VERDICT-n (.*)", out.stdout)
        if not found:
            return {"passed": 0, "total": 0, "failures": [], "problem": "no verdict: " + out.stderr[-300:]}
        return json.loads(found.group(1))
    except subprocess.TimeoutExpired:
        return {"passed": 0, "total": 0, "failures": [], "problem": "the tests ran past 30 s"}
    finally:
        shutil.rmtree(workspace)
        shutil.rmtree(tests)


def passed(report):
    return report["problem"] is None and report["total"] > 0 and report["passed"] == report["total"]


def summary(report, limit=2000):  # TestReport.summary
    lines = ["%d of %d tests passed" % (report["passed"], report["total"])] + ([report["problem"]] if report["problem"] else [])
    return "\n".join(lines + report["failures"][:5])[:limit]


def first_failure(report):  # TestReport.firstFailure
    text = report["problem"] or (report["failures"][0] if report["failures"] else "")
    lines = [l.strip() for l in text.split("\n")]
    return " | ".join([l for l in lines if l and not l.startswith('File "') and ': File "' not in l][-4:])[:500]


def extract(text):  # RefineLoop.extractCode
    parts = text.split("```")
    if len(parts) < 2:
        return text.strip()
    best = ""
    for block in parts[1::2]:
        if "\n" in block and re.fullmatch(r"[A-Za-z0-9+]*", block.split("\n", 1)[0].strip()):
            block = block.split("\n", 1)[1]
        best = block if len(block) > len(best) else best
    return best.strip("\n")


def tidy(code):  # RefineLoop.libraryCode, the part that matters here: the model's own checks at the top level
    kept, dropping = [], False
    for line in code.split("\n"):
        if line and not line[0].isspace() and line[0] != "#" and line[0] not in ")]}":
            callee = line.split("(", 1)[0] if "(" in line else ""
            dropping = line.startswith(("print(", "assert", "for ", "while ")) or (
                callee != "" and re.fullmatch(r"[\w.]+", callee) is not None and callee not in ("if", "elif", "while", "with", "return", "not", "del", "raise"))
        if not dropping:
            kept.append(line)
    return "\n".join(kept).strip("\n")


def ask(server, messages, temperature, seed):
    body = {"messages": messages, "temperature": temperature, "seed": seed, "max_tokens": 384, "top_p": 0.95, "top_k": 40, "min_p": 0.05}
    request = urllib.request.Request(server + "/v1/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
    return extract(json.load(urllib.request.urlopen(request, timeout=900))["choices"][0]["message"]["content"])


def messages(variant, task, greedy):
    user = "Requirement:\n%s\n" % task["requirement"]
    fresh = {"P": ("", 1.1), "G": ("", 0.6),
             "F": ("\nEarlier attempts failed the acceptance tests:\n- attempt 1: %s\nWrite a new solution that avoids these mistakes.\n" % first_failure(greedy["report"]), 1.1),
             "E": ("\nAn earlier attempt failed the acceptance tests:\n%s\n\nWrite a new solution that passes them.\n" % summary(greedy["report"]), 1.1),
             "C": ("\nFirst, as comments at the top of the file, work through the requirement's example step by step: what the function receives, what it does at each step, what it returns. Then write the code.\n", 1.1)}
    if variant in fresh:
        extra, temperature = fresh[variant]
        system = SYSTEM.replace(" and nothing else", "") if variant == "C" else SYSTEM
        return [{"role": "system", "content": system}, {"role": "user", "content": user + extra}], temperature
    report = greedy["traced"] if variant == "T" else greedy["report"]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user},
            {"role": "assistant", "content": "```python\n%s\n```" % greedy["code"]},
            {"role": "user", "content": "The acceptance tests failed:\n%s\n\nFix solution.py. Answer with the whole corrected file in one ```python code block." % summary(report, 4000 if variant == "T" else 2000)}], 0.8


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--variants", default="P,F,R")
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--port", type=int, default=18089)
    parser.add_argument("--out", default="probe-retries.jsonl", help="one JSON line per retry")
    args = parser.parse_args()
    tasks = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(ROOT, "contrib/bench/build/*.json")))]
    server_bin = subprocess.run([os.path.join(ROOT, "scripts/llama-tool.sh"), "llama-server"], check=True, capture_output=True, text=True).stdout.strip()
    server = subprocess.Popen([server_bin, "-m", os.path.expanduser(args.model), "-t", str(args.threads), "-np", str(args.jobs),
                               "-c", str(3072 * args.jobs), "--host", "127.0.0.1", "--port", str(args.port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % args.port
    try:
        for _ in range(120):
            try:
                if json.load(urllib.request.urlopen(url + "/health", timeout=2)).get("status") == "ok":
                    break
            except OSError:
                time.sleep(1)
        pool = concurrent.futures.ThreadPoolExecutor(args.jobs)
        system = [{"role": "system", "content": SYSTEM}]
        codes = list(pool.map(lambda t: tidy(ask(url, system + [{"role": "user", "content": "Requirement:\n%s\n" % t["requirement"]}], 0, 0)), tasks))
        greedy = {t["id"]: {"code": c, "report": run_tests(t, c)} for t, c in zip(tasks, codes)}
        failing = [t for t in tasks if not passed(greedy[t["id"]]["report"])]
        print("greedy: %d of %d tasks passed" % (len(tasks) - len(failing), len(tasks)), flush=True)
        variants = args.variants.split(",")
        if "T" in variants:
            for t in failing:
                greedy[t["id"]]["traced"] = run_tests(t, greedy[t["id"]]["code"], trace=True)

        def retry(job):
            variant, task, seed = job
            chat, temperature = messages(variant, task, greedy[task["id"]])
            report = run_tests(task, tidy(ask(url, chat, temperature, seed)))
            return {"variant": variant, "task": task["id"], "seed": seed, "passed": passed(report)}

        jobs = [(v, t, int(s)) for s in args.seeds.split(",") for t in failing for v in variants]
        tally = collections.defaultdict(lambda: collections.defaultdict(list))
        with open(args.out, "w") as out:
            for row in pool.map(retry, jobs):
                out.write(json.dumps(row) + "\n")
                tally[row["variant"]][row["task"]].append(row["passed"])
        for variant in variants:
            runs = tally[variant]
            wins = sum(sum(r) for r in runs.values())
            total = sum(len(r) for r in runs.values())
            print("%s: %d of %d retries passed (%.1f%%); tasks any retry passed: %s" % (
                variant, wins, total, 100.0 * wins / max(total, 1), " ".join(t for t, r in runs.items() if any(r)) or "none"))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
