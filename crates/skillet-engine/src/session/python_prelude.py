# Loaded into a python session by skillet (see docs/sessions.md). It defines
# __skillet_run(src, token) in builtins, so the session's own namespace stays clean: it runs one
# input in __main__, echoes the value of a final expression like the REPL, prints a traceback
# without skillet's frames, and marks the end of the output on both streams with the token.
# skillet calls it as __skillet_next(n), followed by n bytes of UTF-8: the token, a newline and
# the input. __skillet_run_fresh (__skillet_next_fresh) is a pool's call in a fresh namespace.
def _skillet_install():
    import ast, builtins, os, sys, traceback, __main__
    sys.ps1 = sys.ps2 = ''
    def run(src, token, ns=None):
        if ns is None:
            ns = __main__.__dict__
        status = 0
        try:
            tree = ast.parse(src, '<input>', 'exec')
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Interactive(body=[tree.body.pop()])
            exec(compile(tree, '<input>', 'exec'), ns)
            if last is not None:
                exec(compile(last, '<input>', 'single'), ns)
        except SystemExit:
            raise
        except BaseException as e:
            status = 1
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename != '<input>':
                tb = tb.tb_next
            traceback.print_exception(type(e), e, tb)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os.write(1, f'{token} {status}\n'.encode())
        os.write(2, f'{token}\n'.encode())
    def reset():
        # What a call may change process-wide, put back as it was when the member started:
        # builtins (names added, replaced or removed), sys.path, the environment, the
        # directory, the standard streams and hooks. Modules stay imported (sys.modules).
        # Each check is one comparison in C first: a call runs on a member that has just
        # woken, where every Python-level step over ~150 builtins or the environment costs.
        b, sb = builtins.__dict__, saved['builtins']
        if b != sb:
            for k in [k for k in b if k not in sb]:
                del b[k]
            b.update(sb)
        sys.path[:] = saved['path']
        if environ_raw() != saved['env_raw']:
            os.environ.clear()
            os.environ.update(saved['env'])
        try:
            os.chdir(saved['cwd'])
        except OSError:
            pass
        sys.stdin, sys.stdout, sys.stderr = saved['streams']
        sys.displayhook, sys.excepthook = saved['hooks']
    def run_fresh(src, token):
        # A pool's stateless call: a new globals dict in a reset process, so no name bound by
        # one call is seen by the next.
        reset()
        try:
            run(src, token, {'__name__': '__main__', '__builtins__': builtins})
        finally:
            builtins.__dict__.pop('_', None)
    def read_input(n):
        # The n bytes written right after the line calling this: the input's token on a line
        # of its own, then the input. Read here, in one go, and not by the REPL: with -u its
        # stdin is unbuffered, so it stops at the end of that line, and the REPL reads a
        # line a byte at a time, a syscall each.
        chunks, left = [], n
        while left > 0:
            chunk = os.read(0, min(left, 1 << 20))
            if not chunk:
                raise SystemExit(1)
            chunks.append(chunk)
            left -= len(chunk)
        token, _, src = b''.join(chunks).decode('utf-8', 'surrogateescape').partition('\n')
        return src, token
    def next_input(n):
        builtins.__skillet_run(*read_input(n))
    def next_input_fresh(n):
        builtins.__skillet_run_fresh(*read_input(n))
    builtins.__skillet_run = run
    builtins.__skillet_run_fresh = run_fresh
    builtins.__skillet_next = next_input
    builtins.__skillet_next_fresh = next_input_fresh
    def environ_raw():
        # The environment as the OS holds it (bytes), compared without decoding every value;
        # os.environ keeps it in _data on every CPython 3, and the decoded copy otherwise.
        raw = getattr(os.environ, '_data', None)
        return dict(raw) if raw is not None else dict(os.environ)
    saved = {
        'builtins': dict(builtins.__dict__),
        'path': list(sys.path),
        'env': dict(os.environ),
        'env_raw': environ_raw(),
        'cwd': os.getcwd(),
        'streams': (sys.stdin, sys.stdout, sys.stderr),
        'hooks': (sys.displayhook, sys.excepthook),
    }
_skillet_install()
del _skillet_install
