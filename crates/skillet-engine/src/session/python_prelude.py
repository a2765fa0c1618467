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
    def run_fresh(src, token):
        # A pool's stateless call: a new globals dict, and the REPL's `_` forgotten, so no name
        # bound by one call is seen by the next. Modules stay imported (sys.modules), by design.
        builtins.__dict__.pop('_', None)
        try:
            run(src, token, {'__name__': '__main__', '__builtins__': builtins})
        finally:
            builtins.__dict__.pop('_', None)
    builtins.__skillet_run = run
    builtins.__skillet_run_fresh = run_fresh
_skillet_install()
del _skillet_install
