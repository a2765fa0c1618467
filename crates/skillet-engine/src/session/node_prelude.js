// Loaded into a node REPL session by skillet (see docs/sessions.md). It silences the REPL's
// prompt and echo and defines __skillet_run(src, token), which evaluates one input in the global
// scope, prints its value like the REPL would, and marks the end of its output on both streams.
{
  const r = require('repl').repl;
  r.setPrompt('');
  r.ignoreUndefined = true;
  const vm = require('vm'), util = require('util'), fs = require('fs');
  // A pool's stateless call gets a new context: a fresh global object with only these host
  // objects shared, so no global set by one call is seen by the next.
  // The process-wide state a call can change through `process`, put back before each
  // pooled call: the environment and the directory.
  const env0 = Object.assign({}, process.env), cwd0 = process.cwd();
  const reset = () => {
    for (const k of Object.keys(process.env)) if (!(k in env0)) delete process.env[k];
    Object.assign(process.env, env0);
    try { process.chdir(cwd0); } catch (e) { /* gone: the call's own directory stays */ }
  };
  const fresh = () => vm.createContext({
    console, require, process, Buffer, URL, TextEncoder, TextDecoder,
    setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate,
  });
  const run = (src, token, context) => {
    let status = 0;
    try {
      const value = context === undefined
        ? vm.runInThisContext(src, { filename: '<input>' })
        : vm.runInContext(src, context, { filename: '<input>' });
      if (value !== undefined) console.log(util.inspect(value, { colors: false }));
    } catch (e) {
      status = 1;
      const stack = e && e.stack ? String(e.stack) : String(e);
      let cut = stack.indexOf('\n    at Script.runInThisContext');
      if (cut < 0) cut = stack.indexOf('\n    at Script.runInContext');
      console.error(cut < 0 ? stack : stack.slice(0, cut));
    }
    fs.writeSync(1, token + ' ' + status + '\n');
    fs.writeSync(2, token + '\n');
  };
  globalThis.__skillet_run = (src, token) => run(src, token);
  globalThis.__skillet_run_fresh = (src, token) => { reset(); run(src, token, fresh()); };
  void 0;
}
