#!/usr/bin/env python3
"""After ctest: for each label, how many tests passed and where they ran.

    scripts/where-summary.py BUILD_DIR JUNIT_XML

A test routed by scripts/run-where.sh (cmake/Where.cmake) ran on the host when
its kernel allows the capabilities the test needs, else in the guest kernel;
the vm label's tests boot guests of their own. The host's answer is asked
again here, the way run-where.sh asked it.
"""
import json
import os
import platform
import subprocess
import sys
import xml.etree.ElementTree as ET


def main():
    build, junit = sys.argv[1], sys.argv[2]
    shown = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, capture_output=True,
                           text=True, check=True)
    tests = json.loads(shown.stdout)["tests"]
    results = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.get("status") == "fail"
        results[case.get("name")] = "failed" if failed else (
            "not run" if case.get("status") == "notrun" else "passed")
    cli = os.path.join(build, "userspace/cli/xdpkv")
    answers = {}

    def host_allows(caps):
        if caps not in answers:
            answers[caps] = subprocess.run([cli, "features", "--need", caps],
                                           capture_output=True).returncode == 0
        return answers[caps]

    guest = "a guest kernel"
    env = os.path.join(build, "guest-kernels/bookworm-backports-6.12/kernel.env")
    if os.environ.get("XDPKV_GUEST_KERNEL", "6.12") == "6.12" and os.path.exists(env):
        for line in open(env):
            if line.startswith("KVER="):
                guest = "guest Linux " + line.strip().split("=", 1)[1]
    rows = {}
    for t in tests:
        name = t["name"]
        if name not in results:
            continue
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        labels = props.get("LABELS", ["(none)"])
        cmd = t.get("command", [])
        if cmd and cmd[0].endswith("run-where.sh") and cmd[3:4] != ["--"]:
            where = "on the host (the fixture that starts and stops the guest)"
        elif cmd and cmd[0].endswith("run-where.sh"):
            caps = cmd[2]
            where = "on the host" if host_allows(caps) else f"in {guest} (the host refuses {caps})"
        elif "vm" in labels:
            where = "in guests of their own"
        else:
            where = "on the host"
        for label in labels:
            r = rows.setdefault(label, {"total": 0, "passed": 0, "where": {}})
            r["total"] += 1
            r["passed"] += results[name] == "passed"
            r["where"][where] = r["where"].get(where, 0) + 1
    print(f"where the tests ran (host: Linux {platform.release()}):")
    for label in sorted(rows):
        r = rows[label]
        places = ", ".join(f"{n} {w}" for w, n in sorted(r["where"].items()))
        print(f"  {label:6} {r['passed']:3} of {r['total']:3} passed: {places}")


if __name__ == "__main__":
    main()
