"""Print the most frequent words of stdin. Parameters arrive as argv and SKILL_PARAM_* variables."""
import argparse
import collections
import os
import re
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--top", type=int, default=5)
top = parser.parse_args().top
text = sys.stdin.read()
if os.environ.get("SKILL_PARAM_IGNORE_CASE", "true") == "true":
    text = text.lower()
counts = collections.Counter(re.findall(r"[\w']+", text))
for word, n in counts.most_common(top):
    print(f"{n:6d} {word}")
