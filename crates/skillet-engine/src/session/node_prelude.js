// Loaded into a node REPL session by skillet (see docs/sessions.md). It silences the REPL's
// prompt and echo and defines __skillet_run(src, token), which evaluates one input in the global
// scope, prints its value like the REPL would, and marks the end of its output on both streams.
{
  const r = require('repl').repl;
  r.setPrompt('');
  r.ignoreUndefined = true;
  const vm = require('vm'), util = require('util'), fs = require('fs');
  globalThis.__skillet_run = (src, token) => {
    let status = 0;
    try {
      const value = vm.runInThisContext(src, { filename: '<input>' });
      if (value !== undefined) console.log(util.inspect(value, { colors: false }));
    } catch (e) {
      status = 1;
      const stack = e && e.stack ? String(e.stack) : String(e);
      const cut = stack.indexOf('\n    at Script.runInThisContext');
      console.error(cut < 0 ? stack : stack.slice(0, cut));
    }
    fs.writeSync(1, token + ' ' + status + '\n');
    fs.writeSync(2, token + '\n');
  };
  void 0;
}
