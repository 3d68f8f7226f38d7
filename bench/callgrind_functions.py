"""The functions of one binary that ran under callgrind, most instructions first — inclusive: a
function's own and those of what it called, so that callers come before the code they call.

usage: callgrind_functions.py CALLGRIND_OUT BINARY_PATH > symbols.txt
(callgrind run with --demangle=no --compress-strings=no, so that names are the linker's symbols)
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
    for name in functions(sys.argv[1], sys.argv[2]):
        print(name)
