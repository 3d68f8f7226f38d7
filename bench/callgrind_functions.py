"""The functions of one binary that ran under callgrind, most instructions first — inclusive: a
function's own and those of what it called, so that callers come before the code they call.
With several outputs (dumps of successive phases), the functions of the later phases come first,
then those only the earlier ones ran: a long-running process's steady-state code sits together,
apart from the start-up code it runs once.

usage: callgrind_functions.py BINARY_PATH CALLGRIND_OUT... > symbols.txt
   (outputs latest phase first; callgrind run with --demangle=no --compress-strings=no, so that
   names are the linker's symbols)
"""
import collections
import sys


def functions(path, binary):
    cost = collections.Counter()
    ob = fn = None
    with open(path, errors="replace") as lines:
        for line in lines:
            if line.startswith("ob="):
                ob = line[3:].strip()
            elif line.startswith("fn="):
                fn = line[3:].strip() if ob == binary else None
                if fn:
                    cost[fn] += 0
            elif fn and (line[:1].isdigit() or line[:1] in "+-*"):
                # A cost line: fn's own, or (after calls=) the inclusive cost of a call it made.
                fields = line.split()
                if len(fields) >= 2 and fields[1].isdigit():
                    cost[fn] += int(fields[1])
    return [name for name, _ in sorted(cost.items(), key=lambda item: (-item[1], item[0]))]


if __name__ == "__main__":
    seen = set()
    for output in sys.argv[2:]:
        for name in functions(output, sys.argv[1]):
            if name not in seen:
                seen.add(name)
                print(name)
