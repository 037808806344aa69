/// The program that runs inside the sandbox and keeps an agent's Python session: it reads
/// one JSON request per line (`{"code": ...}`), runs the code in a persistent namespace
/// with file descriptors 1 and 2 captured (so subprocesses are captured too), and writes
/// one JSON reply per line on a private duplicate of the original stdout.
enum PythonDriver {
    static let source = #"""
        import ast, json, os, signal, sys, tempfile, traceback
        LIMIT = int(sys.argv[1])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the file-size limit fails instead of killing the session
        proto_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
        proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        null_in = os.open(os.devnull, os.O_RDONLY); os.dup2(null_in, 0)
        null_out = os.open(os.devnull, os.O_WRONLY)
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        proto_out.write(json.dumps({"ready": True}) + "\n")
        for line in proto_in:
            request = json.loads(line)
            reply = {"value": None, "error": None}
            files = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
            sys.stdout.flush(); sys.stderr.flush()
            os.dup2(files[0].fileno(), 1); os.dup2(files[1].fileno(), 2)
            try:
                tree = ast.parse(request["code"], "<agent>", "exec")
                last = None
                if tree.body and isinstance(tree.body[-1], ast.Expr):
                    last = ast.Expression(tree.body.pop().value)
                exec(compile(tree, "<agent>", "exec"), namespace)
                if last is not None:
                    value = eval(compile(last, "<agent>", "eval"), namespace)
                    if value is not None:
                        reply["value"] = repr(value)[:LIMIT]
            except BaseException as error:
                reply["error"] = "".join(traceback.format_exception(type(error), error, error.__traceback__))[-LIMIT:]
            try:
                sys.stdout.flush(); sys.stderr.flush()
            except BaseException:
                pass
            os.dup2(null_out, 1); os.dup2(null_out, 2)
            for name, f in zip(("stdout", "stderr"), files):
                size = f.seek(0, 2); f.seek(0)
                reply[name] = f.read(LIMIT).decode("utf-8", "replace")
                reply[name + "_bytes"] = size
                f.close()
            proto_out.write(json.dumps(reply) + "\n")
        """#
}
