# Loaded into a python session by skillet (see docs/sessions.md). It defines
# __skillet_run(src, token) in builtins, so the session's own namespace stays clean: it runs one
# input in __main__, echoes the value of a final expression like the REPL, prints a traceback
# without skillet's frames, and marks the end of the output on both streams with the token.
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
        b, sb = builtins.__dict__, saved['builtins']
        for k in [k for k in b if k not in sb]:
            del b[k]
        b.update(sb)
        sys.path[:] = saved['path']
        if dict(os.environ) != saved['env']:
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
    builtins.__skillet_run = run
    builtins.__skillet_run_fresh = run_fresh
    saved = {
        'builtins': dict(builtins.__dict__),
        'path': list(sys.path),
        'env': dict(os.environ),
        'cwd': os.getcwd(),
        'streams': (sys.stdin, sys.stdout, sys.stderr),
        'hooks': (sys.displayhook, sys.excepthook),
    }
_skillet_install()
del _skillet_install
