"""Maps the top-level asset folders into the installed package.

``templates/``, ``static/`` and ``migrations/`` live at the top of the repository
(see DESIGN.md §4) but must ship inside the wheel so that ``pip install .``
yields a working app. They are installed as ``telemed/templates`` etc.
"""

from setuptools import find_packages, setup

ASSET_DIRS = {
    "telemed.templates": "templates",
    "telemed.static": "static",
    "telemed.migrations": "migrations",
}

setup(
    packages=find_packages(include=["telemed", "telemed.*"]) + list(ASSET_DIRS),
    package_dir=ASSET_DIRS,
    package_data={
        "telemed": ["translations/*/LC_MESSAGES/*.po", "translations/*/LC_MESSAGES/*.mo", "records/data/*.tsv"],
        **{name: ["**/*"] for name in ASSET_DIRS},
    },
)
