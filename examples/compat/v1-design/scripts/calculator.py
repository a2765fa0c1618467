import sys

op, a, b = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
result = {"add": a + b, "subtract": a - b, "multiply": a * b, "divide": a / b if b else float("nan")}[op]
print(f"{a:g} {op} {b:g} = {result:g}")
