#!/usr/bin/env python3
"""Run the GoogleTest binaries a meson build registered, and count their cases.

Usage: run_gtests.py BUILD_DIR LABEL SUITE [SUITE...]

Every test case counts once. A binary that crashes, times out, writes no
report or runs no case at all counts as one failure of its own; a skipped case counts as a failure,
because a skip would read as a pass (a missing prerequisite must fail). The
last line printed is "counts: PASSED FAILED" for scripts/test.sh to add up.
"""
import json
import os
import subprocess
import sys
import tempfile


def registered_tests(build_dir, suites):
    out = subprocess.run(["meson", "introspect", build_dir, "--tests"],
                         check=True, capture_output=True, text=True).stdout
    tests = json.loads(out)
    return [t for t in tests if any(s in t.get("suite", []) or
                                    any(x.endswith(":" + s) for x in t.get("suite", []))
                                    for s in suites)]


def run_one(test, label):
    name = test["name"]
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        cmd = test["cmd"] + ["--gtest_output=json:" + report]
        env = dict(os.environ)
        env.update(test.get("env") or {})
        timeout = test.get("timeout") or 300
        try:
            proc = subprocess.run(cmd, env=env, cwd=test.get("workdir") or None,
                                  capture_output=True, text=True, timeout=timeout)
            status, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as e:
            # The partial output comes back as bytes even in text mode.
            partial = e.stdout or b""
            if isinstance(partial, bytes):
                partial = partial.decode(errors="replace")
            status, output = f"timeout after {timeout} s", partial
        passed = failed = 0
        failures = []
        if os.path.exists(report):
            with open(report) as f:
                data = json.load(f)
            for suite in data.get("testsuites", []):
                for case in suite.get("testsuite", []):
                    full = suite["name"] + "." + case["name"]
                    if case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
                        failed += 1
                        failures.append(full + " (skipped: counted as failed)")
                    elif case.get("failures"):
                        failed += 1
                        failures.append(full)
                    else:
                        passed += 1
        if not os.path.exists(report):
            failed += 1
            failures.append(f"{name}: exit status {status} and no report (crashed or timed out)")
        elif passed + failed == 0:
            failed += 1
            failures.append(f"{name}: ran no test case (an empty suite proves nothing)")
        elif status != 0 and not failures:
            failed += 1
            failures.append(f"{name}: exit status {status} without a failing case (crash or timeout)")
    mark = "ok  " if failed == 0 else "FAIL"
    print(f"  {mark} [{label}] {name}: {passed} passed, {failed} failed", flush=True)
    if failed:
        for f in failures:
            print(f"       failed: {f}")
        tail = "\n".join(output.strip().splitlines()[-40:])
        print("       --- last lines of its output ---")
        print("\n".join("       " + line for line in tail.splitlines()))
    return passed, failed


def main():
    build_dir, label, suites = sys.argv[1], sys.argv[2], sys.argv[3:]
    tests = registered_tests(build_dir, suites)
    if not tests:
        print(f"  FAIL [{label}] no tests registered for suites {suites}")
        print("counts: 0 1")
        return
    total_p = total_f = 0
    for t in tests:
        p, f = run_one(t, label)
        total_p += p
        total_f += f
    print(f"counts: {total_p} {total_f}")


if __name__ == "__main__":
    main()
