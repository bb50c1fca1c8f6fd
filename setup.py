"""Stops a wheel build that lacks the front-end assets; the package itself is declared in pyproject.toml.

setup.py remains only for this check, because pyproject.toml cannot run code at build time.
``static/vendor/`` is not in git: ``scripts/setup.sh`` fills it from npm (package-lock.json). A wheel
built without it would install an app whose chat cannot load, so the build stops instead.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

REQUIRED_ASSETS = ["static/vendor/socket.io.min.js"]


class BuildPyWithAssets(build_py):
    def run(self):
        # an editable install serves static/ from the checkout, so only real builds need the files now
        if not self.editable_mode:
            root = Path(__file__).resolve().parent
            missing = [name for name in REQUIRED_ASSETS if not (root / name).is_file()]
            if missing:
                raise SystemExit(
                    f"error: missing {', '.join(missing)}: the front-end assets are not in git. Run "
                    "scripts/setup.sh (or: npm ci && mkdir -p static/vendor && "
                    "cp node_modules/socket.io-client/dist/socket.io.min.js static/vendor/) "
                    "before building telemed."
                )
        super().run()


setup(cmdclass={"build_py": BuildPyWithAssets})
