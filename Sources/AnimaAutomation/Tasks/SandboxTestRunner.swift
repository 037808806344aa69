import AnimaCore
import AnimaTools
import Foundation

/// Runs acceptance tests in the sandbox: the code in a fresh workspace (writable), the
/// tests and the harness in a separate directory bound read-only, so code under test
/// cannot rewrite the tests that judge it.
///
/// The harness imports each `test_*.py` and calls its `test_*` functions; it prints its
/// verdict behind a marker with a nonce that the code under test is not given, so code
/// that prints a fake verdict, exits early or crashes the interpreter fails.
public struct SandboxTestRunner: TestRunner {
    public var sandbox: Sandbox
    /// Where workspaces and test directories are made (one pair per run, removed after).
    public var base: String
    public var limits: SandboxLimits

    public init(
        sandbox: Sandbox = .standard, base: String = Workspace.defaultBase,
        limits: SandboxLimits = SandboxLimits(cpuSeconds: 20, memoryBytes: 1 << 30, wallTime: .seconds(30), outputBytes: 64 << 10)
    ) {
        self.sandbox = sandbox
        self.base = base
        self.limits = limits
    }

    public func run(files: [String: String], tests: [String: String]) async throws -> TestReport {
        let id = "acceptance-" + Hex.randomID()
        let fm = FileManager.default
        let root = (base as NSString).appendingPathComponent(id)
        let work = root + "/work"
        let testDirectory = root + "/tests"
        defer { try? fm.removeItem(atPath: root) }
        do {
            try fm.createDirectory(atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try fm.createDirectory(atPath: testDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            chmod(root, 0o755)
            for (name, text) in tests {
                guard Self.isPlainName(name) else { throw TaskError.invalidArgument("test file name \(name) is not a plain file name") }
                try Data(text.utf8).write(to: URL(fileURLWithPath: testDirectory + "/" + name))
                chmod(testDirectory + "/" + name, 0o444)
            }
            try Data(Self.harness.utf8).write(to: URL(fileURLWithPath: testDirectory + "/anima_harness.py"))
            chmod(testDirectory + "/anima_harness.py", 0o444)
            chmod(testDirectory, 0o555)
        } catch let error as TaskError {
            throw error
        } catch {
            throw TaskError.testRunner("could not prepare \(root): \(error.localizedDescription)")
        }
        // Nothing runs in the fresh workspace yet, so writing by host path races nobody;
        // `Workspace(existing:)` then hands the tree to the workspace's own user.
        let workspace: Workspace
        do {
            for (name, text) in files {
                guard Self.isPlainName(name) else { throw TaskError.invalidArgument("file name \(name) is not a plain file name") }
                guard tests[name] == nil, name != "anima_harness.py" else {
                    throw TaskError.invalidArgument("the code may not replace the acceptance test file \(name)")
                }
                try Data(text.utf8).write(to: URL(fileURLWithPath: work + "/" + name))
            }
            workspace = try Workspace(existing: work, sandbox: sandbox)
        } catch let error as TaskError {
            throw error
        } catch {
            throw TaskError.testRunner("could not prepare the workspace: \(error)")
        }
        let nonce = Hex.randomID()
        let policy = SandboxPolicy(
            workspace: workspace, readOnlyPaths: [testDirectory], environment: ["ANIMA_VERDICT_NONCE": nonce], limits: limits)
        let result: SandboxResult
        do {
            result = try await sandbox.run(
                ["/usr/bin/python3", "-I", "-B", testDirectory + "/anima_harness.py", testDirectory], policy: policy)
        } catch {
            throw TaskError.testRunner(error.description)
        }
        return Self.report(from: result, nonce: nonce)
    }

    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 100 && !name.hasPrefix(".")
            && name.allSatisfy { ($0.isLetter || $0.isNumber || "._-".contains($0)) && $0.isASCII }
    }

    /// Reads the harness's verdict from the run; anything else is a failed run.
    static func report(from result: SandboxResult, nonce: String) -> TestReport {
        let marker = "ANIMA-VERDICT-\(nonce) "
        guard let line = result.stdout.split(separator: "\n").last(where: { $0.hasPrefix(marker) }),
            let verdict = try? JSONValue(parsing: String(line.dropFirst(marker.count))),
            let passed = verdict["passed"]?.numberValue, let total = verdict["total"]?.numberValue
        else {
            let tail = (result.stderr.isEmpty ? result.stdout : result.stderr).suffix(800)
            return TestReport(passed: 0, total: 0, problem: "the tests did not finish (\(result.termination)): \(tail)")
        }
        let failures = verdict["failures"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let problem = verdict["problem"]?.stringValue
        return TestReport(passed: Int(passed), total: Int(total), failures: failures, problem: problem)
    }

    /// The test harness (runs inside the sandbox, as the workspace's user).
    static let harness = #"""
        import ast, importlib.util, io, json, linecache, os, re, sys, traceback, contextlib
        nonce = os.environ.pop("ANIMA_VERDICT_NONCE", "")
        out = sys.stdout
        tests_dir = sys.argv[1]
        sys.path.insert(0, "/workspace")
        def shown(value, limit=200):
            try:
                text = repr(value)
            except BaseException:
                text = "<%s>" % type(value).__name__
            return text if len(text) <= limit else text[:limit] + "..."
        def data(value):
            # A value worth showing: not a function, class or module.
            return not (callable(value) or isinstance(value, type(sys)))
        def on_import(error):
            # An error raised by the code's own top level while the tests imported it.
            tb, where = error.__traceback__, ""
            while tb is not None:
                code = tb.tb_frame.f_code
                if code.co_name == "<module>" and code.co_filename.startswith("/workspace/"):
                    line = linecache.getline(code.co_filename, tb.tb_lineno).strip()[:200]
                    where = "\n%s line %d ran when the tests imported it: %s\n(code at the top level of a module runs on import: keep tests, examples and calls out of it)" % (
                        os.path.basename(code.co_filename), tb.tb_lineno, line)
                tb = tb.tb_next
            return where
        def variables(error):
            # An error raised inside a function of the code: that function's variables
            # when it raised ("line = ''"), which say what input broke it.
            tb, frame = error.__traceback__, None
            while tb is not None:
                if tb.tb_frame.f_code.co_filename.startswith("/workspace/"):
                    frame = tb.tb_frame
                tb = tb.tb_next
            if frame is None or frame.f_code.co_name == "<module>":
                return ""
            parts = []
            for name, value in list(frame.f_locals.items()):
                if not name.isidentifier() or name.startswith("__") or not data(value):
                    continue
                parts.append("%s = %s" % (name, shown(value, 80)))
                if len(parts) == 8:
                    break
            if not parts:
                return ""
            return "\nwhen it raised, %s() had: %s" % (frame.f_code.co_name, ", ".join(parts))
        trees = {}
        def parsed(path):
            # A file's syntax tree, read once per run (None when it does not parse).
            if path not in trees:
                try:
                    with open(path) as f:
                        trees[path] = ast.parse(f.read())
                except BaseException:
                    trees[path] = None
            return trees[path]
        def missing_name(error):
            # `from solution import f` where the code has no `f`: what it does define, so
            # the coder renames its function rather than guessing at the error.
            wanted = re.search(r"cannot import name '(\w+)'", str(error))
            path = os.path.realpath(getattr(error, "path", None) or "/")
            tree = parsed(path) if isinstance(error, ImportError) and wanted and os.path.dirname(path) == "/workspace" else None
            names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))] if tree else []
            if tree is None or wanted.group(1) in names:
                return ""
            defined = "it defines " + ", ".join(names[:12]) if names else "it defines no function"
            return "\nthe tests import %s from %s, but %s: name the function %s" % (
                wanted.group(1), os.path.basename(path), defined, wanted.group(1))
        def evaluate(expression, frame, path):
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    return shown(eval(compile(ast.Expression(expression), path, "eval"), frame.f_globals, frame.f_locals))
            except BaseException as e:
                return "raised " + "".join(traceback.format_exception_only(type(e), e)).strip()[-200:]
        def expected_raise(tree, lineno):
            # A test's `assert False` reached because a call did not raise: the call (the
            # statement before it, or the end of the `try` before it) and the `except`s.
            for node in ast.walk(tree):
                for field in ("body", "orelse", "finalbody"):
                    block = getattr(node, field, None)
                    if not isinstance(block, list):
                        continue
                    for index, statement in enumerate(block):
                        if getattr(statement, "lineno", None) != lineno or index == 0:
                            continue
                        before = block[index - 1]
                        if isinstance(before, ast.Try) and before.handlers and before.body:
                            return before.body[-1], before.handlers
                        if isinstance(node, ast.Try) and field == "body" and node.handlers:
                            return before, node.handlers
            return None
        def where(tree, nodes, frame, lineno):
            # The test's own variables in the line shown (`parse_ini(text)`), since the coder
            # cannot read the test: the test's line that set each (and the variables that
            # line uses), or the value of one it did not assign (a loop's).
            if tree is None:
                return ""
            first = frame.f_code.co_firstlineno
            assigned = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and first <= node.lineno < lineno:
                    for target in ast.walk(node.targets[0]):
                        if isinstance(target, ast.Name) and node.lineno >= getattr(assigned.get(target.id), "lineno", 0):
                            assigned[target.id] = node
            def names(nodes):
                found = [n for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
                return [n.id for n in sorted(found, key=lambda n: (n.lineno, n.col_offset))]
            parts, seen, queue = [], set(), names(nodes)
            while queue and len(parts) < 4:
                name = queue.pop(0)
                if name in seen or name not in frame.f_locals:
                    continue
                seen.add(name)
                value = frame.f_locals[name]
                if not data(value):
                    continue
                if name in assigned:
                    text = ast.unparse(assigned[name])
                    queue += names([assigned[name].value])
                else:
                    text = "%s = %s" % (name, shown(value))
                parts.append(text if len(text) <= 300 else text[:300] + "...")
            return " (where %s)" % "; ".join(parts) if parts else ""
        def values(error, path):
            # A failed `assert` in the test file: what its sides were, so the coder reads
            # "gave 3; expected 6" rather than a bare AssertionError; for an error raised in
            # the code, the test's line that called it.
            frame, lineno, tb = None, 0, error.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == path:
                    frame, lineno = tb.tb_frame, tb.tb_lineno
                tb = tb.tb_next
            if frame is None:
                return ""
            line = linecache.getline(path, lineno).strip()
            tree = parsed(path)
            try:
                node = ast.parse(line).body[0]
            except Exception:
                node = None
            if not isinstance(error, AssertionError):
                return "\nthe test's line was: " + line[:300] + (where(tree, [node], frame, lineno) if node else "")
            if not isinstance(node, ast.Assert):
                return ""
            test = node.test
            if isinstance(test, ast.Constant) and not test.value:
                found = expected_raise(tree, lineno) if tree else None
                if found is None:
                    return ""
                call, handlers = found
                raises = " or ".join(ast.unparse(h.type) if h.type else "an exception" for h in handlers)
                if isinstance(call, ast.Expr):
                    told = "the test expected %s to raise %s; it returned %s" % (ast.unparse(call), raises, evaluate(call.value, frame, path))
                else:
                    told = "the test expected %s to raise %s; it did not" % (ast.unparse(call)[:300], raises)
                return "\n" + told + where(tree, [call], frame, lineno)
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                told = "%s gave %s; expected a false value" % (ast.unparse(test.operand), evaluate(test.operand, frame, path))
            elif not isinstance(test, ast.Compare):
                told = "%s gave %s; expected a true value" % (ast.unparse(test), evaluate(test, frame, path))
            elif len(test.ops) != 1:
                return ""
            else:
                left, right = (evaluate(side, frame, path) for side in (test.left, test.comparators[0]))
                if isinstance(test.ops[0], ast.Eq):
                    told = "%s gave %s; expected %s" % (ast.unparse(test.left), left, right)
                else:
                    told = "%s gave %s; %s was %s" % (ast.unparse(test.left), left, ast.unparse(test.comparators[0]), right)
            return "\n" + told + where(tree, [test], frame, lineno)
        def note(describe, *args):
            # A note that cannot be worked out is left out; it never costs the verdict.
            try:
                return describe(*args)
            except BaseException:
                return ""
        passed, total, failures, problem = 0, 0, [], None
        for name in sorted(os.listdir(tests_dir)):
            if not (name.startswith("test") and name.endswith(".py")):
                continue
            try:
                spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(tests_dir, name))
                module = importlib.util.module_from_spec(spec)
                with contextlib.redirect_stdout(io.StringIO()):
                    spec.loader.exec_module(module)
            except BaseException as e:
                total += 1
                failures.append("%s: could not load: %s%s%s" % (
                    name, "".join(traceback.format_exception_only(type(e), e)).strip()[-600:], note(on_import, e), note(missing_name, e)))
                continue
            for attr in sorted(dir(module)):
                fn = getattr(module, attr)
                if not (attr.startswith("test") and callable(fn)):
                    continue
                total += 1
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        fn()
                    passed += 1
                except BaseException as e:
                    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__)[-2:])
                    tb = "\n".join(l for l in tb.splitlines() if l.strip(" ^~"))
                    failures.append("%s: %s%s%s" % (attr, tb.strip()[-600:], note(values, e, os.path.join(tests_dir, name)), note(variables, e)))
        if total == 0:
            problem = "no test_* functions were found"
        out.write("\nANIMA-VERDICT-%s %s\n" % (nonce, json.dumps({"passed": passed, "total": total, "failures": failures, "problem": problem})))
        out.flush()
        """#
}
