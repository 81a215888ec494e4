"""The package list (the rest of the build is in pyproject.toml).

pyproject maps scenarios/ to the package zpviz.lessons; setuptools' automatic discovery only sees
directories under zpviz/, so the lessons are named here, or the wheel ships without them.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["zpviz", "zpviz.*"]), "zpviz.lessons"])
