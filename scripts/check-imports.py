#!/usr/bin/env python3
"""Fails when a Swift target imports a module that Package.swift does not declare for it.

A module that only arrives through another dependency builds today and breaks when that
dependency changes; declaring every import keeps the module graph honest. Reads the
package from `swift package dump-package` and every `import` in Sources/ and Tests/.
System modules (Foundation, Glibc, Testing, ...) need no declaration.

Usage: scripts/check-imports.py [package-directory]   (exit 1 and a list when anything is missing)
"""
import json
import os
import re
import subprocess
import sys

# Modules that come with the toolchain or the system, never declared in Package.swift.
SYSTEM = {
    "Foundation", "FoundationEssentials", "FoundationInternationalization", "FoundationNetworking", "FoundationXML",
    "Glibc", "Darwin", "Musl", "Android", "WinSDK", "Dispatch", "Synchronization", "Observation", "RegexBuilder",
    "Testing", "XCTest", "Swift", "_Concurrency", "_StringProcessing", "Distributed", "os", "CoreFoundation",
}

# Products whose modules differ from the product's name.
PRODUCT_MODULES = {
    "SystemPackage": {"SystemPackage"},
}

IMPORT = re.compile(r"^\s*(?:@[\w()]+\s+)*import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func|actor)\s+)?([A-Za-z_][A-Za-z0-9_]*)")


def main() -> int:
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True, capture_output=True, text=True).stdout)
    targets = {t["name"]: t for t in package["targets"]}
    missing = []
    for name, target in sorted(targets.items()):
        declared = {name}
        for dependency in target.get("dependencies", []):
            for kind in ("byName", "target"):
                if kind in dependency:
                    declared.add(dependency[kind][0])
            if "product" in dependency:
                product = dependency["product"][0]
                declared |= PRODUCT_MODULES.get(product, {product})
        directory = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", name)
        for folder, _, files in os.walk(os.path.join(root, directory)):
            for file in sorted(files):
                if not file.endswith(".swift"):
                    continue
                path = os.path.join(folder, file)
                with open(path, encoding="utf-8") as source:
                    in_string = False  # inside a multi-line string literal (Python sources, fixtures)
                    for number, line in enumerate(source, 1):
                        starts_inside = in_string
                        if line.count('"""') % 2 == 1:
                            in_string = not in_string
                        if starts_inside:
                            continue
                        match = IMPORT.match(line)
                        if match and match.group(1) not in SYSTEM and match.group(1) not in declared:
                            missing.append(f"{os.path.relpath(path, root)}:{number}: target {name} imports {match.group(1)}, which its dependencies in Package.swift do not list")
    for line in missing:
        print(line)
    if missing:
        print(f"{len(missing)} undeclared import(s): add each module to that target's dependencies in Package.swift", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
