import json
import sys

params = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
a, b = float(params["a"]), float(params["b"])
result = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b if b else float("nan")}[params["op"]]
print(f"{a:g} {params['op']} {b:g} = {result:g}")
