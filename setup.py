"""Map the owner's top-level folders onto one import namespace, `streetwatch.<area>`.

`datasets`, `inference` and `models` are names of popular PyPI packages; installing them as
top-level packages would shadow (or be shadowed by) those. Every subpackage below an area is
found here so that the wheel and the editable install agree.
"""

from setuptools import find_packages, setup

AREAS = {
    "streetwatch": "streetwatch",
    "streetwatch.models": "models",
    "streetwatch.inference": "inference",
    "streetwatch.training": "training",
    "streetwatch.datasets": "datasets",
    "streetwatch.edge": "edge",
    "streetwatch.cases": "cases",
    "streetwatch.benchmarks": "benchmarks",
}

packages: list[str] = []
package_dir: dict[str, str] = {}
for package, folder in AREAS.items():
    packages.append(package)
    package_dir[package] = folder
    for sub in find_packages(folder):
        packages.append(f"{package}.{sub}")
        package_dir[f"{package}.{sub}"] = f"{folder}/{sub.replace('.', '/')}"

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={
        "": [
            "*.yaml",
            "*.yml",
            "*.json",
            "*.md",
            "*.html",
            "*.css",
            "*.js",
            "*.ini",
            "*.mako",
            "*.onnx",
            "*.txt",
            "*.cfg",
            "locale/*.pot",
            "locale/*/LC_MESSAGES/*.po",
            "locale/*/LC_MESSAGES/*.mo",
            "*.j2",
        ]
    },
    include_package_data=True,
)
